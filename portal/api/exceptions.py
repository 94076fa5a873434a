"""One boundary that turns every API error into a JSON body without a traceback."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, IntegrityError):
        # A uniqueness race the serializer could not see; report it as a conflict.
        logger.info("integrity error in %s: %s", context.get("view"), exc)
        return Response(
            {"detail": "this conflicts with an existing object (a name, slug or path is taken)"},
            status=status.HTTP_409_CONFLICT,
        )
    return exception_handler(exc, context)
