"""GatewaySettings: every option of the gateway, from argv with MESHGATE_GATEWAY_* env fallbacks.

Built and validated once at start, then passed to constructors; nothing reads globals.
A bad value raises SettingsError naming the option, and __main__ exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway_runtime.redis_url import RedisUrlError, check_url

ENV_PREFIX = "MESHGATE_GATEWAY_"
LOG_LEVELS = ("debug", "info", "warning", "error")
# (option, default, help) of the client limits (env: MESHGATE_GATEWAY_MAX_HEADER_BYTES...);
# the values are validated in parse_settings
CLIENT_OPTIONS = (
    ("--max-header-bytes", "16384", "request line + headers above this: 431 (1024..1048576)"),
    ("--header-timeout", "10", "seconds to receive a whole request head, else 408"),
    ("--body-timeout", "30", "seconds a request body may stay silent, else 408"),
    ("--idle-timeout", "75", "seconds an idle keep-alive connection is kept open"),
    ("--max-pipeline", "32", "pipelined requests queued per connection before reading pauses"),
    ("--websocket-idle-timeout", "3600", "seconds without a byte before a tunnel closes; 0 never"),
)


class SettingsError(ValueError):
    """A bad option; the message names it and says what to set."""


@dataclass(frozen=True)
class GatewaySettings:
    redis_url: str | None
    config_file: Path | None
    listen_host: str
    listen_port: int
    workers: int
    admin_host: str
    admin_port: int
    state_dir: Path
    gateway_id: str
    redis_prefix: str
    access_log: str | None  # path, "-" for stdout, None = off
    access_log_sample: float
    log_level: str
    # client limits (http/server.py HttpLimits); defaults mirror HttpLimits'
    max_header_bytes: int = 16384
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 75.0
    max_pipeline: int = 32
    websocket_idle_timeout: float = 3600.0  # 0 = never
    tls_cert: Path | None = None  # both or neither (TLS on the proxy listener)
    tls_key: Path | None = None
    poll_interval: float = 3.0
    report_interval: float = 2.0
    shutdown_timeout: float = 20.0

    @property
    def listen(self) -> str:
        return _join(self.listen_host, self.listen_port)

    @property
    def admin(self) -> str:
        return _join(self.admin_host, self.admin_port)


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    def default(name: str, fallback: str | None = None) -> str | None:
        return env.get(ENV_PREFIX + name, fallback)

    parser = argparse.ArgumentParser(
        prog="python -m gateway_runtime",
        description="MeshGate data plane: serves the snapshot published by the portal.",
        epilog=f"Every option can also be set as {ENV_PREFIX}<OPTION>, e.g. {ENV_PREFIX}WORKERS=4.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--redis",
        default=default("REDIS"),
        metavar="URL",
        help="Redis holding the published snapshots (redis://host:6379/0, or through Sentinel: "
        "redis+sentinel://host1:26379,host2:26379/SERVICE[/DB])",
    )
    source.add_argument(
        "--config",
        default=default("CONFIG"),
        metavar="FILE",
        help="serve one snapshot file (manage.py export_config), no Redis",
    )
    parser.add_argument(
        "--listen", default=default("LISTEN", "127.0.0.1:8080"), metavar="HOST:PORT"
    )
    parser.add_argument(
        "--workers",
        default=default("WORKERS"),
        metavar="N",
        help="worker processes sharing the port (default: CPU count)",
    )
    parser.add_argument(
        "--admin-listen",
        default=default("ADMIN_LISTEN"),
        metavar="HOST:PORT",
        help="admin listener (default: 127.0.0.1:<listen port + 1000>)",
    )
    parser.add_argument(
        "--state-dir",
        default=default("STATE_DIR", "var/gateway"),
        metavar="DIR",
        help="where the last-known-good snapshot is kept",
    )
    parser.add_argument(
        "--gateway-id",
        default=default("GATEWAY_ID"),
        help="name in status reports (default: <hostname>:<listen port>)",
    )
    parser.add_argument("--redis-prefix", default=default("REDIS_PREFIX", "meshgate"))
    parser.add_argument("--access-log", default=default("ACCESS_LOG"), metavar="PATH|-")
    parser.add_argument(
        "--access-log-sample", default=default("ACCESS_LOG_SAMPLE", "1.0"), metavar="0..1"
    )
    parser.add_argument("--log-level", default=default("LOG_LEVEL", "info"), metavar="LEVEL")
    _add_client_options(parser, default)
    return parser


def _add_client_options(parser: argparse.ArgumentParser, default: Any) -> None:
    """Client-side limits and TLS of the proxy listener."""
    for option, fallback, text in CLIENT_OPTIONS:
        env_name = option[2:].upper().replace("-", "_")
        parser.add_argument(option, default=default(env_name, fallback), metavar="N", help=text)
    cert_help = "PEM certificate chain (with --tls-key): the proxy listener speaks HTTPS"
    parser.add_argument("--tls-cert", default=default("TLS_CERT"), metavar="FILE", help=cert_help)
    key_help = "unencrypted PEM private key of --tls-cert"
    parser.add_argument("--tls-key", default=default("TLS_KEY"), metavar="FILE", help=key_help)


def parse_settings(argv: Sequence[str], env: Mapping[str, str] | None = None) -> GatewaySettings:
    """Parse and validate; SettingsError on a bad value (argparse exits 2 on unknown options)."""
    env = os.environ if env is None else env
    args = _parser(env).parse_args(list(argv))
    if bool(args.redis) == bool(args.config):
        raise SettingsError(
            "give exactly one configuration source: --redis URL or --config FILE "
            f"(or {ENV_PREFIX}REDIS / {ENV_PREFIX}CONFIG)"
        )
    listen_host, listen_port = parse_address("--listen", args.listen)
    if args.admin_listen:
        admin_host, admin_port = parse_address("--admin-listen", args.admin_listen)
    else:
        admin_host, admin_port = "127.0.0.1", _default_admin_port(listen_port)
    if (admin_host, admin_port) == (listen_host, listen_port) and listen_port != 0:
        raise SettingsError("--admin-listen: must differ from --listen")
    tls_cert, tls_key = _tls_files(args.tls_cert, args.tls_key)
    return GatewaySettings(
        redis_url=_redis_url(args.redis) if args.redis else None,
        config_file=_config_file(args.config) if args.config else None,
        listen_host=listen_host,
        listen_port=listen_port,
        workers=_workers(args.workers),
        admin_host=admin_host,
        admin_port=admin_port,
        state_dir=Path(args.state_dir),
        gateway_id=args.gateway_id or f"{socket.gethostname()}:{listen_port}",
        redis_prefix=_prefix(args.redis_prefix),
        access_log=args.access_log or None,
        access_log_sample=_sample(args.access_log_sample),
        log_level=_log_level(args.log_level),
        max_header_bytes=_whole("--max-header-bytes", args.max_header_bytes, 1024, 1 << 20),
        header_timeout=_seconds("--header-timeout", args.header_timeout, 0.1, 3600),
        body_timeout=_seconds("--body-timeout", args.body_timeout, 0.1, 3600),
        idle_timeout=_seconds("--idle-timeout", args.idle_timeout, 0.1, 86400),
        max_pipeline=_whole("--max-pipeline", args.max_pipeline, 1, 1024),
        websocket_idle_timeout=_seconds(
            "--websocket-idle-timeout", args.websocket_idle_timeout, 0, 7 * 86400
        ),
        tls_cert=tls_cert,
        tls_key=tls_key,
    )


def parse_address(option: str, value: str) -> tuple[str, int]:
    """'HOST:PORT' or '[v6]:PORT' -> (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise SettingsError(f"{option}: {value!r} is not HOST:PORT (e.g. 127.0.0.1:8080)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise SettingsError(f"{option}: port {port!r} must be a number from 0 to 65535")
    return host, int(port)


def _default_admin_port(listen_port: int) -> int:
    if listen_port == 0:
        return 0
    port = listen_port + 1000
    if port > 65535:
        raise SettingsError("--admin-listen: listen port + 1000 is above 65535; set it explicitly")
    return port


def _redis_url(value: str) -> str:
    try:
        return check_url(value)
    except RedisUrlError as error:
        raise SettingsError(f"--redis: {error}") from None


def _config_file(value: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise SettingsError(f"--config: {value!r} is not a readable file")
    return path


def _workers(value: str | None) -> int:
    if value is None or value == "":
        return os.cpu_count() or 1
    if not value.isdigit() or not 1 <= int(value) <= 512:
        raise SettingsError(f"--workers: {value!r} must be a whole number from 1 to 512")
    return int(value)


def _prefix(value: str) -> str:
    if not value or any(char.isspace() for char in value):
        raise SettingsError(f"--redis-prefix: {value!r} must be a non-empty word without spaces")
    return value


def _sample(value: str) -> float:
    try:
        sample = float(value)
    except ValueError:
        sample = -1.0
    if not 0.0 <= sample <= 1.0:
        raise SettingsError(f"--access-log-sample: {value!r} must be a number from 0 to 1")
    return sample


def _whole(option: str, value: str, low: int, high: int) -> int:
    if not value.strip().isdigit() or not low <= int(value) <= high:
        raise SettingsError(f"{option}: {value!r} must be a whole number from {low} to {high}")
    return int(value)


def _seconds(option: str, value: str, low: float, high: float) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not low <= seconds <= high:  # NaN fails this too
        raise SettingsError(f"{option}: {value!r} must be seconds from {low:g} to {high:g}")
    return seconds


def _tls_files(cert: str | None, key: str | None) -> tuple[Path | None, Path | None]:
    if bool(cert) != bool(key):
        given, missing = ("--tls-cert", "--tls-key") if cert else ("--tls-key", "--tls-cert")
        raise SettingsError(f"{given} needs {missing} as well (give both or neither)")
    if not cert or not key:
        return None, None
    from gateway_runtime.tls import TlsError, check_files  # cryptography only when TLS is on

    try:
        check_files(Path(cert), Path(key))
    except TlsError as error:
        raise SettingsError(str(error)) from None
    return Path(cert), Path(key)


def _log_level(value: str) -> str:
    if value.lower() not in LOG_LEVELS:
        raise SettingsError(f"--log-level: {value!r} must be one of {', '.join(LOG_LEVELS)}")
    return value.lower()
