"""The command line: clear errors with exit status 2, workers sharing a port, restarts, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from gateway_runtime.settings import SettingsError, parse_settings
from portal.local_redis import free_port
from tests.gateway_runtime import snapshots as snap
from tests.gateway_runtime.conftest import http_get, run_cli, wait_until


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env)


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "exactly one configuration source"),
        (["--redis", "redis://x", "--listen", "8080"], "--listen: '8080' is not HOST:PORT"),
        (["--redis", "redis://x", "--listen", "127.0.0.1:99999"], "port '99999'"),
        (["--redis", "redis://x", "--workers", "0"], "--workers: '0'"),
        (["--redis", "localhost:6379"], "--redis: 'localhost:6379' must start with redis://"),
        (["--redis", "redis://x", "--access-log-sample", "2"], "--access-log-sample"),
        (["--redis", "redis://x", "--log-level", "loud"], "--log-level"),
        (["--config", "/nonexistent.json"], "--config: '/nonexistent.json' is not a readable file"),
    ],
)
def test_bad_options_exit_2_with_a_message_naming_the_option(args, message):
    result = _run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_both_sources_at_once_are_refused():
    result = _run("--redis", "redis://x", "--config", __file__)
    assert result.returncode == 2 and "not allowed with argument" in result.stderr


def test_environment_variables_mirror_the_options():
    result = _run(env={"MESHGATE_GATEWAY_REDIS": "redis://x", "MESHGATE_GATEWAY_WORKERS": "many"})
    assert result.returncode == 2 and "--workers: 'many'" in result.stderr
    settings = parse_settings(
        [],
        {
            "MESHGATE_GATEWAY_REDIS": "redis://r:1/0",
            "MESHGATE_GATEWAY_LISTEN": "0.0.0.0:9000",
            "MESHGATE_GATEWAY_REDIS_PREFIX": "edge",
        },
    )
    assert (settings.redis_url, settings.listen_port, settings.redis_prefix) == (
        "redis://r:1/0",
        9000,
        "edge",
    )


def test_defaults():
    settings = parse_settings(["--redis", "redis://r"], {})
    assert settings.listen == "127.0.0.1:8080"
    assert settings.admin == "127.0.0.1:9080"
    assert settings.workers == (os.cpu_count() or 1)
    assert settings.gateway_id == f"{socket.gethostname()}:8080"
    assert settings.state_dir == Path("var/gateway")
    assert settings.access_log is None


def test_same_address_for_admin_and_proxy_is_refused():
    with pytest.raises(SettingsError, match="--admin-listen: must differ"):
        parse_settings(
            [
                "--redis",
                "redis://r",
                "--listen",
                "127.0.0.1:7000",
                "--admin-listen",
                "127.0.0.1:7000",
            ],
            {},
        )


def test_an_invalid_config_file_is_refused_at_start_naming_the_field(tmp_path: Path):
    document = snap.snapshot([snap.api(1, "/a", [snap.route(1, "GET", "/x")])])
    del document["apis"][0]["base_path"]
    path = tmp_path / "bad.json"
    path.write_bytes(snap.encode(document))
    result = _run("--config", str(path), "--listen", f"127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert "is not a valid snapshot: $.apis[0]: 'base_path' is a required property" in result.stderr


def test_an_unwritable_access_log_is_refused_at_start(tmp_path: Path):
    path = tmp_path / "s.json"
    path.write_bytes(snap.encode(snap.snapshot([])))
    result = _run("--config", str(path), "--access-log", str(tmp_path / "no" / "such" / "dir.log"))
    assert result.returncode == 2
    assert "--access-log: cannot open" in result.stderr and "No such file" in result.stderr


def test_a_second_gateway_on_a_busy_port_is_refused_not_merged(start_gateway, tmp_path: Path):
    path = tmp_path / "s.json"
    path.write_bytes(snap.encode(snap.snapshot([])))
    first = start_gateway(config=path)
    result = _run("--config", str(path), "--listen", f"127.0.0.1:{first.port}")
    assert result.returncode == 2
    assert f"127.0.0.1:{first.port} is already in use" in result.stderr


def test_a_port_in_use_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "s.json"
    path.write_bytes(snap.encode(snap.snapshot([])))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _run("--config", str(path), "--listen", f"127.0.0.1:{port}")
    assert result.returncode == 2
    assert f"127.0.0.1:{port} is already in use" in result.stderr


def _config(tmp_path: Path, upstream_port: int) -> Path:
    document = snap.snapshot(
        [
            snap.api(
                1,
                "/svc/v1",
                [
                    snap.route(1, "GET", "/ping", auth_mode="public"),
                    snap.route(2, "GET", "/slow", auth_mode="public"),
                ],
            )
        ],
        upstreams={"svc": snap.upstream([upstream_port])},
    )
    path = tmp_path / "snapshot.json"
    path.write_bytes(snap.encode(document))
    return path


def _worker_pids(gateway, tries: int = 60) -> set[int]:
    """Pids answering /status over `tries` fresh connections (failed attempts skipped: right
    after a SIGKILL the dead worker's queued connections are reset by the kernel)."""
    pids = set()
    for _ in range(tries):
        code, body = gateway.admin("/status")
        if code == 200:
            pids.add(json.loads(body)["pid"])
    return pids


def test_workers_share_the_port_and_a_crashed_worker_is_replaced(
    start_gateway, tmp_path, ok_upstream
):
    gateway = start_gateway(config=_config(tmp_path, ok_upstream), workers=2)
    wait_until(
        lambda: len(_worker_pids(gateway, 20)) == 2,
        timeout=10,
        message="SO_REUSEPORT to spread connections over both workers",
    )
    pids = _worker_pids(gateway)
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)
    wait_until(
        lambda: len(_worker_pids(gateway, 20) - {victim}) == 2,
        timeout=10,
        message="a replacement worker",
    )
    assert victim not in _worker_pids(gateway)
    assert http_get(gateway.url + "/svc/v1/ping")[0] == 200
    assert "exited with -9; starting a new one" in gateway.log()


