"""Publishing at scale: 1,000 APIs / 10,000 routes / 100,000 keys.

    .venv/bin/python bench/publish_bench.py          (or `make bench`)

Uses a throwaway SQLite file, or a throwaway database created next to DATABASE_URL
when that is PostgreSQL (dropped at the end), and a throwaway Redis unless REDIS_URL
is set (then its own key prefix, deleted at the end). Prints compile time, publish
time, snapshot size (raw and gzip), export_config time and schema-check time.
Target from issue 2: compile + publish <= 2 s.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

APIS, ROUTES_PER_VERSION, KEYS, APPLICATIONS, SERVICES = 1000, 10, 100_000, 1000, 10
RUNS = 3


@contextlib.contextmanager
def throwaway_database(directory: Path) -> Iterator[str]:
    given = os.environ.get("DATABASE_URL", "")
    if not given.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{directory / 'bench.sqlite3'}"
        return
    import psycopg

    name = f"meshgate_bench_{os.getpid()}"
    # The maintenance database: the one DATABASE_URL names may not exist yet.
    server = urlunsplit(urlsplit(given)._replace(path="/postgres"))
    admin = psycopg.connect(server, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(given)._replace(path=f"/{name}"))
    finally:
        from django.db import connections

        connections.close_all()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@contextlib.contextmanager
def throwaway_redis() -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    from portal.local_redis import start_local_redis

    server = start_local_redis()
    try:
        yield server.url
    finally:
        server.stop()


def build_catalogue() -> None:
    from django.contrib.auth import get_user_model

    from apis.models import Api, ApiVersion, Application, Plan, Route, Subscription
    from registry.models import Instance, Service

    owner = get_user_model().objects.create_user("bench-owner", role="admin")
    services = Service.objects.bulk_create(
        Service(name=f"svc {n}", slug=f"svc-{n}") for n in range(SERVICES)
    )
    Instance.objects.bulk_create(
        Instance(
            service=s,
            host=f"10.0.{i}.{n}",
            port=8000 + i,
            zone=f"z{i}",
            tags=["bench"],
            health="healthy",
        )
        for n, s in enumerate(services)
        for i in range(3)
    )
    apis = Api.objects.bulk_create(
        Api(name=f"API {n}", slug=f"api-{n}", owner=owner) for n in range(APIS)
    )
    versions = ApiVersion.objects.bulk_create(
        ApiVersion(
            api=a,
            label="v1",
            base_path=f"/api-{n}/v1",
            state="published",
            upstream_service=services[n % SERVICES],
            retry_on=["connect-failure"],
        )
        for n, a in enumerate(apis)
    )
    Route.objects.bulk_create(
        Route(
            version=v,
            method=("GET", "POST")[r % 2],
            path_template=f"/items{r // 2}/{{id}}",
            scopes=["read"],
        )
        for v in versions
        for r in range(ROUTES_PER_VERSION)
    )
    plans = Plan.objects.bulk_create(
        Plan(api=a, name=f"{tier} {n}", slug=tier, requests_per_second=100, burst=200)
        for n, a in enumerate(apis)
        for tier in ("free", "gold")
    )
    apps = Application.objects.bulk_create(
        Application(owner=owner, name=f"app {n}") for n in range(APPLICATIONS)
    )
    Subscription.objects.bulk_create(
        Subscription(
            application=app,
            api_version=versions[(n + k) % APIS],
            plan=plans[2 * ((n + k) % APIS)],
            status="approved",
        )
        for n, app in enumerate(apps)
        for k in range(5)
    )
    build_keys(apps)


def build_keys(apps: list[Any]) -> None:
    from apis.models import ApiKey

    per_app = KEYS // len(apps)
    batch = (
        ApiKey(
            application=app,
            prefix=f"k{n:07d}{j:03d}",
            key_hash=hashlib.sha256(f"mg_{n}_{j}".encode()).hexdigest(),
        )
        for n, app in enumerate(apps)
        for j in range(per_app)
    )
    ApiKey.objects.bulk_create(batch, batch_size=5000)


def timed(action: Callable[[], Any], runs: int = RUNS) -> tuple[float, Any]:
    """Median wall time in seconds over `runs`, and the last result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def measure() -> None:
    import orjson
    from django.core.management import call_command

    from gateway_runtime.contract.validate import validate_snapshot
    from portal.publishing import store
    from portal.publishing.compiler import compile_snapshot
    from portal.publishing.services import publish_revision

    compile_snapshot()  # warm up: first-use imports and query compilation are not the steady state
    compile_s, document = timed(compile_snapshot)
    publish_s, _ = timed(lambda: publish_revision(force=True, reason="bench"))
    body = store.read_current() or b""
    export_s, _ = timed(lambda: call_command("export_config", stdout=io.StringIO()))
    validate_s, problems = timed(lambda: validate_snapshot(orjson.loads(body)), runs=1)
    routes = sum(len(entry["routes"]) for entry in document["apis"])
    print(
        f"catalogue: {len(document['apis'])} API versions, {routes} routes, "
        f"{len(document['consumers']['keys'])} keys, {len(document['plans'])} plans"
    )
    print(f"compile:                     {compile_s * 1000:8.0f} ms (median of {RUNS})")
    print(
        f"publish (compile+store):     {publish_s * 1000:8.0f} ms "
        f"(median of {RUNS}; target <= 2000 ms)"
    )
    print(
        f"snapshot size:               {len(body):8d} bytes, "
        f"gzip {len(gzip.compress(body, 6))} bytes"
    )
    print(f"export_config:               {export_s * 1000:8.0f} ms (median of {RUNS})")
    print(f"schema + checksum check:     {validate_s * 1000:8.0f} ms ({len(problems)} problems)")


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="meshgate-bench-") as scratch,
        throwaway_redis() as redis_url,
        throwaway_database(Path(scratch)) as database_url,
    ):
        os.environ.update(
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            MESHGATE_PUBLISH_VALIDATE="0",
            MESHGATE_REDIS_PREFIX=f"meshgate-bench-{os.getpid()}",
            MESHGATE_VAR_DIR=os.environ.get("MESHGATE_VAR_DIR", str(Path(scratch) / "var")),
            DJANGO_SETTINGS_MODULE="portal.settings",
        )
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        build_catalogue()
        print(f"built the catalogue in {time.perf_counter() - started:.1f} s")
        try:
            measure()
        finally:
            cleanup_redis()


def cleanup_redis() -> None:
    from django.conf import settings

    from portal.redis import get_redis

    client = get_redis()
    for key in client.scan_iter(match=f"{settings.MESHGATE_PUBLISH['REDIS_PREFIX']}:*", count=1000):
        client.delete(key)


if __name__ == "__main__":
    main()
