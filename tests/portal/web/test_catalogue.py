"""The public catalogue: what it lists, the reference (served locally), the example calls."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client

from apis.services.catalogue import create_api

if TYPE_CHECKING:
    from tests.apis.consumer_fixtures import Catalogue

pytest_plugins = ["tests.apis.consumer_fixtures"]
pytestmark = pytest.mark.django_db


def test_it_lists_apis_with_a_published_version_only(catalogue: Catalogue, alice: Any) -> None:
    create_api(actor=alice, name="Hidden drafts", slug="hidden")
    page = Client().get("/catalogue/").content.decode()
    assert "Stock" in page
    assert "Hidden drafts" not in page and "Other" not in page
    assert 'href="/catalogue/stock/v1/reference/"' in page
    assert "/catalogue/stock/v2/" not in page  # the draft version


def test_search_narrows_the_list_and_says_when_nothing_matches(catalogue: Catalogue) -> None:
    assert "Stock" in Client().get("/catalogue/?q=sto").content.decode()
    empty = Client().get("/catalogue/?q=zebra").content.decode()
    assert "No API matches “zebra”" in empty


def test_the_detail_shows_gateway_url_curl_and_plans(catalogue: Catalogue, settings: Any) -> None:
    settings.MESHGATE_GATEWAY = {"PUBLIC_URL": "https://gw.example.test"}
    page = Client().get("/catalogue/stock/").content.decode()
    assert "https://gw.example.test/stock/v1" in page
    assert (
        "curl -H &quot;X-API-Key: $MESHGATE_KEY&quot; &quot;https://gw.example.test/stock/v1/health&quot;"
        in page
    )
    assert "Open" in page and "needs approval" in page and "Elsewhere" not in page
    assert "Log in</a> or" in page  # anonymous: no subscribe form


def test_a_draft_version_has_no_reference_or_document(catalogue: Catalogue) -> None:
    assert Client().get("/catalogue/stock/v2/reference/").status_code == 404
    assert Client().get("/catalogue/stock/v2/openapi.json").status_code == 404
    assert Client().get("/catalogue/other/").status_code == 404


def test_the_document_points_its_servers_at_the_gateway(
    catalogue: Catalogue, settings: Any
) -> None:
    settings.MESHGATE_GATEWAY = {"PUBLIC_URL": "https://gw.example.test"}
    response = Client().get("/catalogue/stock/v1/openapi.json")
    document = json.loads(response.content)
    assert document["servers"][0]["url"] == "https://gw.example.test/stock/v1"
    assert "/items" in document["paths"]


def test_the_reference_loads_redoc_from_the_portal_not_a_cdn(catalogue: Catalogue) -> None:
    page = Client().get("/catalogue/stock/v1/reference/").content.decode()
    sources = re.findall(r'<script src="([^"]+)"', page)
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in sources
    assert all(source.startswith("/static/") for source in sources), sources
    assert "/catalogue/stock/v1/openapi.json" in page


def test_the_subscribe_form_offers_only_my_apps_and_this_apis_plans(
    catalogue: Catalogue, bob: Any, carol: Any, bobs_app: Any, web_client: Any
) -> None:
    from apis.services.applications import create_application

    create_application(carol, actor=carol, name="carol-secret-app")
    page = web_client(bob).get("/catalogue/stock/").content.decode()
    assert "bob-app" in page and "carol-secret-app" not in page
    assert f'<option value="{catalogue.open_plan.pk}"' in page
    assert f'<option value="{catalogue.other_plan.pk}"' not in page


@pytest.mark.parametrize(
    "path",
    [
        "/catalogue/",
        "/catalogue/stock/",
        "/catalogue/stock/v1/reference/",
        "/catalogue/stock/v1/openapi.json",
    ],
)
def test_a_private_catalogue_asks_visitors_to_log_in(
    catalogue: Catalogue, settings: Any, web_client: Any, bob: Any, path: str
) -> None:
    settings.MESHGATE_PORTAL = {"PUBLIC_CATALOGUE": False}
    response = web_client().get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")
    assert web_client(bob).get(path).status_code == 200


def test_a_deprecated_version_shows_its_sunset_and_takes_no_subscriptions(
    catalogue: Catalogue, alice: Any, bob: Any, bobs_app: Any, web_client: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from apis.services.catalogue import deprecate_version

    sunset = timezone.now() + timedelta(days=30)
    deprecate_version(catalogue.version, sunset_at=sunset, actor=alice)
    page = web_client(bob).get("/catalogue/stock/").content.decode()
    assert f"it stops working on {sunset:%Y-%m-%d}" in page
    assert "This API takes no new subscriptions right now" in page
    assert 'action="/catalogue/stock/subscribe/"' not in page
