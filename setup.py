"""Compiles the gateway's request path with Cython; everything else is pyproject.toml.

The modules are listed in gateway_runtime/accel.py. Set MESHGATE_PURE_PYTHON=1 to skip the
build (the gateway then runs the same .py files, slower). `make compile` rebuilds in place.
"""

import os
import runpy
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent


def extensions():
    if os.environ.get("MESHGATE_PURE_PYTHON", "") not in ("", "0"):
        return []
    from Cython.Build import cythonize

    accel = runpy.run_path(str(ROOT / "gateway_runtime" / "accel.py"))
    sources = [
        "gateway_runtime/" + name.replace(".", "/") + ".py" for name in accel["COMPILED_MODULES"]
    ]
    return cythonize(
        sources,
        language_level=3,
        nthreads=os.cpu_count() or 1,
        compiler_directives={
            # the sources are plain Python: keep Python semantics where Cython could differ
            "binding": True,
            "embedsignature": False,
            "annotation_typing": False,
        },
    )


# gcc runs once per module: in parallel, the first install takes half the time on two cores
setup(ext_modules=extensions(), options={"build_ext": {"parallel": os.cpu_count() or 1}})
