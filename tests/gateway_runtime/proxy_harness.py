"""Gateway harnesses for gw-core's tests: snapshots that mount the test upstream's paths, a real
gateway process on such a snapshot, and the proxy server in-process (LocalGateway) for the limits,
timeouts and runtime knobs the CLI does not expose.
"""

from __future__ import annotations

import asyncio
from typing import Any

from portal.local_redis import free_port
from tests.gateway_runtime.upstreams import _LoopThread


# -- a snapshot that mounts the test upstream's paths under /svc/v1 ---------------------------
def proxy_routes(
    *,
    auth_mode: str = "public",
    timeout_ms: int = 30000,
    max_body_bytes: int = 1 << 20,
    first_id: int = 1,
) -> list[dict[str, Any]]:
    """Routes for every Upstream path, all methods that tests use."""
    from tests.gateway_runtime.snapshots import route

    paths = [
        "/echo",
        "/echo/{a}",
        "/echo/{a}/{b}",
        "/status/{code}",
        "/sleep/{s}",
        "/stream/{n}/{size}",
        "/big/{n}",
        "/sink",
        "/close",
        "/head-chunked",
        "/ws",
        "/endless-head",
        "/early-hints",
    ]
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
    out = []
    n = first_id
    for path in paths:
        for method in methods:
            out.append(
                route(
                    n,
                    method,
                    path,
                    auth_mode=auth_mode,
                    timeout_ms=timeout_ms,
                    max_body_bytes=max_body_bytes,
                )
            )
            n += 1
    return out


def proxy_document(
    ports: list[int],
    *,
    ws_port: int | None = None,
    retry_on: tuple[str, ...] = ("connect-failure",),
    retries: int = 1,
    timeouts: dict[str, int] | None = None,
    **route_kw: Any,
) -> dict[str, Any]:
    """A snapshot: /svc/v1/* -> instances on `ports` (+ /ws/v1/* -> ws_port), public routes."""
    from tests.gateway_runtime.snapshots import api, snapshot, upstream

    main = api(
        1,
        "/svc/v1",
        proxy_routes(**route_kw),
        upstream="svc",
        auth_mode="public",
        retry_on=retry_on,
    )
    main["retry"]["retries"] = retries
    if timeouts:
        main["timeouts"].update(timeouts)
    apis = [main]
    upstreams = {"svc": upstream(ports)}
    if ws_port is not None:
        ws = api(
            2,
            "/ws/v1",
            proxy_routes(first_id=1000),
            upstream="ws",
            auth_mode="public",
            name="ws-api",
        )
        apis.append(ws)
        upstreams["ws"] = upstream([ws_port], first_id=100, upstream_id=2, name="ws")
    return snapshot(apis, upstreams=upstreams)


def write_proxy_config(path: Any, ports: list[int], **kw: Any) -> Any:
    """proxy_document(...) written to `path` (for `--config`)."""
    from tests.gateway_runtime.snapshots import encode

    path.write_bytes(encode(proxy_document(ports, **kw)))
    return path


def spawn_gateway(tmp: Any, config: Any, *, workers: int = 1) -> Any:
    """A real `python -m gateway_runtime --config` process (gw-config's GatewayProcess), ready.

    For module-scoped fixtures (the conftest factory is per test); the caller stops it.
    """

    from tests.gateway_runtime.conftest import GatewayProcess, gateway_env

    port, admin_port = free_port(), free_port()
    args = [
        "--listen",
        f"127.0.0.1:{port}",
        "--admin-listen",
        f"127.0.0.1:{admin_port}",
        "--workers",
        str(workers),
        "--state-dir",
        str(tmp / "state"),
        "--gateway-id",
        f"core-test:{port}",
        "--config",
        str(config),
    ]
    env = gateway_env()
    log = tmp / f"gateway-{port}.log"
    gateway = GatewayProcess(args, port, admin_port, tmp / "state", log, env)
    return gateway.start().wait()


# -- the proxy server in-process (for limits and timeouts the CLI does not expose) ------------
class LocalGateway:
    """gw-core's server with a compiled snapshot, on a uvloop loop in a thread, on a free port.

    Real sockets and the real pipeline (ConfigStore stand-in holding one compiled Table, the real
    RuntimeState); used where a test needs HttpLimits or RuntimeState knobs the CLI lacks.
    """

    def __init__(
        self,
        document: dict[str, Any] | None,
        *,
        limits: Any = None,
        max_in_flight: int = 1024,
        limiter_redis: str | None = None,
        **ctx: Any,
    ) -> None:
        self.document = document
        self.limiter_redis = limiter_redis  # Redis URL the rate limiter syncs with (None: local)
        self.limits = limits
        self.max_in_flight = max_in_flight
        self.ctx_kw = ctx
        self.port = free_port()
        self.server: Any = None
        self.runtime: Any = None
        self._runner: _LoopThread | None = None
        self._listener: Any = None

    def start(self) -> LocalGateway:
        import uvloop

        from gateway_runtime.auth import Revocations
        from gateway_runtime.config.compile import compile_table
        from gateway_runtime.http.server import HttpLimits, make_server_factory
        from gateway_runtime.proxy import ProxyContext
        from gateway_runtime.runtime_state import RuntimeState

        table = compile_table(self.document, Revocations()) if self.document else None
        store = type("Store", (), {"table": table})()
        self.runtime = RuntimeState(default_max_in_flight=self.max_in_flight)
        if table is not None:
            self.runtime.sync(table)
        ctx = ProxyContext(
            store=store, runtime=self.runtime, limits=self.limits or HttpLimits(), **self.ctx_kw
        )
        self.server = make_server_factory(ctx)
        self._runner = _LoopThread(uvloop.new_event_loop())

        async def listen() -> Any:
            loop = asyncio.get_running_loop()
            return await loop.create_server(self.server, "127.0.0.1", self.port)

        self._listener = self._runner.call(listen())
        limiter = self.ctx_kw.get("ratelimiter")
        if limiter is not None:  # its sync loop: the given Redis, else the local store only
            url = self.limiter_redis

            async def run_limiter() -> None:
                import redis.asyncio as aioredis

                client = aioredis.Redis.from_url(url, socket_connect_timeout=0.2) if url else None
                await limiter.run(client)

            self._runner.loop.call_soon_threadsafe(
                lambda: self._runner.loop.create_task(run_limiter())
            )  # type: ignore[union-attr]
        return self

    def stop(self) -> None:
        if self._runner is None:
            return

        async def close() -> None:
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            self._listener.close()
            await self.server.shutdown(1.0)

        self._runner.call(close())
        self._runner.stop()
        self._runner = None

    def call(self, fn: Any) -> Any:
        """Run a plain function on the gateway's loop thread (to read its state safely)."""
        assert self._runner is not None

        async def run() -> Any:
            return fn()

        return self._runner.call(run())

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
