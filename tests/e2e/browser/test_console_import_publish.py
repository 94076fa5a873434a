"""In a real browser: an admin creates an API, imports an OpenAPI document (after seeing a
broken one refused with its line), previews the routes, applies, publishes, and looks at
the revisions, a diff, the approvals queue and the audit log."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from apis.models import ApiVersion
from portal.models import ConfigRevision
from registry.services.services import create_service
from tests.apis.fixtures.catalogue import PETSTORE

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BROKEN = (
    "openapi: 3.0.3\ninfo:\n  title: Broken\n  version: '1'\n"
    "paths:\n  /pets:\n    get:\n      responses: 200\n"
)


@pytest.fixture(autouse=True)
def _staging(settings: Any, tmp_path: Path, redis_client: Any) -> None:
    settings.VAR_DIR = tmp_path


def test_an_admin_imports_an_openapi_document_and_publishes_it(
    alice: Any,
    page_as: Callable[[Any], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    create_service(actor=alice, name="Pets upstream", slug="pets-upstream")
    page = page_as(alice)

    page.goto("/console/apis/")
    page.get_by_role("link", name="New API").click()
    page.get_by_label("Name").fill("Petstore")
    page.get_by_label("Slug").fill("petstore")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Petstore")).to_be_visible()

    page.get_by_role("link", name="New version").click()
    page.get_by_label("Upstream service").select_option(label="Pets upstream")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#version-state")).to_have_text("Draft")

    # A broken document: refused, with the JSON path and the line, nothing changed.
    page.get_by_role("link", name="Upload OpenAPI document").click()
    page.get_by_label("…or paste it").fill(BROKEN)
    page.get_by_role("button", name="Check and preview").click()
    problems = page.locator("#problems")
    expect(problems).to_contain_text("Line 8")
    expect(problems).to_contain_text("$.paths['/pets'].get.responses")
    expect(problems.locator(".marked")).to_contain_text("responses: 200")
    screenshot(page, "console-openapi-errors")

    # The real document: preview the routes it creates, then apply.
    page.get_by_label("…or paste it").fill("")
    page.get_by_label("Document").set_input_files(str(PETSTORE))
    page.get_by_role("button", name="Check and preview").click()
    expect(page.locator("#preview-routes")).to_contain_text("/pets")
    expect(page.locator("#added-count")).to_have_text(re.compile(r"[1-9]\d* added"))
    screenshot(page, "console-openapi-preview")
    page.get_by_role("button", name=re.compile("Apply to v1")).click()
    expect(page.locator(".message.success")).to_contain_text("Imported Petstore")
    expect(page.locator("#routes")).to_contain_text("listPets")

    # Publish, with its confirmation step.
    page.get_by_role("link", name="Publish…").click()
    expect(page.get_by_role("heading", name=re.compile("Publish Petstore v1"))).to_be_visible()
    page.get_by_role("button", name="Yes, publish").click()
    expect(page.locator("#version-state")).to_have_text("Published")
    screenshot(page, "console-version")
    version = ApiVersion.objects.get(api__slug="petstore", label="v1")
    assert version.state == "published" and version.routes.count() >= 3

    # The console's other main pages, as this admin sees them now.
    page.goto("/console/revisions/")
    page.get_by_role("button", name="Publish now").click()
    expect(page.locator(".messages")).to_contain_text(
        re.compile(r"Published revision \d+|Nothing changed")
    )
    assert ConfigRevision.objects.exists()
    screenshot(page, "console-revisions")
    page.goto("/console/apis/")
    expect(page.locator("table")).to_contain_text("Petstore")
    screenshot(page, "console-apis")
    page.goto("/console/audit/?object_type=apis.apiversion")
    expect(page.locator("#audit")).to_contain_text("petstore v1")
    screenshot(page, "console-audit")


def test_one_click_rollback_and_diff_in_the_browser(
    alice: Any, page_as: Callable[[Any], Page], screenshot: Callable[[Page, str], Path]
) -> None:
    from apis.services.plans import create_plan
    from portal.publishing.services import publish_revision
    from tests.apis.fixtures.catalogue import make_service, make_version, read

    version = make_version(alice, source=read(PETSTORE), upstream_service=make_service(alice))
    from apis.services.catalogue import publish_version

    publish_version(version, actor=alice)
    first = publish_revision(actor=alice, reason="petstore goes live")
    create_plan(version.api, actor=alice, name="Gold", slug="gold", requests_per_second=9)
    second = publish_revision(actor=alice, reason="gold plan")
    assert first and second

    page = page_as(alice)
    page.goto("/console/revisions/")
    page.get_by_role("link", name="diff").first.click()
    expect(page.locator("#diff .add")).to_contain_text(['"rps": 9'])
    screenshot(page, "console-revision-diff")

    page.goto("/console/revisions/")
    page.locator(f"form[action='/console/revisions/{first.revision}/rollback/'] button").click()
    expect(page.locator(".message.success")).to_contain_text(
        f"serves the content of {first.revision}"
    )
    newest = ConfigRevision.objects.order_by("-revision").first()
    assert newest.rolled_back_from == first.revision and newest.checksum == first.checksum
