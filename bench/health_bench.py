"""Health checking at scale: 2,000 instances, interval 10 s, one worker process.

    .venv/bin/python bench/health_bench.py [--instances 2000] [--interval 10]

Starts a throwaway Redis and SQLite database (or uses REDIS_URL with its own key prefix),
a local upstream process serving 100 ports (most healthy, 5 slow, 5 never listening),
20 services x 100 instances over those ports, ONE `celery worker --pool=solo` process
and `celery beat`. Then:

1. warm-up until every instance on a live port is healthy;
2. steady state for 20 s: checks per second achieved, worker CPU %, and the per-100 ms
   slot load (max / mean) as fired by the worker and as seen arriving at the upstreams;
3. kills 5 ports (100 instances) and measures, for each, the delay from the kill to the
   `unhealthy` update on `<p>:health:updates` (what a gateway receives);
4. capacity: every interval set to 1 s (2,000 instances -> 2,000 checks/s wanted) for
   15 s: checks per second achieved, worker CPU % and slot load.

Targets (issue 4): >= 1,000 checks/s on one worker process; max slot <= 2 x mean;
p99 detection delay <= interval x unhealthy threshold + 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PORTS = 100
SLOW_PORTS = range(90, 95)  # answer after 0.5 s (timeout 2 s): healthy but slow
DOWN_PORTS = range(95, 100)  # never listening: unhealthy from the start
KILLED_PORTS = range(0, 5)  # killed during the run: the detection-delay sample


# --- the upstream process ----------------------------------------------------------


def serve(base_port: int) -> None:
    """Serve PORTS ports (minus the down ones); stdin commands: `kill`, `slots A B`."""
    import uvloop

    slots: Counter[int] = Counter()
    servers: dict[int, asyncio.Server] = {}
    writers: set[asyncio.StreamWriter] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = writer.get_extra_info("sockname")[1]
        writers.add(writer)
        try:
            await reader.readuntil(b"\r\n\r\n")
            slots[int(time.time() * 10)] += 1
            if port - base_port in SLOW_PORTS:
                await asyncio.sleep(0.5)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writers.discard(writer)
            writer.close()

    async def main() -> None:
        for offset in range(PORTS):
            if offset not in DOWN_PORTS:
                servers[offset] = await asyncio.start_server(
                    handle, "127.0.0.1", base_port + offset, backlog=1024, reuse_address=True
                )
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            command, *args = line.split()
            if command == "kill":
                for offset in KILLED_PORTS:
                    servers.pop(offset).close()
                for writer in list(writers):
                    if writer.get_extra_info("sockname")[1] - base_port in KILLED_PORTS:
                        writer.transport.abort()
                print("killed", flush=True)
            elif command == "slots":
                start, end = int(args[0]), int(args[1])
                print(" ".join(str(slots.get(s, 0)) for s in range(start, end)), flush=True)

    uvloop.run(main())


class Upstreams:
    def __init__(self, base_port: int) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - this script
            [sys.executable, __file__, "--serve", str(base_port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._line() == "ready"

    def _line(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def _send(self, command: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._line()

    def kill_ports(self) -> None:
        assert self._send("kill") == "killed"

    def slots(self, start: float, end: float) -> list[int]:
        return [int(n) for n in self._send(f"slots {int(start * 10)} {int(end * 10)}").split()]

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


# --- the checker side ------------------------------------------------------------------


def free_base_port() -> int:
    """A run of PORTS free ports (checked by binding each)."""
    import socket

    for base in range(21000, 60000, PORTS):
        with contextlib.ExitStack() as stack:
            try:
                for offset in range(PORTS):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", base + offset))
            except OSError:
                continue
            return base
    raise RuntimeError("no run of free ports")


def build_registry(instances: int, interval: float, base_port: int) -> None:
    from registry.models import Instance, Service

    services = Service.objects.bulk_create(
        Service(
            name=f"bench {n}",
            slug=f"bench-{n}",
            check_interval_seconds=interval,
            check_timeout_seconds=2.0,
        )
        for n in range((instances + PORTS - 1) // PORTS)
    )
    rows = [
        Instance(service=services[n // PORTS], host="127.0.0.1", port=base_port + n % PORTS)
        for n in range(instances)
    ]
    Instance.objects.bulk_create(rows, batch_size=500)


def start_celery(env: dict[str, str], logs: Path) -> tuple[subprocess.Popen[bytes], ...]:
    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        with (logs / f"{name}.log").open("wb") as out:
            return subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "celery", "-A", "portal", *args],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    worker = start(
        "worker", "worker", "--pool=solo", "-Q", "health",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info",
    )  # fmt: skip
    beat = start(
        "beat", "beat", "-S", "django_celery_beat.schedulers:DatabaseScheduler",
        "--max-interval", "1", "--pidfile", str(logs / "beat.pid"), "-l", "warning",
    )  # fmt: skip
    return worker, beat


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def checks_total() -> int:
    from portal.redis import get_redis, redis_key

    return int(get_redis().get(redis_key("health", "checks")) or 0)


def measure_rate(worker_pid: int, seconds: float) -> tuple[float, float, float, float]:
    """(checks per second, worker CPU %, start, end) over the next `seconds`."""
    checks, cpu, start = checks_total(), cpu_seconds(worker_pid), time.time()
    time.sleep(seconds)
    end = time.time()
    rate = (checks_total() - checks) / (end - start)
    return rate, 100 * (cpu_seconds(worker_pid) - cpu) / (end - start), start, end


def wait_healthy(expected: int, limit: float) -> float:
    from registry.models import Instance

    started = time.time()
    while time.time() - started < limit:
        if Instance.objects.filter(health="healthy").count() >= expected:
            return time.time() - started
        time.sleep(0.5)
    healthy = Instance.objects.filter(health="healthy").count()
    raise SystemExit(f"only {healthy}/{expected} healthy after {limit:.0f} s")


class Subscriber(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        from portal.redis import get_redis, redis_key

        self.pubsub = get_redis().pubsub()
        self.pubsub.subscribe(redis_key("health", "updates"))
        self.unhealthy_at: dict[int, float] = {}
        self.running = True

    def run(self) -> None:
        import orjson

        while self.running:
            message = self.pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
            if message is not None:
                body = orjson.loads(message["data"])
                if body["state"] == "unhealthy":
                    self.unhealthy_at.setdefault(body["instance"], time.time())


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def fired_slots(start: float, end: float) -> list[int]:
    """Probes the worker fired per 100 ms slot (`<p>:health:fired:<minute>`)."""
    from portal.redis import get_redis, redis_key
    from registry.health.history import minute_label

    counts: dict[int, int] = {}
    for minute in {minute_label(t) for t in range(int(start), int(end) + 1)}:
        raw = get_redis().hgetall(redis_key("health", "fired", minute))
        counts.update({int(slot): int(n) for slot, n in raw.items()})
    return [counts.get(slot, 0) for slot in range(int(start * 10), int(end * 10))]


def describe_slots(slots: list[int]) -> str:
    mean = statistics.mean(slots)
    ratio = max(slots) / mean
    return f"max {max(slots)} / mean {mean:.1f} (max/mean {ratio:.2f}, {len(slots)} slots)"


def slot_report(upstreams: Upstreams, start: float, end: float) -> str:
    fired = describe_slots(fired_slots(start + 1, end - 1))
    arrived = describe_slots(upstreams.slots(start + 1, end - 1))
    return f"fired by the worker: {fired}\n  arrived at the upstreams: {arrived}"


def tick_report(log: Path, start: float, end: float) -> str:
    """From the worker's log of tick results: did beat's ticks arrive every second?"""
    import ast
    import re

    starts = []
    for line in log.read_text().splitlines():
        found = re.search(r"health_tick\[.*\] succeeded in [0-9.]+s: (\{.*\})$", line)
        if not found:
            continue
        report = ast.literal_eval(found.group(1))
        if report["held"] and start <= report["window"][1] - 2 <= end:
            starts.append(report["window"][1] - 2)  # the tick's clock: window end - lookahead
    if len(starts) < 2:
        return "no tick reports in the log"
    starts.sort()
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    return (
        f"{len(starts)} ticks, gap between ticks p50 {pct(gaps, 50):.2f} s, max {max(gaps):.2f} s"
    )


def run(instances: int, interval: float, logs: Path) -> None:
    from registry.models import Instance, Service

    base_port = free_base_port()
    upstreams = Upstreams(base_port)
    build_registry(instances, interval, base_port)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    worker, beat = start_celery(env, logs)
    try:
        live = Instance.objects.exclude(port__in=[base_port + p for p in DOWN_PORTS]).count()
        took = wait_healthy(live, limit=interval * 6 + 30)
        print(f"warm-up: {live}/{instances} instances healthy after {took:.1f} s")

        rate, cpu, start, end = measure_rate(worker.pid, 20)
        print(f"steady (interval {interval:g} s): {rate:.0f} checks/s, worker CPU {cpu:.0f} %")
        print(f"per-100 ms slot load\n  {slot_report(upstreams, start, end)}")
        print(f"ticks: {tick_report(logs / 'worker.log', start, end)}")

        subscriber = Subscriber()
        subscriber.start()
        doomed = set(
            Instance.objects.filter(port__in=[base_port + p for p in KILLED_PORTS]).values_list(
                "pk", flat=True
            )
        )
        killed_at = time.time()
        upstreams.kill_ports()
        threshold = Service.objects.values_list("unhealthy_threshold", flat=True).first() or 3
        deadline = killed_at + interval * threshold + 10
        while time.time() < deadline and not doomed <= subscriber.unhealthy_at.keys():
            time.sleep(0.2)
        subscriber.running = False
        delays = [
            subscriber.unhealthy_at[pk] - killed_at
            for pk in doomed
            if pk in subscriber.unhealthy_at
        ]
        print(
            f"detection delay (kill -> published unhealthy), {len(delays)}/{len(doomed)} seen: "
            f"min {min(delays):.1f} s, p50 {pct(delays, 50):.1f} s, p90 {pct(delays, 90):.1f} s, "
            f"p99 {pct(delays, 99):.1f} s, max {max(delays):.1f} s "
            f"(target p99 <= {interval * threshold + 1:g} s)"
        )

        capacity_interval = 1.0
        Service.objects.update(check_interval_seconds=capacity_interval, check_timeout_seconds=0.9)
        time.sleep(4)  # let the new phases settle
        rate, cpu, start, end = measure_rate(worker.pid, 15)
        print(
            f"capacity (interval {capacity_interval:g} s, "
            f"{instances / capacity_interval:.0f} checks/s wanted): {rate:.0f} checks/s, "
            f"worker CPU {cpu:.0f} %"
        )
        print(f"per-100 ms slot load\n  {slot_report(upstreams, start, end)}")
        print(f"ticks: {tick_report(logs / 'worker.log', start, end)}")
    finally:
        for process in (beat, worker):
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            if process.poll() is None:
                process.kill()
        upstreams.stop()


@contextlib.contextmanager
def throwaway_redis() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    from portal.local_redis import start_local_redis

    server = start_local_redis()
    try:
        yield server.url
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    # Stopped with SIGTERM, still stop the worker, beat and upstreams (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with (
        tempfile.TemporaryDirectory(prefix="meshgate-health-bench-") as scratch,
        throwaway_redis() as redis_url,
    ):
        os.environ.update(
            DATABASE_URL=f"sqlite:///{Path(scratch) / 'bench.sqlite3'}",
            REDIS_URL=redis_url,
            CELERY_BROKER_URL=redis_url,
            MESHGATE_REDIS_PREFIX=f"meshgate-health-bench-{os.getpid()}",
            MESHGATE_HEALTH_QUEUE="health",
            MESHGATE_VAR_DIR=str(Path(scratch) / "var"),
            DJANGO_SETTINGS_MODULE="portal.settings",
        )
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        run(args.instances, args.interval, Path(scratch))


if __name__ == "__main__":
    main()
