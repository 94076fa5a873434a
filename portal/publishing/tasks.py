"""The Celery side of publishing: thin, safe to run twice (an unchanged compile is a no-op)."""

from __future__ import annotations

import redis
from celery import shared_task

from portal.publishing.services import publish_revision


@shared_task(
    name="portal.publishing.tasks.publish_config",
    # Transient only: Redis unreachable, or another publish holding the lock too long.
    autoretry_for=(
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
        redis.exceptions.LockError,
    ),
    retry_backoff=1,
    retry_backoff_max=30,
    max_retries=8,
)
def publish_config(reason: str = "") -> int | None:
    """Publish the current database state; returns the new revision or None when nothing changed."""
    revision = publish_revision(reason=reason or "automatic publish")
    return None if revision is None else revision.revision
