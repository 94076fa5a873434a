"""Request headers on their way upstream: hop-by-hop stripping, X-Forwarded-*, Forwarded (RFC 7239),
X-Request-Id and W3C traceparent; response headers on their way back.

Headers are classified once, while parsing (`request_header_kind`, `response_header_kind`):
ordinary headers are kept as rendered lines so the upstream head is one join; the ones the gateway
rewrites are held apart.
"""

from __future__ import annotations

import os
import re
from typing import Any

import gateway_runtime.http.header_kinds as kinds

try:
    import cython
except ImportError:  # run as plain Python, where Cython is not installed
    from gateway_runtime import cython_shadow as cython

COMPILED = cython.compiled

CRLF = b"\r\n"
COLON = b": "

# Request headers the parser holds apart instead of forwarding verbatim (value -> attribute slot):
# request_header_kind() gives each a kind below kinds.REQ_KNOWN.
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
# the gateway re-derives): response_header_kind() gives each a kind other than RESP_FORWARD.
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

# The lower-case name of each request kind (kinds.REQ_FORWARD: any other name).
REQUEST_KEYS: tuple[bytes | None, ...] = (
    None,
    b"host",
    b"content-length",
    b"transfer-encoding",
    b"connection",
    b"expect",
    b"x-forwarded-for",
    b"x-forwarded-host",
    b"forwarded",
    b"x-request-id",
    b"traceparent",
    b"keep-alive",
    b"proxy-connection",
    b"te",
    b"trailer",
    b"upgrade",
    b"proxy-authorization",
    b"x-forwarded-proto",
    b"x-api-key",
    b"authorization",
    b"cookie",
)


# The classifiers switch on the name's length first: most names have a length no classified name
# has, and the others are told apart by a case-insensitive compare that stops at the first
# differing byte, with no lower() copy and no hashing (a set lookup costs both per header).
def request_header_kind(name: bytes) -> int:
    """What the client parser does with a request header (header_kinds.REQ_*), in any spelling."""
    n = len(name)
    if n == 4:
        if _is(name, b"host"):
            return kinds.REQ_HOST
    elif n == 9:
        if _is(name, b"x-api-key"):
            return kinds.REQ_X_API_KEY
        if _is(name, b"forwarded"):
            return kinds.REQ_FORWARDED
    elif n == 13:
        if _is(name, b"authorization"):
            return kinds.REQ_AUTHORIZATION
    elif n == 14:
        if _is(name, b"content-length"):
            return kinds.REQ_CONTENT_LENGTH
    elif n == 10:
        if _is(name, b"connection"):
            return kinds.REQ_CONNECTION
        if _is(name, b"keep-alive"):
            return kinds.REQ_KEEP_ALIVE
    elif n == 6:
        if _is(name, b"cookie"):
            return kinds.REQ_COOKIE
        if _is(name, b"expect"):
            return kinds.REQ_EXPECT
    elif n == 17:
        if _is(name, b"transfer-encoding"):
            return kinds.REQ_TRANSFER_ENCODING
        if _is(name, b"x-forwarded-proto"):
            return kinds.REQ_X_FORWARDED_PROTO
    elif n == 15:
        if _is(name, b"x-forwarded-for"):
            return kinds.REQ_X_FORWARDED_FOR
    elif n == 16:
        if _is(name, b"x-forwarded-host"):
            return kinds.REQ_X_FORWARDED_HOST
        if _is(name, b"proxy-connection"):
            return kinds.REQ_PROXY_CONNECTION
    elif n == 12:
        if _is(name, b"x-request-id"):
            return kinds.REQ_X_REQUEST_ID
    elif n == 11:
        if _is(name, b"traceparent"):
            return kinds.REQ_TRACEPARENT
    elif n == 7:
        if _is(name, b"upgrade"):
            return kinds.REQ_UPGRADE
        if _is(name, b"trailer"):
            return kinds.REQ_TRAILER
    elif n == 2:
        if _is(name, b"te"):
            return kinds.REQ_TE
    elif n == 19 and _is(name, b"proxy-authorization"):
        return kinds.REQ_PROXY_AUTHORIZATION
    return kinds.REQ_FORWARD


def request_header_key(kind: int, name: bytes) -> bytes:
    """The key of a captured request header in Request.held: its lower-case name (a constant
    for a classified name, so that neither a copy nor a new hash is made)."""
    if kind != kinds.REQ_FORWARD:
        return REQUEST_KEYS[kind]  # type: ignore[return-value]
    return lower_name(name)


def response_header_kind(name: bytes) -> int:
    """What the upstream connection does with a response header (header_kinds.RESP_*)."""
    n = len(name)
    if n == 4:  # Date, or ETag/Vary
        if _is(name, b"date"):
            return kinds.RESP_DROP
    elif n == 14:
        if _is(name, b"content-length"):
            return kinds.RESP_LENGTH
    elif n == 10:  # Connection, Keep-Alive, or Set-Cookie
        if _is(name, b"connection") or _is(name, b"keep-alive"):
            return kinds.RESP_DROP
    elif n == 6:
        if _is(name, b"server"):
            return kinds.RESP_DROP
    elif n == 12:  # X-Request-Id, or Content-Type
        if _is(name, b"x-request-id"):
            return kinds.RESP_DROP
    elif n == 17:
        if _is(name, b"transfer-encoding"):
            return kinds.RESP_CHUNKED
    elif n == 7:  # Upgrade, Trailer, or Expires
        if _is(name, b"upgrade"):
            return kinds.RESP_UPGRADE
        if _is(name, b"trailer"):
            return kinds.RESP_DROP
    elif n == 2:
        if _is(name, b"te"):
            return kinds.RESP_DROP
    elif n == 16:  # Proxy-Connection, or Content-Encoding/Content-Language
        if _is(name, b"proxy-connection"):
            return kinds.RESP_DROP
    elif n == 18 and _is(name, b"proxy-authenticate"):
        return kinds.RESP_DROP
    return kinds.RESP_FORWARD


