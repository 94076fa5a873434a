"""Celery tasks of the registry: thin wrappers over the service functions."""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import asdict
from typing import Any

import redis
from celery import shared_task
from celery.signals import worker_process_init, worker_ready, worker_shutting_down
from django.conf import settings
from django.utils import timezone

from portal.redis import get_redis
from registry.health import history, runner
from registry.health.lease import release_lease, worker_identity
from registry.services import expiry
from registry.services.gateways import prune_gateways

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def expire_stale_instances() -> dict[str, int]:
    """Run the heartbeat TTL; beat schedules it every few seconds (see migration 0002)."""
    return asdict(expiry.expire_stale_instances(now=timezone.now()))


@shared_task(ignore_result=True)
def health_tick(shard: int = 0) -> dict[str, Any]:
    """Check the shard's due instances if this worker holds the shard's lease (beat: 1/s)."""
    return asdict(runner.run_tick(int(shard)))


@shared_task(ignore_result=True)
def roll_up_health_history() -> int:
    """Turn closed minutes of check samples into HealthMinute rows."""
    return history.roll_up(get_redis(), now=time.time())


@shared_task(ignore_result=True)
def purge_health_history() -> dict[str, int]:
    """Drop history past the retention, and gateway reports silent for an hour."""
    result = history.purge(
        now=timezone.now(), retention_days=int(settings.MESHGATE_HEALTH["RETENTION_DAYS"])
    )
    return {**asdict(result), "gateways": prune_gateways(now=time.time())}


@worker_shutting_down.connect
def hand_over_leases(**kwargs: Any) -> None:
    """A worker stopping cleanly frees its shard leases at once instead of letting them
    expire, so another worker's next tick (within a second) takes over. With the prefork
    pool the leases belong to the children and simply expire (LEASE_SECONDS)."""
    client, me = get_redis(), worker_identity()
    try:
        for shard in range(int(settings.MESHGATE_HEALTH["SHARDS"])):
            release_lease(client, shard, me=me)
    except (redis.RedisError, OSError) as exc:
        logger.warning("could not release the health leases: %s", exc)


@worker_ready.connect
@worker_process_init.connect
def settle_the_heap(**kwargs: Any) -> None:
    """Move everything loaded at start-up (Django, Celery, the apps) out of the garbage
    collector's reach. Without it a full collection walks that whole heap every so often
    and stalls the probe loop for hundreds of milliseconds: the 100 ms slots bunch up."""
    gc.collect()
    gc.freeze()
