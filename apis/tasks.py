from __future__ import annotations

from celery import shared_task

from apis.services.oauth_tokens import purge_expired_revocations


@shared_task(name="apis.tasks.purge_expired_revocations", ignore_result=True)
def purge_expired_revocations_task() -> int:
    """Drop deny-list rows of tokens that have expired anyway; safe to run twice."""
    return purge_expired_revocations()
