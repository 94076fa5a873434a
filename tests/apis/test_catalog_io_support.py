"""Builders shared by the catalogue export/import tests (no tests here)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import secrets
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from oauth2_provider.models import Application as OAuthApplication

from apis.models import Api, ApiKey, ApiVersion, Application, OAuthClient, Subscription
from apis.services.catalogue import (
    create_api,
    create_api_version,
    deprecate_version,
    publish_version,
)
from apis.services.plans import create_plan
from registry.models import Instance, Service
from registry.services.instances import register_instance
from registry.services.services import create_service, issue_registration_token

INVENTORY_DOCUMENT = """\
openapi: 3.0.3
info:
  title: Inventory
  version: "1.0"
components:
  securitySchemes:
    key:
      type: apiKey
      in: header
      name: X-API-Key
security:
  - key: []
paths:
  /items:
    get:
      operationId: listItems
      responses:
        "200":
          description: the items
    post:
      operationId: createItem
      responses:
        "201":
          description: created
  /items/{id}:
    get:
      operationId: getItem
      parameters:
        - name: id
          in: path
          required: true
          schema:
            type: string
      responses:
        "200":
          description: one item
"""

BILLING_DOCUMENT = """\
{"openapi": "3.1.0", "info": {"title": "Billing", "version": "2"},
 "paths": {"/invoices": {"get": {"operationId": "listInvoices",
   "responses": {"200": {"description": "invoices"}}}}}}
"""


@dataclass
class Secrets:
    raw_key: str
    key_hash: str
    registration_token: str
    client_id: str
    client_secret: str


def build_catalogue(admin: Any, developer: Any) -> Secrets:
    """Two services, two APIs with versions in several states, plans, and developer data."""
    inventory = create_service(
        actor=admin,
        name="Inventory",
        slug="inventory",
        description="Stock\nlevels",
        check_path="/healthz",
        check_interval_seconds=5,
        lb_algorithm="consistent_hash",
        hash_on="header",
        hash_key="X-User",
        max_in_flight=64,
    )
    for port, zone in ((9102, "b"), (9101, "a")):
        register_instance(
            inventory,
            actor=admin,
            host="10.0.0.1",
            port=port,
            zone=zone,
            tags=["blue"],
            metadata={"rack": port},
        )
    Instance.objects.create(service=inventory, host="10.9.9.9", port=7000, self_registered=True)
    token = issue_registration_token(inventory, actor=admin)
    create_service(actor=admin, name="Billing", slug="billing", check_type="tcp")
    api = create_api(actor=admin, name="Inventory", slug="inventory", description="Stock levels")
    plan = create_plan(
        api, actor=admin, name="Basic", slug="basic", requests_per_second=10, burst=20
    )
    create_plan(
        api,
        actor=admin,
        name="Gold",
        slug="gold",
        quota_per_month=1_000_000,
        approval_required=True,
    )
    v1 = create_api_version(
        api,
        actor=admin,
        label="v1",
        base_path="/inventory/v1",
        upstream_service=inventory,
        source=INVENTORY_DOCUMENT,
        retries=1,
    )
    v1 = publish_version(v1, actor=admin)
    v1.routes.filter(method="POST").update(
        auth_mode="oauth2", scopes=["inventory:write"], timeout_ms=500
    )
    create_api_version(
        api,
        actor=admin,
        label="v2",
        base_path="/inventory/v2",
        host="api.example.test",
        upstream_service=inventory,
        source=INVENTORY_DOCUMENT,
    )
    billing = create_api(actor=admin, name="Billing", slug="billing", description="")
    old = create_api_version(
        billing,
        actor=admin,
        label="v0",
        base_path="/billing/v0",
        upstream_service=Service.objects.get(slug="billing"),
        source=BILLING_DOCUMENT,
    )
    deprecate_version(publish_version(old, actor=admin), actor=admin, sunset_at=_future())
    raw_key, key_hash, client_id, client_secret = _developer_data(developer, v1, plan)
    return Secrets(raw_key, key_hash, token, client_id, client_secret)


def _developer_data(developer: Any, version: ApiVersion, plan: Any) -> tuple[str, str, str, str]:
    # Rows written directly: only their absence from the export matters here.
    app = Application.objects.create(owner=developer, name="secret-app", description="bob's app")
    Subscription.objects.create(application=app, api_version=version, plan=plan, status="approved")
    raw_key = "mg_k3y9r3f1_" + secrets.token_urlsafe(32)
    key_hash = hashlib.sha256(raw_key.encode()).hexdigest()
    ApiKey.objects.create(application=app, name="bob key", prefix="k3y9r3f1", key_hash=key_hash)
    client_secret = secrets.token_urlsafe(32)
    client = OAuthApplication.objects.create(
        name="secret-client",
        user=developer,
        client_type="confidential",
        authorization_grant_type="client-credentials",
        client_secret=client_secret,
    )
    OAuthClient.objects.create(application=app, client=client)
    return raw_key, key_hash, client.client_id, client_secret


def _future() -> dt.datetime:
    return (timezone.now() + dt.timedelta(days=90)).replace(microsecond=0, second=0, minute=0)


def empty_catalogue() -> None:
    """Remove every catalogue and registry row (developer data first: it protects plans)."""
    Application.objects.all().delete()
    ApiVersion.objects.all().delete()
    Api.objects.all().delete()
    Service.objects.all().delete()


def export_text() -> str:
    out = io.StringIO()
    call_command("export_catalog", stdout=out)
    return out.getvalue()


def run_import(path: Any, *args: str, **options: Any) -> str:
    out = io.StringIO()
    call_command("import_catalog", str(path), *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def line_of(text: str, fragment: str) -> int:
    """1-based line of the first line containing `fragment`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if fragment in line:
            return number
    pytest.fail(f"{fragment!r} not in the text")
