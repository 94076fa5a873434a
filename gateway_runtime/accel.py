"""Which build of the hot path this process runs: Cython-compiled or the plain .py sources.

The request path (COMPILED_MODULES) is ordinary Python; `setup.py` compiles the same files
with Cython, typed by the `.pxd` file beside each (cdef classes with C fields), which roughly
halves the Python cost per request. Compiled modules share C type layouts through those
`.pxd` files, so they are only safe as a set built together from the current sources.

`choose()` runs once, when the package is imported (gateway_runtime/__init__.py): if every
module's extension exists and is newer than its source and the `.pxd` files it was compiled
against, the extensions load as usual; otherwise (or with MESHGATE_GATEWAY_PURE_PYTHON=1) a
finder placed first on sys.meta_path loads the `.py` files instead, so an edited source is
never shadowed by a stale binary. Run `make compile` after editing a hot-path module.

This module must stay importable on its own: setup.py reads COMPILED_MODULES from it.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

PURE_ENV = "MESHGATE_GATEWAY_PURE_PYTHON"

# Dotted names relative to the package; the order is irrelevant.
COMPILED_MODULES: tuple[str, ...] = (
    "config.table",
    "http.request",
    "http.outbox",
    "http.clock",
    "http.connection",
    "http.headers",
    "http.problems",
    "upstream.exchange",
    "upstream.client",
    "upstream.pool",
    "proxy",
    "routing",
    "auth",
    "ratelimit",
    "ratelimit_dims",
    "balancer",
    "runtime_state",
    "retry_budget",
    "outlier",
    "metrics",
    "usage",
)

PACKAGE = "gateway_runtime"
PACKAGE_DIR = Path(__file__).resolve().parent


class HotPath:
    """The decision: `mode` is "compiled" or "pure"; `reason` says why when pure."""

    __slots__ = ("mode", "reason")

    def __init__(self, mode: str, reason: str = "") -> None:
        self.mode = mode
        self.reason = reason

    def describe(self) -> str:
        return "compiled (Cython)" if self.mode == "compiled" else f"pure Python ({self.reason})"


def module_paths(package_dir: Path, name: str) -> tuple[Path, Path]:
    """(source .py, declarations .pxd) of one module of the set."""
    base = package_dir.joinpath(*name.split("."))
    return base.with_suffix(".py"), base.with_suffix(".pxd")


def extension_path(package_dir: Path, name: str) -> Path | None:
    """The built extension of one module, if any (suffix of this interpreter only)."""
    base = package_dir.joinpath(*name.split("."))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = base.parent / (base.name + suffix)
        if candidate.exists():
            return candidate
    return None


# `from gateway_runtime.X cimport ...` and `cimport gateway_runtime.X as y` (a declarations module)
_CIMPORT = re.compile(
    r"^(?:from gateway_runtime\.([\w.]+) cimport |cimport gateway_runtime\.([\w.]+))", re.MULTILINE
)


def _declared_deps(package_dir: Path, name: str, seen: set[str]) -> None:
    """`name` and every module whose .pxd it cimports, directly or not (C layouts it relies on)."""
    if name in seen:
        return
    seen.add(name)
    pxd = module_paths(package_dir, name)[1]
    if pxd.exists():
        for named, whole in _CIMPORT.findall(pxd.read_text()):
            _declared_deps(package_dir, named or whole, seen)


def decide(package_dir: Path, env: Mapping[str, str]) -> HotPath:
    """Compiled only when each module's extension is newer than its sources and the .pxd files
    it was compiled against; a build step rebuilds only what changed, so each module is judged
    against its own inputs."""
    if env.get(PURE_ENV, "") not in ("", "0"):
        return HotPath("pure", f"{PURE_ENV} is set")
    for name in COMPILED_MODULES:
        binary = extension_path(package_dir, name)
        if binary is None:
            return HotPath("pure", "not compiled: run `make compile`")
        built = binary.stat().st_mtime
        deps: set[str] = set()
        _declared_deps(package_dir, name, deps)
        inputs = [module_paths(package_dir, name)[0]]
        inputs += [module_paths(package_dir, dep)[1] for dep in deps]
        if any(path.exists() and path.stat().st_mtime > built for path in inputs):
            return HotPath("pure", f"{name} is older than its sources: run `make compile`")
    return HotPath("compiled")


class _SourceFirst:
    """Meta-path finder that loads the listed modules from their .py files."""

    def __init__(self, package_dir: Path) -> None:
        self.sources = {
            f"{PACKAGE}.{name}": module_paths(package_dir, name)[0] for name in COMPILED_MODULES
        }

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> object:
        source = self.sources.get(fullname)
        if source is None:
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def choose() -> HotPath:
    """Decide (once per process: gateway_runtime.HOT_PATH) and make imports follow it."""
    decision = decide(PACKAGE_DIR, os.environ)
    if decision.mode == "pure" and not any(isinstance(f, _SourceFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFirst(PACKAGE_DIR))
    return decision
