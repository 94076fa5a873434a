"""Importing OpenAPI documents into a version: routes follow the document, overrides survive."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError

from apis.choices import RouteAuth
from apis.models import ApiVersion, Route
from apis.services.catalogue import (
    import_openapi,
    publish_version,
    retire_version,
    update_route,
)
from apis.services.openapi import OpenApiError
from tests.apis.fixtures.catalogue import (
    BOOKSHOP,
    PETSTORE,
    make_service,
    make_version,
    read,
    route_keys,
)

pytestmark = pytest.mark.django_db


def petstore_with(change: callable) -> str:  # type: ignore[valid-type]
    document = json.loads(read(PETSTORE))
    change(document)
    return json.dumps(document, indent=2)


def test_it_derives_routes_from_the_document(alice) -> None:
    version = make_version(alice, source=read(PETSTORE))

    health = version.routes.get(method="GET", path_template="/health")
    delete = version.routes.get(method="DELETE", path_template="/pets/{petId}")
    assert len(route_keys(version)) == 5
    assert (health.auth_mode, health.scopes) == (RouteAuth.PUBLIC, [])
    assert (delete.auth_mode, delete.scopes) == (RouteAuth.INHERIT, ["pets:write", "pets:admin"])
    assert delete.operation_id == "deletePet"
    version.refresh_from_db()
    assert (version.openapi_format, version.openapi_version) == ("json", "3.0.3")
    assert version.openapi_source == read(PETSTORE)
    assert version.openapi_document["info"]["title"] == "Petstore"


def test_a_bad_document_changes_nothing(alice) -> None:
    version = make_version(alice, source=read(PETSTORE))
    before_routes = list(version.routes.values())
    broken = petstore_with(lambda doc: doc["paths"]["/pets"]["get"].pop("responses"))

    with pytest.raises(OpenApiError):
        import_openapi(version, broken, actor=alice)

    version.refresh_from_db()
    assert version.openapi_source == read(PETSTORE)
    assert list(version.routes.values()) == before_routes


def test_reimport_adds_and_deletes_routes_and_keeps_overrides(alice) -> None:
    version = make_version(alice, source=read(PETSTORE))
    show = version.routes.get(method="GET", path_template="/pets/{petId}")
    update_route(
        show, actor=alice, timeout_ms=1500, max_body_bytes=1024, enabled=False, scopes=["pets:read"]
    )
    health = version.routes.get(method="GET", path_template="/health")
    update_route(health, actor=alice, auth_mode=RouteAuth.KEY)

    def change(doc: dict) -> None:  # type: ignore[type-arg]
        del doc["paths"]["/pets"]["post"]
        doc["paths"]["/pets/{petId}"]["get"]["summary"] = "Fetch one pet"
        doc["paths"]["/toys"] = {
            "get": {"operationId": "listToys", "responses": {"200": {"description": "ok"}}}
        }

    import_openapi(version, petstore_with(change), actor=alice)

    assert route_keys(version) == {
        ("GET", "/pets"),
        ("GET", "/pets/{petId}"),
        ("DELETE", "/pets/{petId}"),
        ("GET", "/health"),
        ("GET", "/toys"),
    }
    show = Route.objects.get(pk=show.pk)  # the same row, kept
    assert (show.timeout_ms, show.max_body_bytes, show.enabled, show.scopes) == (
        1500,
        1024,
        False,
        ["pets:read"],
    )
    assert show.summary == "Fetch one pet"
    assert version.routes.get(path_template="/health").auth_mode == RouteAuth.KEY


def test_reimport_takes_the_documents_new_security_where_the_admin_changed_nothing(alice) -> None:
    version = make_version(alice, source=read(PETSTORE))

    def change(doc: dict) -> None:  # type: ignore[type-arg]
        doc["paths"]["/pets"]["get"]["security"] = [{"oauth": ["pets:read"]}]
        doc["paths"]["/health"]["get"].pop("security")

    import_openapi(version, petstore_with(change), actor=alice)

    assert version.routes.get(method="GET", path_template="/pets").scopes == ["pets:read"]
    assert version.routes.get(path_template="/health").auth_mode == RouteAuth.INHERIT


def test_a_live_version_refuses_a_document_without_operations(alice) -> None:
    version = make_version(alice, source=read(PETSTORE), upstream_service=make_service(alice))
    publish_version(version, actor=alice)
    empty = petstore_with(lambda doc: doc.update(paths={}))

    with pytest.raises(OpenApiError) as caught:
        import_openapi(version, empty, actor=alice)

    assert caught.value.problems[0].path == "$.paths"
    assert len(route_keys(version)) == 5


def test_a_retired_version_cannot_take_a_new_document(alice) -> None:
    version = make_version(alice, source=read(PETSTORE), upstream_service=make_service(alice))
    retire_version(publish_version(version, actor=alice), actor=alice)

    with pytest.raises(ValidationError) as caught:
        import_openapi(version, read(BOOKSHOP), actor=alice)

    assert "state" in caught.value.message_dict
    assert ApiVersion.objects.get(pk=version.pk).openapi_version == "3.0.3"


def test_route_overrides_are_validated(alice) -> None:
    route = make_version(alice, source=read(PETSTORE)).routes.first()

    with pytest.raises(ValidationError) as caught:
        update_route(route, actor=alice, scopes="pets:read")
    assert "scopes" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        update_route(route, actor=alice, method="PUT")
    assert "method" in caught.value.message_dict
