"""Request headers on their way upstream: hop-by-hop stripping, X-Forwarded-*, Forwarded (RFC 7239),
X-Request-Id and W3C traceparent; response headers on their way back.

Headers are classified once, while parsing (`CAPTURED` below): ordinary headers are kept as rendered
lines so the upstream head is one join; the ones the gateway rewrites are held apart.
"""

from __future__ import annotations

import os
import re

CRLF = b"\r\n"
COLON = b": "

# Request headers the parser holds apart instead of forwarding verbatim (value -> attribute slot).
CAPTURED: frozenset[bytes] = frozenset(
    {
        b"host",
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authorization",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"forwarded",
        b"x-request-id",
        b"traceparent",
        b"expect",
        b"content-length",
    }
)

# Response headers never relayed to the client as-is (RFC 9110 §7.6.1 hop-by-hop, plus framing that
# the gateway re-derives).
RESPONSE_DROPPED: frozenset[bytes] = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"date",
        b"server",
        b"x-request-id",
    }
)

_REQUEST_ID_OK = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")
_TRACEPARENT_OK = re.compile(rb"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_ZERO_TRACE = b"0" * 32
_ZERO_SPAN = b"0" * 16

_ID_SUFFIXES = tuple(b"%03x" % i for i in range(4096))


class SplitMix64:
    """splitmix64 (Steele, Lea, Flood 2014): 64 random bits per call for trace and span ids, in a
    few C integer operations once compiled. A random 192-bit draw from `random` and its hex
    formatting cost about 4,000 instructions per request; this costs well under a tenth of it.
    Trace ids need to be unpredictable enough to be unique and uniform (samplers hash them), not
    secret: the seed comes from os.urandom, like any tracer's."""

    def __init__(self, seed: int | None = None) -> None:
        if seed is None:
            seed = int.from_bytes(os.urandom(8), "little")
        self.state = seed & 0xFFFFFFFFFFFFFFFF
        # the constants as fields: typed 64-bit there, so the arithmetic stays in C
        self.golden = 0x9E3779B97F4A7C15
        self.mix1 = 0xBF58476D1CE4E5B9
        self.mix2 = 0x94D049BB133111EB
        self.mask = 0xFFFFFFFFFFFFFFFF  # wraps like C's unsigned arithmetic when run as Python

    def next64(self) -> int:
        z = self.state = (self.state + self.golden) & self.mask
        z = ((z ^ (z >> 30)) * self.mix1) & self.mask
        z = ((z ^ (z >> 27)) * self.mix2) & self.mask
        return z ^ (z >> 31)


class IdSource:
    """Request ids and trace ids of one worker (the proxy holds one).

    A request id is a random process prefix plus a counter in hex, cheaper than uuid4. The
    counter's last three hex digits come from a table and the rest (the stem) is formatted once
    per 4,096 requests, so the common id costs one concatenation."""

    def __init__(self, rng: SplitMix64 | None = None) -> None:
        self.prefix = os.urandom(4).hex().encode() + b"-"
        self.count = 0
        self.stem = self.prefix + b"0"
        self.rng = rng if rng is not None else SplitMix64()

    def request_id(self, given: bytes | None) -> bytes:
        """The client's X-Request-Id when it is a sane token, else a fresh one."""
        if given is not None and _REQUEST_ID_OK.match(given):
            return given
        self.count += 1
        low = self.count & 0xFFF
        if low == 0:
            self.stem = b"%s%x" % (self.prefix, self.count >> 12)
        return self.stem + _ID_SUFFIXES[low]

    def traceparent_line(self, given: bytes | None) -> bytes:
        """The `traceparent` header line to send upstream: a valid W3C traceparent from the
        client passed on unchanged, otherwise a new sampled trace."""
        if given is not None:
            m = _TRACEPARENT_OK.match(given.strip().lower())
            if m and m.group(1) != b"ff" and m.group(2) != _ZERO_TRACE and m.group(3) != _ZERO_SPAN:
                return b"traceparent: %s\r\n" % m.group(0)
        rng = self.rng
        while True:
            high = rng.next64()
            low = rng.next64()
            span = rng.next64()
            if (high or low) and span:  # an all-zero id is invalid
                return f"traceparent: 00-{high:016x}{low:016x}-{span:016x}-01\r\n".encode()


def forwarded_element(client_ip: bytes, host: bytes, proto: bytes) -> bytes:
    """One RFC 7239 element; IPv6 addresses are bracketed and quoted, hosts quoted when needed."""
    node = b'"[%s]"' % client_ip if b":" in client_ip else client_ip
    elem = b"for=" + node
    if host:
        if _needs_quote(host):
            elem += b';host="' + host.replace(b'"', b"") + b'"'
        else:
            elem += b";host=" + host
    return elem + b";proto=" + proto


_QUOTE_NEEDED = re.compile(rb"[:\[;, ]")


def _needs_quote(value: bytes) -> bool:
    return _QUOTE_NEEDED.search(value) is not None


def forwarding_lines(
    client_ip: bytes,
    host: bytes,
    proto: bytes,
    xff: bytes | None,
    forwarded: bytes | None,
) -> list[bytes]:
    """X-Forwarded-For (appended), -Proto, -Host and Forwarded (appended) header lines."""
    lines = [
        b"x-forwarded-for: " + (xff + b", " + client_ip if xff else client_ip) + CRLF,
        b"x-forwarded-proto: " + proto + CRLF,
    ]
    if host:
        lines.append(b"x-forwarded-host: " + host + CRLF)
    elem = forwarded_element(client_ip, host, proto)
    lines.append(b"forwarded: " + (forwarded + b", " + elem if forwarded else elem) + CRLF)
    return lines


def connection_tokens(value: bytes) -> list[bytes]:
    """Lower-cased tokens of a Connection header (names of extra hop-by-hop headers)."""
    return [t.strip().lower() for t in value.split(b",") if t.strip()]


def drop_named(pieces: list[bytes], names: set[bytes]) -> list[bytes]:
    """Remove the header lines named in `names` (rare: only when Connection lists some) from
    forwarded headers kept as (name, ": ", value, CRLF) pieces."""
    kept: list[bytes] = []
    for i in range(0, len(pieces), 4):
        if pieces[i].lower() not in names:
            kept += pieces[i : i + 4]
    return kept
