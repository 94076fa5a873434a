"""One health tick: claim a window, plan what is due in it, hand the plan to the probes.

Probes run on the worker's shared uvloop thread (probe_loop.py), fired at their phase
times (so the load spreads over 100 ms slots) under a semaphore; their results go to a
sink that records them every 0.1 s (recorder.py). The ORM stays on ordinary threads,
away from Django's async-unsafe guard, and the tick task itself takes milliseconds.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import orjson
import redis
from django.conf import settings

from portal.redis import get_redis, redis_key
from registry.health.ejections import sync_ejections
from registry.health.lease import Window, claim_window, worker_identity
from registry.health.probe_loop import Plan, ProbeLoop
from registry.health.recorder import BackgroundRecorder, Sink, Tally, TickReport
from registry.health.schedule import due_in
from registry.health.targets import Target, load_targets

__all__ = ["TickReport", "build_plan", "force_key", "pop_forced", "run_tick"]


def health_settings() -> dict[str, Any]:
    return dict(settings.MESHGATE_HEALTH)


def run_tick(
    shard: int,
    *,
    client: redis.Redis | None = None,
    clock: Callable[[], float] = time.time,
    wait: bool = False,
) -> TickReport:
    """Check the shard's instances due in the next window (if this worker holds its lease).

    Returns once the probes are scheduled; with `wait`, once their results are recorded
    (by this thread, inside the caller's transaction).
    """
    conf = health_settings()
    client = client or get_redis()
    started, report = clock(), TickReport(shard=shard)
    window = claim_window(
        client,
        shard,
        me=worker_identity(),
        now=started,
        length=conf["LOOKAHEAD_SECONDS"],
        lease_seconds=conf["LEASE_SECONDS"],
    )
    if window is None:
        return report
    report.held, report.window = True, (window.start, window.end)
    targets = load_targets(shard, int(conf["SHARDS"]))
    by_id = {target.id: target for target in targets}
    awaiting = sync_ejections(client, set(by_id), now=started)
    forced = pop_forced(client, shard) | awaiting
    plan = build_plan(targets, window, forced, now=started)
    report.planned = len(plan)
    _note_tick(client, shard, started, report)
    if plan:
        tally = Tally(client=client, plan=plan, awaiting=awaiting, report=report)
        sink = Sink() if wait else BackgroundRecorder.sink()
        probes = ProbeLoop.get(int(conf["CONCURRENCY"]))
        future = probes.submit(plan, started, functools.partial(sink.deliver, tally))
        future.add_done_callback(functools.partial(sink.finish, tally))
        if wait:
            sink.drain(until=tally)
    report.seconds = round(clock() - started, 3)
    return report


def build_plan(targets: list[Target], window: Window, forced: set[int], *, now: float) -> Plan:
    """(fire time, target) for every target due in the window, plus forced ones at once."""
    plan: Plan = []
    for target in targets:
        if target.id in forced:
            plan.append((now, target))
            continue
        if window.empty:
            continue
        due = due_in(target.id, target.interval, window.start, window.end)
        if due is not None:
            plan.append((max(due, now), target))
    plan.sort(key=lambda item: item[0])
    return plan


def force_key(shard: int) -> str:
    return redis_key("health", "force", shard)


def pop_forced(client: redis.Redis, shard: int) -> set[int]:
    """Instances an operator (or an ejection) asked to check now."""
    pipe = client.pipeline(transaction=True)
    pipe.zrange(force_key(shard), 0, -1)
    pipe.delete(force_key(shard))
    members, _ = pipe.execute()
    return {int(member) for member in members}


def _note_tick(client: redis.Redis, shard: int, at: float, report: TickReport) -> None:
    # The stale-check API shows when each shard last ticked, and where.
    status = {"shard": shard, "worker": worker_identity(), "at": at, "planned": report.planned}
    client.hset(redis_key("health", "checkers"), str(shard), orjson.dumps(status))
