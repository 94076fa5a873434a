"""What `import cython` gives a compiled module's source when it runs as plain Python and Cython is
not installed (an install with MESHGATE_PURE_PYTHON=1 may lack it; Cython is a build requirement).

Compiled, `import cython` is resolved by Cython itself and this module is never used. The modules
that need it write `try: import cython` / `except ImportError: from ... import cython_shadow as
cython`: Cython recognises only the literal `import cython`, so the fallback cannot move here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["cclass", "compiled", "dataclasses", "freelist"]  # dataclasses: cython.dataclasses

compiled = False


def cclass(cls: type) -> type:
    return cls


def freelist(size: int) -> Any:
    return cclass
