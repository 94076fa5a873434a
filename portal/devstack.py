"""`make run`: the whole system on one machine, on the embedded default.

SQLite under var/, a Redis (the one on 127.0.0.1:6379 if it answers, else a bundled
Valkey server started here), migrations, demo data, then the portal, a Celery worker
and beat, two demo upstreams and — when the data plane is installed — the gateway.
Ctrl-C stops everything this started. Deliberately free of Django imports: it only
supervises processes, each of which loads its own settings from the environment.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from gateway_runtime.redis_url import RedisUrlError, check_url
from portal.local_redis import LocalRedis, redis_answers, start_local_redis

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
PORTAL_PORT = 8000
GATEWAY_PORT = 8080
DEMO_PORTS = (9101, 9102)


@dataclass
class Stack:
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    redis: LocalRedis | None = None

    def start(self, name: str, *args: str) -> None:
        print(f"[meshgate] starting {name}: {' '.join(args)}", flush=True)
        # Own process group, so Ctrl-C reaches the supervisor alone and it can stop
        # the children in order instead of them all dying mid-write.
        self.processes[name] = subprocess.Popen(
            args, cwd=ROOT, env=self.env, start_new_session=True
        )

    def first_exited(self) -> str | None:
        return next(
            (name for name, proc in self.processes.items() if proc.poll() is not None), None
        )

    def stop(self) -> None:
        for name, proc in reversed(self.processes.items()):
            if proc.poll() is None:
                print(f"[meshgate] stopping {name}", flush=True)
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.redis is not None:
            print("[meshgate] stopping the embedded Redis", flush=True)
            self.redis.stop()


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def resolve_redis(env: dict[str, str]) -> LocalRedis | None:
    """Use REDIS_URL, else a server on 6379, else start the bundled one on 6379."""
    given = env.get("REDIS_URL")
    if given:
        try:
            check_url(given)
        except RedisUrlError as exc:
            sys.exit(f"REDIS_URL: {exc}")
        if not redis_answers(given, timeout=2):
            sys.exit(f"REDIS_URL={given} does not answer; start that Redis or unset REDIS_URL")
        return None
    if redis_answers(DEFAULT_REDIS):
        env["REDIS_URL"] = DEFAULT_REDIS
        return None
    server = start_local_redis(port=6379, data_dir=ROOT / "var" / "redis")
    env["REDIS_URL"] = server.url
    print(f"[meshgate] started an embedded Redis (Valkey) at {server.url}", flush=True)
    return server


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def gateway_available() -> bool:
    return importlib.util.find_spec("gateway_runtime.__main__") is not None


def start_services(stack: Stack) -> None:
    for index, port in enumerate(DEMO_PORTS):
        name = f"inventory-{'ab'[index]}"
        stack.start(name, PYTHON, "-m", "portal.demo_upstream", "--port", str(port), "--name", name)
    stack.start(
        "portal", PYTHON, "manage.py", "runserver", f"127.0.0.1:{PORTAL_PORT}", "--noreload"
    )
    # warning, not info: beat fires a health tick every second, and info would log each one twice.
    stack.start(
        "worker",
        PYTHON,
        "-m",
        "celery",
        "-A",
        "portal",
        "worker",
        "-l",
        "warning",
        "--concurrency",
        "2",
    )
    stack.start("beat", PYTHON, "-m", "celery", "-A", "portal", "beat", "-l", "warning")
    if gateway_available():
        stack.start(
            "gateway",
            PYTHON,
            "-m",
            "gateway_runtime",
            "--redis",
            stack.env["REDIS_URL"],
            "--listen",
            f"127.0.0.1:{GATEWAY_PORT}",
            "--workers",
            "1",
        )


def check_ports() -> None:
    wanted = [PORTAL_PORT, *DEMO_PORTS] + ([GATEWAY_PORT] if gateway_available() else [])
    busy = [port for port in wanted if not port_is_free(port)]
    if busy:
        sys.exit(
            f"ports already in use: {busy}; stop whatever listens there (an earlier `make run`?)"
        )


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # SIGTERM (from a service manager or `timeout`) stops the stack as Ctrl-C does,
    # instead of killing the supervisor and orphaning its children.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    check_ports()
    stack = Stack(env=env)
    stack.redis = resolve_redis(env)
    try:
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        manage(env, "publish")
        start_services(stack)
        print(
            f"[meshgate] portal on http://127.0.0.1:{PORTAL_PORT}/ — Ctrl-C stops everything",
            flush=True,
        )
        while (exited := stack.first_exited()) is None:
            time.sleep(0.5)
        print(
            f"[meshgate] {exited} exited with {stack.processes[exited].returncode}; stopping",
            flush=True,
        )
        return 1
    except KeyboardInterrupt:
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"[meshgate] set-up step failed: {' '.join(map(str, exc.cmd))}", flush=True)
        return 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
