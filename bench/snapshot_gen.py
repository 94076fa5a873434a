"""A realistic, schema-valid snapshot for the gateway benchmark, generated without the portal.

    .venv/bin/python bench/snapshot_gen.py --routes 1000 --keys 10000 --output snapshot.json

Everything is deterministic (keys are derived from their index), so a run can be repeated
and the generator can hand back real raw keys for the load generator: the snapshot itself
only carries SHA-256 hashes of `mg_<prefix>_<secret>`, exactly as the portal publishes them.

Shape: APIs of ROUTES_PER_VERSION routes each (static and templated paths), one plan with
a limit far above what one core can serve, applications holding several keys and a few
subscriptions each, and one upstream service whose instances are the given ports.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway_runtime.contract.canonical import content_checksum  # noqa: E402

ROUTES_PER_VERSION = 10
# Realistic REST shapes: collections, items by id, nested items; every one a GET so any
# of them can be requested by the load generator with an empty body.
ROUTE_TEMPLATES = (
    "/orders",
    "/orders/{order_id}",
    "/orders/{order_id}/items",
    "/orders/{order_id}/items/{item_id}",
    "/customers",
    "/customers/{customer_id}",
    "/customers/{customer_id}/orders",
    "/products",
    "/products/{sku}",
    "/status",
)
KEYS_PER_APP = 10
SUBSCRIPTIONS_PER_APP = 5
PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
UPSTREAM = "bench-upstream"
# Far above one core's throughput, so the limiter does its bookkeeping but never refuses.
HIGH_LIMIT = 100_000_000


@dataclass(frozen=True)
class BenchRequest:
    """One request the load generator may send: a routed path and a key subscribed to it."""

    path: str
    key: str


def key_prefix(index: int) -> str:
    """8 base32 characters, unique per index (like apis.services.keys.generate_api_key)."""
    chars = []
    for _ in range(8):
        index, digit = divmod(index, 32)
        chars.append(PREFIX_ALPHABET[digit])
    return "".join(reversed(chars))


def raw_key(index: int) -> str:
    """The full key string; the secret is 32 bytes base64url, derived from the index."""
    secret = hashlib.sha256(f"meshgate-bench-key-{index}".encode()).digest()
    token = base64.urlsafe_b64encode(secret).rstrip(b"=").decode()
    return f"mg_{key_prefix(index)}_{token}"


def _route_paths(templates: int) -> list[str]:
    return [ROUTE_TEMPLATES[n % len(ROUTE_TEMPLATES)] for n in range(templates)]


def _version(version_id: int, route_ids: range) -> dict[str, Any]:
    routes = [
        {
            "id": route_id,
            "method": "GET",
            "path": path,
            "auth_mode": "key",
            "scopes": [],
            "timeout_ms": 30_000,
            "max_body_bytes": 1_048_576,
        }
        for route_id, path in zip(route_ids, _route_paths(len(route_ids)), strict=True)
    ]
    routes.sort(key=lambda route: (route["path"], route["method"]))
    return {
        "id": version_id,
        "api": f"api-{version_id:05d}",
        "version": "v1",
        "host": "",
        "base_path": f"/api-{version_id:05d}/v1",
        "state": "published",
        "sunset_at": None,
        "upstream": UPSTREAM,
        "upstream_path": "/",
        "auth_mode": "key",
        "allow_key_in_query": False,
        "timeouts": {"connect_ms": 2_000, "read_ms": 30_000, "total_ms": 30_000},
        "retry": {"retries": 1, "on": ["connect-failure", "503"], "non_idempotent": False},
        "max_body_bytes": 1_048_576,
        "plans": [1],
        "routes": routes,
    }


def _versions(routes: int) -> list[dict[str, Any]]:
    count = max(1, -(-routes // ROUTES_PER_VERSION))
    versions = []
    for n in range(count):
        first = n * ROUTES_PER_VERSION + 1
        last = min(first + ROUTES_PER_VERSION, routes + 1)
        versions.append(_version(n + 1, range(first, last)))
    return versions


def _subscriptions(app_index: int, version_count: int) -> list[int]:
    # Spread the apps over the versions so every version has subscribers.
    step = max(1, version_count // SUBSCRIPTIONS_PER_APP)
    ids = {(app_index + k * step) % version_count + 1 for k in range(SUBSCRIPTIONS_PER_APP)}
    return sorted(ids)


def _consumers(keys: int, version_count: int) -> dict[str, Any]:
    apps = max(1, -(-keys // KEYS_PER_APP))
    applications = {
        str(app + 1): {
            "name": f"bench app {app + 1}",
            "subscriptions": {str(v): 1 for v in _subscriptions(app, version_count)},
        }
        for app in range(apps)
    }
    key_entries = {
        key_prefix(n): {
            "sha256": hashlib.sha256(raw_key(n).encode()).hexdigest(),
            "app": n // KEYS_PER_APP + 1,
            "expires_at": None,
        }
        for n in range(keys)
    }
    return {"applications": applications, "keys": key_entries, "oauth_clients": {}}


def _jwks() -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    private = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"meshgate-bench").digest())
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    x = base64.urlsafe_b64encode(public).rstrip(b"=").decode()
    return {
        "keys": [
            {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "bench", "x": x}
        ]
    }


def _upstreams(ports: list[int], host: str) -> dict[str, Any]:
    instances = [
        {
            "id": n + 1,
            "host": host,
            "port": port,
            "scheme": "http",
            "weight": 100,
            "zone": "",
            "tags": ["bench"],
            "state": "healthy",
        }
        for n, port in enumerate(ports)
    ]
    return {UPSTREAM: {"id": 1, "name": "Bench upstream", "instances": instances}}


def generate_snapshot(
    *, routes: int, keys: int, upstream_ports: list[int], upstream_host: str = "127.0.0.1"
) -> dict[str, Any]:
    """A complete snapshot (checksum stamped) with `routes` routes and `keys` API keys."""
    versions = _versions(routes)
    plan = {
        "name": "bench",
        "rps": HIGH_LIMIT,
        "rpm": None,
        "per_day": None,
        "per_month": None,
        "burst": HIGH_LIMIT,
        "redis_down": "local",
    }
    document: dict[str, Any] = {
        "schema_version": 1,
        "revision": 1,
        "created_at": "2026-01-01T00:00:00Z",
        "apis": versions,
        "plans": {"1": plan},
        "upstreams": _upstreams(upstream_ports, upstream_host),
        "consumers": _consumers(keys, len(versions)),
        "oauth": {
            "issuer": "http://127.0.0.1:8000/o",
            "audience": "meshgate-gateway",
            "jwks": _jwks(),
            "revoked": [],
        },
    }
    document["checksum"] = content_checksum(document)
    return document


def concrete_path(template: str, seed: int) -> str:
    """Fill every `{param}` of a route template with a value."""
    parts = [
        str(1000 + seed) if part.startswith("{") and part.endswith("}") else part
        for part in template.split("/")
    ]
    return "/".join(parts)


def bench_requests(document: dict[str, Any], count: int, keys: int) -> list[BenchRequest]:
    """`count` valid (path, key) pairs spread over keys, apps, versions and routes."""
    versions = {entry["id"]: entry for entry in document["apis"]}
    apps = document["consumers"]["applications"]
    stride = max(1, keys // count)
    requests = []
    for n in range(count):
        index = (n * stride) % keys
        app = apps[str(index // KEYS_PER_APP + 1)]
        version_ids = sorted(int(v) for v in app["subscriptions"])
        version = versions[version_ids[n % len(version_ids)]]
        route = version["routes"][n % len(version["routes"])]
        path = version["base_path"] + concrete_path(route["path"], n)
        requests.append(BenchRequest(path=path, key=raw_key(index)))
    return requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--upstream-port", type=int, action="append", dest="ports")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--validate", action="store_true", help="check against the JSON Schema")
    args = parser.parse_args()
    import orjson

    document = generate_snapshot(
        routes=args.routes, keys=args.keys, upstream_ports=args.ports or [18081, 18082]
    )
    if args.validate:
        from gateway_runtime.contract.validate import validate_snapshot

        problems = validate_snapshot(document)
        if problems:
            sys.exit("\n".join(problems))
    args.output.write_bytes(orjson.dumps(document))
    print(f"wrote {args.output}: {args.routes} routes, {args.keys} keys")


if __name__ == "__main__":
    main()
