"""Validate a snapshot in a short-lived child process: `python -m gateway_runtime.config.check`.

The check holds the GIL for its whole run (about 0.25 s for 100,000 keys with the Rust schema
validator, plus JSON parsing; a refused snapshot also pays the pure-Python pass that words the
messages), so a big one must not run in a serving process, not even in a thread. The child
reads the raw snapshot on stdin and writes the JSON list of problems on stdout, then exits:
no idle interpreter, no multiprocessing resource tracker left behind per worker.
"""

from __future__ import annotations

import asyncio
import sys

import orjson

from gateway_runtime.config.compile import check_raw


class CheckFailed(RuntimeError):
    """The child could not give an answer (crashed, killed, bad output)."""


async def check_in_subprocess(raw: bytes) -> list[str]:
    """The problems check_raw() finds in `raw`, computed in a child process."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway_runtime.config.check",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await child.communicate(raw)
    except asyncio.CancelledError:
        child.kill()
        raise
    if child.returncode != 0:
        raise CheckFailed(f"the check process exited with {child.returncode}: {err[-500:]!r}")
    try:
        problems = orjson.loads(out)
    except orjson.JSONDecodeError:
        raise CheckFailed(f"the check process wrote no JSON list: {out[:200]!r}") from None
    if not isinstance(problems, list):
        raise CheckFailed(f"the check process wrote {type(problems).__name__}, not a list")
    return [str(problem) for problem in problems]


def main() -> int:
    sys.stdout.buffer.write(orjson.dumps(check_raw(sys.stdin.buffer.read())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
