"""Keeps one worker in step with Redis: snapshots, revocations, health overlay, status reports.

Three loops, each surviving Redis outages on its own:
- listen: SUBSCRIBE to config:revisions, oauth:revoked, health:updates; reconnects with
  backoff, and after each (re)connect wakes the poll loop so anything missed is fetched.
  Through Sentinel (redis_url.py) it also subscribes again when the other connections have
  found a new master: a frozen or cut-off old master never closes the idle subscription.
- poll: every poll_interval (or at once when woken) compares config:current with the
  served revision, fetches and applies a newer body, and re-reads health:states.
- report: every report_interval HSETs this process's entry in <p>:gateways (contracts §2).
None of this runs on the request path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway_runtime.config.store import ConfigStore

log = logging.getLogger("gateway_runtime.redis_sync")

# Same read as portal.publishing.store.read_current: pointer and body in one script.
_READ_CURRENT = """
local current = redis.call('GET', KEYS[1])
if not current then return false end
return {current, redis.call('GET', ARGV[1] .. current)}
"""
STALE_REPORT_TTL_HINT = 15.0
MAX_BACKOFF_S = 5.0

HealthApplier = Callable[[int, str, int], object]


@dataclass(frozen=True)
class ReportIdentity:
    """The fixed part of this process's status report."""

    gateway: str
    worker: int
    workers: int
    listen: str
    admin: str
    version: str
    started_at: float


class RedisSync:
    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        store: ConfigStore,
        identity: ReportIdentity,
        apply_health: HealthApplier,
        *,
        poll_interval: float = 3.0,
        report_interval: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.store = store
        self.identity = identity
        self.apply_health = apply_health
        self.poll_interval = poll_interval
        self.report_interval = report_interval
        self.clock = clock
        self.connected = False
        self.last_redis_error: str | None = None
        self.field = f"{identity.gateway}/{os.getpid()}"
        self._wake = asyncio.Event()
        self._refused: tuple[int, Any] | None = None  # don't recompile a refused revision
        self._read_current = client.register_script(_READ_CURRENT)

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # ------------------------------------------------------------------ snapshots

    async def fetch_current(self) -> tuple[int, bytes] | None:
        """(revision, body) of config:current, None if nothing was published. Raises RedisError."""
        result = await self._read_current(
            keys=[self.key("config", "current")], args=[self.key("config", "rev", "")]
        )
        if not result or result[1] is None:
            return None
        return int(result[0]), bytes(result[1])

    async def resync(self) -> None:
        """Fetch a newer revision if there is one, and re-read the health overlay."""
        raw = await self.client.get(self.key("config", "current"))
        self._set_connected(True)  # before a possibly long apply
        current = int(raw) if raw is not None else None
        refused = self._refused is not None and self._refused[0] == current
        if current is not None and current != self.store.revision and not refused:
            await self._apply_current()
        await self._read_health()

    def wake(self) -> None:
        """Poll now instead of at the next interval."""
        self._wake.set()

    def remember_refusal(self, revision: int, message: str) -> None:
        """Do not fetch and compile this revision again (it was refused once already)."""
        self._refused = (revision, message)

    async def _apply_current(self) -> None:
        fetched = await self.fetch_current()
        if fetched is None:
            return
        revision, body = fetched
        if self._refused is not None and self._refused[0] == revision:
            return
        result = await self.store.apply(body, "redis")
        if result.ok:
            self._refused = None
        else:
            self.remember_refusal(revision, result.message)

    async def _read_health(self) -> None:
        states = await self.client.hgetall(self.key("health", "states"))
        for value in states.values():
            self._health_update(value)

    def _health_update(self, raw: bytes | str) -> None:
        try:
            update = orjson.loads(raw)
            self.apply_health(int(update["instance"]), str(update["state"]), int(update["seq"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            log.warning("ignoring a malformed health update %r: %s", raw[:200], error)

    def _revocation(self, raw: bytes | str) -> None:
        try:
            message = orjson.loads(raw)
            self.store.revocations.revoke(str(message["jti"]), float(message["exp"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            log.warning("ignoring a malformed revocation %r: %s", raw[:200], error)

    # ------------------------------------------------------------------ loops

    async def run(self) -> None:
        """Run the three loops until cancelled."""
        await asyncio.gather(self._listen_loop(), self._poll_loop(), self._report_loop())

    async def _listen_loop(self) -> None:
        channels = {
            self.key("config", "revisions").encode(): lambda _raw: self._wake.set(),
            self.key("oauth", "revoked").encode(): self._revocation,
            self.key("health", "updates").encode(): self._health_update,
        }
        failures = 0
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*channels)
                self._set_connected(True)
                failures = 0
                self._wake.set()  # anything published while we were away
                while not _master_moved(pubsub):
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        channels[message["channel"]](message["data"])
                log.warning("Redis master moved; subscribing on the new one")
            except (RedisError, OSError) as error:
                self._set_connected(False, error)
                failures += 1
            finally:
                await _close_quietly(pubsub.aclose())
            await asyncio.sleep(_backoff(failures))

    async def _poll_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            self._wake.clear()
            try:
                await self.resync()
                self._set_connected(True)
            except (RedisError, OSError) as error:
                self._set_connected(False, error)

    async def _report_loop(self) -> None:
        while True:
            try:
                await self.report()
            except (RedisError, OSError) as error:
                self._set_connected(False, error)
            await asyncio.sleep(self.report_interval)

    def _set_connected(self, connected: bool, error: BaseException | None = None) -> None:
        if connected != self.connected:
            if connected:
                log.info("Redis connected")
            else:
                log.warning(
                    "Redis unreachable, serving revision %s: %s", self.store.revision, error
                )
        self.connected = connected
        if error is not None:
            self.last_redis_error = f"{type(error).__name__}: {error}"

    # ------------------------------------------------------------------ status report

    def report_body(self) -> dict[str, Any]:
        table, identity = self.store.table, self.identity
        return {
            "gateway": identity.gateway,
            "pid": os.getpid(),
            "worker": identity.worker,
            "workers": identity.workers,
            "listen": identity.listen,
            "admin": identity.admin,
            "revision": table.revision if table is not None else None,
            "checksum": table.checksum if table is not None else None,
            "applied_at": self.store.applied_at,
            "started_at": identity.started_at,
            "heartbeat_at": self.clock(),
            "last_error": self.store.last_error,
            "errors": self.store.errors,
            "version": identity.version,
        }

    async def report(self) -> None:
        await self.client.hset(self.key("gateways"), self.field, orjson.dumps(self.report_body()))

    async def withdraw(self) -> None:
        """Remove this process's report (graceful stop); never raises."""
        await _close_quietly(self.client.hdel(self.key("gateways"), self.field))


def _master_moved(pubsub: Any) -> bool:
    # Sentinel pools remember the master their last new connection was sent to; plain pools
    # have no master_address.
    master = getattr(pubsub.connection_pool, "master_address", None)
    connection = pubsub.connection
    return (
        master is not None
        and connection is not None
        and (connection.host, connection.port) != master
    )


def _backoff(failures: int) -> float:
    if failures == 0:
        return 0.0
    return min(MAX_BACKOFF_S, 0.1 * 2 ** min(failures, 8)) * random.uniform(0.5, 1.0)


async def _close_quietly(awaitable: Awaitable[Any]) -> None:
    with contextlib.suppress(RedisError, OSError):
        await awaitable
