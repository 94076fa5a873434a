"""Central health checking: each instance probed once, its verdict shared through Redis.

How the pieces fit (each module's docstring says why it is built that way):

- `beat.py`: django-celery-beat fires `registry.tasks.health_tick(shard)` every second for
  each of MESHGATE_HEALTH["SHARDS"] shards (instance id modulo the shard count).
- `lease.py`: a tick first takes or renews its shard's Redis lease (SET NX PX in a script)
  and claims the next window of due times from a shared cursor, so exactly one worker
  checks a shard; a dead worker's lease expires and the next tick elsewhere takes over.
- `schedule.py`: every instance has a fixed phase inside its interval (the jitter), so
  checks spread evenly over 100 ms slots instead of firing together.
- `probes.py`: HTTP(S) over `http_exchange.py` (httptools; why not aiohttp: see there) and TCP
  connect with asyncio; every failure becomes
  a short reason, never an exception.
- `runner.py`: one tick = one event loop (uvloop) firing the window's probes at their
  phase times under a semaphore, while the task thread records finished results every
  100 ms (`recording.py`: state machine, bulk UPDATE, history samples, ejection verdicts).
- `state.py`: the pure state machine with hysteresis.
- `propagate.py`: state changes go to `<p>:health:states` + `<p>:health:updates`
  (contracts §1) with a monotonic seq; `hooks.py` does the same for changes made through
  model saves (drain, undrain, heartbeat TTL, address change, removal).
- `history.py`: per-minute roll-up of the samples and the retention purge.
- `ejections.py`: passive ejections reported by gateways (contracts §3).

Redis keys of the health workers alone (besides contracts §1 and §3), under `<p>:health:`:
`lease:<shard>` (holder "host:pid", PX), `cursor:<shard>` (end of the last claimed window,
ms), `force:<shard>` (zset of instance ids to check now), `checkers` (hash: each shard's
last tick), `samples:<YYYYmmddHHMM>` + `sample-minutes` (history not yet rolled up),
`checks` (running total of checks), `fired:<YYYYmmddHHMM>` (probes fired per 100 ms slot).
"""
