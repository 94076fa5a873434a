"""Fixtures of the developer-portal page tests: a published API with plans, logged-in clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client


@pytest.fixture
def web_client() -> Callable[[Any], Client]:
    """A Django test client logged in as `user`, enforcing CSRF like a browser would."""

    def make(user: Any = None) -> Client:
        client = Client(enforce_csrf_checks=True)
        if user is not None:
            client.force_login(user)
        return client

    return make


def csrf_post(client: Client, url: str, data: dict[str, Any] | None = None, **extra: Any) -> Any:
    """POST the way a browser does: fetch a page for the CSRF cookie, send the token back."""
    # A logged-in user's pages carry the logout form, an anonymous one's the login form.
    for page in ("/catalogue/", "/accounts/login/"):
        if "csrftoken" not in client.cookies:
            client.get(page)
    token = client.cookies["csrftoken"].value
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": token}, **extra)


__all__ = ["csrf_post"]
