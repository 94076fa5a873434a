"""parse_openapi on valid and broken documents: operations, $refs, and errors with their places."""

from __future__ import annotations

import json

import pytest

from apis.services.openapi import MAX_DOCUMENT_BYTES, OpenApiError, parse_openapi
from tests.apis.fixtures.catalogue import BOOKSHOP, DEMO, PETSTORE, read


def problems_of(source: str | bytes) -> list[tuple[int | None, str, str]]:
    with pytest.raises(OpenApiError) as caught:
        parse_openapi(source)
    return [(problem.line, problem.path, problem.message) for problem in caught.value.problems]


def test_it_parses_an_openapi_30_json_document_with_its_operations() -> None:
    parsed = parse_openapi(PETSTORE.read_bytes())

    assert (parsed.format, parsed.openapi_version, parsed.title) == ("json", "3.0.3", "Petstore")
    by_key = {(op.method, op.path_template): op for op in parsed.operations}
    assert set(by_key) == {
        ("GET", "/pets"),
        ("POST", "/pets"),
        ("GET", "/pets/{petId}"),
        ("DELETE", "/pets/{petId}"),
        ("GET", "/health"),
    }
    assert by_key["DELETE", "/pets/{petId}"].scopes == ["pets:write", "pets:admin"]
    assert by_key["GET", "/pets"].operation_id == "listPets"
    assert by_key["GET", "/health"].public is True
    assert by_key["GET", "/pets"].public is False


def test_it_parses_an_openapi_31_yaml_document_following_path_item_and_parameter_refs() -> None:
    parsed = parse_openapi(read(BOOKSHOP))

    assert (parsed.format, parsed.openapi_version) == ("yaml", "3.1.0")
    by_key = {(op.method, op.path_template): op for op in parsed.operations}
    # /books is only a $ref to components.pathItems; /books/{isbn} declares its parameter by $ref.
    assert by_key["GET", "/books"].operation_id == "listBooks"
    assert by_key["GET", "/books"].public is True
    assert by_key["PUT", "/books/{isbn}"].scopes == ["books:write"]
    assert by_key["GET", "/books/{isbn}"].scopes == []
    # YAML's integer response codes come out as the strings OpenAPI means.
    assert set(parsed.document["paths"]["/books/{isbn}"]["get"]["responses"]) == {"200", "404"}


def test_the_demo_document_has_six_operations_and_both_security_schemes() -> None:
    parsed = parse_openapi(read(DEMO))

    assert len(parsed.operations) == 6
    schemes = parsed.document["components"]["securitySchemes"]
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert set(schemes["oauth2"]["flows"]["clientCredentials"]["scopes"]) == {
        "inventory:read",
        "inventory:write",
    }


def test_it_rejects_swagger_20_with_a_clear_message() -> None:
    source = json.dumps({"swagger": "2.0", "info": {"title": "Old", "version": "1"}, "paths": {}})

    [(line, path, message)] = problems_of(source)

    assert (line, path) == (1, "$.swagger")
    assert message.startswith("Swagger 2.0 is not supported; convert to OpenAPI 3")


BROKEN_YAML = """\
openapi: 3.0.3
info:
  title: Broken
paths:
  /pets:
    get:
      summary: forgot the responses
  /pets/{id}:
    get:
      parameters:
        - name: id
          in: somewhere
      responses:
        "200":
          description: ok
  noslash:
    get:
      responses: {}
"""


def test_it_reports_every_schema_error_with_its_json_path_and_exact_yaml_line() -> None:
    assert problems_of(BROKEN_YAML) == [
        (2, "$.info", '"version" is a required property'),
        (6, "$.paths['/pets'].get", '"responses" is a required property'),
        (
            12,
            "$.paths['/pets/{id}'].get.parameters[0].in",
            '"somewhere" is not one of "path", "query", "header", "cookie"',
        ),
        (16, "$.paths.noslash", "Additional properties are not allowed ('noslash' was unexpected)"),
    ]


SEMANTIC_YAML = """\
openapi: 3.1.0
info: {title: Semantic, version: "1"}
paths:
  /a/{id}:
    get:
      operationId: same
      responses:
        "200": {description: ok}
  /b:
    get:
      operationId: same
      parameters:
        - {name: q, in: query, schema: {type: string}}
        - {name: q, in: query, schema: {type: string}}
      responses:
        "200": {description: ok}
"""


def test_it_reports_semantic_errors_the_schema_cannot_see() -> None:
    assert problems_of(SEMANTIC_YAML) == [
        (
            5,
            "$.paths['/a/{id}'].get",
            "Path parameter 'id' for 'get' operation in '/a/{id}' was not resolved",
        ),
        (10, "$.paths['/b'].get", "Operation ID 'same' for 'get' in '/b' is not unique"),
        (14, "$.paths['/b'].get.parameters[1]", "Duplicate parameter 'q'"),
    ]


