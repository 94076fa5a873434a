"""Upload an OpenAPI document: problems in place (path + line), preview with diff, apply."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from apis.models import ApiVersion
from apis.services.catalogue import publish_version
from tests.apis.fixtures.catalogue import BOOKSHOP, PETSTORE, make_version, read, route_keys

pytestmark = pytest.mark.django_db

BROKEN_YAML = """openapi: 3.0.3
info:
  title: Broken
  version: "1"
paths:
  /things:
    get:
      responses:
        "200":
          description: ok
      parameters:
        - name: id
          in: nowhere
"""


@pytest.fixture
def draft(alice: Any) -> ApiVersion:
    return make_version(alice)


def _upload(client: Client, version: ApiVersion, text: str, name: str = "doc.yaml") -> Any:
    url = reverse("console:openapi_upload", args=[version.pk])
    return client.post(url, {"document": SimpleUploadedFile(name, text.encode())})


def test_problems_are_shown_with_their_path_and_line(as_alice: Client, draft: ApiVersion) -> None:
    response = _upload(as_alice, draft, BROKEN_YAML)
    assert response.status_code == 422
    problems = response.context["problems"]
    assert problems and all(p.line for p in problems)
    first = problems[0]
    assert first.path.startswith("$.paths['/things'].get.parameters")
    assert 11 <= first.line <= 13
    # The page shows the line, the JSON path and the offending source line, marked.
    assert f"Line {first.line}" in response.text
    assert "$.paths[&#x27;/things&#x27;].get.parameters" in response.text
    assert '<span class="marked">' in response.text and "nowhere" in response.text
    assert draft.routes.count() == 0


def test_a_yaml_syntax_error_names_its_line(as_alice: Client, draft: ApiVersion) -> None:
    response = _upload(as_alice, draft, "openapi: 3.0.3\ninfo: [unclosed\npaths: {}\n")
    assert response.status_code == 422
    assert response.context["problems"][0].line in (2, 3)
    assert "invalid YAML" in response.text


def test_an_empty_form_asks_for_a_document(as_alice: Client, draft: ApiVersion) -> None:
    response = as_alice.post(reverse("console:openapi_upload", args=[draft.pk]), {})
    assert response.status_code == 200
    assert "choose a file or paste the document" in response.text


def test_preview_shows_routes_then_apply_imports_them(as_alice: Client, draft: ApiVersion) -> None:
    pasted = as_alice.post(
        reverse("console:openapi_upload", args=[draft.pk]), {"text": read(PETSTORE)}
    )
    assert pasted.status_code == 302
    preview = as_alice.get(pasted["Location"])
    assert preview.status_code == 200
    assert "listPets" in preview.text
    operations = preview.context["parsed"].operations
    assert len(preview.context["change"].added) == len(operations) > 0
    assert draft.routes.count() == 0  # a preview changes nothing

    token = preview.context["token"]
    applied = as_alice.post(reverse("console:openapi_apply", args=[draft.pk, token]))
    assert applied["Location"] == reverse("console:version_detail", args=[draft.pk])
    assert route_keys(draft) == {op.key for op in operations}
    # The staged upload is gone once applied.
    again = as_alice.post(reverse("console:openapi_apply", args=[draft.pk, token]))
    assert again.status_code == 404


def test_preview_diffs_against_the_published_version(
    alice: Any, as_alice: Client, petstore: ApiVersion
) -> None:
    publish_version(petstore, actor=alice)
    document = json.loads(read(PETSTORE))
    document["info"]["title"] = "Petstore, renamed"
    document["paths"].pop("/pets/{petId}", None)
    document["paths"]["/toys"] = {
        "get": {"operationId": "listToys", "responses": {"200": {"description": "ok"}}}
    }
    response = _upload(as_alice, petstore, json.dumps(document), name="pets.json")
    preview = as_alice.get(response["Location"])
    change = preview.context["change"]
    assert [op.path_template for op in change.added] == ["/toys"]
    assert {path for _method, path in change.removed} == {"/pets/{petId}"}
    diff = preview.context["diff"]
    assert any(line.startswith("+") and "Petstore, renamed" in line for line in diff)
    assert any(line.startswith("-") and '"Petstore"' in line for line in diff)
    assert 'id="diff"' in preview.text and "removed" in preview.text


def test_nobody_else_can_apply_an_admins_staged_upload(
    alice: Any, django_user_model: Any, page_client: Any, draft: ApiVersion
) -> None:
    as_alice = page_client(alice)
    staged = _upload(as_alice, draft, read(BOOKSHOP))
    token = staged["Location"].rstrip("/").split("/")[-1]
    other = django_user_model.objects.create_user("dora", role="admin")
    as_dora = page_client(other)
    assert as_dora.get(staged["Location"]).status_code == 404
    assert as_dora.post(reverse("console:openapi_apply", args=[draft.pk, token])).status_code == 404
    assert draft.routes.count() == 0


def test_a_made_up_token_is_not_found(as_alice: Client, draft: ApiVersion) -> None:
    url = reverse("console:openapi_preview", args=[draft.pk, "..%2F..%2Fetc%2Fpasswd"])
    assert as_alice.get(url).status_code == 404


def test_a_large_document_previews_quickly_with_counts(as_alice: Client, draft: ApiVersion) -> None:
    import time

    from apis.console.diffing import PREVIEW_ROUTES
    from tests.apis.fixtures.large_document import large_source

    source, _ = large_source(2 * 1024 * 1024, "json")
    staged = _upload(as_alice, draft, source, name="large.json")
    started = time.perf_counter()
    preview = as_alice.get(staged["Location"])
    elapsed = time.perf_counter() - started
    change = preview.context["change"]
    assert (
        len(change.rows) == PREVIEW_ROUTES and change.hidden == len(change.added) - PREVIEW_ROUTES
    )
    assert f"and {change.hidden} more operations" in preview.text
    assert elapsed < 10, f"the preview took {elapsed:.1f} s"
