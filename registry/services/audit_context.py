"""Audit-log attribution for writes that no portal user makes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from auditlog.context import set_extra_data
from django.db import transaction


@contextlib.contextmanager
def acting_as_agent(label: str) -> Iterator[None]:
    """Like `portal.services.acting_as`, for a non-user actor such as a service's token.

    LogEntry.actor must be a User, so the label goes into the entry's free-text
    `actor_email` column; the audit-log API shows it as the actor.
    """
    with transaction.atomic(), set_extra_data({"actor": None, "actor_email": label}):
        yield
