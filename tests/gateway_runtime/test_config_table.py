"""The compiled table's objects: immutable and dataclass-like in both builds (Cython or not)."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import pytest

import gateway_runtime
from gateway_runtime.auth import Revocations
from gateway_runtime.config import table as table_module
from gateway_runtime.config.compile import compile_table
from gateway_runtime.config.table import Plan, Route, Table, Version
from tests.gateway_runtime import snapshots as snap


def _table() -> Table:
    api = snap.api(1, "/shop/v1", [snap.route(7, "GET", "/items")])
    return compile_table(snap.snapshot([api]), Revocations())


def _plan(**changes: object) -> Plan:
    fields = dict(id=1, name="basic", rps=5, rpm=None, per_day=None, per_month=None, burst=10)
    fields.update(redis_down="local", **changes)
    return Plan(**fields)  # type: ignore[arg-type]


def test_the_objects_a_request_reads_refuse_assignment():
    table = _table()
    version = table.versions[1]
    route = table.routes.match("x", "GET", "/shop/v1/items").route
    for obj, name, value in (
        (table, "plans", {}),
        (version, "extra_headers", b"x: 1\r\n"),
        (version.timeouts, "read_s", 1.0),
        (version.retry, "retries", 9),
        (route, "read_s", 99.0),
        (route, "version", version),
        (_plan(), "rps", 1),
    ):
        before = getattr(obj, name)
        with pytest.raises(AttributeError):
            setattr(obj, name, value)
        assert getattr(obj, name) == before


def test_each_build_protects_the_fields_in_its_own_way():
    route = _table().routes.match("x", "GET", "/shop/v1/items").route
    if gateway_runtime.HOT_PATH.mode == "compiled":
        # readonly C members: not even object.__setattr__ gets past them, and there is no __dict__
        with pytest.raises(AttributeError):
            object.__setattr__(route, "timeout_s", 1.0)
        assert not hasattr(route, "__dict__")
    else:
        # uncompiled, freezing is the dataclass's own __setattr__, the one every caller goes through
        assert type(route).__dataclass_params__.frozen
        with pytest.raises(dataclasses.FrozenInstanceError):
            route.timeout_s = 1.0  # type: ignore[misc]
    assert route.timeout_s != 1.0


def test_they_keep_the_dataclass_behaviour_callers_use():
    table = _table()
    route = table.routes.match("x", "GET", "/shop/v1/items").route
    assert isinstance(route, Route) and isinstance(route.version, Version)
    assert route.read_s == route.version.timeouts.read_s
    assert route.retry_statuses == route.version.retry.statuses
    assert not route.version.retired
    assert dataclasses.replace(route.version, state="retired").retired
    # keyword constructor with the defaults, equality and hash by value, a readable repr
    bare = Route(
        id=1,
        method="GET",
        path="/",
        param_names=(),
        auth_mode="public",
        scopes=frozenset(),
        timeout_s=1.0,
        max_body_bytes=10,
        version=route.version,
    )
    assert bare.read_s == 0.0 and bare.retry_statuses == frozenset()
    assert _plan() == _plan() and hash(_plan()) == hash(_plan()) and _plan() != _plan(burst=None)
    assert repr(_plan()).startswith("Plan(id=1, name='basic', rps=5,")
    assert dataclasses.replace(route, id=8).id == 8 and route.id == 7
    assert dataclasses.asdict(_plan())["burst"] == 10
    assert Table(**{f.name: getattr(table, f.name) for f in dataclasses.fields(Table)}) == table


def test_without_cython_installed_they_are_frozen_dataclasses(monkeypatch):
    monkeypatch.setitem(sys.modules, "cython", None)  # `import cython` raises ImportError
    source = Path(table_module.__file__).with_name("table.py")
    spec = importlib.util.spec_from_file_location("_table_without_cython", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses resolves names through it
    spec.loader.exec_module(module)
    plan = module.Plan(
        id=1,
        name="p",
        rps=None,
        rpm=None,
        per_day=None,
        per_month=None,
        burst=None,
        redis_down="local",
    )
    assert dataclasses.is_dataclass(plan)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.rps = 3  # type: ignore[misc]
