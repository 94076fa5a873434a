"""Probe results on their way to the database: batched every FLUSH_SECONDS.

Two ways to drain the same sink:
- in the background (the Celery task): one recorder thread per worker process, so a tick
  task returns as soon as its probes are scheduled (a few ms) and never holds a pool slot
  for the seconds its probes take: a solo or prefork worker shared with the publisher
  stays responsive, and a threads pool needs no thread per overlapping tick;
- in the calling thread (`wait=True`: tests and the shell), which returns once the tick's
  last result is recorded and sees the caller's transaction.

Either way a state change is published about FLUSH_SECONDS after the deciding probe, not
after the window's slowest probe times out.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import redis
from django.db import DatabaseError, close_old_connections, connection

from portal.redis import redis_key
from registry.health.history import minute_label
from registry.health.probe_loop import Plan
from registry.health.probes import ProbeResult
from registry.health.recording import record_results
from registry.health.targets import Target

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 0.1
IDLE_CLOSE_SECONDS = 2.0


@dataclass
class TickReport:
    shard: int
    held: bool = False
    window: tuple[float, float] = (0.0, 0.0)
    planned: int = 0
    checked: int = 0  # filled in when the tick waited for its results
    changes: int = 0
    seconds: float = 0.0
    late_max_ms: float = 0.0  # the latest a probe fired after its due time
    errors: list[str] = field(default_factory=list)


@dataclass(eq=False)
class Tally:
    """One tick's plan in the sink, and what became of it."""

    client: redis.Redis
    plan: Plan
    awaiting: set[int]
    report: TickReport
    done: threading.Event = field(default_factory=threading.Event)


class Sink:
    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[Tally, object]] = queue.Queue()

    def deliver(self, tally: Tally, pair: tuple[Target, ProbeResult]) -> None:
        self.queue.put((tally, pair))

    def finish(self, tally: Tally, future: concurrent.futures.Future[list[float]]) -> None:
        # Called on the loop after the plan's last delivery, so it queues behind them.
        self.queue.put((tally, future))

    def drain(self, until: Tally | None = None) -> None:
        """Record batches until `until` is finished (forever when None)."""
        busy_at = time.monotonic()
        while True:
            results, finished = self._collect()
            if results or finished:
                busy_at = time.monotonic()
            elif until is None and time.monotonic() - busy_at > IDLE_CLOSE_SECONDS:
                # An idle background recorder gives its database connection back, so a
                # quiet worker holds no session open (and a test database can be dropped).
                connection.close()
                busy_at = time.monotonic()
            self._record(results)
            for tally, future in finished:
                _close(tally, future)
            if until is not None and any(tally is until for tally, _ in finished):
                return

    def _collect(self) -> tuple[dict[Tally, list], list[tuple[Tally, object]]]:
        deadline = time.monotonic() + FLUSH_SECONDS
        results: dict[Tally, list] = {}
        finished: list[tuple[Tally, object]] = []
        while not finished:
            try:
                tally, item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if isinstance(item, concurrent.futures.Future):
                finished.append((tally, item))
            else:
                results.setdefault(tally, []).append(item)
        return results, finished

    def _record(self, results: dict[Tally, list]) -> None:
        for tally, batch in results.items():
            try:
                updates = record_results(tally.client, batch, awaiting_verdict=tally.awaiting)
            except (DatabaseError, redis.RedisError) as exc:
                # Keep going: the next batch may get through (a locked or restarting DB).
                logger.error("could not record %d health results: %s", len(batch), exc)
                tally.report.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            tally.report.checked += len(batch)
            tally.report.changes += len(updates)


def _close(tally: Tally, future: object) -> None:
    assert isinstance(future, concurrent.futures.Future)
    try:
        fired = future.result()
        late = [f - at for f, (at, _target) in zip(fired, tally.plan, strict=False)]
        tally.report.late_max_ms = round(max(late, default=0.0) * 1000, 1)
        count_fired(tally.client, fired)
    except Exception as exc:  # noqa: BLE001 - reported, the worker goes on
        logger.error("health probes failed: %s", exc)
        tally.report.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        tally.done.set()


def count_fired(client: redis.Redis, fired: list[float]) -> None:
    """Probes fired per 100 ms slot, kept an hour: the jitter at work, for dashboards and
    the benchmark (`<p>:health:fired:<YYYYmmddHHMM>`, field = epoch * 10)."""
    slots = Counter(int(at * 10) for at in fired)
    pipe = client.pipeline(transaction=False)
    for slot, count in slots.items():
        key = redis_key("health", "fired", minute_label(slot / 10))
        pipe.hincrby(key, str(slot), count)
        pipe.expire(key, 3600)
    pipe.execute()


class BackgroundRecorder:
    """The worker process's recorder thread (started on first use, again after a fork)."""

    _lock = threading.Lock()
    _current: BackgroundRecorder | None = None

    @classmethod
    def sink(cls) -> Sink:
        with cls._lock:
            current = cls._current
            if current is None or current.pid != os.getpid() or not current.thread.is_alive():
                current = cls._current = cls()
            return current._sink

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._sink = Sink()
        self.thread = threading.Thread(target=self._run, name="health-recorder", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                close_old_connections()  # this thread's own connection, kept healthy
                self._sink.drain()
            except Exception:  # noqa: BLE001 - a recorder that dies stops all recording
                logger.exception("the health recorder failed; restarting it")
