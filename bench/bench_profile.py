"""Where the gateway's time goes: cProfile in the worker, `perf` on its processes.

Used by gateway_bench.py (--profile DIR, --perf, --strace). `load(seconds)` runs wrk against the
gateway and returns its RoundResult.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_procs import PROFILE_ENV, ROOT, Processes, descendants, tool

Load = Callable[[int], Any]


def print_profile(directory: Path, top: int = 25) -> None:
    """The worker's cProfile: top functions by own time, then call counts per request.

    Call counts are deterministic, so unlike times they do not move with other load on the
    machine; the request count is the number of proxy dispatch() calls.
    """
    import pstats

    files = sorted(directory.glob("*.prof"))
    if not files:
        print(f"no profile written under {directory} (is {PROFILE_ENV} supported by the worker?)")
        return
    stats = pstats.Stats(*map(str, files))
    print(f"\nprofile of the MeshGate worker ({', '.join(f.name for f in files)}):")
    stats.sort_stats("tottime").print_stats(top)
    table = stats.stats  # type: ignore[attr-defined]
    requests = sum(v[1] for k, v in table.items() if k[2] == "dispatch" and "proxy" in k[0])
    if not requests:
        return
    calls = sum(v[1] for v in table.values())
    own = sum(v[2] for v in table.values())
    print(
        f"per request: {calls / requests:.0f} Python-level calls, {own / requests * 1e6:.0f} us "
        f"(profiled, so inflated); most frequent calls per request:"
    )
    for (path, line, name), value in sorted(table.items(), key=lambda kv: -kv[1][1])[:top]:
        where = path.replace(str(ROOT) + "/", "")
        print(f"  {value[1] / requests:6.2f}  {where}:{line}({name})")


def profile_round(
    procs: Processes, gateway: subprocess.Popen[bytes], restart: Callable[[str], Any],
    load: Load, directory: Path, seconds: int,
) -> None:  # fmt: skip
    """Restart the gateway with cProfile on (`restart(prefix)`), load it, stop it, print the top."""
    procs.stop(gateway)
    directory.mkdir(parents=True, exist_ok=True)
    profiled = restart(str(directory / "worker"))
    load(2)
    result = load(seconds)
    print(f"\nprofiled round (cProfile on, so slower): {result.rps:.0f} rps")
    procs.stop(profiled, timeout=30)
    print_profile(directory)


def perf_round(
    procs: Processes, gateway: subprocess.Popen[bytes], load: Load, seconds: int
) -> None:
    """One more load round with `perf record` on the gateway's processes: where the CPU goes
    by shared object (kernel = syscalls and TCP, libpython = the interpreter, the C
    extensions) and by symbol. Python 3.11 has no perf trampolines, so Python functions are
    not named here; the cProfile round (--profile) names them."""
    pids = ",".join(str(pid) for pid in [gateway.pid, *descendants(gateway.pid)])
    data = procs.scratch / "perf.data"
    argv = [tool("perf"), "record", "-q", "-F", "999", "-o", str(data), "-p", pids]
    recorder = subprocess.Popen(  # noqa: S603 - our own command line
        [*argv, "--", "sleep", str(seconds)], stderr=subprocess.DEVNULL
    )
    result = load(seconds)
    recorder.wait()
    print(f"\nperf round: {result.rps:.0f} rps")
    for sort, lines in (("dso", 12), ("dso,sym", 30)):
        out = subprocess.run(  # noqa: S603 - our own command line
            [tool("perf"), "report", "-i", str(data), "--stdio", "--sort", sort],
            capture_output=True,
            text=True,
        )
        rows = [ln for ln in out.stdout.splitlines() if ln.strip() and not ln.startswith("#")]
        print(f"gateway CPU by {sort}:\n" + "\n".join(rows[:lines]))


def syscall_round(procs: Processes, name: str, pid: int, load: Load, seconds: int) -> None:
    """Syscalls per request of one proxy (`strace -c` on its processes during a load round).

    strace slows the proxy, but how many reads and writes a request takes does not change;
    it shows whether a gap to nginx is in the kernel or in user space.
    """
    out = procs.scratch / f"strace-{name}.txt"
    argv = [tool("strace"), "-c", "-f", "-o", str(out)]
    for member in [pid, *descendants(pid)]:
        argv += ["-p", str(member)]
    tracer = subprocess.Popen(argv, stderr=subprocess.DEVNULL)  # noqa: S603 - our own command line
    time.sleep(0.5)  # strace attaches asynchronously
    result = load(seconds)
    tracer.send_signal(signal.SIGINT)
    tracer.wait()
    requests = result.rps * seconds
    counts = []
    for line in out.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[0][0].isdigit() and fields[-1] != "total":
            counts.append((int(fields[3]) / requests, fields[-1]))
    shown = ", ".join(
        f"{call} {per:.2f}" for per, call in sorted(counts, reverse=True) if per >= 0.01
    )
    print(f"syscalls per request, {name}: {shown}")
