"""The checksum rule both sides apply: SHA-256 of the canonical JSON of the content.

Content is the whole document minus the fields that name one publication
(revision, created_at, checksum), so a rollback re-publishes the same checksum.
Canonical JSON = UTF-8, keys sorted, no whitespace (orjson with OPT_SORT_KEYS).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

STAMP_FIELDS = frozenset({"revision", "created_at", "checksum"})


def content_of(document: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in document.items() if name not in STAMP_FIELDS}


def content_checksum(document: Mapping[str, Any]) -> str:
    canonical = orjson.dumps(content_of(document), option=orjson.OPT_SORT_KEYS)
    return "sha256:" + hashlib.sha256(canonical).hexdigest()
