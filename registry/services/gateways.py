"""The gateway workers' status reports (contracts §2), for the portal's pages and API.

Reads never raise when Redis is down: a dashboard shows "no data" rather than an error
page, and logs why.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from portal.redis import get_redis, redis_key

logger = logging.getLogger(__name__)

FRESH_SECONDS = 15.0
PRUNE_SECONDS = 3600.0


@dataclass(frozen=True)
class GatewayWorker:
    key: str  # "<gateway_id>/<pid>"
    gateway: str
    pid: int
    worker: int
    workers: int
    listen: str
    admin: str
    revision: int | None
    checksum: str
    applied_at: float | None
    started_at: float | None
    heartbeat_at: float
    last_error: str | None
    errors: int
    version: str
    fresh: bool  # reported within FRESH_SECONDS
    on_current: bool  # serves `<p>:config:current`


@dataclass(frozen=True)
class GatewaySummary:
    current_revision: int | None
    workers: int  # every entry, fresh or not
    fresh: int
    on_current: int  # fresh and on the current revision: "3/3 on revision 42"
    stale: int


def _number(value: Any, kind: type) -> Any:
    return kind(value) if isinstance(value, (int, float)) else None


def _worker(key: str, data: dict[str, Any], now: float, current: int | None) -> GatewayWorker:
    heartbeat = float(data.get("heartbeat_at") or 0)
    revision = _number(data.get("revision"), int)
    fresh = now - heartbeat <= FRESH_SECONDS
    return GatewayWorker(
        key=key,
        gateway=str(data.get("gateway", key.rsplit("/", 1)[0])),
        pid=int(data.get("pid") or 0),
        worker=int(data.get("worker") or 0),
        workers=int(data.get("workers") or 1),
        listen=str(data.get("listen", "")),
        admin=str(data.get("admin", "")),
        revision=revision,
        checksum=str(data.get("checksum") or ""),
        applied_at=_number(data.get("applied_at"), float),
        started_at=_number(data.get("started_at"), float),
        heartbeat_at=heartbeat,
        last_error=data.get("last_error") or None,
        errors=int(data.get("errors") or 0),
        version=str(data.get("version", "")),
        fresh=fresh,
        on_current=fresh and revision is not None and revision == current,
    )


def _read(client: redis.Redis) -> tuple[dict[bytes, bytes], int | None]:
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(redis_key("gateways"))
    pipe.get(redis_key("config", "current"))
    raw, current = pipe.execute()
    return raw, int(current) if current else None


def list_gateways(*, now: float | None = None) -> list[GatewayWorker]:
    """Every reported gateway worker, sorted by gateway then worker; [] if Redis is down."""
    return _load(now)[0]


def gateway_summary(*, now: float | None = None) -> GatewaySummary:
    """Counts for "3/3 gateway workers on revision 42"."""
    workers, current = _load(now)
    fresh = [w for w in workers if w.fresh]
    return GatewaySummary(
        current_revision=current,
        workers=len(workers),
        fresh=len(fresh),
        on_current=sum(w.on_current for w in fresh),
        stale=len(workers) - len(fresh),
    )


def _load(now: float | None) -> tuple[list[GatewayWorker], int | None]:
    now = time.time() if now is None else now
    try:
        raw, current = _read(get_redis())
    except (redis.RedisError, OSError) as exc:
        logger.warning("cannot read gateway reports (%s: %s)", type(exc).__name__, exc)
        return [], None
    workers = []
    for field, value in raw.items():
        try:
            workers.append(_worker(field.decode(), orjson.loads(value), now, current))
        except (ValueError, TypeError) as exc:
            logger.warning("ignoring malformed gateway report %r: %s", field, exc)
    workers.sort(key=lambda w: (w.gateway, w.worker, w.pid))
    return workers, current


def prune_gateways(*, now: float) -> int:
    """Delete reports silent for PRUNE_SECONDS (a gateway that was stopped); returns how many."""
    client = get_redis()
    doomed = [worker.key for worker in _load(now)[0] if now - worker.heartbeat_at > PRUNE_SECONDS]
    if doomed:
        client.hdel(redis_key("gateways"), *doomed)
    return len(doomed)
