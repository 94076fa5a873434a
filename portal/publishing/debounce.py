"""Turn a burst of database changes into one publish a moment later.

The first change after a quiet period claims `<p>:publish:pending` for the
debounce window and enqueues one task due at the end of the window; changes
inside the window find the claim taken and do nothing, because that task will
compile after they committed. 100 changes in a second make one or two revisions.
"""

from __future__ import annotations

import functools
import logging
from typing import cast

import redis
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

from portal.publishing.tasks import publish_config
from portal.redis import get_redis, redis_key

logger = logging.getLogger(__name__)

_MARK = "meshgate_publish"


def schedule_publish(reason: str) -> None:
    """After the current transaction commits, make sure a publish is due soon."""
    if _already_scheduled():
        return
    callback = functools.partial(claim_and_enqueue, reason)
    setattr(callback, _MARK, True)
    transaction.on_commit(callback)


def _already_scheduled() -> bool:
    # One callback per transaction is enough; a bulk change of 1,000 rows must not
    # make 1,000 Redis round trips (or 1,000 timeouts when Redis is down).
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return False
    return any(getattr(entry[1], _MARK, False) for entry in connection.run_on_commit)


def claim_and_enqueue(reason: str) -> bool:
    """Enqueue the publish task unless one is already due; True when this call enqueued it."""
    seconds = cast(float, settings.MESHGATE_PUBLISH["DEBOUNCE_SECONDS"])
    try:
        window_ms = max(1, int(seconds * 1000))
        claimed = get_redis().set(
            redis_key("publish", "pending"), reason[:200], nx=True, px=window_ms
        )
        if claimed:
            publish_config.apply_async(kwargs={"reason": reason}, countdown=seconds)
        return bool(claimed)
    except (redis.exceptions.RedisError, OperationalError, OSError) as exc:
        # The user's change is committed and stays; only its publication waits.
        logger.warning(
            "could not schedule a config publish (%s: %s); it will go out with the next change "
            "or with `manage.py publish`",
            type(exc).__name__,
            exc,
        )
        return False
