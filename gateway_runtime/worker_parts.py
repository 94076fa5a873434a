"""Builds and drives the per-worker policy objects (runtime state, limiter, metrics, usage, log).

Kept apart from worker.py so the process plumbing stays readable. Each part is optional at
this seam: if a module is missing the worker still serves (and says so in the log), which
keeps the config/admin side testable on its own.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from gateway_runtime.config.store import ConfigStore
    from gateway_runtime.config.table import Table
    from gateway_runtime.settings import GatewaySettings

log = logging.getLogger("gateway_runtime.worker")

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        if error.name != module:  # the module exists but is broken: say so loudly
            raise
        log.warning("%s is not available; running without it", module)
        return None


@dataclass
class PolicyParts:
    runtime: Any = None
    limiter: Any = None
    metrics: Any = None
    usage: Any = None
    accesslog: Any = None
    gateway_id: str = ""
    workers: int = 1
    # Health overlay kept here when there is no RuntimeState to hand it to.
    overlay: dict[int, tuple[int, str]] = field(default_factory=dict)

    def on_swap(self, table: Table) -> None:
        if self.runtime is not None:
            self.runtime.sync(table)

    def apply_health(self, instance_id: int, state: str, seq: int) -> bool:
        if self.runtime is not None:
            return bool(self.runtime.set_instance_state(instance_id, state, seq))
        last = self.overlay.get(instance_id)
        if last is not None and seq <= last[0]:
            return False
        self.overlay[instance_id] = (seq, state)
        return True

    def make_server(self, store: ConfigStore, settings: GatewaySettings) -> Any:
        from gateway_runtime.http.server import HttpLimits, make_server_factory
        from gateway_runtime.proxy import ProxyContext

        context = ProxyContext(
            limits=HttpLimits.from_settings(settings),
            scheme=b"https" if settings.tls_cert is not None else b"http",
            store=store,
            runtime=self.runtime,
            ratelimiter=self.limiter,
            retry_budget=None,
            metrics=self.metrics,
            usage=self.usage,
            accesslog=self.accesslog,
            gateway_id=settings.gateway_id,
        )
        return make_server_factory(context)

    async def limiter_loop(self, redis: Redis | None, prefix: str) -> None:
        """Rate-limit reconciliation on its own short period (~50 ms), not the 1 s tick.

        Runs without Redis too (--config mode): sync(None) settles with the local store."""
        if self.limiter is None:
            return
        interval = float(getattr(self.limiter, "sync_interval", 0.05))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.limiter.sync(redis)
            except (RedisError, OSError) as error:  # the limiter marks Redis down itself
                log.debug("rate-limit sync failed: %s", error)

    async def tick(self, now: float, redis: Redis | None, prefix: str) -> None:
        if self.runtime is not None:
            self.runtime.tick()
        if self.accesslog is not None:
            self.accesslog.flush()
        if redis is None:
            return
        try:
            if self.runtime is not None:
                await self.runtime.flush(redis, prefix)
            if self.usage is not None:
                await self.usage.flush(redis, prefix)
        except (RedisError, OSError) as error:
            log.debug("tick flush failed: %s", error)

    async def final_flush(self, redis: Redis | None, prefix: str) -> None:
        """Last usage/ejection flush on graceful stop; never raises."""
        try:
            if redis is not None and self.usage is not None:
                await self.usage.flush(redis, prefix, force=True)  # the partial interval too
            if redis is not None and self.runtime is not None:
                await self.runtime.flush(redis, prefix)
        except (RedisError, OSError) as error:
            log.warning("final flush failed: %s", error)
        if self.accesslog is not None:
            self.accesslog.close()

    def flush_status(self) -> dict[str, Any]:
        """Where the background writers stand (for /status): None = fine or not running."""
        limiter = self.limiter
        return {
            "ratelimit_redis_ok": getattr(limiter, "redis_ok", None),
            "ratelimit_error": getattr(limiter, "last_error", None),
            # counts since the worker started: syncs that called the store, keys they settled
            "ratelimit_syncs": getattr(limiter, "syncs", None),
            "ratelimit_keys_settled": getattr(limiter, "settled", None),
            "ejection_reports_error": getattr(
                getattr(self.runtime, "reports", None), "last_error", None
            ),
            "usage_error": getattr(self.usage, "last_error", None),
            "accesslog_error": getattr(self.accesslog, "last_error", None),
        }

    def upstream_status(self, table: Table | None) -> dict[str, Any]:
        if self.runtime is not None:
            return dict(self.runtime.snapshot())
        if table is None:
            return {}
        return {
            slug: {
                "instances": [
                    {
                        "id": i.id,
                        "address": f"{i.host}:{i.port}",
                        "state": self.overlay.get(i.id, (0, i.state))[1],
                        "ejected": False,
                    }
                    for i in spec.instances
                ]
            }
            for slug, spec in table.upstreams.items()
        }


def build_parts(settings: GatewaySettings, *, redis_mode: bool) -> PolicyParts:
    """Instantiate whatever policy modules are installed, configured from the settings."""
    parts = PolicyParts(gateway_id=settings.gateway_id, workers=settings.workers)
    runtime_state = _optional("gateway_runtime.runtime_state")
    if runtime_state is not None:
        parts.runtime = runtime_state.RuntimeState(settings.gateway_id)
    ratelimit = _optional("gateway_runtime.ratelimit")
    if ratelimit is not None:
        parts.limiter = ratelimit.RateLimiter(
            prefix=settings.redis_prefix, workers_per_gateway=settings.workers
        )
    metrics = _optional("gateway_runtime.metrics")
    if metrics is not None:
        parts.metrics = metrics.Metrics()
    usage = _optional("gateway_runtime.usage")
    if usage is not None and redis_mode:  # usage aggregates only go to Redis
        parts.usage = usage.Usage()
    accesslog = _optional("gateway_runtime.accesslog")
    if accesslog is not None and settings.access_log:
        parts.accesslog = accesslog.AccessLog.open(settings.access_log, settings.access_log_sample)
    return parts


def metrics_text(parts: PolicyParts, store: ConfigStore) -> tuple[bytes, str]:
    """The /metrics body: gw-policy's collector when present, else the config basics."""
    if parts.metrics is not None:
        return parts.metrics.render(), PROMETHEUS_TEXT
    revision = store.revision if store.revision is not None else 0
    lines = [
        "# HELP meshgate_config_revision Revision served (0 = none).",
        "# TYPE meshgate_config_revision gauge",
        f"meshgate_config_revision {revision}",
        "# HELP meshgate_config_errors_total Snapshots refused by this worker.",
        "# TYPE meshgate_config_errors_total counter",
        f"meshgate_config_errors_total {store.errors}",
    ]
    return ("\n".join(lines) + "\n").encode(), PROMETHEUS_TEXT
