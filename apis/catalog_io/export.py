"""The catalogue in the database -> the file's plain structure -> YAML text."""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml
from django.db.models import Prefetch

from apis.catalog_io.routes import overrides_of, route_baselines, route_key
from apis.catalog_io.schema import (
    API,
    FORMAT_VERSION,
    INSTANCE,
    PLAN,
    ROUTE_DEFAULTS,
    ROUTE_OVERRIDES,
    SERVICE,
    VERSION,
    Kind,
    format_datetime,
)
from apis.models import Api, ApiVersion
from apis.services.openapi_operations import derive_operations
from registry.models import Instance, Service


def catalog_state() -> dict[str, Any]:
    """The whole catalogue in file form, sorted so equal catalogues give equal files."""
    return {"format_version": FORMAT_VERSION, "services": _services(), "apis": _apis()}


def dump_catalog(state: dict[str, Any]) -> str:
    return yaml.dump(state, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


# Sorting happens here, not in SQL: PostgreSQL's collation would order some slugs
# differently from SQLite, and the file must not depend on the database.
def _by(*names: str) -> Any:
    return lambda obj: tuple(getattr(obj, name) for name in names)


def _services() -> list[dict[str, Any]]:
    # Self-registered instances come and go on their own; a file must not pin them.
    static = Instance.objects.filter(self_registered=False)
    services = Service.objects.prefetch_related(Prefetch("instances", queryset=static))
    return [
        {
            **_record(SERVICE, service),
            "instances": [
                _record(INSTANCE, i)
                for i in sorted(service.instances.all(), key=_by("host", "port"))
            ],
        }
        for service in sorted(services, key=_by("slug"))
    ]


def _apis() -> list[dict[str, Any]]:
    versions = ApiVersion.objects.select_related("upstream_service").prefetch_related("routes")
    apis = Api.objects.prefetch_related("plans", Prefetch("versions", queryset=versions))
    return [
        {
            **_record(API, api),
            "plans": [_record(PLAN, plan) for plan in sorted(api.plans.all(), key=_by("slug"))],
            "versions": [_version(v) for v in sorted(api.versions.all(), key=_by("label"))],
        }
        for api in sorted(apis, key=_by("slug"))
    ]


def _version(version: ApiVersion) -> dict[str, Any]:
    record = _record(VERSION, version)
    record["upstream_service"] = version.upstream_service.slug if version.upstream_service else None
    record["routes"] = _route_overrides(version)
    return record


def _route_overrides(version: ApiVersion) -> dict[str, dict[str, Any]]:
    """Only what differs from the routes the stored document alone would give."""
    document = version.openapi_document
    baselines = route_baselines(derive_operations(document) if document else [])
    overrides = {}
    for route in sorted(version.routes.all(), key=lambda r: (r.path_template, r.method)):
        key = route_key(route.method, route.path_template)
        values = {name: getattr(route, name) for name in ROUTE_OVERRIDES}
        if changed := overrides_of(values, baselines.get(key, ROUTE_DEFAULTS)):
            overrides[key] = changed
    return overrides


def _record(kind: Kind, obj: Any) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name in kind.all_fields:
        if name in ("routes", "upstream_service"):
            record[name] = None  # filled by the caller; keeps the key order
            continue
        value = getattr(obj, kind.attr(name))
        record[name] = format_datetime(value) if isinstance(value, dt.datetime) else value
    return record


class _Dumper(yaml.SafeDumper):
    """Literal blocks for multi-line text (the OpenAPI source) and no anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key; PyYAML's default flush style is harder to scan.
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)
