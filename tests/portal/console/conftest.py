"""Console and operator page fixtures: logged-in browsers-without-JS (Django's test Client)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from apis.models import ApiVersion
from registry.models import Service
from tests.apis.fixtures.catalogue import PETSTORE, make_service, make_version, read


@pytest.fixture(autouse=True)
def _isolated(settings: Any, tmp_path: Path, redis_client: Any) -> None:
    # Staged uploads go to VAR_DIR; each test gets its own, and a clean Redis.
    settings.VAR_DIR = tmp_path


@pytest.fixture
def page_client() -> Callable[[Any], Client]:
    def make(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def as_alice(alice: Any, page_client: Callable[[Any], Client]) -> Client:
    return page_client(alice)


@pytest.fixture
def as_oscar(oscar: Any, page_client: Callable[[Any], Client]) -> Client:
    return page_client(oscar)


@pytest.fixture
def as_bob(bob: Any, page_client: Callable[[Any], Client]) -> Client:
    return page_client(bob)


@pytest.fixture
def upstream(alice: Any) -> Service:
    return make_service(alice)


@pytest.fixture
def petstore(alice: Any, upstream: Service) -> ApiVersion:
    """A draft petstore v1 with its document imported and an upstream: ready to publish."""
    return make_version(alice, source=read(PETSTORE), upstream_service=upstream)
