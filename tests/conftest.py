"""Shared fixtures: a real Redis for the session, the four personas, API clients.

Personas: alice (admin), bob (developer), carol (second developer: the ownership
tests), oscar (operator).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
import redis as redis_lib
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from portal.choices import Role
from portal.local_redis import LocalRedis, start_local_redis


@pytest.fixture(scope="session", autouse=True)
def redis_url() -> Iterator[str]:
    """REDIS_URL when given (CI points it at the machine's Redis), else a throwaway server."""
    given = os.environ.get("REDIS_URL")
    server: LocalRedis | None = None
    if given:
        url = given
    else:
        server = start_local_redis()
        url = server.url
        os.environ["REDIS_URL"] = url  # for subprocesses: workers, gateways
    django_settings.REDIS_URL = url
    django_settings.CELERY_BROKER_URL = url
    from portal.celery import app as celery_app

    celery_app.conf.broker_url = url
    yield url
    if server is not None:
        server.stop()
        os.environ.pop("REDIS_URL", None)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis_lib.Redis]:
    """A clean Redis database for one test."""
    client = redis_lib.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def _make_user(django_user_model, username: str, role: str, **extra):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user(
        username=username,
        email=f"{username}@example.test",
        password="correct-horse-9",
        role=role,
        **extra,
    )


@pytest.fixture
def alice(django_user_model):  # type: ignore[no-untyped-def]
    return _make_user(django_user_model, "alice", Role.ADMIN, is_staff=True)


@pytest.fixture
def bob(django_user_model):  # type: ignore[no-untyped-def]
    return _make_user(django_user_model, "bob", Role.DEVELOPER)


@pytest.fixture
def carol(django_user_model):  # type: ignore[no-untyped-def]
    return _make_user(django_user_model, "carol", Role.DEVELOPER)


@pytest.fixture
def oscar(django_user_model):  # type: ignore[no-untyped-def]
    return _make_user(django_user_model, "oscar", Role.OPERATOR, is_staff=True)


@pytest.fixture
def client_for() -> Callable[..., APIClient]:
    """An API client logged in as the given user (a real session, CSRF enforced)."""

    def make(user) -> APIClient:  # type: ignore[no-untyped-def]
        client = APIClient(enforce_csrf_checks=False)
        client.force_login(user)
        return client

    return make
