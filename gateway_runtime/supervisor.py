"""The parent process: checks the ports, forks N workers, restarts crashed ones, stops them.

Each worker opens its own listening socket with SO_REUSEPORT, so the kernel spreads new
connections across workers and no accept lock is needed. The parent never serves; it
holds no event loop and no threads, so fork() is safe.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import replace

from gateway_runtime.settings import GatewaySettings

log = logging.getLogger("gateway_runtime.supervisor")

# A worker that dies this soon after starting is crash-looping: back off before the next fork.
QUICK_CRASH_S = 2.0
MAX_BACKOFF_S = 10.0
# A worker exits with this when restarting it cannot help (e.g. it cannot bind its port).
FATAL_EXIT = 3
PR_SET_PDEATHSIG = 1


class StartError(RuntimeError):
    """The gateway cannot start (e.g. the port is taken); the message says why."""


def open_listener(
    host: str, port: int, backlog: int = 2048, *, reuse_port: bool = True
) -> socket.socket:
    """A listening TCP socket with SO_REUSEPORT (so every worker can open one on the port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as error:
        sock.close()
        raise StartError(_describe_bind_error(host, port, error)) from None
    return sock


def _describe_bind_error(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return f"{host}:{port} is already in use by another program"
    if error.errno == errno.EACCES:
        return f"{host}:{port}: permission denied (ports below 1024 need privileges)"
    return f"cannot listen on {host}:{port}: {error.strerror or error}"


def resolve_ports(settings: GatewaySettings) -> GatewaySettings:
    """Check both addresses are free; a port 0 becomes the concrete port all workers share.

    The probe does not set SO_REUSEPORT: with it, a second gateway started on a busy port
    would silently share it with the first instead of being told the port is taken.
    """
    ports = {}
    for name, host, port in (
        ("listen", settings.listen_host, settings.listen_port),
        ("admin", settings.admin_host, settings.admin_port),
    ):
        probe = open_listener(host, port, reuse_port=False)
        ports[name] = probe.getsockname()[1]
        probe.close()
    return replace(settings, listen_port=ports["listen"], admin_port=ports["admin"])


def _die_with_parent() -> None:
    """Linux: SIGTERM this worker if the supervisor dies (even by SIGKILL), so no orphan
    keeps serving the port with a config nobody updates. A no-op elsewhere."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class Supervisor:
    """Forks the workers and keeps N of them alive until SIGTERM/SIGINT."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.children: dict[int, int] = {}  # pid -> worker index
        self.started: dict[int, float] = {}  # worker index -> fork time
        self.crashes: dict[int, int] = {}  # worker index -> consecutive quick crashes
        self.stopping = False
        self.exit_code = 0

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        # SIGHUP: re-read the config file (--config) or re-check Redis now, in every worker.
        signal.signal(signal.SIGHUP, lambda *_: self._signal_all(signal.SIGHUP))
        for index in range(self.settings.workers):
            self._spawn(index)
        log.info(
            "gateway %s: %d worker(s) on %s, admin on %s",
            self.settings.gateway_id,
            self.settings.workers,
            self.settings.listen,
            self.settings.admin,
        )
        while self.children:
            self._reap_one()
        return self.exit_code

    def _on_stop(self, signum: int, _frame: object) -> None:
        if self.stopping:  # a second signal: stop waiting for in-flight requests
            self._signal_all(signal.SIGKILL)
            return
        self.stopping = True
        log.info("received %s: stopping workers gracefully", signal.Signals(signum).name)
        self._signal_all(signal.SIGTERM)
        signal.signal(signal.SIGALRM, lambda *_: self._signal_all(signal.SIGKILL))
        signal.alarm(int(self.settings.shutdown_timeout) + 5)

    def _signal_all(self, signum: int) -> None:
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def _reap_one(self) -> None:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            self.children.clear()
            return
        except InterruptedError:  # pragma: no cover - PEP 475 retries, kept for clarity
            return
        index = self.children.pop(pid, None)
        if index is None or self.stopping:
            return
        code = os.waitstatus_to_exitcode(status)
        if code == FATAL_EXIT:
            log.error("worker %d (pid %d) cannot run; stopping the gateway", index, pid)
            self.exit_code = 1
            self._on_stop(signal.SIGTERM, None)
            return
        log.error("worker %d (pid %d) exited with %s; starting a new one", index, pid, code)
        self._backoff(index)
        if not self.stopping:
            self._spawn(index)

    def _backoff(self, index: int) -> None:
        quick = time.monotonic() - self.started.get(index, 0.0) < QUICK_CRASH_S
        self.crashes[index] = self.crashes.get(index, 0) + 1 if quick else 0
        if self.crashes[index]:
            time.sleep(min(MAX_BACKOFF_S, 0.25 * 2 ** self.crashes[index]))

    def _spawn(self, index: int) -> None:
        pid = os.fork()
        if pid == 0:  # child
            code = 1
            try:
                _die_with_parent()
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent relays Ctrl-C as SIGTERM
                signal.signal(signal.SIGALRM, signal.SIG_DFL)
                signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until the worker's loop handles it
                from gateway_runtime.worker import run_worker

                code = run_worker(self.settings, index)
            except BaseException:  # the child must never return into the parent's loop
                log.exception("worker %d failed", index)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.children[pid] = index
        self.started[index] = time.monotonic()
