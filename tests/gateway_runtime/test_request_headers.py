"""Request.header(): each header a request carried is found by its lower-case name, the last one
when repeated, whether the parser forwarded it, captured it or kept it for auth."""

from __future__ import annotations

import asyncio

import pytest

from gateway_runtime.http.connection import Dispatcher
from gateway_runtime.http.request import Request
from gateway_runtime.http.server import HttpLimits, ProxyServer


class Keep(Dispatcher):
    """Holds each dispatched request, answers nothing."""

    def __init__(self) -> None:
        self.requests: list[Request] = []

    def dispatch(self, client, req) -> None:  # type: ignore[no-untyped-def]
        self.requests.append(req)


class Transport:
    def get_extra_info(self, name: str, default: object = None) -> object:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def is_closing(self) -> bool:
        return False


def _parse(raw: bytes) -> Request:
    async def scenario() -> Request:
        keep = Keep()
        server = ProxyServer(keep, HttpLimits())
        protocol = server()
        protocol.connection_made(Transport())
        protocol.data_received(raw)
        server.connections.clear()
        return keep.requests[0]

    return asyncio.run(scenario())


HEAD = (
    b"GET /svc/v1/x?y=1 HTTP/1.1\r\nHost: example.test\r\nX-User: first\r\nx-user: second\r\n"
    b"Cookie: sid=1\r\nX-API-Key: key-1\r\nX-Api-Key: key-2\r\nAuthorization: Bearer t\r\n"
    b"Expect: 100-continue\r\nTE: trailers\r\nX-Forwarded-Proto: https\r\nUser-Agent: ua\r\n\r\n"
)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (b"host", b"example.test"),
        (b"x-user", b"second"),
        (b"cookie", b"sid=1"),
        (b"x-api-key", b"key-2"),
        (b"authorization", b"Bearer t"),
        (b"expect", b"100-continue"),
        (b"te", b"trailers"),
        (b"x-forwarded-proto", b"https"),
        (b"user-agent", b"ua"),
        (b"connection", None),
        (b"x-absent", None),
        (b"upgrade", None),
    ],
)
def test_every_header_is_found_by_its_lower_case_name(name, value):
    assert _parse(HEAD).header(name) == value


def test_an_empty_host_is_there_and_a_missing_one_is_not():
    assert _parse(b"GET / HTTP/1.1\r\nHost:\r\n\r\n").header(b"host") == b""
    assert _parse(b"GET / HTTP/1.0\r\n\r\n").header(b"host") is None


def test_auth_reads_the_last_key_and_authorization():
    req = _parse(HEAD)
    assert (req.api_key, req.authorization) == (b"key-2", b"Bearer t")
