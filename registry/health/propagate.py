"""Health state updates to the gateways (contracts §1): `<p>:health:states` + `<p>:health:updates`.

One script per batch INCRs `<p>:health:seq`, writes the hash field and publishes the same
bytes, entry by entry. Doing the three in one script matters: with two writers (a checker
and an operator's drain) a seq taken in one round trip and written in another could land
out of order and leave an older state in the hash under a newer-looking seq.
The body is encoded in Python (orjson) without its closing brace; the script appends
`,"seq":N}`, so floats keep their exact value (Lua's cjson would round them).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
import redis

from portal.redis import get_redis, redis_key

logger = logging.getLogger(__name__)

REMOVED = "removed"

_PUBLISH = """
for i = 1, #ARGV, 3 do
  local seq = redis.call('INCR', KEYS[2])
  local message = ARGV[i + 1] .. ',"seq":' .. seq .. '}'
  if ARGV[i + 2] == 'removed' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], message)
  end
  redis.call('PUBLISH', KEYS[3], message)
end
return redis.call('GET', KEYS[2])
"""


@dataclass(frozen=True, slots=True)
class StateUpdate:
    instance: int
    upstream: str
    state: str
    reason: str
    since: float

    def body(self) -> bytes:
        encoded = orjson.dumps(
            {
                "instance": self.instance,
                "upstream": self.upstream,
                "state": self.state,
                "reason": self.reason,
                "since": self.since,
            }
        )
        return encoded[:-1]


def publish_updates(client: redis.Redis, updates: Iterable[StateUpdate]) -> int:
    """Write and announce the updates in order; returns the last seq (0 if none)."""
    args: list[bytes | str] = []
    for update in updates:
        args += [str(update.instance), update.body(), update.state]
    if not args:
        return 0
    keys = [redis_key("health", part) for part in ("states", "seq", "updates")]
    return int(client.eval(_PUBLISH, 3, *keys, *args))


def publish_quietly(updates: list[StateUpdate]) -> None:
    """For callbacks after a commit: the change is saved; if Redis is down, gateways keep
    their last states and the next HGETALL after a later update heals them."""
    try:
        publish_updates(get_redis(), updates)
    except (redis.RedisError, OSError) as exc:
        logger.warning(
            "could not publish %d health update(s) (%s: %s)", len(updates), type(exc).__name__, exc
        )


def read_states(client: redis.Redis) -> dict[int, dict[str, object]]:
    """The whole `<p>:health:states` hash, decoded (for the portal and tests)."""
    raw = client.hgetall(redis_key("health", "states"))
    return {int(field): orjson.loads(value) for field, value in raw.items()}
