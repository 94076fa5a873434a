"""Rate limits and quotas per (application, plan), shared by every worker through Redis.

No request waits for Redis. Each worker decides locally from a small grant of tokens per limit
dimension, and `sync()` (every `sync_interval`, 50 ms, from the worker's own loop) settles keys
with Redis in ONE Lua call (ratelimit_store.py): it charges what was used, returns the unused
grant, and takes a new grant sized to the recent demand (1.5x the requests per interval, plus a
floor of the provisional allowance: a quarter second of an rps limit, 1 % of a quota, at most 10).
A key seen for the first time is admitted on a small provisional allowance (see Dim) that the
next sync charges as a debt.

Which keys a sync settles. A granted token is charged in the store when it is granted, so a key
whose grant still covers its demand has nothing urgent to settle: using it changes nothing anyone
else can see. A key used since the last sync is settled only when
- it has never been settled (its provisional use is an uncharged debt),
- a dimension's grant is running low: less left than twice the key's recent demand per interval,
  plus one (the next interval, and the one the settle itself may take),
- a window it holds has ended, or
- its last settle is older than MAX_AGE_S (1 s), so that the store's count, RateLimit-Remaining
  and the return of an unused grant stay at most that stale; MAX_AGE_LOOSE_S (5 s) when the store
  had at least half of every dimension's capacity (bucket) or limit (window) left after the last
  grant, since then nobody else is short of the tokens this worker holds.
A key under pressure therefore settles every sync exactly as it would if every used key did
(its grant runs out each interval): small limits keep their exact behaviour, and the accuracy
across workers is unchanged. A key far from its limit, e.g. 10,000 keys sharing 32,000 requests/s
under a high limit, settles about once per MAX_AGE_LOOSE_S instead of at nearly every request:
bench/ratelimit_sync_bench.py measures 29,600 -> 2,000 keys settled per second.
An idle key (from the scan) settles only when a window it holds ended, or when it has use not yet
settled and its last settle is older than the maximum age. A sync with traffic calls Redis even
when no key is due (an empty batch), so an outage, and the recovery that fail_closed plans wait
for, are still seen within one interval.

Dimensions of a plan: rps (token bucket, capacity = burst or rps), rpm (fixed minute), per_day
(UTC day), per_month (UTC calendar month). A request must fit all of them; the headers describe
the dimension with the least left (IETF draft "RateLimit header fields": RateLimit-Limit,
RateLimit-Remaining, RateLimit-Reset in seconds), plus Retry-After on a denial.

Redis unreachable (a failed or timed-out sync): plans with redis_down "local" keep working on a
LocalStore with each worker enforcing 1/workers_per_gateway of each limit; plans with
"fail_closed" refuse every request (503) until a sync succeeds again. With no Redis configured at
all (--config mode, sync(None)) every plan is enforced per gateway that way.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from gateway_runtime.ratelimit_dims import PERIOD_S, UNLIMITED, Decision, Dim, window_end
from gateway_runtime.ratelimit_store import LocalStore, RedisStore, Settle

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from gateway_runtime.config.table import Plan

log = logging.getLogger("gateway_runtime.ratelimit")

IDLE_FORGET_S = 60.0  # a key unused this long returns its grant and is forgotten
SCAN_EVERY_S = 1.0  # idle keys are looked at about this often (forgetting, windows that ended)
SCAN_MIN_CHUNK = 64
MAX_AGE_S = 1.0  # a used key settles at least this often ...
MAX_AGE_LOOSE_S = 5.0  # ... or this often while the store had half of its limits left


class KeyState:
    def __init__(self, key: tuple[int, int], plan: Plan, dims: list[Dim], now: float) -> None:
        self.key = key
        self.plan = plan
        self.dims = dims
        self.demand = 0  # requests seen since the last sync, denied ones included
        self.est = 0.0
        self.idle_since = now
        self.mark = 0  # the sync round that last looked at this key
        self.settled_at = 0.0  # when it was last settled (never: due at its first use)
        self.live = True  # False once forgotten or replaced by a new plan (then in _retired)


def plan_dims(prefix: str, app_id: int, plan: Plan, interval: float) -> list[Dim]:
    """The limit dimensions of a plan for one application (empty: unlimited)."""
    base = f"{prefix}:rl:{app_id}:{plan.id}"
    dims: list[Dim] = []
    if plan.rps:
        cap = float(plan.burst or plan.rps)
        dims.append(
            Dim(
                "b",
                "s",
                f"{base}:s",
                plan.rps,
                float(plan.rps),
                cap,
                math.ceil(cap / plan.rps) + 60,
                interval,
            )
        )
    for limit, period in ((plan.rpm, "m"), (plan.per_day, "d"), (plan.per_month, "mo")):
        if limit:
            dims.append(
                Dim(
                    "w",
                    period,
                    f"{base}:{period}",
                    limit,
                    0.0,
                    0.0,
                    int(PERIOD_S[period]) + 3600,
                    interval,
                )
            )
    return dims


class RateLimiter:
    """Local decisions per request; `sync(redis)` settles with the shared counters in one call."""

    def __init__(
        self,
        prefix: str = "meshgate",
        workers_per_gateway: int = 1,
        clock: Callable[[], float] = time.time,
        sync_interval: float = 0.05,
        sync_timeout: float = 1.0,
    ) -> None:
        if sync_interval <= 0:
            raise ValueError(f"sync_interval must be > 0, got {sync_interval}")
        if workers_per_gateway < 1:
            raise ValueError(f"workers_per_gateway must be >= 1, got {workers_per_gateway}")
        self.prefix = prefix
        self.clock = clock
        self.sync_interval = sync_interval
        # Generous on purpose: a call that times out may still have run in Redis, and its grant
        # is then lost; a loaded host's event-loop stalls must not look like a Redis outage.
        self.sync_timeout = sync_timeout
        self.now = clock()  # coarse time for headers, refreshed by every sync
        self.redis_ok = True
        self.last_error: str | None = None
        self.syncs = 0
        self.settled = 0  # keys settled by all syncs (retired keys not counted)
        self._keys: dict[tuple[int, int], KeyState] = {}
        # The same states by plan id, then app id: what check() looks up, two int-keyed dicts
        # being cheaper than building and hashing a tuple per request. A plan's dict is never
        # replaced (it stays when emptied), so the last one used can be kept with its plan.
        self._by_plan: dict[int, dict[int, KeyState]] = {}
        self._last_plan: Plan | None = None
        self._last_apps: dict[int, KeyState] | None = None
        self._active: list[KeyState] = []  # keys with demand since the last sync
        # The idle-key scan walks a snapshot of the keys in slices, one per sync, so 10,000 keys
        # cost 20 short slices a second instead of one 10 ms stall of the event loop.
        self._scan: list[KeyState] = []
        self._scan_pos = 0
        self._round = 0
        self._retired: list[KeyState] = []
        self._redis_store = RedisStore()
        self._local_store = LocalStore(1.0 / workers_per_gateway)

    # -- the request path ------------------------------------------------------------------------
    def check(self, app_id: int, plan: Plan) -> Decision:
        """Admit or refuse one request of `app_id` under `plan`; never does I/O."""
        if plan is self._last_plan:
            apps = self._last_apps
        else:
            apps = self._by_plan.get(plan.id)
            if apps is not None:
                self._last_plan, self._last_apps = plan, apps
        st = apps.get(app_id) if apps is not None else None
        if st is None or st.plan is not plan:
            st = self._open(app_id, plan, st)
        dims = st.dims
        if not dims:
            return UNLIMITED
        st.demand += 1
        if st.demand == 1:  # first request since the last sync: settle this key next time
            self._active.append(st)
        best = dims[0]
        if not self.redis_ok and plan.redis_down == "fail_closed":
            return best.refused(self.now, 503)
        for d in dims:
            if d.used >= d.allow:
                return d.refused(self.now)
        best_left = 1 << 62
        for d in dims:
            d.used += 1
            left = d.left + d.allow - d.used
            if left < best_left:
                best, best_left = d, left
        return best.admitted(best_left, self.now)

    def _open(self, app_id: int, plan: Plan, old: KeyState | None) -> KeyState:
        if old is not None:
            if old.plan == plan:  # a new revision with the same limits: keep the grants
                old.plan = plan
                return old
            old.live = False
            self._retired.append(old)
        key = (app_id, plan.id)
        st = KeyState(key, plan, plan_dims(self.prefix, app_id, plan, self.sync_interval), self.now)
        self._keys[key] = st
        apps = self._by_plan.get(plan.id)
        if apps is None:
            apps = self._by_plan[plan.id] = {}
        apps[app_id] = st
        return st

    def _forget(self, st: KeyState) -> None:
        st.live = False
        del self._keys[st.key]
        app_id, plan_id = st.key
        del self._by_plan[plan_id][app_id]

    # -- the sync loop ----------------------------------------------------------------------------
    async def run(self, redis: Redis, stop: asyncio.Event | None = None) -> None:
        """Sync every sync_interval until `stop` is set (or the task is cancelled)."""
        loop = asyncio.get_running_loop()
        while stop is None or not stop.is_set():
            started = loop.time()
            await self.sync(redis)
            await asyncio.sleep(max(0.0, self.sync_interval - (loop.time() - started)))

    async def sync(self, redis: Redis | None) -> None:
        """Settle every active key with Redis in one script call; falls back to local on failure.

        `redis` None means there is no shared store at all (--config mode): every plan is then
        enforced per gateway on the local store, and Redis is not "down" (no fail_closed refusal).
        """
        now = self.now = self.clock()
        traffic = len(self._active) != 0
        batch, owners = self._collect(now)
        # With traffic, an empty batch still goes to Redis: it sees an outage (and the recovery a
        # fail_closed plan waits for, its keys using nothing) within one interval, as if every
        # used key settled.
        if not batch and not (traffic and redis is not None):
            return
        if redis is None:
            results = self._local_store.settle(now, batch)
        else:
            results = await self._settle_shared(redis, now, batch)
        self._apply(now, owners, batch, results)
        self.syncs += 1

    async def _settle_shared(
        self, redis: Redis, now: float, batch: list[Settle]
    ) -> list[tuple[int, int]]:
        # Grants held now came from Redis iff redis_ok: never return them to the other store.
        try:
            sent = batch if self.redis_ok else _without_held(batch)
            results = await asyncio.wait_for(
                self._redis_store.settle(redis, now, sent), self.sync_timeout
            )
        except Exception as exc:  # noqa: BLE001 - any transport or server failure means "Redis down"
            sent = _without_held(batch) if self.redis_ok else batch
            self._set_mode(False, f"rate-limit sync failed: {type(exc).__name__}: {exc}")
            return self._local_store.settle(now, sent)
        self._set_mode(True, None)
        return results

    def _collect(self, now: float) -> tuple[list[Settle], list[Dim]]:
        batch: list[Settle] = []
        owners: list[Dim] = []
        # The keys used since the last sync plus one slice of the idle scan: the cost of a sync
        # follows the busy keys, not all the keys this worker has seen.
        active, self._active = self._active, []
        self._round = mark = self._round + 1
        for st in active + self._scan_slice():
            if st.mark == mark or not st.dims or not st.live:
                continue  # seen this round, unlimited, or replaced by a new plan (see _retired)
            st.mark = mark
            demand, st.demand = st.demand, 0
            if demand:
                st.idle_since = now
                st.est = demand if demand >= st.est else (st.est + demand) / 2
            elif now - st.idle_since > IDLE_FORGET_S and not _exhausted(st, now):
                self._forget(st)
                self._retired.append(st)
                continue
            if not _settle_due(st, now, demand != 0):
                continue  # its grant covers its demand, and its last settle is recent enough
            self._queue(st, batch, owners, now)
        for st in self._retired:
            for d in st.dims:
                if d.used or d.held:
                    _add(batch, owners, d, now, 0)
        self._retired = []
        return batch, owners

    def _queue(self, st: KeyState, batch: list[Settle], owners: list[Dim], now: float) -> None:
        st.settled_at = now
        self.settled += 1
        want = math.ceil(1.5 * st.est)
        for d in st.dims:
            _add(batch, owners, d, now, want + d.provisional)

    def _scan_slice(self) -> list[KeyState]:
        if self._scan_pos >= len(self._scan):
            self._scan = list(self._keys.values())
            self._scan_pos = 0
        size = max(SCAN_MIN_CHUNK, math.ceil(len(self._scan) * self.sync_interval / SCAN_EVERY_S))
        part = self._scan[self._scan_pos : self._scan_pos + size]
        self._scan_pos += size
        return part

    def _apply(
        self, now: float, owners: list[Dim], batch: list[Settle], results: list[tuple[int, int]]
    ) -> None:
        if len(results) != len(owners):
            raise ValueError(f"the store answered {len(results)} of {len(owners)} dimensions")
        for i in range(len(owners)):
            d = owners[i]
            grant, left = results[i]
            d.used -= d.sent  # requests admitted while the sync was in flight stay counted
            d.held = d.allow = grant
            d.left = left
            d.held_key = batch[i][2]
            if d.kind == "w":
                d.reset_at = window_end(d.period, now)

    def _set_mode(self, ok: bool, error: str | None) -> None:
        if ok == self.redis_ok:
            if error:
                self.last_error = error
            return
        self.redis_ok = ok
        self.last_error = error
        if error:
            log.warning("%s", error)
        else:
            log.info("rate-limit sync: Redis reachable again")
        for st in self._keys.values():  # grants held now came from the other store
            st.settled_at = 0.0  # so every key settles with the new store at its next use
            for d in st.dims:
                d.held = 0


def _add(batch: list[Settle], owners: list[Dim], d: Dim, now: float, want: int) -> None:
    """Queue one dimension's settlement (what it used and held, and the grant it wants)."""
    new_key = d.key_at(now)
    if d.kind == "b":
        want = min(want, int(d.cap))
        p1 = d.rate
    else:
        want = min(want, d.limit)
        p1 = float(d.limit)
    batch.append((d.kind, d.held_key or new_key, new_key, d.used, d.held, want, p1, d.cap, d.ttl))
    owners.append(d)
    d.sent = d.used


def _settle_due(st: KeyState, now: float, active: bool) -> bool:
    """True if the key must settle this sync (the rule is in the module docstring)."""
    need = int(2.0 * st.est) + 2 if active else 0  # >= ceil(2 x demand per interval) + 1
    used = 0
    loose = True
    for d in st.dims:
        if d.reset_at and now >= d.reset_at:
            return True  # a window it holds ended
        if d.allow - d.used < need:
            return True  # its grant is running low (or, idle, was overdrawn)
        used += d.used
        if 2 * d.left < (d.cap if d.kind == "b" else d.limit):
            loose = False
    if not used:
        return False
    return now - st.settled_at >= (MAX_AGE_LOOSE_S if loose else MAX_AGE_S)


def _exhausted(st: KeyState, now: float) -> bool:
    """True while a quota of the key is used up: forgetting it would re-admit provisionally."""
    return any(
        d.kind == "w" and now < d.reset_at and d.left + d.allow - d.used <= 0 for d in st.dims
    )


def _without_held(batch: list[Settle]) -> list[Settle]:
    return [
        (k, old, new, used, 0, want, p1, p2, ttl)
        for k, old, new, used, _h, want, p1, p2, ttl in batch
    ]
