"""TLS termination on the proxy listener: the server SSLContext, its checks, and SIGHUP reloads.

The certificate and key are checked at start (a bad file names --tls-cert or --tls-key and exits
2) and again before every reload, on a throwaway context: `load_cert_chain` on the live context
loads the certificate before the key, so a bad key would leave it serving a mismatched pair.
"""

from __future__ import annotations

import ssl
import time
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

ALPN = ["http/1.1"]  # the gateway speaks HTTP/1.1 only; a client offering just h2 gets no ALPN
# After its close_notify the server waits for the client's before the socket is really closed.
# An idle pooled client (urllib3, http.client) never reads, so with asyncio's default of 30 s
# every keep-alive connection the gateway closed lingered 30 s (fd, SSL state, a slot in the
# scan) and a graceful stop waited 20 s for them (measured). The timer also covers flushing
# the last response, so it must leave a slow reader time for a backpressured tail (~128 KiB).
SHUTDOWN_TIMEOUT_S = 5.0


class TlsError(ValueError):
    """An unusable certificate or key; the message names the option."""


def check_files(cert: Path, key: Path) -> x509.Certificate:
    """Both files readable and PEM, and the key matches the certificate; returns the leaf."""
    leaf = _leaf(cert)
    _private_key(key)
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
    except ssl.SSLError as error:
        raise TlsError(
            f"--tls-key: {str(key)!r} does not match the certificate in --tls-cert "
            f"{str(cert)!r} ({error.reason or error})"
        ) from None
    return leaf


def _read(option: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise TlsError(f"{option}: cannot read {str(path)!r}: {error.strerror}") from None


def _leaf(path: Path) -> x509.Certificate:
    data = _read("--tls-cert", path)
    try:
        chain = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise TlsError(
            f"--tls-cert: {str(path)!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ) from None
    return chain[0]


def _private_key(path: Path) -> None:
    data = _read("--tls-key", path)
    try:
        serialization.load_pem_private_key(data, password=None)
    except TypeError:  # cryptography's way of saying "encrypted, and no password given"
        raise TlsError(
            f"--tls-key: {str(path)!r} is encrypted; give an unencrypted PEM key"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise TlsError(f"--tls-key: {str(path)!r} holds no PEM private key") from None


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """TLS >= 1.2, ALPN http/1.1, no renegotiation (a client-driven CPU sink)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_RENEGOTIATION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.set_alpn_protocols(ALPN)
    context.load_cert_chain(cert, key)
    return context


class ServerTls:
    """The listener's one SSLContext. `reload()` loads new files into it, so connections
    accepted afterwards get the new certificate and open ones keep the old session."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.cert = cert
        self.key = key
        leaf = check_files(cert, key)
        self.context = server_context(cert, key)
        self.not_after = leaf.not_valid_after_utc.isoformat()
        self.loaded_at = time.time()
        self.last_error: str | None = None

    def reload(self) -> bool:
        """Re-read both files; on a bad pair keep serving the old one and say why in last_error."""
        try:
            leaf = check_files(self.cert, self.key)
            self.context.load_cert_chain(self.cert, self.key)
        except (TlsError, ssl.SSLError, OSError) as error:
            self.last_error = f"reload refused, old certificate kept: {error}"
            return False
        self.not_after = leaf.not_valid_after_utc.isoformat()
        self.loaded_at = time.time()
        self.last_error = None
        return True

    def status(self) -> dict[str, Any]:
        return {
            "cert": str(self.cert),
            "not_after": self.not_after,
            "loaded_at": self.loaded_at,
            "last_error": self.last_error,
        }
