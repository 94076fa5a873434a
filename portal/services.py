"""Helpers shared by the service functions of every app."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from auditlog.context import set_actor
from django.db import transaction


@contextlib.contextmanager
def acting_as(actor: Any) -> Iterator[None]:
    """One atomic unit of work whose audit-log entries name `actor`.

    Service functions wrap their writes in this, so the audit log records who did
    it whether the call came from the REST API, the admin, a command or a task.
    """
    with transaction.atomic(), set_actor(actor):
        yield
