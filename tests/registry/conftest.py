"""Registry fixtures: a service with a registration token, and helpers for token clients."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from registry.models import Service
from registry.services.services import create_service, issue_registration_token


@pytest.fixture
def payments(oscar) -> Service:  # type: ignore[no-untyped-def]
    return create_service(
        actor=oscar,
        name="Payments",
        slug="payments",
        heartbeat_ttl_seconds=30,
        deregister_after_seconds=300,
    )


@pytest.fixture
def ledger(oscar) -> Service:  # type: ignore[no-untyped-def]
    return create_service(actor=oscar, name="Ledger", slug="ledger")


@pytest.fixture
def payments_token(payments: Service, oscar) -> str:  # type: ignore[no-untyped-def]
    return issue_registration_token(payments, actor=oscar)


@pytest.fixture
def token_client() -> Callable[[str | None], APIClient]:
    """A client with no session that enforces CSRF, sending the given registration token."""

    def make(token: str | None) -> APIClient:
        client = APIClient(enforce_csrf_checks=True)
        if token is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make
