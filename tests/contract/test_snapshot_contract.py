"""One snapshot fixture that the portal produces and the gateway-side validator accepts."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
import time_machine

from gateway_runtime.contract.canonical import content_checksum
from gateway_runtime.contract.validate import load_schema, validate_snapshot
from portal.publishing.compiler import compile_snapshot
from tests.contract.rows import FIXED_JWKS, FROZEN_AT, build_rows, normalise

FIXTURE = Path(__file__).with_name("fixtures") / "snapshot.json"


def _fixture() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


@pytest.mark.django_db
def test_the_portal_compiles_the_fixture_from_the_fixed_rows(bob: Any, carol: Any) -> None:
    with time_machine.travel(FROZEN_AT, tick=False):
        build_rows(bob, carol)
        compiled = normalise(dict(compile_snapshot()), FIXED_JWKS)
    if os.environ.get("UPDATE_SNAPSHOT_FIXTURE"):
        FIXTURE.write_text(json.dumps(compiled, indent=2, sort_keys=True) + "\n")
    assert compiled == _fixture()


def test_the_gateway_validator_accepts_the_fixture() -> None:
    assert validate_snapshot(_fixture()) == []


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    assert load_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def _broken(change: Any) -> dict[str, Any]:
    document = copy.deepcopy(_fixture())
    change(document)
    document["checksum"] = content_checksum(document)
    return document


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("upstreams"), "$: 'upstreams' is a required property"),
        (
            lambda d: d["apis"][0]["routes"][0].update(method="FETCH"),
            "$.apis[0].routes[0].method: 'FETCH'",
        ),
        (lambda d: d["apis"][0].update(state="draft"), "$.apis[0].state: 'draft' is not one of"),
        (
            lambda d: d["consumers"]["keys"]["AAAA1111"].update(sha256="plaintext"),
            "$.consumers.keys.AAAA1111.sha256",
        ),
        (lambda d: d["oauth"]["jwks"]["keys"][0].update(d="private"), "$.oauth.jwks.keys[0]: "),
        (
            lambda d: d["apis"][0].update(upstream="nowhere"),
            "$.apis[0].upstream: unknown upstream 'nowhere'",
        ),
        (lambda d: d["apis"][0]["plans"].append(77), "$.apis[0].plans: unknown plan 77"),
        (
            lambda d: d.update(extra=1),
            "Additional properties are not allowed ('extra' was unexpected)",
        ),
    ],
)
def test_the_gateway_validator_refuses_an_invalid_snapshot_with_messages(
    change: Any, expected: str
) -> None:
    problems = validate_snapshot(_broken(change))
    assert any(expected in problem for problem in problems), problems


def test_the_gateway_validator_refuses_a_checksum_that_does_not_match() -> None:
    document = _fixture()
    document["apis"][0]["base_path"] = "/tampered"
    problems = validate_snapshot(document)
    assert len(problems) == 1 and problems[0].startswith("$.checksum: sha256:"), problems