def test_it_rejects_an_external_ref_naming_where_it_is_without_fetching_it() -> None:
    source = """\
openapi: 3.1.0
info: {title: Remote, version: "1"}
paths:
  /a:
    get:
      responses:
        "200":
          $ref: "http://127.0.0.1:9/never-fetched.yaml#/Ok"
  /b:
    $ref: "#/components/pathItems/Missing"
"""
    assert problems_of(source) == [
        (
            8,
            "$.paths['/a'].get.responses['200']['$ref']",
            "external $ref 'http://127.0.0.1:9/never-fetched.yaml#/Ok' is not supported: MeshGate "
            "never fetches other files or URLs; bundle the document into one file first",
        ),
        (
            10,
            "$.paths['/b']['$ref']",
            "$ref '#/components/pathItems/Missing' points to nothing in this document",
        ),
    ]


@pytest.mark.parametrize(
    ("source", "line", "start"),
    [
        ("openapi: 3.0.3\ninfo:\n  title: [unclosed\n  version: '1'\n", 4, "invalid YAML:"),
        (
            '{\n  "openapi": "3.0.3",\n  "info": {"title": "x" "version": "1"}\n}\n',
            3,
            "invalid JSON:",
        ),
        ("", 1, "the document is empty"),
        ("- just\n- a list\n", 1, "the document is a list, not a mapping"),
        (b"openapi: 3.0.3\ninfo: \xff\n", 2, "the document is not UTF-8 text"),
    ],
)
def test_it_gives_the_parser_line_for_unreadable_documents(
    source: str | bytes, line: int, start: str
) -> None:
    [(found_line, path, message)] = problems_of(source)

    assert (found_line, path) == (line, "$")
    assert message.startswith(start)


def test_it_rejects_duplicate_yaml_keys_with_their_lines() -> None:
    source = "openapi: 3.0.3\ninfo:\n  title: A\n  title: B\n  version: '1'\npaths: {}\n"

    assert problems_of(source) == [(4, "$.info.title", "duplicate key 'title'")]


def test_it_accepts_yaml_merge_keys_that_override_merged_values() -> None:
    source = (
        "openapi: 3.0.3\ninfo:\n  title: Merged\n  version: '1'\npaths: {}\n"
        "x-base: &base {a: 1, b: 2}\nx-derived:\n  <<: *base\n  b: 3\n"
    )
    assert parse_openapi(source).document["x-derived"] == {"a": 1, "b": 3}


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("openapi: 3.1\n", "unsupported version 3.1; use 3.0.x or 3.1.x as a string"),
        ("openapi: 2.0.0\n", "unsupported version '2.0.0'; use 3.0.x or 3.1.x as a string"),
    ],
)
def test_it_names_the_version_field_when_the_version_is_unsupported(
    header: str, message: str
) -> None:
    source = header + "info: {title: x, version: '1'}\npaths: {}\n"

    assert problems_of(source) == [(1, "$.openapi", message)]


def test_it_refuses_values_json_cannot_hold() -> None:
    source = (
        "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths: {}\nx-blob: !!binary aGVsbG8=\n"
    )

    assert problems_of(source) == [
        (
            4,
            "$['x-blob']",
            "bytes values are not allowed; JSON has strings, numbers, booleans, null",
        )
    ]


def test_dates_stay_text_so_the_document_can_be_stored_as_json() -> None:
    source = "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths: {}\nx-released: 2024-05-01\n"

    assert parse_openapi(source).document["x-released"] == "2024-05-01"


def test_it_refuses_aliases_that_expand_without_bound() -> None:
    layers = ["x-0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    layers += [f"x-{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]" for n in range(1, 9)]
    source = (
        "openapi: 3.0.3\ninfo: {title: laughs, version: '1'}\npaths: {}\n"
        + "\n".join(layers)
        + "\n"
    )

    [(line, path, message)] = problems_of(source)

    assert (line, path) == (1, "$")
    assert "aliases expand the document to over 5,000,000 values" in message


def test_it_refuses_an_alias_inside_its_own_anchor() -> None:
    source = (
        "openapi: 3.0.3\ninfo: {title: loop, version: '1'}\npaths: {}\nx-loop: &me\n  again: *me\n"
    )

    [(line, path, message)] = problems_of(source)

    assert path == "$"
    assert "an alias refers to a node that contains it" in message


def test_shared_anchors_are_fine() -> None:
    source = (
        "openapi: 3.0.3\ninfo: {title: shared, version: '1'}\npaths:\n"
        "  /a:\n    get: &op\n      responses:\n        '200': {description: ok}\n"
        "  /b:\n    get: *op\n"
    )
    parsed = parse_openapi(source)

    assert {(op.method, op.path_template) for op in parsed.operations} == {
        ("GET", "/a"),
        ("GET", "/b"),
    }


def test_it_refuses_documents_over_the_size_limit() -> None:
    source = "openapi: 3.0.3\n" + "#" * MAX_DOCUMENT_BYTES

    assert problems_of(source) == [(None, "$", "the document is larger than 20 MiB")]
