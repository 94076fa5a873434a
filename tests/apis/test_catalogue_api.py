"""The catalogue over HTTP: admins write; uploads, export, lifecycle, routes, plans."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile

from apis.choices import Lifecycle, RouteAuth
from apis.models import Api, ApiVersion, Plan
from tests.apis.fixtures.catalogue import (
    BOOKSHOP,
    PETSTORE,
    make_service,
    make_version,
    read,
    route_keys,
)

pytestmark = pytest.mark.django_db
V1 = "/api/v1"


@pytest.fixture
def admin(alice, client_for):
    return client_for(alice)


@pytest.fixture
def draft(alice) -> ApiVersion:
    make_service(alice)
    return make_version(alice)


def upload_url(version: ApiVersion) -> str:
    return f"{V1}/api-versions/{version.pk}/openapi/"


def test_an_admin_builds_an_api_from_nothing(admin) -> None:
    make_service(None, slug="bookshop-upstream")
    api = admin.post(f"{V1}/apis/", {"name": "Bookshop", "slug": "bookshop"}, format="json")
    assert api.status_code == 201, api.json()
    assert api.json()["owner"] == "alice"
    version = admin.post(
        f"{V1}/api-versions/",
        {
            "api": "bookshop",
            "label": "v2",
            "base_path": "/books/v2",
            "upstream_service": "bookshop-upstream",
            "retry_on": ["connect-failure", "503"],
        },
        format="json",
    )
    assert version.status_code == 201, version.json()
    assert version.json()["state"] == "draft"

    upload = admin.post(
        f"{V1}/api-versions/{version.json()['id']}/openapi/",
        {"document": SimpleUploadedFile("bookshop.yaml", BOOKSHOP.read_bytes())},
        format="multipart",
    )

    assert upload.status_code == 200, upload.json()
    assert (upload.json()["route_count"], upload.json()["openapi_version"]) == (4, "3.1.0")
    published = admin.post(f"{V1}/api-versions/{version.json()['id']}/publish/")
    assert published.json()["state"] == "published"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (PETSTORE.read_bytes(), "application/json"),
        (json.dumps({"document": read(PETSTORE)}).encode(), "application/json"),
        (json.dumps({"document": json.loads(read(PETSTORE))}).encode(), "application/json"),
        (yaml.safe_dump(json.loads(read(PETSTORE))).encode(), "application/yaml"),
    ],
    ids=["raw-json", "json-wrapped-text", "json-wrapped-object", "raw-yaml"],
)
def test_it_takes_the_document_in_every_shape(admin, draft, body: bytes, content_type: str) -> None:
    response = admin.generic("POST", upload_url(draft), body, content_type=content_type)

    assert response.status_code == 200, response.content
    assert len(route_keys(draft)) == 5


def test_a_bad_upload_answers_400_with_every_error_and_changes_nothing(admin, alice) -> None:
    version = make_version(alice, source=read(PETSTORE))
    broken = "openapi: 3.0.3\ninfo:\n  title: x\npaths:\n  /a:\n    get: {}\n"

    response = admin.generic("POST", upload_url(version), broken, content_type="application/yaml")

    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"path": "$.info", "line": 2, "message": '"version" is a required property'},
            {
                "path": "$.paths['/a'].get",
                "line": 6,
                "message": '"responses" is a required property',
            },
        ]
    }
    version.refresh_from_db()
    assert version.openapi_source == read(PETSTORE)
    assert len(route_keys(version)) == 5


def test_an_upload_without_a_document_names_the_field(admin, draft) -> None:
    response = admin.post(upload_url(draft), {}, format="multipart")

    assert response.status_code == 400
    assert "document" in response.json()


def test_export_points_at_the_gateway_and_round_trips(admin, alice) -> None:
    source = make_version(alice, source=read(BOOKSHOP), host="books.example.test")
    target = make_version(alice, api=source.api, label="v2")

    exported_json = admin.get(upload_url(source))
    exported_yaml = admin.get(upload_url(source), {"format": "yaml"})

    assert exported_json.status_code == 200
    assert exported_json.json()["servers"] == [
        {"url": "http://books.example.test:8080/petstore/v1", "description": "MeshGate gateway"}
    ]
    assert exported_yaml["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(exported_yaml.content) == exported_json.json()
    reimport = admin.generic(
        "POST", upload_url(target), exported_yaml.content, content_type="application/yaml"
    )
    assert reimport.status_code == 200, reimport.content
    assert route_keys(target) == route_keys(source)


def test_export_of_a_version_without_a_document_is_404(admin, draft) -> None:
    assert admin.get(upload_url(draft)).status_code == 404


def test_lifecycle_actions_over_http(admin, alice) -> None:
    version = make_version(alice, source=read(PETSTORE), upstream_service=make_service(alice))
    base = f"{V1}/api-versions/{version.pk}"

    assert admin.post(f"{base}/retire/").json() == {
        "state": ["a draft version cannot become retired; allowed: published"]
    }
    assert admin.post(f"{base}/publish/").status_code == 200
    no_sunset = admin.post(f"{base}/deprecate/", {}, format="json")
    assert (no_sunset.status_code, list(no_sunset.json())) == (400, ["sunset_at"])
    past = admin.post(f"{base}/deprecate/", {"sunset_at": "2001-01-01T00:00:00Z"}, format="json")
    assert past.json() == {"sunset_at": ["must be in the future"]}
    deprecated = admin.post(
        f"{base}/deprecate/", {"sunset_at": "2099-01-01T00:00:00Z"}, format="json"
    )
    assert (deprecated.json()["state"], deprecated.json()["sunset_at"]) == (
        "deprecated",
        "2099-01-01T00:00:00Z",
    )
    assert admin.post(f"{base}/retire/").json()["state"] == "retired"


def test_state_cannot_be_written_directly(admin, draft) -> None:
    response = admin.patch(
        f"{V1}/api-versions/{draft.pk}/", {"state": "published", "retries": 4}, format="json"
    )

    assert response.status_code == 200
    draft.refresh_from_db()
    assert (draft.state, draft.retries) == (Lifecycle.DRAFT, 4)


def test_version_settings_are_validated(admin, draft) -> None:
    bad = admin.patch(f"{V1}/api-versions/{draft.pk}/", {"retry_on": ["always"]}, format="json")
    timeouts = admin.patch(
        f"{V1}/api-versions/{draft.pk}/", {"read_timeout_ms": 90000}, format="json"
    )

    assert (bad.status_code, list(bad.json())) == (400, ["retry_on"])
    assert (timeouts.status_code, list(timeouts.json())) == (400, ["read_timeout_ms"])


def test_routes_take_overrides_only(admin, alice) -> None:
    version = make_version(alice, source=read(PETSTORE))
    listed = admin.get(f"{V1}/routes/", {"version": version.pk}).json()
    route = next(item for item in listed["results"] if item["path_template"] == "/pets")

    response = admin.patch(
        f"{V1}/routes/{route['id']}/",
        {
            "auth_mode": "oauth2",
            "scopes": ["pets:read"],
            "timeout_ms": 900,
            "enabled": False,
            "method": "DELETE",
            "path_template": "/elsewhere",
        },
        format="json",
    )

    assert listed["count"] == 5
    assert response.status_code == 200
    body = response.json()
    assert (body["method"], body["path_template"]) == (route["method"], "/pets")
    assert (body["auth_mode"], body["scopes"], body["timeout_ms"], body["enabled"]) == (
        RouteAuth.OAUTH2,
        ["pets:read"],
        900,
        False,
    )
    assert admin.post(f"{V1}/routes/", {}, format="json").status_code == 405
    assert admin.delete(f"{V1}/routes/{route['id']}/").status_code == 405


def test_plans_over_http(admin, alice) -> None:
    make_version(alice)
    created = admin.post(
        f"{V1}/plans/",
        {"api": "petstore", "name": "Gold", "slug": "gold", "requests_per_second": 10, "burst": 20},
        format="json",
    )
    assert created.status_code == 201, created.json()
    plan_url = f"{V1}/plans/{created.json()['id']}/"

    bad = admin.patch(plan_url, {"burst": 5}, format="json")
    duplicate = admin.post(
        f"{V1}/plans/", {"api": "petstore", "name": "G", "slug": "gold"}, format="json"
    )

    assert (bad.status_code, list(bad.json())) == (400, ["burst"])
    assert duplicate.json() == {"slug": ["the API already has a plan 'gold'"]}
    assert admin.patch(plan_url, {"is_active": False}, format="json").json()["is_active"] is False
    assert admin.delete(plan_url).status_code == 204
    assert not Plan.objects.exists()


def test_apis_are_found_by_slug_and_their_slug_is_unique(admin, alice) -> None:
    make_version(alice)

    assert admin.get(f"{V1}/apis/petstore/").json()["name"] == "Petstore"
    again = admin.post(f"{V1}/apis/", {"name": "Again", "slug": "petstore"}, format="json")
    assert (again.status_code, list(again.json())) == (400, ["slug"])


def test_a_live_api_cannot_be_deleted(admin, alice) -> None:
    version = make_version(alice, source=read(PETSTORE), upstream_service=make_service(alice))
    admin.post(f"{V1}/api-versions/{version.pk}/publish/")

    assert admin.delete(f"{V1}/api-versions/{version.pk}/").status_code == 400
    assert admin.delete(f"{V1}/apis/petstore/").status_code == 400
    assert Api.objects.filter(slug="petstore").exists()


def test_the_schema_documents_the_catalogue(admin) -> None:
    response = admin.get(f"{V1}/schema/", {"format": "json"})

    assert response.status_code == 200
    paths: dict[str, Any] = json.loads(response.content)["paths"]
    assert {"/api/v1/api-versions/{id}/openapi/", "/api/v1/routes/{id}/", "/api/v1/plans/"} <= set(
        paths
    )


def test_a_taken_label_or_mount_names_the_field(admin, alice) -> None:
    make_version(alice)
    same_label = {"api": "petstore", "label": "v1", "base_path": "/elsewhere"}
    same_mount = {"api": "petstore", "label": "v2", "base_path": "/petstore/v1"}

    label = admin.post(f"{V1}/api-versions/", same_label, format="json")
    mount = admin.post(f"{V1}/api-versions/", same_mount, format="json")

    assert label.json() == {"label": ["the API already has a version 'v1'"]}
    assert mount.json() == {
        "base_path": ["(any host) /petstore/v1 is already the mount of petstore v1"]
    }
    assert ApiVersion.objects.count() == 1
