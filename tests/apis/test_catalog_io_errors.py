"""Broken catalogue files: every error names the YAML path and line, and nothing changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError

from apis.catalog_io.export import catalog_state
from tests.apis.test_catalog_io_support import (
    INVENTORY_DOCUMENT,
    build_catalogue,
    line_of,
    run_import,
)

pytestmark = pytest.mark.django_db


def catalogue_file(document: str = INVENTORY_DOCUMENT) -> str:
    embedded = "\n".join("          " + line for line in document.splitlines())
    return f"""\
format_version: 1
services:
  - slug: stock
    name: Stock
    instances:
      - host: 10.1.0.1
        port: 8080
apis:
  - slug: stock
    name: Stock
    plans:
      - slug: free
        name: Free
        requests_per_second: 5
    versions:
      - label: v1
        base_path: /stock/v1
        upstream_service: stock
        routes:
          GET /items:
            auth_mode: public
        openapi: |
{embedded}
"""


GOOD = catalogue_file()


@pytest.fixture
def existing(alice: Any, bob: Any) -> dict[str, Any]:
    build_catalogue(alice, bob)
    return catalog_state()


def _import_fails(tmp_path: Path, text: str) -> str:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(CommandError) as failure:
        run_import(path, "--yes")
    assert failure.value.returncode == 1
    return str(failure.value)


def test_the_good_file_imports(existing: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)

    output = run_import(path, "--yes")

    assert "+ service stock" in output and "+ version stock/v1" in output
    assert catalog_state() != existing


def test_it_names_the_line_of_a_yaml_syntax_error(existing: dict[str, Any], tmp_path: Path) -> None:
    broken = GOOD.replace("    name: Stock\n    plans:", "    name: [Stock\n    plans:")

    message = _import_fails(tmp_path, broken)

    assert "not valid YAML" in message and "(line " in message
    assert catalog_state() == existing


def test_it_rejects_an_unknown_field_by_path_and_line(
    existing: dict[str, Any], tmp_path: Path
) -> None:
    broken = GOOD.replace(
        "        requests_per_second: 5", "        requests_per_second: 5\n        colour: red"
    )

    message = _import_fails(tmp_path, broken)

    assert (
        f"apis[0].plans[0].colour (line {line_of(broken, 'colour: red')}): unknown field" in message
    )
    assert catalog_state() == existing


def test_it_rejects_a_base_path_without_a_leading_slash(
    existing: dict[str, Any], tmp_path: Path
) -> None:
    broken = GOOD.replace("base_path: /stock/v1", "base_path: stock/v1")

    message = _import_fails(tmp_path, broken)

    line = line_of(broken, "base_path: stock/v1")
    assert f"apis[0].versions[0].base_path (line {line}): must start with '/'" in message
    assert catalog_state() == existing


def test_it_rejects_an_unknown_upstream_service(existing: dict[str, Any], tmp_path: Path) -> None:
    broken = GOOD.replace("upstream_service: stock", "upstream_service: nowhere")

    message = _import_fails(tmp_path, broken)

    line = line_of(broken, "upstream_service: nowhere")
    assert (
        f"apis[0].versions[0].upstream_service (line {line}): unknown service 'nowhere'" in message
    )
    assert catalog_state() == existing


def test_it_rejects_a_hash_key_that_is_not_a_header_name(
    existing: dict[str, Any], tmp_path: Path
) -> None:
    broken = GOOD.replace(
        "    name: Stock\n    instances:",
        "    name: Stock\n    lb_algorithm: consistent_hash\n    hash_on: header\n"
        "    hash_key: X User\n    instances:",
    )

    message = _import_fails(tmp_path, broken)

    line = line_of(broken, "hash_key: X User")
    assert f"services[0].hash_key (line {line}): 'X User' is not a valid header name" in message
    assert catalog_state() == existing


def test_it_points_into_a_broken_openapi_document(existing: dict[str, Any], tmp_path: Path) -> None:
    document = INVENTORY_DOCUMENT.replace(
        '      responses:\n        "201":',
        '      responses: not-a-mapping\n      x-was-responses:\n        "201":',
    )
    assert document != INVENTORY_DOCUMENT
    broken = catalogue_file(document)

    message = _import_fails(tmp_path, broken)

    line = line_of(broken, "responses: not-a-mapping")
    assert f"apis[0].versions[0].openapi (line {line}): $.paths['/items'].post.responses" in message
    assert catalog_state() == existing


def test_it_rejects_an_override_of_an_operation_the_document_lacks(
    existing: dict[str, Any], tmp_path: Path
) -> None:
    broken = GOOD.replace("GET /items:", "DELETE /items:")

    message = _import_fails(tmp_path, broken)

    line = line_of(broken, "DELETE /items:")
    assert (
        f"apis[0].versions[0].routes['DELETE /items'] (line {line}): no such operation" in message
    )


def test_it_lists_every_problem_at_once(existing: dict[str, Any], tmp_path: Path) -> None:
    broken = GOOD.replace("port: 8080", "port: 80800").replace(
        "format_version: 1", "format_version: 2"
    )
    broken = broken.replace("requests_per_second: 5", "requests_per_second: five")

    message = _import_fails(tmp_path, broken)

    assert "format_version (line 1): must be 1" in message
    assert f"services[0].instances[0].port (line {line_of(broken, '80800')}): " in message
    assert (
        f"apis[0].plans[0].requests_per_second (line {line_of(broken, 'five')}): must be an integer"
        in message
    )
    assert catalog_state() == existing


def test_it_rejects_duplicate_keys_and_records(existing: dict[str, Any], tmp_path: Path) -> None:
    broken = GOOD.replace(
        "    name: Stock\n    plans:", "    name: Stock\n    name: Again\n    plans:"
    )
    broken = broken.replace(
        "        port: 8080", "        port: 8080\n      - host: 10.1.0.1\n        port: 8080"
    )

    message = _import_fails(tmp_path, broken)

    assert f"apis[0].name (line {line_of(broken, 'name: Again')}): duplicate key" in message
    assert "services[0].instances[1] (line" in message and "duplicate instance" in message
