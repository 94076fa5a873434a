"""Processes of the gateway benchmark: start pinned to a CPU, wait, measure from /proc, stop.

Used by gateway_bench.py. Every child is started through `Processes`, which stops all of them
(SIGTERM, then SIGKILL) when the benchmark ends, whatever happened.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
PROFILE_ENV = "MESHGATE_GATEWAY_PROFILE"
PURE_ENV = "MESHGATE_GATEWAY_PURE_PYTHON"  # gateway_runtime/accel.py


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tool(name: str) -> str:
    """Absolute path of a required program (preflight() has checked they all exist)."""
    return shutil.which(name) or name


def pinned(cpu: str, argv: list[str]) -> list[str]:
    return [tool("taskset"), "-c", cpu, *argv]


class Processes:
    """Every child the benchmark starts; all are stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.children: list[subprocess.Popen[bytes]] = []

    def start(
        self, name: str, argv: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = open(self.scratch / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the child
        child = subprocess.Popen(  # noqa: S603 - our own command line
            argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.scratch
        )
        self.children.append(child)
        return child

    def stop(self, child: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def stop_all(self) -> None:
        for child in reversed(self.children):
            self.stop(child)

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.scratch / f"{name}.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )


def wait_until(
    check: Callable[[], bool], what: str, child: subprocess.Popen[bytes], timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with status {child.returncode}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if check():
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what}: not ready after {timeout:.0f} s")


def http_get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    status, _, body = http_get_full(port, path, headers)
    return status, body


def http_get_full(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def render_nginx(template: str, scratch: Path, values: dict[str, int]) -> Path:
    text = (BENCH_DIR / "nginx" / template).read_text()
    for name, value in {"DIR": str(scratch), **values}.items():
        text = text.replace(f"@{name}@", str(value))
    name = template.removesuffix(".conf")
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (scratch / f"{name}-tmp" / sub).mkdir(parents=True, exist_ok=True)
    path = scratch / template
    path.write_text(text)
    return path


def start_nginx(procs: Processes, conf: Path, cpu: str, port: int) -> subprocess.Popen[bytes]:
    name = conf.stem
    # -e: nginx opens its compiled-in error log before reading the config; keep it ours too.
    argv = [tool("nginx"), "-p", str(procs.scratch), "-e", str(procs.scratch / f"{name}-error.log")]
    argv += ["-c", str(conf), "-g", "daemon off;"]
    child = procs.start(name, pinned(cpu, argv))
    wait_until(lambda: http_get(port, "/")[0] > 0, f"nginx {name}", child)
    return child


def start_gateway(
    procs: Processes,
    source: list[str],
    port: int,
    admin: int,
    cpu: str,
    profile: str | None = None,
    *,
    pure: bool = False,
    name: str = "meshgate",
) -> subprocess.Popen[bytes]:
    """One worker on `cpu`; source = ["--config", FILE] or ["--redis", URL, "--redis-prefix", P].

    pure=True runs the .py sources even where the Cython build is current (gateway_runtime/accel).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHGATE_GATEWAY_")}
    env.pop("REDIS_URL", None)
    if profile:
        env[PROFILE_ENV] = profile
    if pure:
        env[PURE_ENV] = "1"
    argv = [sys.executable, "-m", "gateway_runtime", *source, "--workers", "1"]
    argv += ["--listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin}"]
    argv += ["--state-dir", str(procs.scratch / "gateway-state"), "--log-level", "warning"]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    child = procs.start(name, pinned(cpu, argv), env=env)
    wait_until(lambda: http_get(admin, "/readyz")[0] == 200, "MeshGate /readyz", child, timeout=60)
    return child


def descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                found.extend(int(c) for c in children)
                queue.extend(int(c) for c in children)
    return found


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def process_rss(root_pid: int) -> dict[str, float]:
    """RSS in MB of each process of a tree, by role (taskset execs, so the root is the program)."""
    result = {}
    for pid in [root_pid, *descendants(root_pid)]:
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            role = "supervisor" if pid == root_pid else "worker"
            if b"multiprocessing" in cmdline:
                role = "helper"  # e.g. the snapshot validator's spawned process
            result[f"{role} {pid}"] = rss_mb(pid)
    return result


def cpu_times() -> dict[str, tuple[int, int]]:
    """CPU number -> (busy, total) jiffies from /proc/stat."""
    times = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if name.startswith("cpu") and name != "cpu":
            values = [int(v) for v in fields[:8]]
            idle = values[3] + values[4]
            times[name[3:]] = (sum(values) - idle, sum(values))
    return times


def busy_between(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> dict[str, float]:
    return {
        cpu: (after[cpu][0] - before[cpu][0]) / max(1, after[cpu][1] - before[cpu][1])
        for cpu in before
    }


def tree_cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of a process and its descendants, from /proc."""
    ticks = 0
    for member in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def publish_snapshot(url: str, prefix: str, body: bytes, checksum: str) -> None:
    """Revision 1 in Redis the way the portal publishes it (docs/snapshot.md, contracts.md)."""
    import redis

    client = redis.Redis.from_url(url)
    client.set(f"{prefix}:config:rev:1", body)
    client.set(f"{prefix}:config:checksum", checksum)
    client.set(f"{prefix}:config:current", 1)
    client.close()
