"""Where the shared rate-limit counters live: one Lua script in Redis, and its local mirror.

Workers never ask Redis per request. They hold small *grants* of tokens and settle up in batches:
every sync sends, per limit dimension, what it `used` since the last sync and the grant it `held`,
and asks for a new grant (`want`). The store adds back the held grant, charges the actual use
(a worker may have used more than it held: the first requests of a new key are admitted on a
small provisional allowance, which becomes a debt here) and grants min(want, what is left).
Tokens are only ever handed out once, so workers can overshoot a limit only by their
provisional allowances and by what they admit while a sync is in flight.

Two kinds of dimension:
- "b" token bucket (requests per second): hash {t: tokens, ts: time}; refills at `rate`/s up
  to `cap` (the plan's burst, else rps).
- "w" fixed window (per minute / UTC day / calendar month): a counter per window, keyed by the
  window; the held grant and the use are settled on the key of the window they came from.

LocalStore is the same arithmetic in Python, used while Redis is unreachable by plans whose
`redis_down` is "local" (each worker then enforces its share of the limit on its own).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import orjson
from redis.exceptions import NoScriptError

if TYPE_CHECKING:
    from redis.asyncio import Redis

# ARGV[1] is the whole batch as one JSON array: [now, [kind, old_key, new_key, used, held, want,
# p1, p2, ttl], ...] with kind "b" (p1 = rate, p2 = cap) or "w" (p1 = limit); old_key is the key of
# the held grant's window, new_key the one to grant from. The answer is one string
# "grant,left,grant,left,..." (left: tokens / requests left after the grant; may be < 0).
# One packed argument and one packed answer, because redis-py's per-argument encoding and
# per-element parsing cost ~10x the script itself at a few hundred keys per batch (measured by
# gw-bench: 12 % of a worker's time with 256 active keys). The keys travel inside the JSON, so
# this script is for a standalone Redis/Valkey (not Redis Cluster).
SYNC_LUA = """
local batch = cjson.decode(ARGV[1])
local now = batch[1]
local out = {}
for i = 2, #batch do
  local d = batch[i]
  local kind, old, new, used, held, want = d[1], d[2], d[3], d[4], d[5], d[6]
  local p1, p2, ttl = d[7], d[8], d[9]
  local grant, left = 0, 0
  if kind == "b" then
    local state = redis.call("HMGET", new, "t", "ts")
    local t, ts = tonumber(state[1]), tonumber(state[2])
    if t == nil then t, ts = p2, now end
    if now > ts then t = math.min(p2, t + (now - ts) * p1); ts = now end
    t = math.min(p2, t + held - used)
    grant = math.max(0, math.min(want, math.floor(t)))
    t = t - grant
    redis.call("HSET", new, "t", tostring(t), "ts", tostring(ts))
    redis.call("EXPIRE", new, ttl)
    left = math.floor(t)
  else
    if old ~= new then
      if (used ~= 0 or held ~= 0) and redis.call("EXISTS", old) == 1 then
        redis.call("INCRBY", old, used - held)
      end
      used, held = 0, 0
    end
    local count = tonumber(redis.call("GET", new) or "0") + used - held
    grant = math.max(0, math.min(want, p1 - count))
    count = count + grant
    redis.call("SET", new, count, "EX", ttl)
    left = p1 - count
  end
  out[#out + 1] = string.format("%d,%d", grant, left)
end
return table.concat(out, ",")
"""

# One dimension's request to the store: (kind, old_key, new_key, used, held, want, p1, p2, ttl).
Settle = tuple[str, str, str, int, int, int, float, float, int]


class RedisStore:
    """Runs a whole batch as one EVALSHA (loaded on first use, reloaded after SCRIPT FLUSH)."""

    def __init__(self) -> None:
        self._sha: str | None = None

    async def settle(self, redis: Redis, now: float, batch: list[Settle]) -> list[tuple[int, int]]:
        raw = await self._run(redis, orjson.dumps([now, *batch]))
        if isinstance(raw, str):  # a client made with decode_responses
            raw = raw.encode()
        # "g,l,g,l,..." is a JSON array without its brackets: orjson reads it in C, where
        # splitting and int() per value cost as much as the rest of a sync
        values = orjson.loads(b"[" + raw + b"]")
        return list(zip(values[::2], values[1::2], strict=True))

    async def _run(self, redis: Redis, payload: bytes) -> bytes | str:
        if self._sha is None:
            self._sha = await redis.script_load(SYNC_LUA)
        try:
            return await redis.evalsha(self._sha, 0, payload)  # type: ignore[no-any-return]
        except NoScriptError:
            self._sha = await redis.script_load(SYNC_LUA)
            return await redis.evalsha(self._sha, 0, payload)  # type: ignore[no-any-return]


class LocalStore:
    """The script's arithmetic in-process, for when Redis is down (limits scaled by `share`)."""

    def __init__(self, share: float = 1.0) -> None:
        self.share = share
        self.buckets: dict[str, tuple[float, float]] = {}
        self.windows: dict[str, int] = {}
        self.current: dict[str, str] = {}  # dimension key stem -> its current window key

    def settle(self, now: float, batch: list[Settle]) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        for kind, old, new, used, held, want, p1, p2, _ttl in batch:
            if kind == "b":
                out.append(
                    self._bucket(new, now, used, held, want, p1 * self.share, p2 * self.share)
                )
            else:
                out.append(self._window(old, new, used, held, want, max(1, int(p1 * self.share))))
        return out

    def _bucket(
        self,
        key: str,
        now: float,
        used: int,
        held: int,
        want: int,
        rate: float,
        cap: float,
    ) -> tuple[int, int]:
        tokens, ts = self.buckets.get(key, (cap, now))
        if now > ts:
            tokens, ts = min(cap, tokens + (now - ts) * rate), now
        tokens = min(cap, tokens + held - used)
        grant = max(0, min(want, math.floor(tokens)))
        self.buckets[key] = (tokens - grant, ts)
        return grant, math.floor(tokens - grant)

    def _window(
        self, old: str, new: str, used: int, held: int, want: int, limit: int
    ) -> tuple[int, int]:
        if old != new:
            if old in self.windows:
                self.windows[old] += used - held
            used = held = 0
        if new not in self.windows:
            # Only the current window of each dimension matters: forget the previous one.
            stem = new.rsplit(":", 1)[0]
            previous = self.current.get(stem)
            if previous is not None:
                self.windows.pop(previous, None)
            self.current[stem] = new
        count = self.windows.get(new, 0) + used - held
        grant = max(0, min(want, limit - count))
        self.windows[new] = count + grant
        return grant, limit - count - grant
