"""Catalogue export and import: round trip, diffs, apply, dry run, prune, atomicity, secrets."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command

from apis.catalog_io import CatalogError, apply_import, plan_import
from apis.catalog_io.export import catalog_state, dump_catalog
from apis.models import Api, ApiVersion, Plan, Route
from registry.models import Instance, Service
from tests.apis.test_catalog_io_support import (
    build_catalogue,
    empty_catalogue,
    export_text,
    line_of,
    run_import,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(alice: Any, bob: Any) -> Any:
    return build_catalogue(alice, bob)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalogue.yaml"
    path.write_text(text)
    return path


def _edited(text: str, edit: Any) -> str:
    state = yaml.safe_load(text)
    edit(state)
    return dump_catalog(state)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_it_round_trips_the_catalogue_byte_for_byte_through_an_empty_database(
    catalogue: Any, tmp_path: Path
) -> None:
    exported = export_text()
    empty_catalogue()
    assert Api.objects.count() == Service.objects.count() == 0

    output = run_import(_write(tmp_path, exported), "--yes")

    assert "Applied" in output
    assert export_text() == exported
    assert ApiVersion.objects.get(api__slug="billing", label="v0").state == "deprecated"


def test_it_finds_nothing_to_change_when_the_file_matches_the_database(
    catalogue: Any, tmp_path: Path
) -> None:
    output = run_import(_write(tmp_path, export_text()), "--yes")

    assert "Nothing to change." in output
    assert "0 to create, 0 to update, 0 to delete" in output


def test_export_is_sorted_and_headed_by_the_format_version(catalogue: Any) -> None:
    state = yaml.safe_load(export_text())

    assert next(iter(state)) == "format_version" and state["format_version"] == 1
    assert [s["slug"] for s in state["services"]] == ["billing", "inventory"]
    inventory = state["services"][1]
    assert [(i["host"], i["port"]) for i in inventory["instances"]] == [
        ("10.0.0.1", 9101),
        ("10.0.0.1", 9102),
    ]
    versions = state["apis"][1]["versions"]
    assert [v["label"] for v in versions] == ["v1", "v2"]
    assert versions[0]["routes"] == {
        "POST /items": {"auth_mode": "oauth2", "scopes": ["inventory:write"], "timeout_ms": 500}
    }
    assert versions[0]["openapi"].startswith("openapi: 3.0.3\n")


def test_export_carries_each_services_load_balancing(catalogue: Any) -> None:
    services = {s["slug"]: s for s in yaml.safe_load(export_text())["services"]}

    balancing = ("lb_algorithm", "hash_on", "hash_key", "max_in_flight")
    assert [services["inventory"][name] for name in balancing] == [
        "consistent_hash",
        "header",
        "X-User",
        64,
    ]
    assert [services["billing"][name] for name in balancing] == ["least_request", "none", "", None]


def test_a_file_without_load_balancing_fields_gets_the_defaults(
    catalogue: Any, tmp_path: Path
) -> None:
    def drop(state: dict[str, Any]) -> None:
        for name in ("lb_algorithm", "hash_on", "hash_key", "max_in_flight"):
            del state["services"][1][name]

    run_import(_write(tmp_path, _edited(export_text(), drop)), "--yes")

    inventory = Service.objects.get(slug="inventory")
    assert (inventory.lb_algorithm, inventory.hash_on, inventory.hash_key) == (
        "least_request",
        "none",
        "",
    )
    assert inventory.max_in_flight is None


def test_export_keeps_secrets_and_developer_data_out(catalogue: Any) -> None:
    text = export_text()

    service = Service.objects.get(slug="inventory")
    for secret in (
        catalogue.raw_key,
        "k3y9r3f1",
        catalogue.key_hash,
        catalogue.registration_token,
        service.registration_token_hash,
        service.registration_token_prefix,
        catalogue.client_id,
        catalogue.client_secret,
    ):
        assert secret not in text
    for private in ("secret-app", "secret-client", "bob", "alice", "owner", "10.9.9.9", "health:"):
        assert private not in text


def test_it_shows_the_diff_of_a_changed_file_and_applies_it(
    catalogue: Any, tmp_path: Path, alice: Any
) -> None:
    def edit(state: dict[str, Any]) -> None:
        inventory_api = state["apis"][1]
        inventory_api["plans"][0]["requests_per_second"] = 15
        inventory_api["versions"][0]["routes"]["GET /items"] = {"auth_mode": "public"}
        inventory_api["versions"][1]["state"] = "published"
        state["services"][1]["instances"][0]["weight"] = 5
        state["services"][1]["instances"].append({"host": "10.0.0.2", "port": 9101})
        state["apis"].append({"slug": "weather", "name": "Weather"})

    output = run_import(_write(tmp_path, _edited(export_text(), edit)), "--yes", "--actor", "alice")

    assert "~ plan inventory/basic\n    requests_per_second: 10 -> 15" in output
    assert "~ instance inventory 10.0.0.1:9101\n    weight: 100 -> 5" in output
    assert "+ instance inventory 10.0.0.2:9101" in output
    assert "+ api weather" in output
    assert '    state: "draft" -> "published"' in output
    assert 'routes[\'GET /items\']: {} -> {"auth_mode": "public"}' in output
    assert "2 to create, 4 to update, 0 to delete" in output
    assert Plan.objects.get(slug="basic").requests_per_second == 15
    assert Instance.objects.get(host="10.0.0.1", port=9101).weight == 5
    assert ApiVersion.objects.get(api__slug="inventory", label="v2").state == "published"
    assert (
        Route.objects.get(version__label="v1", method="GET", path_template="/items").auth_mode
        == "public"
    )
    weather = Api.objects.get(slug="weather")
    assert LogEntry.objects.get_for_object(weather).get().actor == alice


def test_the_order_of_records_in_the_file_does_not_matter(catalogue: Any, tmp_path: Path) -> None:
    def shuffle(state: dict[str, Any]) -> None:
        state["services"].reverse()
        state["apis"].reverse()
        state["apis"][0]["plans"].reverse()
        state["services"][0]["instances"].reverse()

    path = _write(tmp_path, _edited(export_text(), shuffle))

    assert "Nothing to change." in run_import(path, "--yes")


def test_it_refuses_to_move_a_version_back_in_its_lifecycle(catalogue: Any, tmp_path: Path) -> None:
    text = _edited(
        export_text(), lambda state: state["apis"][1]["versions"][0].update(state="draft")
    )
    before = catalog_state()

    with pytest.raises(CommandError) as refused:
        run_import(_write(tmp_path, text), "--dry-run")

    line = line_of(text, "state: draft")
    assert f"apis[1].versions[0].state (line {line}): a published version cannot go back" in str(
        refused.value
    )
    assert catalog_state() == before


def test_it_refuses_to_deprecate_with_a_sunset_in_the_past(catalogue: Any, tmp_path: Path) -> None:
    def deprecate(state: dict[str, Any]) -> None:
        state["apis"][1]["versions"][0].update(state="deprecated", sunset_at="2020-01-01T00:00:00Z")

    text = _edited(export_text(), deprecate)

    with pytest.raises(CommandError) as refused:
        run_import(_write(tmp_path, text), "--yes")

    line = line_of(text, "2020-01-01")
    assert f"apis[1].versions[0].sunset_at (line {line}): must be in the future" in str(
        refused.value
    )
    assert ApiVersion.objects.get(api__slug="inventory", label="v1").state == "published"


def test_a_dry_run_changes_nothing(catalogue: Any, tmp_path: Path) -> None:
    changed = _edited(export_text(), lambda state: state["apis"][1]["plans"][0].update(burst=99))
    before, entries = catalog_state(), LogEntry.objects.count()

    output = run_import(_write(tmp_path, changed), "--dry-run", "--yes")

    assert "burst: 20 -> 99" in output and "Dry run: nothing was changed." in output
    assert catalog_state() == before
    assert LogEntry.objects.count() == entries


def test_it_deletes_what_the_file_omits_only_with_prune(catalogue: Any, tmp_path: Path) -> None:
    def drop(state: dict[str, Any]) -> None:
        state["apis"][1]["versions"].pop(1)
        state["services"][1]["instances"].pop(1)

    path = _write(tmp_path, _edited(export_text(), drop))
    assert "Nothing to change." in run_import(path, "--yes")

    output = run_import(path, "--yes", "--prune")

    assert "- version inventory/v2" in output and "- instance inventory 10.0.0.1:9102" in output
    assert not ApiVersion.objects.filter(label="v2").exists()
    assert list(Instance.objects.values_list("port", flat=True).order_by("port")) == [7000, 9101]


def test_prune_refuses_to_delete_a_version_that_developers_subscribe_to(
    catalogue: Any, tmp_path: Path
) -> None:
    path = _write(
        tmp_path, _edited(export_text(), lambda state: state["apis"][1]["versions"].pop(0))
    )
    before = catalog_state()

    with pytest.raises(
        CommandError, match=r"version inventory/v1: 1 subscription\(s\) use this version"
    ):
        run_import(path, "--yes", "--prune")

    assert catalog_state() == before


def test_it_rolls_everything_back_when_a_change_fails_midway(
    catalogue: Any, tmp_path: Path, alice: Any
) -> None:
    def add(state: dict[str, Any]) -> None:
        state["services"].append({"slug": "weather", "name": "Weather"})
        state["apis"].append(
            {
                "slug": "weather",
                "name": "Weather",
                "versions": [
                    {"label": "v1", "base_path": "/weather/v1", "upstream_service": "weather"}
                ],
            }
        )

    plan = plan_import(_edited(export_text(), add))
    # Someone takes the mount between the diff and the apply: the service and the API
    # are already created when the version fails, and must not survive.
    inventory = Api.objects.get(slug="inventory")
    ApiVersion.objects.create(api=inventory, label="v9", base_path="/weather/v1")
    before = catalog_state()

    with pytest.raises(
        CatalogError, match=r"apis\[2\]\.versions\[0\] \(line \d+\): version weather/v1"
    ):
        apply_import(plan, actor=alice)

    assert catalog_state() == before
    assert not Service.objects.filter(slug="weather").exists()


def test_without_a_terminal_it_applies_only_with_yes(catalogue: Any, tmp_path: Path) -> None:
    path = _write(tmp_path, _edited(export_text(), lambda s: s["apis"][1].update(name="Stock")))

    with pytest.raises(CommandError, match="pass --yes") as refused:
        run_import(path, stdin=io.StringIO(""))

    assert refused.value.returncode == 2
    assert Api.objects.get(slug="inventory").name == "Inventory"


def test_in_a_terminal_it_asks_before_applying(catalogue: Any, tmp_path: Path) -> None:
    path = _write(tmp_path, _edited(export_text(), lambda s: s["apis"][1].update(name="Stock")))

    with pytest.raises(CommandError, match="cancelled"):
        run_import(path, stdin=_Terminal("n\n"))
    assert Api.objects.get(slug="inventory").name == "Inventory"

    output = run_import(path, stdin=_Terminal("y\n"))
    assert "Apply these changes? [y/N]" in output
    assert Api.objects.get(slug="inventory").name == "Stock"


def test_export_writes_the_output_file(catalogue: Any, tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    call_command("export_catalog", "--output", str(target), stderr=io.StringIO())

    assert target.read_text() == export_text()
