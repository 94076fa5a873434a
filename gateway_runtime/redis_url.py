"""Redis clients from one URL, plain or through Redis Sentinel; shared by the portal and gateway.

Plain URLs (redis://, rediss://, unix://) go to redis-py's from_url unchanged. A Sentinel URL:

    redis+sentinel://[[user]:password@]host1[:26379][,host2[:26379]...]/service_name[/db][?options]

- the hosts are Sentinels (default port 26379; IPv6 as [::1]:26379); any one that answers will do;
- service_name is the name the Sentinels monitor (`sentinel monitor <name> ...`); db defaults to 0;
- user/password (percent-encoded) authenticate to the Redis master, not to the Sentinels;
- options: sentinel_username, sentinel_password (for Sentinels with requirepass/ACLs),
  socket_timeout, socket_connect_timeout (seconds; they apply to the Sentinels too and win over
  the caller's defaults, as query options do in from_url).

Clients come from redis-py's Sentinel.master_for: every new connection asks the Sentinels for the
current master, so a client (and a re-subscribed pub/sub) follows a failover without a restart.
A Sentinel that does not answer is not retried (redis-py's default would spend ~3 s backing off):
the next one in the list is the retry.
Redis Cluster is not supported (the rate-limit script takes all keys of a batch in one argument).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, unquote

import redis
import redis.asyncio as aioredis
import redis.asyncio.sentinel as async_sentinel
import redis.sentinel as sync_sentinel
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

SENTINEL_SCHEME = "redis+sentinel://"
PLAIN_SCHEMES = ("redis://", "rediss://", "unix://")
DEFAULT_SENTINEL_PORT = 26379
_TIMEOUTS = ("socket_timeout", "socket_connect_timeout")
_CREDENTIALS = ("sentinel_username", "sentinel_password")
_HOST = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[^:\[\]]+))(?::(?P<port>[^:]*))?$")


class RedisUrlError(ValueError):
    """A Redis URL that cannot be used; the message names the faulty part (never a password)."""


@dataclass(frozen=True)
class SentinelUrl:
    sentinels: tuple[tuple[str, int], ...]
    service_name: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    options: tuple[tuple[str, Any], ...] = ()  # the query options, validated

    def connection_kwargs(self, defaults: dict[str, Any]) -> dict[str, Any]:
        """Keyword arguments of the master connections."""
        kwargs = {**defaults, "db": self.db}
        if self.username is not None:
            kwargs["username"] = self.username
        if self.password is not None:
            kwargs["password"] = self.password
        kwargs.update((k, v) for k, v in self.options if k in _TIMEOUTS)
        return kwargs

    def sentinel_kwargs(self, defaults: dict[str, Any]) -> dict[str, Any]:
        """Keyword arguments of the connections to the Sentinels: timeouts and their own auth."""
        kwargs = {k: v for k, v in self.connection_kwargs(defaults).items() if k in _TIMEOUTS}
        kwargs.update(
            (k.removeprefix("sentinel_"), v) for k, v in self.options if k in _CREDENTIALS
        )
        return kwargs


def is_sentinel_url(url: str) -> bool:
    return url.startswith(SENTINEL_SCHEME)


def check_url(url: str) -> str:
    """The URL itself if a client can be made from it; else RedisUrlError saying why."""
    if is_sentinel_url(url):
        parse_sentinel_url(url)
    elif not url.startswith(PLAIN_SCHEMES):
        raise RedisUrlError(
            f"{redact_url(url)!r} must start with redis://, rediss://, unix:// or {SENTINEL_SCHEME}"
        )
    return url


def parse_sentinel_url(url: str) -> SentinelUrl:
    if not is_sentinel_url(url):
        raise RedisUrlError(f"{redact_url(url)!r} is not a {SENTINEL_SCHEME} URL")
    rest = url[len(SENTINEL_SCHEME) :]
    rest, _, query = rest.partition("?")
    if "#" in query or "#" in rest:
        raise RedisUrlError(f"{redact_url(url)!r}: a Redis URL takes no #fragment")
    location, _, path = rest.partition("/")
    userinfo, _, hosts = location.rpartition("@")
    if not hosts:
        raise RedisUrlError(f"{redact_url(url)!r}: no sentinel address before /{path}")
    username, password = _userinfo(userinfo)
    service_name, db = _path(path, url)
    return SentinelUrl(
        sentinels=tuple(_sentinel(host, url) for host in hosts.split(",")),
        service_name=service_name,
        db=db,
        username=username,
        password=password,
        options=_options(query, url),
    )


def _userinfo(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, colon, password = userinfo.partition(":")
    return unquote(user) or None, unquote(password) if colon else None


def _sentinel(host: str, url: str) -> tuple[str, int]:
    match = _HOST.match(host)
    if match is None:
        raise RedisUrlError(
            f"{redact_url(url)!r}: sentinel address {host!r} is not HOST[:PORT] "
            "(separate several with commas)"
        )
    port = match["port"]
    if port is None:
        return match["v6"] or match["name"], DEFAULT_SENTINEL_PORT
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise RedisUrlError(f"{redact_url(url)!r}: sentinel port {port!r} is not 1..65535")
    return match["v6"] or match["name"], int(port)


def _path(path: str, url: str) -> tuple[str, int]:
    parts = path.rstrip("/").split("/") if path.strip("/") else []
    if not parts or not parts[0]:
        raise RedisUrlError(
            f"{redact_url(url)!r}: no service name; write {SENTINEL_SCHEME}HOST:PORT/SERVICE[/DB]"
        )
    if len(parts) > 2:
        raise RedisUrlError(f"{redact_url(url)!r}: the path is /SERVICE[/DB], got /{path}")
    if len(parts) == 2 and not parts[1].isdigit():
        raise RedisUrlError(f"{redact_url(url)!r}: database {parts[1]!r} is not a number")
    return unquote(parts[0]), int(parts[1]) if len(parts) == 2 else 0


def _options(query: str, url: str) -> tuple[tuple[str, Any], ...]:
    try:
        raw = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise RedisUrlError(f"{redact_url(url)!r}: malformed query string") from None
    options: list[tuple[str, Any]] = []
    for name, values in sorted(raw.items()):
        if name not in _TIMEOUTS + _CREDENTIALS:
            raise RedisUrlError(
                f"{redact_url(url)!r}: unknown option {name!r} "
                f"(known: {', '.join(_TIMEOUTS + _CREDENTIALS)})"
            )
        if len(values) > 1:
            raise RedisUrlError(f"{redact_url(url)!r}: option {name!r} is given twice")
        options.append((name, _timeout(name, values[0], url) if name in _TIMEOUTS else values[0]))
    return tuple(options)


def _timeout(name: str, value: str, url: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise RedisUrlError(f"{redact_url(url)!r}: {name}={value!r} is not a positive number")
    return seconds


def redact_url(url: str) -> str:
    """The URL without its userinfo and with password options blanked, for logs and messages."""
    scheme, sep, rest = url.partition("://")
    rest, question, query = rest.partition("?")
    query = re.sub(r"((?:^|&)[^=&]*password=)[^&]*", r"\1***", query)
    return f"{scheme}{sep}{rest.rpartition('@')[2]}{question}{query}"


# ---------------------------------------------------------------------- clients


class _SyncSentinelRedis(redis.Redis):
    def close(self) -> None:
        super().close()
        for node in _sentinel_nodes(self.connection_pool):
            node.close()


class _AsyncSentinelRedis(aioredis.Redis):
    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        for node in _sentinel_nodes(self.connection_pool):
            await node.aclose()


def _sentinel_nodes(pool: Any) -> list[Any]:
    # master_for's pool is a SentinelConnectionPool: its manager holds one client per Sentinel.
    return list(pool.sentinel_manager.sentinels)


def sync_client(url: str, **options: Any) -> redis.Redis:
    """A redis.Redis for the URL; `options` as for Redis.from_url (socket timeouts...)."""
    if not is_sentinel_url(url):
        return redis.Redis.from_url(check_url(url), **options)
    parsed = parse_sentinel_url(url)
    manager = sync_sentinel.Sentinel(
        parsed.sentinels,
        sentinel_kwargs={**parsed.sentinel_kwargs(options), "retry": Retry(NoBackoff(), 0)},
        **parsed.connection_kwargs(options),
    )
    return manager.master_for(parsed.service_name, redis_class=_SyncSentinelRedis)


def async_client(url: str, **options: Any) -> aioredis.Redis:
    """The redis.asyncio counterpart of sync_client; aclose() also closes the Sentinel links."""
    if not is_sentinel_url(url):
        return aioredis.Redis.from_url(check_url(url), **options)
    parsed = parse_sentinel_url(url)
    manager = async_sentinel.Sentinel(
        parsed.sentinels,
        sentinel_kwargs={**parsed.sentinel_kwargs(options), "retry": AsyncRetry(NoBackoff(), 0)},
        **parsed.connection_kwargs(options),
    )
    return manager.master_for(parsed.service_name, redis_class=_AsyncSentinelRedis)


def kombu_url(url: str) -> tuple[str, dict[str, Any]]:
    """(URL, transport options) for a Celery broker or result backend on this Redis.

    A Sentinel URL becomes kombu's `sentinel://h1:p/db;sentinel://h2:p/db` form with master_name
    and the Sentinels' connection options (credentials, timeouts, no retry) in the transport
    options; other URLs pass through.
    """
    if not is_sentinel_url(url):
        return url, {}
    parsed = parse_sentinel_url(url)
    auth = ""
    if parsed.password is not None:
        auth = f"{quote(parsed.username or '', safe='')}:{quote(parsed.password, safe='')}@"
    elif parsed.username is not None:
        auth = f"{quote(parsed.username, safe='')}@"
    joined = ";".join(
        f"sentinel://{auth}{f'[{host}]' if ':' in host else host}:{port}/{parsed.db}"
        for host, port in parsed.sentinels
    )
    transport: dict[str, Any] = {"master_name": parsed.service_name}
    transport.update((k, v) for k, v in parsed.options if k in _TIMEOUTS)
    # Given sentinel_kwargs, kombu takes no timeouts for the Sentinels from elsewhere: all here.
    # kombu makes a Sentinel per pool, so a dead first Sentinel would cost the retries each time.
    transport["sentinel_kwargs"] = {**parsed.sentinel_kwargs({}), "retry": Retry(NoBackoff(), 0)}
    return joined, transport
