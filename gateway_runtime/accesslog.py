"""JSON access log: sampled on the request path, encoded and written from the worker tick.

The request path does one comparison (`enabled`), one random draw when sampling below 1, and a
list append of the fields dict the proxy builds. `flush()` (every tick, and at shutdown) encodes
the buffered records with orjson, one JSON object per line, and writes them in a single write.
When the buffer is full (a stalled disk, a flood) records are dropped and counted, never queued
without bound; the next flushed line carries {"dropped": n} so the gap is visible in the log.
"""

from __future__ import annotations

import logging
import random
import sys
from typing import IO, Any

import orjson

log = logging.getLogger("gateway_runtime.accesslog")


class AccessLog:
    """Buffered JSON-lines writer; `path` "-" is stdout, None disables it."""

    def __init__(
        self,
        stream: IO[bytes] | None,
        sample: float = 1.0,
        max_buffer: int = 10_000,
        rng: random.Random | None = None,
        owns_stream: bool = False,
    ) -> None:
        if not 0.0 <= sample <= 1.0:
            raise ValueError(f"access log sample must be within 0..1, got {sample}")
        self.enabled = stream is not None and sample > 0.0
        self.sample = sample
        self.max_buffer = max_buffer
        self.dropped = 0
        self.written = 0
        self.last_error: str | None = None
        self._stream = stream
        self._owns = owns_stream
        self._random = (rng or random.Random()).random
        self._buffer: list[dict[str, Any]] = []

    @classmethod
    def open(cls, path: str | None, sample: float = 1.0, **kwargs: Any) -> AccessLog:
        """A log writing to `path` (appended, created if missing), "-" for stdout, None for none."""
        if path is None or path == "":
            return cls(None, sample, **kwargs)
        if path == "-":
            return cls(sys.stdout.buffer, sample, **kwargs)
        try:
            stream = open(path, "ab", buffering=0)  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise ValueError(
                f"--access-log: cannot open {path!r} for appending: {exc.strerror}"
            ) from None
        return cls(stream, sample, owns_stream=True, **kwargs)

    def sampled(self) -> bool:
        """True if this request is to be logged (always at sample 1.0)."""
        return self.sample >= 1.0 or self._random() < self.sample

    def append(self, fields: dict[str, Any]) -> None:
        """Buffer one record (hot path: a list append)."""
        if len(self._buffer) >= self.max_buffer:
            self.dropped += 1
            return
        self._buffer.append(fields)

    def flush(self) -> int:
        """Encode and write the buffered records; returns how many were written."""
        records, self._buffer = self._buffer, []
        if self._stream is None or (not records and not self.dropped):
            return 0
        dumps = orjson.dumps
        lines = [dumps(r) for r in records]
        if self.dropped:
            lines.append(dumps({"dropped": self.dropped}))
        try:
            self._write(b"\n".join(lines) + b"\n")
        except OSError as exc:
            self.last_error = f"access log write failed: {exc.strerror}"
            self.dropped += len(records)
            log.warning("%s", self.last_error)
            return 0
        self.dropped = 0
        self.written += len(records)
        return len(records)

    def _write(self, data: bytes) -> None:
        stream = self._stream
        assert stream is not None
        view = memoryview(data)
        while view:
            n = stream.write(view)
            view = view[n or len(view) :]
        if hasattr(stream, "flush"):
            stream.flush()

    def close(self) -> None:
        """Flush what is left and close a file this log opened."""
        self.flush()
        if self._owns and self._stream is not None:
            self._stream.close()
        self._stream = None
        self.enabled = False
