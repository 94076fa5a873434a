"""Publish and roll back configuration revisions."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Max

from gateway_runtime.contract.validate import validate_snapshot
from portal.models import ConfigRevision, User
from portal.publishing import store
from portal.publishing.compiler import compile_snapshot, iso_utc, read_one_database_snapshot
from portal.services import acting_as

logger = logging.getLogger(__name__)


class InvalidSnapshot(RuntimeError):
    """The compiler produced a document the schema refuses: a bug, never published."""


def publish_revision(
    *, actor: User | None = None, reason: str = "", force: bool = False
) -> ConfigRevision | None:
    """Compile the database and publish it as a new revision.

    Returns None when the content is identical to the current revision (unless
    `force`), so repeated triggers cost a compile but never a new revision.
    The Redis write happens inside the transaction on purpose: a revision row
    must not exist without its body, and a failed write rolls the row back.
    """
    with store.publish_lock(), acting_as(actor):
        read_one_database_snapshot()
        document = compile_snapshot()
        if not force and document["checksum"] == store.current_checksum():
            return None
        return _record(document, actor=actor, reason=reason or "publish")


def rollback_revision(revision: int, *, actor: User | None) -> ConfigRevision:
    """Publish the stored content of an old revision again, under a new revision number."""
    with store.publish_lock(), acting_as(actor):
        body = store.read_revision(revision)
        if body is None:
            kept = settings.MESHGATE_PUBLISH["HISTORY"]
            raise ValidationError(
                {"revision": f"revision {revision} is no longer kept (only the last {kept} are)"}
            )
        document = orjson.loads(body)
        return _record(
            document,
            actor=actor,
            reason=f"rollback to revision {revision}",
            rolled_back_from=revision,
        )


def read_snapshot(revision: int) -> dict[str, Any] | None:
    """The document of a kept revision, or None once it has been trimmed from history."""
    body = store.read_revision(revision)
    return None if body is None else orjson.loads(body)


def _record(
    document: Any, *, actor: User | None, reason: str, rolled_back_from: int | None = None
) -> ConfigRevision:
    row = ConfigRevision.objects.create(
        revision=_next_revision_number(),
        checksum=document["checksum"],
        created_by=actor,
        reason=reason[:200],
        rolled_back_from=rolled_back_from,
    )
    document["revision"] = row.revision
    document["created_at"] = iso_utc(row.created_at)
    body = orjson.dumps(document)
    _check(document)
    row.size_bytes = len(body)
    row.save(update_fields=["size_bytes"])
    store.write_revision(row.revision, body, document["checksum"])
    logger.info(
        "published revision %s (%s, %d bytes): %s", row.revision, row.checksum, len(body), reason
    )
    return row


def _next_revision_number() -> int:
    # Numbered explicitly (under the publish lock) rather than by the table's
    # sequence: a fresh database next to a Redis that already holds revisions must
    # continue after them, or gateways would refuse the "older" revision.
    latest = ConfigRevision.objects.aggregate(latest=Max("revision"))["latest"] or 0
    return max(latest, store.current_revision() or 0) + 1


def _check(document: Any) -> None:
    # On by default: the Rust schema validator checks a 100,000-key document in about 0.25 s
    # (docs/snapshot.md); MESHGATE_PUBLISH_VALIDATE=0 skips it for the largest catalogues.
    if not settings.MESHGATE_PUBLISH.get("VALIDATE", True):
        return
    problems = validate_snapshot(document)
    if problems:
        raise InvalidSnapshot("; ".join(problems[:5]))
