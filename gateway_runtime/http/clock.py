"""What every request reads of its server, kept where compiled code reads it as a C field.

The server's 0.1 s scan refreshes the clocks and the Date line (http/server.py); the hot path
reads them instead of calling time functions. `closing` is set once, at graceful shutdown:
from then on every response says `connection: close`.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Clock:
    def __init__(self) -> None:
        self.now = 0.0  # loop.time(): timeouts, idle times
        self.wall = 0.0  # epoch seconds: key and token expiry (0.1 s resolution is plenty)
        self.date = b""  # b"date: ...\r\n", refreshed every second
        self.closing = False
        # the loop's time() itself, for exact durations (request latency): bound once by the
        # server, it is one call instead of two attribute lookups and a call per request
        # (time.monotonic until then: the same clock as uvloop's and asyncio's)
        self.loop_time: Callable[[], float] = time.monotonic
