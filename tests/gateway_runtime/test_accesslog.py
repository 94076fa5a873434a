"""Access log: JSON lines, sampling, buffered writes to a real file."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway_runtime.accesslog import AccessLog


def lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_records_are_buffered_until_flush_then_written_as_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    log = AccessLog.open(str(path))
    assert log.enabled and log.sampled()
    log.append({"method": "GET", "path": "/pets/1", "status": 200, "ms": 1.25})
    log.append({"method": "POST", "path": "/pets", "status": 201, "ms": 3.5})
    assert path.read_bytes() == b""  # nothing written on the request path
    assert log.flush() == 2
    assert lines(path) == [
        {"method": "GET", "path": "/pets/1", "status": 200, "ms": 1.25},
        {"method": "POST", "path": "/pets", "status": 201, "ms": 3.5},
    ]
    log.close()


def test_sampling_keeps_about_the_configured_share() -> None:
    log = AccessLog.open("-", sample=0.1, rng=random.Random(3))
    kept = sum(log.sampled() for _ in range(100_000))
    assert kept == pytest.approx(10_000, rel=0.05)


def test_a_full_buffer_drops_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    log = AccessLog.open(str(path), max_buffer=3)
    for i in range(5):
        log.append({"i": i})
    log.flush()
    assert lines(path) == [{"i": 0}, {"i": 1}, {"i": 2}, {"dropped": 2}]
    log.append({"i": 5})
    log.flush()
    assert lines(path)[-1] == {"i": 5}
    log.close()


def test_no_path_means_disabled_and_a_bad_path_is_a_clear_error(tmp_path: Path) -> None:
    off = AccessLog.open(None)
    assert not off.enabled and off.flush() == 0
    assert not AccessLog.open(str(tmp_path / "x.log"), sample=0.0).enabled
    with pytest.raises(ValueError, match="--access-log: cannot open"):
        AccessLog.open(str(tmp_path / "missing-dir" / "access.log"))
    with pytest.raises(ValueError, match="sample must be within 0..1"):
        AccessLog.open("-", sample=1.5)


def test_appending_keeps_earlier_content(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(b'{"old":true}\n')
    log = AccessLog.open(str(path))
    log.append({"new": True})
    log.close()
    assert lines(path) == [{"old": True}, {"new": True}]
    assert not log.enabled


def test_a_gateway_writes_sampled_json_lines(tmp_path: Path, start_gateway: Any) -> None:
    from tests.gateway_runtime.conftest import http_get, wait_until
    from tests.gateway_runtime.proxy_harness import write_proxy_config
    from tests.gateway_runtime.upstreams import Upstream

    path = tmp_path / "access.log"
    with Upstream() as up:
        config = write_proxy_config(tmp_path / "snapshot.json", [up.port])
        gateway = start_gateway(config=config, extra=["--access-log", str(path)])
        for i in range(3):
            assert http_get(f"{gateway.url}/svc/v1/echo/{i}")[0] == 200
        assert http_get(gateway.url + "/nowhere")[0] == 404
        wait_until(
            lambda: path.exists() and len(path.read_bytes().splitlines()) == 4,
            5,
            0.1,
            "4 access log lines",
        )
        quiet = tmp_path / "quiet.log"
        other = start_gateway(
            config=config, extra=["--access-log", str(quiet), "--access-log-sample", "0"]
        )
        assert http_get(f"{other.url}/svc/v1/echo/x")[0] == 200
    records = lines(path)
    assert [r["status"] for r in records] == [200, 200, 200, 404]
    assert records[0]["path"] == "/svc/v1/echo/0" and records[0]["method"] == "GET"
    other.stop()
    assert not quiet.exists() or quiet.read_bytes() == b""
