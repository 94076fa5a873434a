"""A real Redis master + replica watched by one `redis-server --sentinel`, on free ports.

Timings are short (down-after 1 s) so that killing the master promotes the replica within a few
seconds. The Sentinel URL also names a dead Sentinel first: clients must skip it.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import redis as redis_lib

from portal.local_redis import LocalRedis, _server_binary, free_port, start_local_redis
from tests.gateway_runtime.conftest import wait_until

SERVICE = "mymaster"


class SentinelSet:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.master: LocalRedis = start_local_redis(data_dir=tmp / "master")
        self.replica: LocalRedis = start_local_redis(data_dir=tmp / "replica")
        self.sentinel_port = free_port()
        self.dead_sentinel_port = free_port()  # nothing listens there
        self.sentinel: subprocess.Popen[bytes] | None = None
        self._log = (tmp / "sentinel.log").open("ab")

    def start(self) -> SentinelSet:
        with self.direct(self.master) as master:  # else the first sync waits 5 s for company
            master.config_set("repl-diskless-sync-delay", 0)
        with self.direct(self.replica) as replica:
            replica.replicaof("127.0.0.1", self.master.port)
        wait_until(self._replica_synced, timeout=10, message="the replica to sync")
        config = self.tmp / "sentinel.conf"  # Sentinel rewrites its file: one of its own
        config.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {self.tmp}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.master.port} 1\n"
            f"sentinel down-after-milliseconds {SERVICE} 1000\n"
            f"sentinel failover-timeout {SERVICE} 5000\n"
        )
        self.sentinel = subprocess.Popen(  # noqa: S603 - the test's own server binary
            [_server_binary(), str(config), "--sentinel"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._replica_known, timeout=15, message="Sentinel to see the replica")
        return self

    def url(self, *, db: int = 0, query: str = "") -> str:
        hosts = f"127.0.0.1:{self.dead_sentinel_port},127.0.0.1:{self.sentinel_port}"
        return f"redis+sentinel://{hosts}/{SERVICE}/{db}" + (f"?{query}" if query else "")

    @staticmethod
    def direct(server: LocalRedis) -> redis_lib.Redis:
        return redis_lib.Redis(host="127.0.0.1", port=server.port, socket_timeout=2)

    def master_port(self) -> int:
        client = redis_lib.Redis(host="127.0.0.1", port=self.sentinel_port, socket_timeout=2)
        with client:
            return int(client.sentinel_get_master_addr_by_name(SERVICE)[1])

    def fail_master_and_wait_for_failover(
        self, sig: signal.Signals = signal.SIGKILL, timeout: float = 20.0
    ) -> float:
        """Signal the master (SIGKILL: gone, its sockets reset; SIGSTOP: frozen, its sockets stay
        open); seconds until Sentinel names the replica and the replica is master."""
        started = time.monotonic()
        self.master.process.send_signal(sig)

        def promoted() -> bool:
            if self.master_port() != self.replica.port:
                return False
            with self.direct(self.replica) as client:
                return client.info("replication")["role"] == "master"

        wait_until(promoted, timeout=timeout, interval=0.1, message="Sentinel to promote")
        return time.monotonic() - started

    def stop(self) -> None:
        if self.sentinel is not None and self.sentinel.poll() is None:
            self.sentinel.kill()
            self.sentinel.wait(5)
        self.replica.stop()
        self.master.process.kill()  # it may be frozen (SIGSTOP)
        self.master.stop()
        self._log.close()

    def _replica_synced(self) -> bool:
        with self.direct(self.replica) as client:
            return client.info("replication").get("master_link_status") == "up"

    def _replica_known(self) -> bool:
        try:
            client = redis_lib.Redis(host="127.0.0.1", port=self.sentinel_port, socket_timeout=1)
            with client:
                replicas = client.sentinel_slaves(SERVICE)
        except (redis_lib.RedisError, OSError):
            return False
        return any(
            r["port"] == self.replica.port and r["is_slave"] and not r["is_sdown"] for r in replicas
        )
