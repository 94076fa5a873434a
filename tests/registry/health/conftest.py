"""Fixtures for the health checker: real upstream servers on free loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.registry.health.upstream import Upstream, self_signed_tls


@pytest.fixture
def upstream_factory(tmp_path: Path) -> Iterator[Callable[..., Upstream]]:
    """Start upstreams (`tls=True` for HTTPS with a self-signed certificate); all stopped after."""
    started: list[Upstream] = []

    def make(*, tls: bool = False, mode: str = "ok") -> Upstream:
        server = Upstream(tls=self_signed_tls(tmp_path) if tls else None)
        server.mode = mode
        started.append(server.start())
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def upstream(upstream_factory: Callable[..., Upstream]) -> Upstream:
    return upstream_factory()


@pytest.fixture
def make_service(oscar):  # type: ignore[no-untyped-def]
    """A service with fast checks (interval 0.5 s) unless told otherwise."""
    from registry.services.services import create_service

    counter = iter(range(1, 1000))

    def make(**fields):  # type: ignore[no-untyped-def]
        n = next(counter)
        defaults = {
            "name": f"Svc {n}",
            "slug": f"svc-{n}",
            "check_interval_seconds": 0.5,
            "check_timeout_seconds": 0.3,
        }
        return create_service(actor=oscar, **{**defaults, **fields})

    return make


@pytest.fixture
def make_instance(oscar):  # type: ignore[no-untyped-def]
    from registry.services.instances import register_instance

    def make(service, port: int, host: str = "127.0.0.1", **fields):  # type: ignore[no-untyped-def]
        return register_instance(service, actor=oscar, host=host, port=port, **fields)

    return make


@pytest.fixture(autouse=True)
def _tick_windows_of_one_second(settings):  # type: ignore[no-untyped-def]
    # The tests' fake clock advances one second per tick; a window reaching one second
    # ahead keeps each tick's real wait short (production looks two seconds ahead).
    settings.MESHGATE_HEALTH = {**settings.MESHGATE_HEALTH, "LOOKAHEAD_SECONDS": 1.0}
