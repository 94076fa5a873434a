from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis as redis_lib
from django.core.management import CommandError, call_command

from gateway_runtime.contract.validate import validate_snapshot
from portal.local_redis import free_port
from portal.models import ConfigRevision
from portal.publishing import store
from tests.contract.rows import Rows, build_rows

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _publishing(settings: Any, redis_client: redis_lib.Redis) -> None:
    settings.MESHGATE_PUBLISH = {**settings.MESHGATE_PUBLISH, "VALIDATE": True}


@pytest.fixture
def rows(bob: Any, carol: Any) -> Rows:
    return build_rows(bob, carol)


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_publish_prints_the_revision_and_does_nothing_the_second_time(rows: Rows) -> None:
    output = _run("publish")
    revision = ConfigRevision.objects.get()
    assert (
        f"revision {revision.revision} checksum {revision.checksum} "
        f"size {revision.size_bytes} bytes" in output
    )
    assert "nothing changed" in _run("publish")
    assert "revision" in _run("publish", "--force") and ConfigRevision.objects.count() == 2


def test_rollback_republishes_an_old_revision(rows: Rows) -> None:
    _run("publish")
    old = ConfigRevision.objects.get()
    rows.gold.requests_per_second = 1
    rows.gold.save()
    _run("publish")
    output = _run("rollback", str(old.revision))
    newest = ConfigRevision.objects.first()
    assert f"revision {newest.revision} now serves the content of revision {old.revision}" in output
    assert store.current_checksum() == old.checksum


def test_rollback_to_an_unknown_revision_is_a_clear_error(rows: Rows) -> None:
    with pytest.raises(CommandError, match="revision 4242 is no longer kept"):
        _run("rollback", "4242")


def test_export_config_prints_the_published_snapshot_byte_for_byte(rows: Rows) -> None:
    _run("publish")
    printed = _run("export_config")
    assert printed.encode() == store.read_current() + b"\n"
    assert validate_snapshot(orjson.loads(printed)) == []


def test_export_config_writes_a_file(rows: Rows, tmp_path: Path) -> None:
    _run("publish")
    target = tmp_path / "snapshot.json"
    _run("export_config", "--output", str(target))
    assert target.read_bytes() == store.read_current()


def test_export_config_compile_needs_no_redis_and_publishes_nothing(
    rows: Rows, settings: Any
) -> None:
    settings.REDIS_URL = f"redis://user:hunter2@127.0.0.1:{free_port()}/0"
    document = orjson.loads(_run("export_config", "--compile"))
    assert document["revision"] == 0 and validate_snapshot(document) == []
    assert ConfigRevision.objects.count() == 0
    with pytest.raises(CommandError, match="use --compile") as caught:
        _run("export_config")
    assert "hunter2" not in str(caught.value)


def test_export_config_says_when_nothing_was_published(rows: Rows) -> None:
    with pytest.raises(CommandError, match="nothing has been published yet"):
        _run("export_config")


def test_publish_reports_an_unreachable_redis(rows: Rows, settings: Any) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(CommandError, match="Redis is unavailable"):
        _run("publish")