def _is(name: bytes, lower: bytes) -> bool:
    """`name`, as long as `lower`, equals the lower-case `lower` in any ASCII letter case (what
    name.lower() == lower says, without the copy)."""
    if not COMPILED:  # a byte loop in Python costs far more than the copy
        return name.lower() == lower
    p = name
    q = lower
    for i in range(len(lower)):
        c = p[i]
        if 65 <= c <= 90:  # A-Z
            c += 32
        if c != q[i]:
            return False
    return True


def lower_name(name: bytes) -> bytes:
    """name.lower(); compiled, the name itself when it has no upper-case letter."""
    if not COMPILED:
        return name.lower()
    n = len(name)
    p = name
    i = 0
    while i < n and not (65 <= p[i] <= 90):
        i += 1
    if i == n:
        return name
    # NULL: a 1-byte bytes made from a string is CPython's shared singleton, not to be written
    out = PyBytes_FromStringAndSize(cython.NULL, n)  # noqa: F821 (cimported in headers.pxd)
    q = PyBytes_AS_STRING(out)  # noqa: F821
    memcpy(q, p, n)  # noqa: F821
    while i < n:
        if 65 <= q[i] <= 90:
            q[i] += 32
        i += 1
    return out


def join_bytes(pieces: list[bytes]) -> bytes:
    """b"".join(pieces). Compiled, one size pass and one copy pass over borrowed items: CPython's
    join takes a buffer view of every piece (PyObject_GetBuffer/PyBuffer_Release, over 100
    instructions each), which dominates for heads made of many small pieces."""
    if not COMPILED:
        return b"".join(pieces)
    # The _item/_is_bytes/_size/_data names of headers.pxd are the C macros on a borrowed item:
    # no reference counting per piece, and no Python object for a pure-mode local to hold.
    count = len(pieces)
    n = 0
    for i in range(count):
        if not _is_bytes(_item(pieces, i)):  # noqa: F821
            return b"".join(pieces)  # bytearray, memoryview...: or the TypeError
        size = _size(_item(pieces, i))  # noqa: F821
        if size > PY_SSIZE_T_MAX - n:  # noqa: F821
            return b"".join(pieces)  # its OverflowError
        n += size
    if count == 1:
        return pieces[0]
    out = PyBytes_FromStringAndSize(cython.NULL, n)  # noqa: F821
    dst = PyBytes_AS_STRING(out)  # noqa: F821
    for i in range(count):
        size = _size(_item(pieces, i))  # noqa: F821
        memcpy(dst, _data(_item(pieces, i)), size)  # noqa: F821
        dst += size
    return out


# Slicing a bytes object from compiled code goes through PySequence_GetSlice (a slice object made
# and unpacked: about 700 instructions); these copy the bytes directly, and run as the slice
# itself uncompiled.
def bytes_from(data: bytes, start: int) -> bytes:
    """data[start:] for a start >= 0."""
    if not COMPILED or data is None:
        return data[start:]
    n = len(data)
    if start <= 0:
        return data[start:]  # the whole object, as the slice gives it (or a negative start)
    if start >= n:
        return b""
    return PyBytes_FromStringAndSize(PyBytes_AS_STRING(data) + start, n - start)  # noqa: F821


def bytes_upto(data: bytes, end: int) -> bytes:
    """data[:end] for an end >= 0."""
    if not COMPILED or data is None:
        return data[:end]
    if end < 0 or end >= len(data):
        return data[:end]
    return PyBytes_FromStringAndSize(PyBytes_AS_STRING(data), end)  # noqa: F821


def find_byte(data: bytes, byte: int) -> int:
    """data.find(byte): the index of the first `byte`, or -1 (compiled, memchr without the
    method call)."""
    if not COMPILED:
        return data.find(byte)
    if data is None:
        raise TypeError("find_byte() needs a bytes object, not None")
    p = PyBytes_AS_STRING(data)  # noqa: F821
    hit = cython.cast(cython.p_char, memchr(p, byte, len(data)))  # noqa: F821
    if hit == cython.NULL:
        return -1
    return hit - p


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
                if not COMPILED:
                    return f"traceparent: 00-{high:016x}{low:016x}-{span:016x}-01\r\n".encode()
                return _traceparent(high, low, span)


def _traceparent(high: int, low: int, span: int) -> bytes:
    """b"traceparent: 00-<high><low>-<span>-01\\r\\n" in 16 hex digits each, written in place
    (compiled only: the f-string and its encode() cost about 1,500 instructions)."""
    out = PyBytes_FromStringAndSize(cython.NULL, 70)  # noqa: F821 (cimported in headers.pxd)
    p = PyBytes_AS_STRING(out)  # noqa: F821
    memcpy(p, b"traceparent: 00-", 16)  # noqa: F821
    _hex16(p + 16, high)
    _hex16(p + 32, low)
    p[48] = 45  # "-"
    _hex16(p + 49, span)
    memcpy(p + 65, b"-01\r\n", 5)  # noqa: F821
    return out


def _hex16(p: Any, v: int) -> None:
    """v as 16 lower-case hex digits at p (a char*: compiled only)."""
    for i in range(15, -1, -1):
        d = v & 15
        p[i] = d + 48 if d < 10 else d + 87  # 0-9, a-f
        v >>= 4


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
