"""The header classifiers, join_bytes and the slicing helpers of http/headers.py, compiled or not:
they must agree with the documented sets (CAPTURED, RESPONSE_DROPPED) and with lower(), b"".join,
slices and find() in every case."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import gateway_runtime.http.header_kinds as kinds
from gateway_runtime.http.headers import (
    CAPTURED,
    REQUEST_KEYS,
    RESPONSE_DROPPED,
    bytes_from,
    bytes_upto,
    find_byte,
    join_bytes,
    lower_name,
    request_header_key,
    request_header_kind,
    response_header_kind,
)

# names that share a length with a classified name, in the spellings seen on the wire
COLLIDING = [
    b"ETag",
    b"etag",
    b"Vary",
    b"Set-Cookie",
    b"set-cookie",
    b"User-Agent",
    b"Content-Type",
    b"content-type",
    b"Expires",
    b"Referer",
    b"Accept",
    b"Origin",
    b"Pragma",
    b"sec-ch-ua",
    b"Accept-Encoding",
    b"Accept-Language",
    b"Content-Encoding",
    b"If-Modified-Since",
    b"Cache-Control",
    b"Last-Modified",
    b"If-None-Match",
    b"Accept-Ranges",
    b"X-Upstream-Port",
    b"Content-Location",
    b"X-Forwarded-Port",
    b"Proxy-Authorizatio",
    b"Hosts",
    b"hos",
    b"tf",
    b"T-",
    b"x-request-ie",
    b"connectioN1",
    b"Keep_Alive",
    b"",
    b"X",
]
RESPONSE_LENGTH = {b"content-length"}
KNOWN_FORWARDED = {b"x-api-key", b"authorization", b"cookie"}


def spellings(lower: bytes) -> list[bytes]:
    """The lower-case name, Title-Case, UPPER and an alternating mix."""
    title = b"-".join(part[:1].upper() + part[1:] for part in lower.split(b"-"))
    mixed = bytes(c - 32 if i % 2 and 97 <= c <= 122 else c for i, c in enumerate(lower))
    mixed_other = bytes(c - 32 if i % 2 == 0 and 97 <= c <= 122 else c for i, c in enumerate(lower))
    return [lower, title, lower.upper(), mixed, mixed_other]


def test_the_header_kinds_of_the_pxd_are_those_of_the_module():
    pxd = Path(kinds.__file__).with_suffix(".pxd").read_text()
    declared = {name: int(value) for name, value in re.findall(r"^\s+(\w+) = (\d+)$", pxd, re.M)}
    module = {name: getattr(kinds, name) for name in dir(kinds) if name.startswith(("REQ", "RESP"))}
    assert declared == module


@pytest.mark.parametrize("lower", sorted(CAPTURED | KNOWN_FORWARDED))
def test_every_captured_request_header_in_any_spelling(lower):
    kinds_seen = {request_header_kind(name) for name in spellings(lower)}
    assert len(kinds_seen) == 1
    kind = kinds_seen.pop()
    assert REQUEST_KEYS[kind] == lower
    captured = kinds.REQ_FORWARD < kind < kinds.REQ_KNOWN
    assert captured == (lower in CAPTURED)
    for name in spellings(lower):
        assert request_header_key(kind, name) == lower


def test_each_request_kind_names_one_header():
    assert REQUEST_KEYS[kinds.REQ_FORWARD] is None
    named = REQUEST_KEYS[1:]
    assert len(set(named)) == len(named)
    assert set(named) == CAPTURED | KNOWN_FORWARDED
    for kind, lower in enumerate(REQUEST_KEYS[1:], 1):
        assert request_header_kind(lower) == kind


@pytest.mark.parametrize("name", COLLIDING)
def test_other_request_headers_are_forwarded_under_their_lower_case_name(name):
    assert name.lower() not in CAPTURED | KNOWN_FORWARDED
    assert request_header_kind(name) == kinds.REQ_FORWARD
    assert request_header_key(kinds.REQ_FORWARD, name) == name.lower()


@pytest.mark.parametrize("lower", sorted(RESPONSE_DROPPED | RESPONSE_LENGTH))
def test_every_dropped_response_header_in_any_spelling(lower):
    expected = {
        b"content-length": kinds.RESP_LENGTH,
        b"transfer-encoding": kinds.RESP_CHUNKED,
        b"upgrade": kinds.RESP_UPGRADE,
    }.get(lower, kinds.RESP_DROP)
    for name in spellings(lower):
        assert response_header_kind(name) == expected, name


@pytest.mark.parametrize("name", COLLIDING + [b"Host", b"X-API-Key", b"Expect", b"Forwarded"])
def test_other_response_headers_are_forwarded(name):
    assert response_header_kind(name) == kinds.RESP_FORWARD


def test_near_misses_are_not_classified():
    # the letters' case folds, nothing else: "_" is not "-", and 0x0D is not "-" either
    for name in (b"keep_alive", b"Keep\rAlive", b"te\x00", b"D\x04te", b"x-request-i\xc4"):
        assert request_header_kind(name) == kinds.REQ_FORWARD
        assert response_header_kind(name) == kinds.RESP_FORWARD
    assert request_header_kind(b"CONNECTION") == kinds.REQ_CONNECTION


@pytest.mark.parametrize(
    "name",
    [b"", b"a", b"A", b"x-api-key", b"X-API-Key", b"Z", b"@[`{", b"\xc4\xe4Ab", b"A" * 300],
)
def test_lower_name_is_lower(name):
    assert lower_name(name) == name.lower()
    assert type(lower_name(name)) is bytes


def test_lower_name_never_writes_into_a_shared_byte():
    single = bytes([65])  # CPython shares its one-byte bytes objects
    assert lower_name(single) == b"a"
    assert single == b"A" and bytes([65]) == b"A"


@pytest.mark.parametrize(
    "pieces",
    [
        [],
        [b""],
        [b"one"],
        [b"", b"", b""],
        [b"HTTP/1.1 200 OK\r\n", b"content-type", b": ", b"text/plain", b"\r\n", b"\r\n"],
        [bytes([i % 256]) * (i % 7) for i in range(500)],
        [b"x" * 1_000_000, b"", b"y" * 65_537, b"z"],
    ],
)
def test_join_bytes_is_a_join(pieces):
    joined = join_bytes(list(pieces))
    assert joined == b"".join(pieces)
    assert type(joined) is bytes


def test_join_bytes_of_one_piece_is_that_piece():
    piece = b"x" * 100
    assert join_bytes([piece]) is piece


def test_join_bytes_takes_what_join_takes_and_refuses_what_it_refuses():
    assert join_bytes([b"a", bytearray(b"b"), memoryview(b"c")]) == b"abc"
    with pytest.raises(TypeError):
        join_bytes([b"a", "b"])
    with pytest.raises(TypeError):
        join_bytes([b"a", None])


SLICED = [b"", b"/", b"?", b"/a", b"/svc/v1/items?x=1&y=2", b"?q", b"/p?", b"x" * 70_000 + b"?"]


@pytest.mark.parametrize("data", SLICED)
def test_the_slicing_helpers_are_slices(data):
    for i in [*range(len(data) + 3), len(data) * 2]:
        assert bytes_from(data, i) == data[i:] and type(bytes_from(data, i)) is bytes
        assert bytes_upto(data, i) == data[:i] and type(bytes_upto(data, i)) is bytes
    assert bytes_from(data, 0) is data[0:]  # the object itself, as the slice gives it


@pytest.mark.parametrize("data", SLICED)
def test_find_byte_is_find(data):
    for byte in (0x3F, 0x2F, 0x78, 0x00, 0xFF):
        assert find_byte(data, byte) == data.find(byte)


def test_the_slicing_helpers_refuse_none_as_slice_and_find_do():
    for call in (lambda: bytes_from(None, 1), lambda: bytes_upto(None, 1)):
        with pytest.raises(TypeError):
            call()
    with pytest.raises((TypeError, AttributeError)):
        find_byte(None, 63)
