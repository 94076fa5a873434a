"""The compiled hot path is used only when current, and the pure-Python one serves the same."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import gateway_runtime
from gateway_runtime import accel
from tests.gateway_runtime.conftest import http_get
from tests.gateway_runtime.test_admin import _config

SUFFIX = accel.importlib.machinery.EXTENSION_SUFFIXES[0]


def _package(tmp_path: Path, *, built: bool) -> Path:
    """A copy of the set's sources (and .pxd files), with stand-in extensions when `built`."""
    root = tmp_path / "gateway_runtime"
    for name in accel.COMPILED_MODULES:
        for source in accel.module_paths(accel.PACKAGE_DIR, name):
            if source.exists():
                target = root / source.relative_to(accel.PACKAGE_DIR)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    if built:
        for name in accel.COMPILED_MODULES:
            base = root.joinpath(*name.split("."))
            (base.parent / (base.name + SUFFIX)).write_bytes(b"")
        _age_sources(root, 100)
    return root


def _age_sources(root: Path, seconds: int) -> None:
    for path in list(root.rglob("*.py")) + list(root.rglob("*.pxd")):
        stat = path.stat()
        os.utime(path, (stat.st_atime - seconds, stat.st_mtime - seconds))


def _touch(path: Path) -> None:
    later = path.stat().st_mtime + 200
    os.utime(path, (later, later))


def test_a_current_build_is_used(tmp_path):
    assert accel.decide(_package(tmp_path, built=True), {}).mode == "compiled"


def test_without_a_build_the_sources_run(tmp_path):
    decision = accel.decide(_package(tmp_path, built=False), {})
    assert decision.mode == "pure" and "make compile" in decision.reason


def test_an_edited_source_is_never_shadowed_by_its_old_build(tmp_path):
    root = _package(tmp_path, built=True)
    _touch(root / "proxy.py")
    decision = accel.decide(root, {})
    assert decision.mode == "pure" and "proxy" in decision.reason


def test_a_changed_declaration_makes_its_users_stale_too(tmp_path):
    """request.pxd fixes the C layout that connection and exchange were compiled against."""
    root = _package(tmp_path, built=True)
    request_so = root / "http" / ("request" + SUFFIX)
    _touch(root / "http" / "request.pxd")
    _touch(request_so)  # request itself was rebuilt, its users were not
    decision = accel.decide(root, {})
    assert decision.mode == "pure"
    assert "connection" in decision.reason or "exchange" in decision.reason


def test_a_declarations_module_cimported_whole_counts_too(tmp_path):
    """header_kinds.pxd (`cimport gateway_runtime.http.header_kinds as kinds`): C constants only,
    no extension of its own, compiled into headers, connection and client."""
    root = _package(tmp_path, built=True)
    kinds_pxd = root / "http" / "header_kinds.pxd"
    shutil.copyfile(accel.PACKAGE_DIR / "http" / "header_kinds.pxd", kinds_pxd)
    _age_sources(root, 100)
    assert accel.decide(root, {}).mode == "compiled"
    _touch(kinds_pxd)
    decision = accel.decide(root, {})
    assert decision.mode == "pure"
    assert any(name in decision.reason for name in ("headers", "connection", "client"))


def test_the_environment_can_force_the_sources(tmp_path):
    decision = accel.decide(_package(tmp_path, built=True), {accel.PURE_ENV: "1"})
    assert decision.mode == "pure" and accel.PURE_ENV in decision.reason


def test_a_pure_worker_imports_the_sources(tmp_path):
    """The finder really loads .py files when the decision is pure (checked in a fresh process)."""
    import subprocess
    import sys

    code = (
        "import gateway_runtime as g, gateway_runtime.upstream.exchange as e, "
        "gateway_runtime.proxy as p; print(g.HOT_PATH.mode, e.__file__, p.__file__)"
    )
    env = {**os.environ, accel.PURE_ENV: "1"}
    argv = [sys.executable, "-c", code]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    mode, *files = out.stdout.split()
    assert mode == "pure" and all(f.endswith(".py") for f in files), out.stdout + out.stderr


@pytest.mark.parametrize("pure", [False, True], ids=["as-built", "pure-python"])
def test_both_builds_proxy_and_report_which_they_run(start_gateway, tmp_path, ok_upstream, pure):
    env = {accel.PURE_ENV: "1"} if pure else {}
    gateway = start_gateway(config=_config(tmp_path, ok_upstream), env=env)
    assert http_get(gateway.url + "/svc/v1/ping")[0] == 200
    status = json.loads(http_get(gateway.admin_url + "/status")[2])
    expected = "pure Python" if pure else gateway_runtime.HOT_PATH.describe()
    assert status["hot_path"].startswith(expected[:11]), status["hot_path"]
    if pure:
        assert accel.PURE_ENV in status["hot_path"]


def test_the_checkout_runs_the_build_it_was_asked_for():
    """`make test` compiles first: a build that silently failed or went stale shows up here.
    Only an explicit choice of the sources (at install or at run time) may leave it pure."""
    hot_path = gateway_runtime.HOT_PATH
    if os.environ.get(accel.PURE_ENV):
        assert hot_path.mode == "pure" and accel.PURE_ENV in hot_path.reason
    elif os.environ.get("MESHGATE_PURE_PYTHON"):
        assert hot_path.mode == "pure" and "not compiled" in hot_path.reason
    else:
        assert hot_path.mode == "compiled", hot_path.reason
