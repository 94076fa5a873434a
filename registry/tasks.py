"""Celery tasks of the registry: thin wrappers over the service functions."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task
from django.utils import timezone

from registry.services import expiry


@shared_task(ignore_result=True)
def expire_stale_instances() -> dict[str, int]:
    """Run the heartbeat TTL; beat schedules it every few seconds (see migration 0002)."""
    return asdict(expiry.expire_stale_instances(now=timezone.now()))
