"""ConfigStore: compile off the loop, atomic swap, refusal keeps the old table, LKG file."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson

from gateway_runtime.config.check import CheckFailed, check_in_subprocess
from gateway_runtime.config.store import LKG_NAME, OFFLOAD_BYTES, ConfigStore
from tests.gateway_runtime import snapshots as snap

API = snap.api(1, "/svc/v1", [snap.route(1, "GET", "/ping", auth_mode="public")])


def _raw(revision: int, **changes) -> bytes:
    document = snap.snapshot([API], revision=revision)
    document.update(changes)
    return snap.encode(document)


def test_a_valid_snapshot_is_swapped_in_and_saved_as_last_known_good(tmp_path: Path):
    store = ConfigStore(tmp_path)
    swapped = []
    store.on_swap(swapped.append)
    result = store.apply_now(_raw(1), "test")
    assert result.ok and result.message == "applied" and result.revision == 1
    assert store.table is not None and store.table.revision == 1
    assert swapped == [store.table]
    assert (tmp_path / LKG_NAME).read_bytes() == _raw(1)
    assert [p.name for p in tmp_path.iterdir()] == [LKG_NAME], "no temporary file left behind"
    assert ConfigStore(tmp_path).load_last_known_good() == _raw(1)


def test_an_invalid_snapshot_is_refused_reported_and_the_old_table_kept(tmp_path: Path):
    store = ConfigStore(tmp_path)
    store.apply_now(_raw(1), "test")
    served = store.table
    bad = snap.encode(dict(snap.snapshot([API], revision=2), checksum="sha256:" + "0" * 64))
    result = store.apply_now(bad, "redis")
    assert not result.ok and "does not match the content" in result.message
    assert store.table is served
    assert store.last_error is not None and store.last_error.startswith("revision 2 refused: ")
    assert store.errors == 1
    assert (tmp_path / LKG_NAME).read_bytes() == _raw(1), "a refused snapshot is never saved"


def test_schema_errors_name_the_field():
    store = ConfigStore(None)
    document = snap.snapshot([API], revision=3)
    del document["apis"][0]["routes"][0]["method"]
    result = store.apply_now(snap.encode(document), "test")
    assert not result.ok and "$.apis[0].routes[0]" in result.message and "method" in result.message


def test_garbage_and_unknown_schema_versions_are_refused():
    store = ConfigStore(None)
    assert "not JSON" in store.apply_now(b"{nope", "test").message
    assert "schema_version" in store.apply_now(_raw(1, schema_version=2), "test").message
    assert store.table is None and store.errors == 2


def test_the_revision_already_served_is_not_recompiled(tmp_path: Path):
    store = ConfigStore(tmp_path)
    store.apply_now(_raw(5), "test")
    table = store.table
    assert store.apply_now(_raw(5), "again").message == "unchanged"
    assert store.table is table


def test_a_lower_revision_is_served_when_redis_says_so(tmp_path: Path):
    """config:current is authoritative (read fresh each time, never from a message)."""
    store = ConfigStore(tmp_path)
    store.apply_now(_raw(5), "disk")
    assert store.apply_now(_raw(3), "redis").message == "applied"
    assert store.revision == 3


def test_apply_compiles_in_the_executor_and_swaps_on_the_loop_thread(tmp_path: Path):
    executor = ThreadPoolExecutor(1, thread_name_prefix="config")
    store = ConfigStore(tmp_path, executor=executor)
    threads = {}
    build = store._build

    def recording(document, validate):  # type: ignore[no-untyped-def]
        threads["compile"] = threading.current_thread().name
        return build(document, validate)

    store._build = recording  # type: ignore[method-assign]
    store.on_swap(lambda table: threads.__setitem__("swap", threading.current_thread().name))

    async def main() -> None:
        assert (await store.apply(_raw(1), "test")).ok

    asyncio.run(main())
    executor.shutdown()
    assert threads["compile"].startswith("config")
    assert threads["swap"] == threading.main_thread().name


def test_a_failing_listener_does_not_undo_a_good_swap():
    store = ConfigStore(None)
    store.on_swap(lambda table: 1 / 0)
    assert store.apply_now(_raw(1), "test").ok
    assert store.revision == 1


def test_the_last_known_good_file_is_the_raw_published_body(tmp_path: Path):
    store = ConfigStore(tmp_path / "nested" / "dir")
    store.apply_now(_raw(9), "test")
    saved = orjson.loads((tmp_path / "nested" / "dir" / LKG_NAME).read_bytes())
    assert (
        saved["revision"] == 9 and saved["checksum"] == snap.snapshot([API], revision=9)["checksum"]
    )


def _big_document(revision: int) -> dict:
    keys = {f"k{i:07d}": snap.key_entry(snap.raw_key(f"k{i:07d}"), 10) for i in range(3000)}
    return snap.snapshot(
        [API],
        applications={"10": {"name": "a", "subscriptions": {"1": 1}}},
        keys=keys,
        revision=revision,
    )


def test_a_large_snapshot_is_validated_in_a_child_process(tmp_path: Path):
    """Schema validation holds the GIL for seconds on big snapshots: it must not run in the
    serving process. A real child process does it; the refusal still names the problem."""
    children: list[bytes] = []

    async def validator(raw: bytes) -> list[str]:
        children.append(raw[:1])
        return await check_in_subprocess(raw)

    store = ConfigStore(tmp_path, validator=validator)
    good = snap.encode(_big_document(1))
    assert len(good) > OFFLOAD_BYTES
    broken = _big_document(2)
    broken["consumers"]["keys"]["k0000007"]["sha256"] = "not-hex"
    broken = snap.stamp(broken, 2)

    async def main() -> tuple:
        return (await store.apply(good, "test"), await store.apply(snap.encode(broken), "test"))

    applied, refused = asyncio.run(main())
    assert len(children) == 2, "each big snapshot was checked by a child process"
    assert applied.ok and store.revision == 1 and len(store.table.keys) == 3000
    assert not refused.ok and "k0000007" in refused.message and "sha256" in refused.message
    assert store.last_error.startswith("revision 2 refused")
    assert asyncio.run(store.apply(_raw(3), "small")).ok and len(children) == 2, (
        "a small snapshot is checked in the thread, no child"
    )


def test_when_the_child_fails_the_check_runs_in_the_thread(tmp_path: Path):
    async def crashing(raw: bytes) -> list[str]:
        raise CheckFailed("the check process exited with -9")

    store = ConfigStore(tmp_path, validator=crashing)
    broken = _big_document(2)
    broken["consumers"]["keys"]["k0000007"]["app"] = "ten"
    result = asyncio.run(store.apply(snap.encode(snap.stamp(broken, 2)), "test"))
    assert not result.ok and "k0000007" in result.message


def test_the_check_command_reads_stdin_and_writes_problems():
    import subprocess
    import sys

    bad = snap.encode(dict(snap.snapshot([API]), checksum="sha256:" + "1" * 64))
    out = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "gateway_runtime.config.check"],
        input=bad,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    problems = orjson.loads(out)
    assert len(problems) == 1 and problems[0].startswith("$.checksum: sha256:1111")


def test_the_portal_contract_fixture_compiles_and_routes():
    """The snapshot fixture both sides share (tests/contract/fixtures) is served as published."""
    raw = (Path(__file__).parents[1] / "contract" / "fixtures" / "snapshot.json").read_bytes()
    store = ConfigStore(None)
    assert store.apply_now(raw, "fixture").ok, store.last_error
    table = store.table
    assert table.routes.match("any", "GET", "/petstore/v1/pets").route.id == 1
    assert table.routes.match("any", "GET", "/petstore/v0/pets").status == 410
    assert "jti-live" in table.jwt.revocations


def test_the_revision_already_served_is_not_sent_to_the_child_again(tmp_path: Path):
    children: list[int] = []

    async def validator(raw: bytes) -> list[str]:
        children.append(len(raw))
        return await check_in_subprocess(raw)

    store = ConfigStore(tmp_path, validator=validator)
    big = snap.encode(_big_document(1))

    async def main() -> tuple:
        return await store.apply(big, "redis"), await store.apply(big, "sighup")

    first, second = asyncio.run(main())
    assert (first.message, second.message) == ("applied", "unchanged")
    assert len(children) == 1
