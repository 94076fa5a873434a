"""RFC 9457 problem+json responses: one table from cause to status and type, bodies canned as bytes.

Fixed bodies are encoded once at import; only a problem with a per-request `detail` is encoded per
response (error path, never the success path).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

TYPE_BASE = "https://meshgate.dev/problems/"

STATUS_REASONS: dict[int, bytes] = {
    100: b"Continue",
    101: b"Switching Protocols",
    200: b"OK",
    201: b"Created",
    202: b"Accepted",
    204: b"No Content",
    206: b"Partial Content",
    301: b"Moved Permanently",
    302: b"Found",
    304: b"Not Modified",
    307: b"Temporary Redirect",
    308: b"Permanent Redirect",
    400: b"Bad Request",
    401: b"Unauthorized",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    408: b"Request Timeout",
    410: b"Gone",
    411: b"Length Required",
    413: b"Content Too Large",
    417: b"Expectation Failed",
    429: b"Too Many Requests",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    501: b"Not Implemented",
    502: b"Bad Gateway",
    503: b"Service Unavailable",
    504: b"Gateway Timeout",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One cause of an error response: its stable type slug, HTTP status and title."""

    slug: str
    status: int
    title: str

    @property
    def type_uri(self) -> str:
        return TYPE_BASE + self.slug


_ALL = (
    Problem("bad-request", 400, "Malformed request"),
    Problem("unauthenticated", 401, "Authentication required"),
    Problem("forbidden", 403, "Access denied"),
    Problem("no-route", 404, "No route matches this request"),
    Problem("method-not-allowed", 405, "Method not allowed on this route"),
    Problem("request-timeout", 408, "The client was too slow sending the request"),
    Problem("gone", 410, "This API version is retired"),
    Problem("length-required", 411, "A request body needs Content-Length or chunked encoding"),
    Problem("payload-too-large", 413, "Request body exceeds the route's limit"),
    Problem("expectation-failed", 417, "Unsupported Expect header"),
    Problem("rate-limited", 429, "Rate limit exceeded"),
    Problem("headers-too-large", 431, "Request header fields too large"),
    Problem("internal-error", 500, "The gateway failed to handle this request"),
    Problem("not-implemented", 501, "Unsupported transfer coding"),
    Problem("upstream-unavailable", 502, "The upstream service could not be reached"),
    Problem("upstream-protocol-error", 502, "The upstream service sent an invalid response"),
    Problem("no-healthy-upstream", 503, "No healthy upstream instance"),
    Problem("overloaded", 503, "The upstream service is at its concurrency limit"),
    Problem("no-config", 503, "The gateway has no configuration yet"),
    Problem("rate-limit-unavailable", 503, "Rate limits cannot be checked right now"),
    Problem("timeout", 504, "The upstream service did not answer in time"),
)
PROBLEMS: dict[str, Problem] = {p.slug: p for p in _ALL}

_CANNED_BODIES: dict[str, bytes] = {
    p.slug: orjson.dumps({"type": p.type_uri, "title": p.title, "status": p.status}) for p in _ALL
}


def status_line(status: int) -> bytes:
    """b"HTTP/1.1 <status> <reason>\\r\\n" (cached for known statuses)."""
    line = STATUS_LINES.get(status)
    if line is None:
        line = b"HTTP/1.1 %d %s\r\n" % (status, STATUS_REASONS.get(status, b"Unknown"))
    return line


STATUS_LINES: dict[int, bytes] = {
    code: b"HTTP/1.1 %d %s\r\n" % (code, reason) for code, reason in STATUS_REASONS.items()
}


def problem_body(slug: str, detail: str | None = None, request_id: str | None = None) -> bytes:
    """The JSON body for a problem; canned unless a detail or request id is added."""
    if detail is None and request_id is None:
        return _CANNED_BODIES[slug]
    p = PROBLEMS[slug]
    doc: dict[str, object] = {"type": p.type_uri, "title": p.title, "status": p.status}
    if detail is not None:
        doc["detail"] = detail
    if request_id is not None:
        doc["request_id"] = request_id
    return orjson.dumps(doc)


def problem_response(
    slug: str,
    *,
    date: bytes,
    detail: str | None = None,
    request_id: str | None = None,
    extra: bytes = b"",
    keep_alive: bool = True,
    status: int | None = None,
    head_only: bool = False,
) -> bytes:
    """A complete HTTP/1.1 response (head + body) for a problem, ready for one transport.write.

    `extra` holds already-encoded header lines (each ending in CRLF), e.g. WWW-Authenticate or
    RateLimit-*; `status` overrides the table's status for causes that use two (502/503).
    """
    body = problem_body(slug, detail, request_id)
    code = status if status is not None else PROBLEMS[slug].status
    parts = [
        status_line(code),
        b"content-type: application/problem+json\r\ncontent-length: %d\r\n" % len(body),
        date,
        extra,
        b"" if keep_alive else b"connection: close\r\n",
        b"\r\n",
    ]
    if not head_only:
        parts.append(body)
    return b"".join(parts)
