"""Registry errors the shared exception handler does not know, turned into API errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rest_framework import status
from rest_framework.exceptions import APIException

from registry.services.instances import AddressTaken
from registry.services.services import ServiceInUse


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This conflicts with the current state of the registry."
    default_code = "conflict"


@contextlib.contextmanager
def conflicts_as_409() -> Iterator[None]:
    try:
        yield
    except (AddressTaken, ServiceInUse) as exc:
        raise Conflict(str(exc)) from None
