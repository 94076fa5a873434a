"""The snapshot store in Redis.

Layout under the prefix settings.MESHGATE_PUBLISH["REDIS_PREFIX"] (<p>):
  <p>:config:rev:<N>      the JSON body of revision N, never rewritten
  <p>:config:current      N of the revision gateways should serve
  <p>:config:checksum     the content checksum of the current revision
  <p>:config:history      sorted set of the revisions still kept (score = N)
  <p>:config:revisions    pub/sub channel, message {"revision": N, "checksum": "sha256:..."}

Each write is one Lua script, which Redis runs without interleaving any other
command, so a reader sees either the old revision or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, cast

import orjson
import redis
from django.conf import settings
from redis.lock import Lock

from portal.redis import get_redis, redis_key

# KEYS: current, checksum, history, body of N.
# ARGV: N, body, checksum, keep, body prefix, channel, message.
# Refuses a revision that is not newer than the current one so `current` only moves forward.
# Trimmed bodies are named from ARGV: fine on a single Redis, not on a cluster (not supported).
_WRITE_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local revision = tonumber(ARGV[1])
if revision <= current then return -current end
redis.call('SET', KEYS[4], ARGV[2])
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], revision, ARGV[1])
local excess = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[4])
if excess > 0 then
  for _, old in ipairs(redis.call('ZRANGE', KEYS[3], 0, excess - 1)) do
    redis.call('DEL', ARGV[5] .. old)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, excess - 1)
end
redis.call('PUBLISH', ARGV[6], ARGV[7])
return revision
"""

# KEYS: current.  ARGV: body prefix.  Pointer and body read together, for the same reason.
_READ_SCRIPT = """
local current = redis.call('GET', KEYS[1])
if not current then return false end
return redis.call('GET', ARGV[1] .. current)
"""


class StaleRevision(RuntimeError):
    """Another publisher already made a newer revision current."""


def channel() -> str:
    return redis_key("config", "revisions")


def _body_prefix() -> str:
    return redis_key("config", "rev", "")


def write_revision(
    revision: int, body: bytes, checksum: str, *, client: redis.Redis | None = None
) -> None:
    """Store `body` as revision N, make it current, trim history, announce it."""
    client = client or get_redis()
    message = orjson.dumps({"revision": revision, "checksum": checksum})
    keys = [
        redis_key("config", "current"),
        redis_key("config", "checksum"),
        redis_key("config", "history"),
        _body_prefix() + str(revision),
    ]
    args: list[Any] = [
        revision,
        body,
        checksum,
        settings.MESHGATE_PUBLISH["HISTORY"],
        _body_prefix(),
        channel(),
        message,
    ]
    result = int(client.register_script(_WRITE_SCRIPT)(keys=keys, args=args))
    if result < 0:
        raise StaleRevision(
            f"revision {revision} is not newer than the current revision {-result} in Redis; "
            f"if the database was reset, delete the keys {redis_key('config', '*')} and publish"
        )


def read_current(*, client: redis.Redis | None = None) -> bytes | None:
    client = client or get_redis()
    script = client.register_script(_READ_SCRIPT)
    return cast(bytes | None, script(keys=[redis_key("config", "current")], args=[_body_prefix()]))


def read_revision(revision: int, *, client: redis.Redis | None = None) -> bytes | None:
    return cast(bytes | None, (client or get_redis()).get(_body_prefix() + str(revision)))


def current_revision(*, client: redis.Redis | None = None) -> int | None:
    raw = (client or get_redis()).get(redis_key("config", "current"))
    return None if raw is None else int(raw)


def current_checksum(*, client: redis.Redis | None = None) -> str | None:
    raw = (client or get_redis()).get(redis_key("config", "checksum"))
    return None if raw is None else cast(bytes, raw).decode()


def list_revisions(*, client: redis.Redis | None = None) -> list[int]:
    """The revisions still kept, oldest first."""
    members = (client or get_redis()).zrange(redis_key("config", "history"), 0, -1)
    return [int(cast(bytes, member)) for member in members]


@contextlib.contextmanager
def publish_lock(*, timeout: float = 60.0, wait: float = 30.0) -> Iterator[None]:
    """Serialise publishers across processes: compile, number and write as one step.

    Without it two publishers could compile in one order and commit in the other,
    leaving an older compile as the newest revision.
    """
    lock: Lock = get_redis().lock(
        redis_key("publish", "lock"), timeout=timeout, blocking_timeout=wait
    )
    if not lock.acquire():
        raise redis.exceptions.LockError(
            f"another publish held the lock for more than {wait:.0f} s"
        )
    try:
        yield
    finally:
        with contextlib.suppress(redis.exceptions.LockError):
            lock.release()
