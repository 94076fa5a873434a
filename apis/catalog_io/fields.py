"""Checking one value from the file against the model field it fills."""

from __future__ import annotations

import math
from typing import Any

from django.db import models

from apis.catalog_io.schema import format_datetime, parse_file_datetime

_TEXT = {"CharField", "TextField", "SlugField"}
_INTEGER = {
    "IntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "PositiveBigIntegerField",
    "SmallIntegerField",
    "BigIntegerField",
}


def convert_value(field: models.Field[Any, Any], value: Any) -> Any:
    """The value in file form (datetimes as ISO strings), or ValueError saying what is wrong."""
    if value is None:
        if field.null:
            return None
        raise ValueError("must not be null")
    kind = field.get_internal_type()
    if kind in _TEXT:
        return _expect(value, str, "a string")
    if kind in _INTEGER:
        return _integer(value)
    if kind == "FloatField":
        return _number(value)
    if kind == "BooleanField":
        return _expect(value, bool, "true or false")
    if kind == "DateTimeField":
        return format_datetime(parse_file_datetime(value))
    if kind == "JSONField":
        return _json(field, value)
    raise ValueError(f"cannot be set from a file ({kind})")


def _expect(value: Any, types: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(value, types):
        _fail(what)
    return value


def _fail(what: str) -> Any:
    raise ValueError(f"must be {what}")


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail("an integer")
    return int(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail("a finite number")
    return float(value)


def _json(field: models.Field[Any, Any], value: Any) -> Any:
    # Our JSON fields are either lists (tags, scopes, retry_on) or mappings (metadata, headers).
    default = field.get_default()
    if isinstance(default, list):
        return _expect(value, list, "a list")
    return _expect(value, dict, "a mapping")
