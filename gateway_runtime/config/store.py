"""ConfigStore: holds the Table a worker serves and swaps it atomically.

`store.table` is one attribute; a request reads it once. apply() validates a large snapshot
in a separate process and compiles in an executor thread, then swaps the reference on the
loop thread. A refused snapshot leaves the old table in place and
sets `last_error`. After each successful apply the raw snapshot is written to the
state dir (tmp + os.replace) as the last-known-good copy used when Redis is down at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway_runtime.auth import Revocations
from gateway_runtime.config.compile import (
    ConfigError,
    check_raw,
    compile_table,
    parse_snapshot,
    summarize,
)
from gateway_runtime.config.table import Table

log = logging.getLogger("gateway_runtime.config")

LKG_NAME = "last-known-good.json"
# Schema validation is pure Python and holds the GIL: 100,000 keys (14 MB) take ~10 s, during
# which a thread would slow every request of the worker. Above this size it runs in a
# separate process (`validator`, e.g. config.check.check_in_subprocess: a child that lives only
# for that check, so an idle worker keeps no second interpreter); below it a thread is cheaper.
OFFLOAD_BYTES = 256 * 1024


@dataclass(frozen=True)
class ApplyResult:
    ok: bool
    revision: int | None
    checksum: str | None
    message: str  # "applied", "unchanged" or the refusal reason


class ConfigStore:
    """One per worker process. Listeners (`on_swap`) run on the loop thread after each swap."""

    def __init__(
        self,
        state_dir: Path | None,
        *,
        executor: Executor | None = None,
        clock: Callable[[], float] = time.time,
        validate: bool = True,
        validator: Callable[[bytes], Awaitable[list[str]]] | None = None,
    ) -> None:
        self.table: Table | None = None
        self.revocations = Revocations()
        self.state_dir = state_dir
        self.applied_at: float | None = None
        self.source: str | None = None
        self.last_error: str | None = None
        self.errors = 0
        self._executor = executor
        self._clock = clock
        self._validate = validate
        self._validator = validator
        self._listeners: list[Callable[[Table], None]] = []
        self._lock = asyncio.Lock()

    def on_swap(self, listener: Callable[[Table], None]) -> None:
        """Call `listener(new_table)` after every swap (RuntimeState.sync, metrics ...)."""
        self._listeners.append(listener)

    @property
    def revision(self) -> int | None:
        table = self.table
        return table.revision if table is not None else None

    async def apply(self, raw: bytes, source: str) -> ApplyResult:
        """Parse and compile `raw` off the loop, swap it in on the loop; refuse (keep the old
        table) if invalid. A big snapshot is schema-checked by `validator` (a child process)."""
        async with self._lock:  # one at a time; the next compares against the result
            loop = asyncio.get_running_loop()
            try:
                document = await loop.run_in_executor(self._executor, _parse, raw)
            except ConfigError as error:
                return self._refuse(source, ApplyResult(False, None, None, str(error)))
            unchanged = self._unchanged(document)
            if unchanged is not None:
                return unchanged
            validate = self._validate
            if validate and self._validator is not None and len(raw) >= OFFLOAD_BYTES:
                try:
                    problems = await self._validator(raw)
                except Exception as error:  # the child died: check here rather than not at all
                    log.warning("out-of-process check failed (%s); checking in a thread", error)
                    problems = await loop.run_in_executor(self._executor, check_raw, raw)
                if problems:
                    refusal = ApplyResult(False, _revision_of(document), None, summarize(problems))
                    return self._refuse(source, refusal)
                validate = False
            table, result = await loop.run_in_executor(
                self._executor, self._build, document, validate
            )
            if table is None:
                return self._refuse(source, result)
            self._swap(table, source)
            await loop.run_in_executor(self._executor, self._write_last_known_good, raw)
            return result

    def apply_now(self, raw: bytes, source: str) -> ApplyResult:
        """Synchronous apply: at start before the loop serves, and in unit tests."""
        try:
            document = _parse(raw)
        except ConfigError as error:
            return self._refuse(source, ApplyResult(False, None, None, str(error)))
        unchanged = self._unchanged(document)
        if unchanged is not None:
            return unchanged
        table, result = self._build(document, self._validate)
        if table is None:
            return self._refuse(source, result)
        self._swap(table, source)
        self._write_last_known_good(raw)
        return result

    def _unchanged(self, document: dict[str, Any]) -> ApplyResult | None:
        current = self.table
        if current is not None and _is_stale(
            current, document.get("revision"), document.get("checksum")
        ):
            return ApplyResult(True, current.revision, current.checksum, "unchanged")
        return None

    def _build(self, document: dict[str, Any], validate: bool) -> tuple[Table | None, ApplyResult]:
        """CPU work only, safe in a thread: never writes shared state except the revocation
        set (merge is a few dict stores of live ids)."""
        try:
            with _gc_paused():
                table = compile_table(document, self.revocations, validate=validate)
        except ConfigError as error:
            return None, ApplyResult(False, _revision_of(document), None, str(error))
        return table, ApplyResult(True, table.revision, table.checksum, "applied")

    def _refuse(self, source: str, result: ApplyResult) -> ApplyResult:
        self.last_error = f"revision {result.revision} refused: {result.message}"
        self.errors += 1
        log.error(
            "config from %s refused, keeping revision %s: %s", source, self.revision, result.message
        )
        return result

    def _swap(self, table: Table, source: str) -> None:
        self.table = table
        self.applied_at = self._clock()
        self.source = source
        log.info("serving revision %s (%s) from %s", table.revision, table.checksum, source)
        for listener in self._listeners:
            try:
                listener(table)
            except Exception:  # a listener bug must not undo a good swap
                log.exception("swap listener %r failed", listener)

    # ------------------------------------------------------------------ last known good

    @property
    def lkg_path(self) -> Path | None:
        return self.state_dir / LKG_NAME if self.state_dir is not None else None

    def _write_last_known_good(self, raw: bytes) -> None:
        path = self.lkg_path
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(raw)
            os.replace(tmp, path)
        except OSError as error:
            log.warning("could not write the last-known-good snapshot to %s: %s", path, error)

    def load_last_known_good(self) -> bytes | None:
        """The snapshot last applied by any worker sharing this state dir, or None."""
        path = self.lkg_path
        try:
            return path.read_bytes() if path is not None else None
        except FileNotFoundError:
            return None
        except OSError as error:
            log.warning("could not read %s: %s", path, error)
            return None


def _is_stale(current: Table, revision: object, checksum: object) -> bool:
    """The very revision already served. A lower revision is applied: config:current is the
    revision gateways should serve, and callers always read it fresh (never from a message),
    so a lower one means Redis was reset or rolled back on purpose, not a late delivery."""
    return revision == current.revision and checksum == current.checksum


def _revision_of(document: dict[str, Any]) -> int | None:
    value = document.get("revision")
    return value if isinstance(value, int) else None


def _parse(raw: bytes) -> dict[str, Any]:
    with _gc_paused():
        return parse_snapshot(raw)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Parsing and building ~10^5 objects trigger full collections that scan the whole heap
    while holding the GIL (hundreds of ms under load: a stall for every request). A parsed
    document and a compiled table hold no reference cycles, so pausing the cyclic GC for
    that work loses nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