def test_sigterm_lets_in_flight_requests_finish(start_gateway, tmp_path, ok_upstream):
    gateway = start_gateway(config=_config(tmp_path, ok_upstream), workers=1)
    answers: list[int] = []
    slow = threading.Thread(
        target=lambda: answers.append(http_get(gateway.url + "/svc/v1/slow", timeout=5)[0])
    )
    slow.start()
    time.sleep(0.3)  # the request is now waiting on the upstream's 1 s sleep
    assert gateway.stop() == 0
    slow.join(5)
    assert answers == [200]
    assert "draining in-flight requests" in gateway.log()


def test_sighup_reloads_the_config_file(start_gateway, tmp_path, ok_upstream):
    path = _config(tmp_path, ok_upstream)
    gateway = start_gateway(config=path, workers=2)
    wait_until(lambda: len(_worker_pids(gateway, 20)) == 2, message="both workers")
    pids = _worker_pids(gateway)
    path.write_bytes(snap.encode(snap.stamp(snap.snapshot([]), 2)))
    gateway.proc.send_signal(signal.SIGHUP)  # to the supervisor: it relays to every worker

    def served() -> set[tuple[int, int]]:
        answers = (gateway.admin("/status") for _ in range(20))
        return {(s["pid"], s["revision"]) for s in (json.loads(b) for c, b in answers if c == 200)}

    wait_until(lambda: {rev for _pid, rev in served()} == {2}, message="both workers reloaded")
    assert {pid for pid, _rev in served()} == pids, "SIGHUP restarts no worker"
    assert http_get(gateway.url + "/svc/v1/ping")[0] == 404


def test_ipv6_addresses_are_accepted_in_brackets():
    settings = parse_settings(["--redis", "redis://r", "--listen", "[::1]:8443"], {})
    assert (settings.listen_host, settings.listen_port) == ("::1", 8443)
    assert settings.listen == "[::1]:8443"
