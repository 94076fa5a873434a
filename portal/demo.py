"""Demo data for `make run`: three accounts, a service, a published API, an app with a key.

Idempotent: a second run finds the rows and prints the credentials saved at the first
run (var/demo-credentials.txt, mode 0600) instead of creating new ones.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

from apis.models import Api, Plan
from apis.services.applications import create_application
from apis.services.catalogue import create_api, create_api_version, publish_version
from apis.services.keys import create_api_key
from apis.services.plans import create_plan
from apis.services.subscriptions import subscribe
from portal.choices import Role
from registry.services.instances import register_instance
from registry.services.services import create_service

DEMO_DOCUMENT = Path(__file__).resolve().parent.parent / "apis" / "demo" / "inventory_openapi.yaml"
DEMO_PORTS = (9101, 9102)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str


ACCOUNTS = (
    DemoAccount("admin", Role.ADMIN),
    DemoAccount("operator", Role.OPERATOR),
    DemoAccount("developer", Role.DEVELOPER),
)


def credentials_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-credentials.txt"


def _save_credentials(lines: list[str]) -> None:
    path = credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def _create_accounts() -> tuple[list[str], dict[str, object]]:
    user_model = get_user_model()
    lines, users = [], {}
    for account in ACCOUNTS:
        password = secrets.token_urlsafe(12)
        user = user_model.objects.create_user(
            username=account.username,
            email=f"{account.username}@example.test",
            password=password,
            role=account.role,
            is_staff=account.role != Role.DEVELOPER,
            is_superuser=account.role == Role.ADMIN,
        )
        users[account.username] = user
        lines.append(f"{account.role:<10} username={account.username} password={password}")
    return lines, users


def _create_catalogue(admin: object, operator: object) -> tuple[Api, Plan, object]:
    service = create_service(
        actor=operator,
        name="Inventory",
        slug="inventory",
        description="Demo inventory upstream",
        check_path="/health",
    )
    for port in DEMO_PORTS:
        register_instance(service, actor=operator, host="127.0.0.1", port=port, zone="local")
    api = create_api(
        actor=admin, name="Inventory", slug="inventory", description="Stock levels (demo)"
    )
    version = create_api_version(
        api,
        actor=admin,
        label="v1",
        base_path="/inventory/v1",
        upstream_service=service,
        source=DEMO_DOCUMENT.read_text(),
    )
    plan = create_plan(
        api,
        actor=admin,
        name="Basic",
        slug="basic",
        requests_per_second=10,
        requests_per_minute=300,
        quota_per_day=10_000,
        burst=20,
    )
    version = publish_version(version, actor=admin)
    return api, plan, version


def seed_demo() -> list[str]:
    """Create the demo rows once; return the lines to print (credentials and the key)."""
    if get_user_model().objects.filter(username="admin").exists():
        path = credentials_file()
        saved = path.read_text().splitlines() if path.exists() else ["(credentials file missing)"]
        return ["demo data already present; credentials from the first run:", *saved]
    lines, users = _create_accounts()
    _api, plan, version = _create_catalogue(users["admin"], users["operator"])
    developer = users["developer"]
    app = create_application(
        developer, actor=developer, name="demo-app", description="Demo application"
    )
    subscribe(app, actor=developer, api_version=version, plan=plan)
    _key, raw_key = create_api_key(app, actor=developer, name="demo key")
    lines.append(f"api key    {raw_key}  (application demo-app, plan basic)")
    lines.append(
        "gateway    curl -H 'X-API-Key: " + raw_key + "' http://127.0.0.1:8080/inventory/v1/items"
    )
    _save_credentials(lines)
    return lines
