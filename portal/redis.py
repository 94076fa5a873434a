"""The portal's Redis connection, built from settings.REDIS_URL at first use.

REDIS_URL may be a redis+sentinel:// URL (gateway_runtime/redis_url.py); the client then finds
the current master through Sentinel on every new connection.
"""

from __future__ import annotations

import functools

import redis
from django.conf import settings

from gateway_runtime.redis_url import sync_client


@functools.lru_cache(maxsize=4)
def _client_for(url: str) -> redis.Redis:
    return sync_client(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)


def get_redis() -> redis.Redis:
    # Keyed by URL so a test session that points settings at a throwaway server
    # gets a client for that server, not one cached for the default address.
    return _client_for(settings.REDIS_URL)


def redis_key(*parts: str | int) -> str:
    prefix = settings.MESHGATE_PUBLISH["REDIS_PREFIX"]
    return ":".join([prefix, *map(str, parts)])
