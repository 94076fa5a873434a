"""`python -m gateway_runtime --redis URL | --config FILE [--listen HOST:PORT] [--workers N] ...`

Exit status 2 on a bad option or an unusable --config file (the message says what to fix),
1 when a worker cannot bind its port, 0 after a graceful stop.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from gateway_runtime.auth import Revocations
from gateway_runtime.config.compile import ConfigError, compile_table, parse_snapshot
from gateway_runtime.settings import GatewaySettings, SettingsError, parse_settings
from gateway_runtime.supervisor import StartError, Supervisor, resolve_ports

PROG = "python -m gateway_runtime"


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def check_config_file(settings: GatewaySettings) -> str | None:
    """With --config, refuse to start on a file that would be refused anyway."""
    if settings.config_file is None:
        return None
    try:
        compile_table(parse_snapshot(settings.config_file.read_bytes()), Revocations())
    except OSError as error:
        return f"--config: cannot read {settings.config_file}: {error.strerror}"
    except ConfigError as error:
        return f"--config: {settings.config_file} is not a valid snapshot: {error}"
    return None


def check_access_log(settings: GatewaySettings) -> str | None:
    """Fail at start, not in every forked worker, when the access log cannot be written."""
    path = settings.access_log
    if path is None or path == "-":
        return None
    try:
        with open(path, "ab"):
            pass
    except OSError as error:
        return f"--access-log: cannot open {path!r} for appending: {error.strerror}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings = parse_settings(sys.argv[1:] if argv is None else argv)
    except SettingsError as error:
        return _fail(str(error))
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s",
    )
    problem = check_config_file(settings) or check_access_log(settings)
    if problem is not None:
        return _fail(problem)
    try:
        settings = resolve_ports(settings)
    except StartError as error:
        return _fail(str(error))
    return Supervisor(settings).run()


if __name__ == "__main__":
    sys.exit(main())
