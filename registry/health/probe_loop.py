"""One probe event loop per worker process, shared by every tick.

Ticks overlap (each lasts its window plus the slowest probe's timeout), so a loop per
tick meant several loops and threads contending for the GIL. One long-lived uvloop thread
with one semaphore (the worker's concurrency bound) does the same work with far fewer
context switches. It starts lazily in the process that
probes, so a prefork parent never owns it, and a forked child gets its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Callable

import uvloop

from registry.health.probes import ProbeResult, probe
from registry.health.targets import Target

Plan = list[tuple[float, Target]]
Deliver = Callable[[tuple[Target, ProbeResult]], None]


class ProbeLoop:
    _lock = threading.Lock()
    _current: ProbeLoop | None = None

    @classmethod
    def get(cls, concurrency: int) -> ProbeLoop:
        """The process's loop, started on first use (again after a fork)."""
        with cls._lock:
            loop = cls._current
            if loop is None or loop.pid != os.getpid() or not loop.thread.is_alive():
                loop = cls._current = cls(concurrency)
            return loop

    def __init__(self, concurrency: int) -> None:
        self.pid = os.getpid()
        self.loop = uvloop.new_event_loop()
        self.concurrency = concurrency
        ready = threading.Event()
        self.thread = threading.Thread(
            target=self._serve, args=(ready,), name="health-probes", daemon=True
        )
        self.thread.start()
        ready.wait()

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.semaphore = asyncio.Semaphore(self.concurrency)
        ready.set()
        self.loop.run_forever()

    def submit(
        self, plan: Plan, origin: float, deliver: Deliver
    ) -> concurrent.futures.Future[list[float]]:
        """Run the plan on the loop; the future completes when every probe delivered, with
        each probe's fire time (on the tick's clock)."""
        return asyncio.run_coroutine_threadsafe(self._run(plan, origin, deliver), self.loop)

    async def _run(self, plan: Plan, origin: float, deliver: Deliver) -> list[float]:
        # Fire times are relative to `origin` (the tick's clock reading) and paced on the
        # loop's monotonic clock, so a wall-clock step mid-tick cannot bunch or stall probes.
        loop = asyncio.get_running_loop()
        base = loop.time()
        tasks, fired = [], []
        for at, target in plan:
            delay = (at - origin) - (loop.time() - base)
            if delay > 0.001:
                await asyncio.sleep(delay)
            fired.append(origin + loop.time() - base)
            tasks.append(asyncio.create_task(self._probe(target, deliver)))
        await asyncio.gather(*tasks)
        return fired

    async def _probe(self, target: Target, deliver: Deliver) -> None:
        async with self.semaphore:
            result = await probe(target.spec, target.scheme, target.host, target.port)
        deliver((target, result))
