"""The Django admin pages of the catalogue: admins only, uploads go through the import service."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apis.models import ApiVersion
from tests.apis.fixtures.catalogue import BOOKSHOP, make_version, route_keys

pytestmark = pytest.mark.django_db
PAGES = ["/admin/apis/api/", "/admin/apis/apiversion/", "/admin/apis/route/", "/admin/apis/plan/"]


def test_admins_see_the_catalogue_pages(client, alice) -> None:
    make_version(alice)
    client.force_login(alice)

    for page in PAGES:
        assert client.get(page).status_code == 200, page


def test_staff_operators_do_not(client, oscar) -> None:
    client.force_login(oscar)

    for page in PAGES:
        assert client.get(page).status_code == 403, page


def test_an_upload_in_the_admin_imports_the_document(client, alice) -> None:
    version = make_version(alice)
    client.force_login(alice)
    form = client.get(f"/admin/apis/apiversion/{version.pk}/change/").context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "retry_on": "[]",
            "openapi_upload": SimpleUploadedFile("bookshop.yaml", BOOKSHOP.read_bytes()),
            "routes-TOTAL_FORMS": "0",
            "routes-INITIAL_FORMS": "0",
        }
    )

    response = client.post(f"/admin/apis/apiversion/{version.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert len(route_keys(version)) == 4
    assert ApiVersion.objects.get(pk=version.pk).openapi_version == "3.1.0"


def test_a_broken_upload_in_the_admin_shows_the_problems(client, alice) -> None:
    version = make_version(alice)
    client.force_login(alice)
    form = client.get(f"/admin/apis/apiversion/{version.pk}/change/").context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    broken = SimpleUploadedFile("x.yaml", b"openapi: 3.0.3\ninfo: {title: x}\npaths: {}\n")
    data.update(
        {
            "retry_on": "[]",
            "openapi_upload": broken,
            "routes-TOTAL_FORMS": "0",
            "routes-INITIAL_FORMS": "0",
        }
    )

    response = client.post(f"/admin/apis/apiversion/{version.pk}/change/", data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["openapi_upload"]
    assert errors == ['$.info (line 2): "version" is a required property']
    assert not version.routes.exists()
