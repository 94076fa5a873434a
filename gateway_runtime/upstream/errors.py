"""One exception class per upstream failure mode, and the one table mapping each to a problem.

Raised or passed around inside the upstream package; mapped to a response only at the boundary
(`problem_for`), so the proxy never guesses a status from an exception message.
"""

from __future__ import annotations


class UpstreamError(Exception):
    """Base: the upstream could not produce a complete response."""

    slug = "upstream-unavailable"
    status = 502
    outcome = "error"  # what passive health and metrics are told
    retry_cause = "connect-failure"  # the name in a version's retry.on list


class ConnectError(UpstreamError):
    """The TCP connection was refused or reset before the request was sent."""

    outcome = "connect-error"


class ConnectTimeout(UpstreamError):
    """No TCP connection within the version's connect timeout (a blackholed host)."""

    slug = "timeout"
    status = 504
    outcome = "connect-error"
    retry_cause = "connect-failure"  # a blackholed instance is retried like a refused one


class ReadTimeout(UpstreamError):
    """The upstream went silent for longer than the read timeout."""

    slug = "timeout"
    status = 504
    outcome = "timeout"
    retry_cause = "timeout"


class TotalTimeout(UpstreamError):
    """The whole exchange took longer than the route's total timeout (no time left to retry)."""

    slug = "timeout"
    status = 504
    outcome = "timeout"
    retry_cause = ""


class UpstreamProtocolError(UpstreamError):
    """The upstream sent bytes that are not a valid HTTP/1.1 response, or closed mid-response."""

    slug = "upstream-protocol-error"
    outcome = "error"
    retry_cause = ""


class NoHealthyUpstream(UpstreamError):
    """Every instance is unhealthy, draining or ejected (or the version has no upstream)."""

    slug = "no-healthy-upstream"
    status = 503
    outcome = "none"
    retry_cause = ""


class Overloaded(UpstreamError):
    """The upstream's concurrency limit is reached: answered 503 at once, never queued."""

    slug = "overloaded"
    status = 503
    outcome = "none"
    retry_cause = ""
