"""A 5 MB OpenAPI document imports in seconds (figures are printed; the bound only stops a hang)."""

from __future__ import annotations

import time

import pytest

from tests.apis.fixtures.catalogue import make_version, route_keys
from tests.apis.fixtures.large_document import large_source

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
FIVE_MB = 5 * 1024 * 1024


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_a_5_mb_document_imports_in_seconds(alice, client_for, form: str) -> None:
    text, operations = large_source(FIVE_MB, form)
    version = make_version(alice)
    content_type = "application/json" if form == "json" else "application/yaml"

    started = time.perf_counter()
    response = client_for(alice).generic(
        "POST",
        f"/api/v1/api-versions/{version.pk}/openapi/",
        text.encode(),
        content_type=content_type,
    )
    elapsed = time.perf_counter() - started

    print(
        f"\n{form}: {len(text) / 1e6:.1f} MB, {operations} operations imported in {elapsed:.2f} s"
    )
    assert response.status_code == 200, response.content[:500]
    assert response.json()["route_count"] == operations
    assert len(route_keys(version)) == operations
    assert elapsed < 30
