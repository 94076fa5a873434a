"""MeshGate beside nginx, on the same core, in the same run.

    .venv/bin/python bench/gateway_bench.py            (3 alternating rounds of 10 s)
    .venv/bin/python bench/gateway_bench.py --quick    (1 round of 3 s, for a smoke run)

Starts, on free ports and under a scratch directory (no root paths):
- the upstream: nginx `return 200` on two ports (two instances), pinned to CPU 1;
- nginx as a plain `proxy_pass` reverse proxy with upstream keep-alive, one worker, CPU 0;
- MeshGate (`python -m gateway_runtime --config ... --workers 1`), CPU 0, serving a generated
  snapshot: 1,000 routes, 10,000 keys, key auth on every route, a plan with a very high
  rate limit, P2C over the two upstream instances, metrics on;
- wrk (-t1 -c64 --latency) on CPU 1, cycling over 256 (path, API key) pairs so route
  lookup, key check and rate-limit state see many entries, not one hot key.
Rounds alternate between the proxies so drift on a shared machine hits both alike.
Prints rps, p50 and p99 per proxy, the CPU time each proxy's processes spent per request
(from /proc: the per-core figure that other load on the machine does not move), the
MeshGate/nginx ratios, the gateway's RSS, and the route-lookup cost at 10 vs 10,000 routes
(bench/route_lookup_bench.py). Issue 3 targets: rps >= 0.6 x nginx per core,
p99 <= 2 x nginx, lookup 10k/10 <= 1.1.

--floor also runs bench/floor_proxy.py (bare uvloop + httptools forwarding) as a third
proxy; --pure also runs MeshGate on its plain .py sources (MeshGate-py) beside the Cython
build that `make` installs (gateway_runtime/accel.py); --profile DIR runs one more
MeshGate round with cProfile in the worker (env MESHGATE_GATEWAY_PROFILE) and prints the
top functions and calls per request; --perf samples the gateway with `perf` (CPU by
shared object and symbol); --strace counts each proxy's syscalls per request; --redis
serves MeshGate from a throwaway Redis (the production mode: rate limits settled in
Redis, usage aggregated) instead of --config.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

import bench_profile  # noqa: E402
import snapshot_gen  # noqa: E402
from bench_procs import (  # noqa: E402
    Processes,
    busy_between,
    cpu_times,
    free_port,
    http_get,
    http_get_full,
    pinned,
    process_rss,
    render_nginx,
    start_gateway,
    start_nginx,
    tool,
    tree_cpu_seconds,
    wait_until,
)

REQUEST_PAIRS = 256
REDIS_PREFIX = "meshgate-bench"


@dataclass
class Options:
    rounds: int
    duration: int
    connections: int
    routes: int
    keys: int
    keep: bool
    profile: Path | None
    lookup: bool
    proxy_cpu: str
    load_cpu: str
    only: str | None
    redis: bool
    floor: bool
    strace: bool
    perf: bool
    pure: bool


@dataclass
class RoundResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    busy: dict[str, float]  # CPU -> busy fraction during the round (1.0 = saturated)
    # CPU time the proxy's processes spent per request: unlike rps, other work on the
    # machine does not change it, so it is the steadier per-core comparison.
    cpu_us: float
    share: (
        float  # the proxy's CPU seconds / wall seconds: below ~0.9 something else ran on its core
    )


@dataclass
class Proxy:
    name: str
    port: int
    pid: int  # root of the proxy's process tree (taskset execs, so this is the program)
    rounds: list[RoundResult] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(result, attribute) for result in self.rounds)


# -- load --------------------------------------------------------------------------------


def run_wrk(port: int, options: Options, pairs: Path, duration: int, pid: int = 0) -> RoundResult:
    argv = [tool("wrk"), "-t1", f"-c{options.connections}", f"-d{duration}s", "--latency"]
    argv += ["-s", str(BENCH_DIR / "nginx" / "wrk.lua"), f"http://127.0.0.1:{port}/"]
    env = {**os.environ, "MGBENCH_REQUESTS": str(pairs)}
    before, cpu_before = cpu_times(), tree_cpu_seconds(pid) if pid else 0.0
    out = subprocess.run(  # noqa: S603 - our own command line
        pinned(options.load_cpu, argv), env=env, capture_output=True, text=True, check=True
    )
    busy = busy_between(before, cpu_times())
    cpu_spent = tree_cpu_seconds(pid) - cpu_before if pid else 0.0
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("MGBENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out.stdout}\n{out.stderr}")
    data = json.loads(line.removeprefix("MGBENCH "))
    kinds = {k: data[k] for k in ("connect", "read", "write", "status", "timeout") if data[k]}
    errors = sum(kinds.values())
    if errors:  # wrk's "status" = non-2xx/3xx answers, e.g. a 401 or 429 from the gateway
        print(f"  wrk errors on port {port}: {kinds}")
    return RoundResult(
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=errors,
        busy=busy,
        cpu_us=cpu_spent * 1e6 / max(1, data["requests"]),
        share=cpu_spent / (data["duration_us"] / 1e6) if pid else 1.0,
    )


def check_proxies(proxies: list[Proxy], requests: list[snapshot_gen.BenchRequest]) -> None:
    """Real requests through each proxy before timing anything: a 401 is not a benchmark.

    For MeshGate also shows that the chain under test is the full one: the rate limiter
    answered (RateLimit-* headers) and both upstream instances were picked.
    """
    for proxy in proxies:
        ports, limits = set(), set()
        for sample in requests[:32]:
            status, headers, body = http_get_full(
                proxy.port, sample.path, {"X-API-Key": sample.key}
            )
            if status != 200 or body != b"ok\n":
                raise RuntimeError(
                    f"{proxy.name} answered {status} {body[:200]!r} for {sample.path}"
                )
            ports.add(headers.get("X-Upstream-Port"))
            limits.add(headers.get("RateLimit-Limit"))
        if proxy.name == "MeshGate":
            print(
                f"MeshGate check: 32 keyed requests -> 200; upstream instances used "
                f"{len(ports)}/2; RateLimit-Limit {sorted(map(str, limits))}"
            )


def run_rounds(proxies: list[Proxy], options: Options, pairs: Path) -> None:
    for proxy in proxies:  # warm-up: pools filled, caches hot
        run_wrk(proxy.port, options, pairs, duration=min(3, options.duration), pid=proxy.pid)
    for number in range(options.rounds):
        order = proxies if number % 2 == 0 else list(reversed(proxies))
        for proxy in order:
            result = run_wrk(proxy.port, options, pairs, options.duration, pid=proxy.pid)
            proxy.rounds.append(result)
            busy = result.busy
            print(
                f"  round {number + 1} {proxy.name:9s} {result.rps:9.0f} rps  p50 "
                f"{result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  errors {result.errors}  "
                f"{result.cpu_us:5.1f} CPU us/req  proxy got {result.share:.0%} of CPU "
                f"{options.proxy_cpu} (busy {busy[options.proxy_cpu]:.0%}), load CPU busy "
                f"{busy[options.load_cpu]:.0%}"
            )


# -- report ------------------------------------------------------------------------------


def report(proxies: list[Proxy], gateway_rss: dict[str, float]) -> None:
    print("\nmedian over rounds    rps    p50 ms    p99 ms  CPU us/req  rps per CPU-second  errors")
    for proxy in proxies:
        errors = sum(r.errors for r in proxy.rounds)
        cpu_us = proxy.median("cpu_us")
        print(
            f"  {proxy.name:12s} {proxy.median('rps'):9.0f} {proxy.median('p50_ms'):9.2f} "
            f"{proxy.median('p99_ms'):9.2f} {cpu_us:11.1f} {1e6 / cpu_us:19.0f} {errors:7d}"
        )
    by_name = {proxy.name: proxy for proxy in proxies}
    if "nginx" in by_name and "MeshGate" in by_name:
        nginx, meshgate = by_name["nginx"], by_name["MeshGate"]
        rps = meshgate.median("rps") / nginx.median("rps")
        p50 = meshgate.median("p50_ms") / nginx.median("p50_ms")
        p99 = meshgate.median("p99_ms") / nginx.median("p99_ms")
        per_core = nginx.median("cpu_us") / meshgate.median("cpu_us")
        # "rps per core" (the wording) = requests per CPU-second of the proxy: equal to
        # wall-clock rps when the proxy has its core to itself, and still right when it does not.
        print(
            f"MeshGate/nginx: rps per core x{per_core:.2f} (target >= 0.60 "
            f"{verdict(per_core >= 0.6)}); wall-clock rps x{rps:.2f}; p50 x{p50:.2f}; "
            f"p99 x{p99:.2f} (target <= 2.00 {verdict(p99 <= 2)})"
        )
        starved = [p.name for p in proxies if p.median("share") < 0.85]
        if starved:
            print(
                f"  warning: {', '.join(starved)} got < 85% of its core (other processes ran "
                "there): wall-clock rps and latencies are not the proxies' own; rps per core is"
            )
    if gateway_rss:
        sizes = ", ".join(f"{name} {mb:.1f} MB" for name, mb in gateway_rss.items())
        print(f"MeshGate RSS after the load: {sizes}")


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


# -- main --------------------------------------------------------------------------------


def prepare(scratch: Path, options: Options, ports: dict[str, int]) -> tuple[Path, Path, list]:
    document = snapshot_gen.generate_snapshot(
        routes=options.routes,
        keys=options.keys,
        upstream_ports=[ports["UPSTREAM_PORT_A"], ports["UPSTREAM_PORT_B"]],
    )
    snapshot = scratch / "snapshot.json"
    snapshot.write_text(json.dumps(document))
    requests = snapshot_gen.bench_requests(document, REQUEST_PAIRS, options.keys)
    pairs = scratch / "requests.txt"
    pairs.write_text("".join(f"{r.path} {r.key}\n" for r in requests))
    return snapshot, pairs, requests


def start_all(
    procs: Processes, options: Options, ports: dict[str, int], source: list[str], admin_port: int
) -> tuple[list[Proxy], subprocess.Popen[bytes] | None]:
    """Upstream first, then the proxies that take part; (proxies in report order, gateway)."""
    scratch = procs.scratch
    upstream_conf = render_nginx("upstream.conf", scratch, ports)
    start_nginx(procs, upstream_conf, options.load_cpu, ports["UPSTREAM_PORT_A"])
    proxies, gateway = [], None
    if options.only != "meshgate":
        conf = render_nginx("proxy.conf", scratch, ports)
        nginx = start_nginx(procs, conf, options.proxy_cpu, ports["PROXY_PORT"])
        proxies.append(Proxy("nginx", ports["PROXY_PORT"], nginx.pid))
    if options.floor:
        argv = [sys.executable, str(BENCH_DIR / "floor_proxy.py"), str(ports["FLOOR_PORT"])]
        argv += [str(ports["UPSTREAM_PORT_A"]), str(ports["UPSTREAM_PORT_B"])]
        floor = procs.start("floor", pinned(options.proxy_cpu, argv))
        wait_until(lambda: http_get(ports["FLOOR_PORT"], "/")[0] == 200, "floor proxy", floor)
        proxies.append(Proxy("floor", ports["FLOOR_PORT"], floor.pid))
    if options.only != "nginx":
        port = ports["GATEWAY_PORT"]
        gateway = start_gateway(procs, source, port, admin_port, options.proxy_cpu)
        proxies.append(Proxy("MeshGate", port, gateway.pid))
        print(f"MeshGate hot path: {hot_path(admin_port)}")
        if options.pure:
            port, admin = ports["PURE_PORT"], ports["PURE_ADMIN_PORT"]
            pure = start_gateway(
                procs, source, port, admin, options.proxy_cpu, pure=True, name="meshgate-py"
            )
            proxies.append(Proxy("MeshGate-py", port, pure.pid))
            print(f"MeshGate-py hot path: {hot_path(admin)}")
    return proxies, gateway


def hot_path(admin_port: int) -> str:
    """Which build the gateway runs (its /status): the figures mean little without it."""
    return str(json.loads(http_get(admin_port, "/status")[1]).get("hot_path"))


def benchmark(options: Options, scratch: Path) -> None:
    names = ("UPSTREAM_PORT_A", "UPSTREAM_PORT_B", "PROXY_PORT", "GATEWAY_PORT", "ADMIN_PORT")
    names += ("FLOOR_PORT", "PURE_PORT", "PURE_ADMIN_PORT")
    ports = {name: free_port() for name in names}
    snapshot, pairs, requests = prepare(scratch, options, ports)
    procs = Processes(scratch)
    redis_server = None
    try:
        source = ["--config", str(snapshot)]
        if options.redis:
            redis_server, source = start_redis(snapshot, options.load_cpu)
        proxies, gateway = start_all(procs, options, ports, source, ports["ADMIN_PORT"])
        check_proxies(proxies, requests)
        print(
            f"{options.routes} routes, {options.keys} keys; {options.rounds} rounds x "
            f"{options.duration} s, wrk -t1 -c{options.connections}; proxies on CPU "
            f"{options.proxy_cpu}, upstream + wrk on CPU {options.load_cpu}"
        )
        run_rounds(proxies, options, pairs)
        report(proxies, process_rss(gateway.pid) if gateway else {})
        if options.strace:
            for proxy in proxies:
                load = functools.partial(run_wrk, proxy.port, options, pairs)
                bench_profile.syscall_round(procs, proxy.name, proxy.pid, load, 4)
        if gateway is not None:
            after_rounds(procs, gateway, options, source, pairs, ports)
    except Exception:
        for name in ("meshgate", "upstream", "proxy"):
            print(f"--- {name} log ---\n{procs.log_tail(name)}", file=sys.stderr)
        raise
    finally:
        procs.stop_all()
        if redis_server is not None:
            redis_server.stop()


def start_redis(snapshot: Path, cpu: str) -> tuple[Any, list[str]]:
    """A throwaway Redis on the load CPU holding the snapshot as revision 1; gateway argv."""
    from bench_procs import publish_snapshot

    from portal.local_redis import start_local_redis

    server = start_local_redis()
    os.sched_setaffinity(server.process.pid, {int(cpu)})
    body = snapshot.read_bytes()
    publish_snapshot(server.url, REDIS_PREFIX, body, json.loads(body)["checksum"])
    return server, ["--redis", server.url, "--redis-prefix", REDIS_PREFIX]


def after_rounds(
    procs: Processes,
    gateway: subprocess.Popen[bytes],
    options: Options,
    source: list[str],
    pairs: Path,
    ports: dict[str, int],
) -> None:
    """Metrics sanity check, then the optional perf and cProfile rounds."""
    status, metrics = http_get(ports["ADMIN_PORT"], "/metrics")
    print(f"MeshGate /metrics: {status}, {len(metrics)} bytes")
    port, admin = ports["GATEWAY_PORT"], ports["ADMIN_PORT"]

    def load(seconds: int) -> RoundResult:
        return run_wrk(port, options, pairs, seconds)

    def restart(profile: str) -> subprocess.Popen[bytes]:
        return start_gateway(procs, source, port, admin, options.proxy_cpu, profile=profile)

    if options.perf:
        bench_profile.perf_round(procs, gateway, load, options.duration)
    if options.profile:
        bench_profile.profile_round(
            procs, gateway, restart, load, options.profile, options.duration
        )


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per round")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--routes", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument(
        "--profile", type=Path, help="also profile the gateway; .prof files go here"
    )
    parser.add_argument("--no-lookup", action="store_true", help="skip the route-lookup microbench")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--only", choices=("nginx", "meshgate"), help="run one proxy only")
    parser.add_argument(
        "--redis",
        action="store_true",
        help="MeshGate from a throwaway Redis (rate-limit sync, usage) instead of --config",
    )
    parser.add_argument(
        "--strace", action="store_true", help="also count syscalls per request (strace -c)"
    )
    parser.add_argument(
        "--floor", action="store_true", help="also run bench/floor_proxy.py (forwarding only)"
    )
    parser.add_argument(
        "--perf",
        action="store_true",
        help="also sample the gateway with `perf` (CPU by library / symbol)",
    )
    parser.add_argument(
        "--pure",
        action="store_true",
        help="also run MeshGate on its .py sources (MeshGate-py), beside the compiled build",
    )
    args = parser.parse_args(argv)
    rounds, duration = (1, 3) if args.quick else (args.rounds, args.duration)
    cpus = sorted(os.sched_getaffinity(0))
    proxy_cpu, load_cpu = (str(cpus[0]), str(cpus[1])) if len(cpus) > 1 else (str(cpus[0]),) * 2
    return Options(
        rounds=rounds,
        duration=duration,
        connections=args.connections,
        routes=args.routes,
        keys=args.keys,
        keep=args.keep,
        profile=args.profile.resolve() if args.profile else None,
        lookup=not args.no_lookup,
        proxy_cpu=proxy_cpu,
        load_cpu=load_cpu,
        only=args.only,
        redis=args.redis,
        floor=args.floor,
        strace=args.strace,
        perf=args.perf,
        pure=args.pure,
    )


def preflight(options: Options) -> None:
    missing = [name for name in ("nginx", "wrk", "taskset") if shutil.which(name) is None]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: apt-get install nginx-light wrk util-linux")
    if options.perf and shutil.which("perf") is None:
        sys.exit("--perf needs perf: apt-get install linux-perf")
    if options.strace and shutil.which("strace") is None:
        sys.exit("--strace needs strace: apt-get install strace")


@contextlib.contextmanager
def scratch_dir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="meshgate-gwbench-"))
    path.chmod(0o755)  # nginx workers may run as an unprivileged user when started by root
    try:
        yield path
    finally:
        if keep:
            print(f"scratch directory kept: {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    options = parse_args(argv)
    preflight(options)
    if options.proxy_cpu == options.load_cpu:
        print("warning: one CPU only; proxies, upstream and wrk share it", file=sys.stderr)
    print(f"load average before: {os.getloadavg()[0]:.2f} (other work on these CPUs skews results)")
    with scratch_dir(options.keep) as scratch:
        benchmark(options, scratch)
    if options.lookup:
        import route_lookup_bench

        os.sched_setaffinity(0, {int(options.proxy_cpu)})  # the proxies' core is free by now
        route_lookup_bench.main(quick=options.rounds == 1 and options.duration <= 3)


if __name__ == "__main__":
    main()
