"""Resilience under load through a real gateway process: an upstream instance dies mid-load and
no GET fails (retries to another instance under the budget, passive health ejects the dead one)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.gateway_runtime.proxy_harness import spawn_gateway, write_proxy_config
from tests.gateway_runtime.rawhttp import RawClient
from tests.gateway_runtime.upstreams import Upstream


@pytest.mark.slow
def test_killing_one_of_three_instances_under_load_fails_no_get(tmp_path: Path) -> None:
    ups = [Upstream(f"u{i}").start() for i in range(3)]
    try:
        config = write_proxy_config(
            tmp_path / "s.json",
            [u.port for u in ups],
            retry_on=("connect-failure", "502", "503"),
            retries=2,
        )
        gw = spawn_gateway(tmp_path, config)
        stop = threading.Event()
        results: list[int] = []
        errors: list[str] = []

        def load() -> None:
            client = RawClient(gw.port)
            try:
                while not stop.is_set():
                    r = client.request("GET", "/svc/v1/echo")
                    results.append(r.status)
                    if r.status != 200:
                        errors.append(r.body.decode(errors="replace")[:200])
            finally:
                client.close()

        threads = [threading.Thread(target=load) for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        before_kill = len(results)
        ups[0].stop()
        time.sleep(2.0)
        stop.set()
        for t in threads:
            t.join(10)
        gw.stop()
    finally:
        for u in ups:
            u.stop()
    served_by = {u.name: u.requests for u in ups}
    assert before_kill > 50 and len(results) > before_kill + 50, (before_kill, len(results))
    assert errors == [], errors[:3]
    assert served_by["u1"] > 0 and served_by["u2"] > 0


def test_many_concurrent_clients_are_all_served(tmp_path: Path) -> None:
    with Upstream("a") as up:
        gw = spawn_gateway(tmp_path, write_proxy_config(tmp_path / "s.json", [up.port]))
        statuses: list[int] = []
        lock = threading.Lock()

        def client(n: int) -> None:
            with RawClient(gw.port, timeout=20) as c:
                for i in range(10):
                    body = b"%d-%d" % (n, i)
                    r = c.request("POST", f"/svc/v1/echo/{n}", body=body)
                    ok = r.status == 200 and r.json()["body"] == body.decode()
                    with lock:
                        statuses.append(200 if ok else r.status)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        gw.stop()
    assert statuses == [200] * 1000
    assert up.connections < 300  # pooled (64 idle kept per host), far fewer than 1000 requests
