"""An uploaded OpenAPI document waits here between "preview" and "apply".

A file per upload under VAR_DIR, not the session or a hidden form field: documents
may be 20 MB, above Django's request-body and sensible session sizes, and a file is
shared by every web worker process on the host. The name binds the upload to its
user and version, so nobody applies somebody else's upload.
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from django.conf import settings

KEEP_SECONDS = 6 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _folder() -> Path:
    folder = Path(settings.VAR_DIR) / "console-uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _path(user_id: int, version_id: int, token: str) -> Path | None:
    if not _TOKEN.match(token):
        return None
    return _folder() / f"{user_id}-{version_id}-{token}.txt"


def stage_upload(text: str, *, user_id: int, version_id: int) -> str:
    """Keep `text` for a later apply; returns the token that names it."""
    _prune()
    token = secrets.token_urlsafe(18)
    path = _path(user_id, version_id, token)
    assert path is not None  # a token we just made always matches
    path.write_text(text, encoding="utf-8")
    return token


def read_upload(token: str, *, user_id: int, version_id: int) -> str | None:
    """The staged text, or None if the token is unknown, expired or someone else's."""
    path = _path(user_id, version_id, token)
    if path is None or not path.is_file():
        return None
    return path.read_text(encoding="utf-8")


def discard_upload(token: str, *, user_id: int, version_id: int) -> None:
    path = _path(user_id, version_id, token)
    if path is not None:
        path.unlink(missing_ok=True)


def _prune() -> None:
    cutoff = time.time() - KEEP_SECONDS
    for old in _folder().glob("*.txt"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
