"""Fixtures of the consumer-side tests, loaded with `pytest_plugins`: a published API with plans.

Built through the catalogue services, as an admin would, so the rows look like real ones.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest

from apis.models import ApiVersion, Application, Plan
from apis.services.applications import create_application
from apis.services.catalogue import create_api, create_api_version, publish_version
from apis.services.plans import create_plan
from registry.services.services import create_service

STOCK_SCOPE = "stock:read"

DOCUMENT = json.dumps(
    {
        "openapi": "3.0.3",
        "info": {"title": "Stock", "version": "1"},
        "components": {
            "securitySchemes": {
                "oauth": {
                    "type": "oauth2",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": "https://portal.example.test/o/token/",
                            "scopes": {STOCK_SCOPE: "read stock"},
                        }
                    },
                }
            }
        },
        "paths": {
            "/items": {
                "get": {
                    "operationId": "listItems",
                    "security": [{"oauth": [STOCK_SCOPE]}],
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/health": {
                "get": {
                    "operationId": "health",
                    "security": [],
                    "responses": {"200": {"description": "ok"}},
                }
            },
        },
    }
)


@dataclass
class Catalogue:
    version: ApiVersion
    draft: ApiVersion
    open_plan: Plan
    gated_plan: Plan
    other_plan: Plan


@pytest.fixture
def catalogue(alice: Any, oscar: Any) -> Catalogue:
    service = create_service(actor=oscar, name="Stock", slug="stock")
    api = create_api(actor=alice, name="Stock", slug="stock")
    version = create_api_version(
        api,
        actor=alice,
        label="v1",
        base_path="/stock/v1",
        upstream_service=service,
        source=DOCUMENT,
    )
    version = publish_version(version, actor=alice)
    draft = create_api_version(
        api, actor=alice, label="v2", base_path="/stock/v2", upstream_service=service
    )
    other = create_api(actor=alice, name="Other", slug="other")
    return Catalogue(
        version=version,
        draft=draft,
        open_plan=create_plan(api, actor=alice, name="Open", slug="open", requests_per_second=5),
        gated_plan=create_plan(
            api, actor=alice, name="Gated", slug="gated", approval_required=True
        ),
        other_plan=create_plan(other, actor=alice, name="Elsewhere", slug="elsewhere"),
    )


@pytest.fixture
def bobs_app(bob: Any) -> Application:
    return create_application(bob, actor=bob, name="bob-app", description="Bob's client")


def basic_auth(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
