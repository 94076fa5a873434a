"""Per-route authentication from the snapshot alone: API keys and OAuth2 JWT access tokens.

Pure: no I/O. `now` is passed in (the worker's tick clock) so expiry is testable and the
hot path does not call time.time() per check.

API keys are `mg_<prefix>_<secret>`; the snapshot holds SHA-256 hex digests by prefix. A
lookup is one dict get plus one SHA-256 and hmac.compare_digest (constant time).
Access tokens are JWTs (EdDSA) verified against the snapshot's JWKS; a verified token's
claims are cached until it expires, but the revocation set is consulted on every request
so a revocation received on the channel takes effect at once.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

import jwt

if TYPE_CHECKING:
    from gateway_runtime.config.table import Route, Table
    from gateway_runtime.routing import RouteMatch

KEY_SCHEME = "mg"
PREFIX_LENGTH = 8
QUERY_PARAMETER = "api_key"
TOKEN_CACHE_SIZE = 8192
VERIFIED_KEYS_CACHE = 10_000
# Portal and gateway clocks differ a little: a token starting a few seconds early is fine.
CLOCK_SKEW_S = 30.0
_NEVER = float("inf")  # the expiry of a key without one, so the hot path compares two floats


class AuthError(Exception):
    """A refusal: 401 (with WWW-Authenticate) or 403. `slug` names the problem type."""

    def __init__(self, status: int, slug: str, detail: str, www_authenticate: bytes = b"") -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug  # "unauthenticated" | "forbidden"
        self.detail = detail
        self.www_authenticate = www_authenticate


class Principal:
    """Who is calling: the application and the plan its subscription to this version uses."""

    def __init__(
        self,
        app_id: int,
        plan_id: int | None,
        key_prefix: str | None = None,
        client_id: str | None = None,
        subject: str | None = None,
    ) -> None:
        self.app_id = app_id  # 0 = anonymous (public route)
        self.plan_id = plan_id  # None = no plan limits apply
        self.key_prefix = key_prefix
        self.client_id = client_id
        self.subject = subject
        # The key came in the query string: strip it (strip_query_key) before forwarding or
        # logging the target, so the secret never reaches upstream logs.
        self.key_in_query = False


ANONYMOUS = Principal(0, None)

_KEY_CHALLENGE = b'ApiKey realm="meshgate"'
_BEARER_CHALLENGE = b'Bearer realm="meshgate"'
_BOTH_CHALLENGES = _KEY_CHALLENGE + b", " + _BEARER_CHALLENGE


def _challenge(mode: str) -> bytes:
    if mode == "key":
        return _KEY_CHALLENGE
    return _BEARER_CHALLENGE if mode == "oauth2" else _BOTH_CHALLENGES


# ---------------------------------------------------------------------------- API keys


class KeyRecord:
    def __init__(self, prefix: str, sha256_hex: str, app_id: int, expires_at: float | None) -> None:
        self.prefix = prefix
        self.digest = bytes.fromhex(sha256_hex)
        self.app_id = app_id
        self.expires_at = expires_at


def key_prefix(raw: str) -> str | None:
    """The prefix of a well-formed key, else None. The secret may itself contain '_'."""
    if raw[:3] != "mg_" or len(raw) < 4 + PREFIX_LENGTH or raw[3 + PREFIX_LENGTH] != "_":
        return None
    return raw[3 : 3 + PREFIX_LENGTH]


class KeyTable:
    """Usable keys of one revision, by prefix, plus the keys already verified.

    Repeat callers skip the SHA-256: a full key string that verified once maps straight to
    its record (bounded; expiry is still checked every time). That probe is a dict lookup
    keyed by the whole secret, so it reveals nothing usable by timing: string hashes are
    randomised per process, and a wrong key simply misses and goes through the
    constant-time check. Failures are never cached. The cache belongs to one revision's
    table, so a key revoked in the next revision is gone with it.

    One step further, `principals` remembers the answer for a key on an API version: the
    caller's application and the plan of its subscription, both fixed for a revision, so a
    repeat call is two dict lookups and the expiry check (callgrind: 7,400 -> 3,200
    instructions). Keyed by the key, then the version id: a (key, version) tuple would be built
    and hashed per request.
    """

    def __init__(self, records: Iterable[KeyRecord]) -> None:
        self._records = {record.prefix: record for record in records}
        self._verified: dict[str, KeyRecord] = {}
        # full key -> version id -> (Principal, the key's expiry, inf for none). Never holds a
        # refusal; bounded in keys like _verified, and a key's versions are those its
        # application is subscribed to.
        self.principals: dict[str, dict[int, tuple[Principal, float]]] = {}

    def __len__(self) -> int:
        return len(self._records)

    def lookup(self, raw: str, now: float) -> KeyRecord | None:
        """The record for a full key string, or None (unknown, wrong secret or expired)."""
        record = self._verified.get(raw)
        if record is None:
            record = self._verify(raw)
            if record is None:
                return None
            if len(self._verified) >= VERIFIED_KEYS_CACHE:
                self._verified.clear()  # crude but bounded; refills with live callers
            self._verified[raw] = record
        if record.expires_at is not None and now >= record.expires_at:
            return None
        return record

    def _verify(self, raw: str) -> KeyRecord | None:
        prefix = key_prefix(raw)
        record = self._records.get(prefix) if prefix is not None else None
        if record is None:
            return None
        if not hmac.compare_digest(hashlib.sha256(raw.encode()).digest(), record.digest):
            return None
        return record


# ---------------------------------------------------------------------------- OAuth2


class Revocations:
    """Revoked token ids with their expiry. Lives as long as the worker, across table swaps:
    a revocation from the channel must survive until the snapshot that lists it arrives."""

    __slots__ = ("_jtis",)

    def __init__(self) -> None:
        self._jtis: dict[str, float] = {}

    def revoke(self, jti: str, exp: float) -> None:
        self._jtis[jti] = max(exp, self._jtis.get(jti, 0.0))

    def merge(self, entries: Iterable[Mapping[str, Any]]) -> None:
        for entry in entries:
            self.revoke(str(entry["jti"]), float(entry["exp"]))

    def __contains__(self, jti: object) -> bool:
        return jti in self._jtis

    def __len__(self) -> int:
        return len(self._jtis)

    def prune(self, now: float) -> None:
        """Forget ids whose token has expired anyway (from the tick)."""
        # list() copies in one C call: a compile thread may merge() meanwhile.
        for jti, exp in list(self._jtis.items()):
            if exp < now:
                self._jtis.pop(jti, None)


class TokenClaims:
    __slots__ = ("jti", "exp", "nbf", "client_id", "subject", "scopes")

    def __init__(
        self,
        jti: str,
        exp: float,
        client_id: str,
        subject: str,
        scopes: frozenset[str],
        nbf: float = 0.0,
    ) -> None:
        self.jti = jti
        self.nbf = nbf
        self.exp = exp
        self.client_id = client_id
        self.subject = subject
        self.scopes = scopes


class JwtVerifier:
    """Verifies access tokens against one revision's JWKS, issuer and audience."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks: Mapping[str, Any],
        revocations: Revocations,
        cache_size: int = TOKEN_CACHE_SIZE,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.revocations = revocations
        self._keys = _load_jwks(jwks)
        self._cache: dict[str, TokenClaims] = {}
        self._cache_size = cache_size

    def verify(self, token: str, now: float) -> TokenClaims:
        """Claims of a valid, unexpired, unrevoked token; AuthError(401, invalid_token) else."""
        claims = self._cache.get(token)
        if claims is None:
            claims = self._decode(token)
            if len(self._cache) >= self._cache_size:
                self._cache.clear()  # crude but bounded; refills with live tokens
            self._cache[token] = claims
        if now >= claims.exp:
            self._cache.pop(token, None)
            raise _invalid_token("the access token has expired")
        if now < claims.nbf - CLOCK_SKEW_S:
            raise _invalid_token("the access token is not valid yet")
        if claims.jti in self.revocations:
            raise _invalid_token("the access token has been revoked")
        return claims

    def _decode(self, token: str) -> TokenClaims:
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.get(str(header.get("kid", "")))
            if key is None:
                raise _invalid_token("the access token is signed by an unknown key")
            payload = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm_name],
                audience=self.audience,
                issuer=self.issuer,
                # Times are checked against the injected clock in verify(), not here.
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["exp", "jti", "iss", "aud"],
                },
            )
        except jwt.PyJWTError as error:
            raise _invalid_token(f"the access token is not valid: {error}") from None
        return TokenClaims(
            jti=str(payload["jti"]),
            exp=float(payload["exp"]),
            client_id=str(payload.get("client_id") or ""),
            subject=str(payload.get("sub") or ""),
            scopes=frozenset(str(payload.get("scope") or "").split()),
            nbf=float(payload.get("nbf") or 0.0),
        )


def _load_jwks(jwks: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    keys: dict[str, jwt.PyJWK] = {}
    for entry in jwks.get("keys", []):
        try:
            keys[str(entry["kid"])] = jwt.PyJWK(dict(entry))
        except (jwt.PyJWKError, jwt.InvalidKeyError, KeyError, TypeError) as error:
            raise ValueError(
                f"$.oauth.jwks: key {entry.get('kid')!r} is unusable: {error}"
            ) from None
    return keys


def _invalid_token(detail: str) -> AuthError:
    return AuthError(401, "unauthenticated", detail, _BEARER_CHALLENGE + b', error="invalid_token"')


# ---------------------------------------------------------------------------- per request


def authenticate(
    table: Table,
    route: Route,
    api_key_header: str | None,
    authorization: str | None,
    query: str | None,
    now: float,
) -> Principal:
    """Who may call `route`, or AuthError.

    `api_key_header` is X-API-Key, `authorization` the Authorization header, `query` the raw
    query string (without "?"), each None when absent.
    """
    mode = route.auth_mode
    if mode == "public":
        return ANONYMOUS
    scheme, credential = _split_authorization(authorization)
    if mode != "oauth2":
        raw_key = api_key_header or (credential if scheme == "apikey" else None)
        if raw_key is None and route.version.allow_key_in_query and query:
            raw_key = query_key(query)
            if raw_key is not None:
                found = _key_entry(table, route, route.version.id, raw_key, now)[0]
                principal = Principal(found.app_id, found.plan_id, key_prefix=found.key_prefix)
                principal.key_in_query = True  # a fresh object: `found` may be shared
                return principal
        if raw_key is not None:
            return _key_entry(table, route, route.version.id, raw_key, now)[0]
    if mode != "key" and scheme == "bearer" and credential:
        return _token_principal(table, route, credential, now)
    what = {"key": "an API key", "oauth2": "a bearer token"}.get(
        mode, "an API key or a bearer token"
    )
    raise AuthError(401, "unauthenticated", f"this route requires {what}", _challenge(mode))


def authenticate_raw(
    table: Table,
    match: RouteMatch,
    raw: bytes | None,
    authorization: bytes | None,
    query: bytes | None,
    now: float,
) -> Principal:
    """authenticate() for a routed request's raw X-API-Key and Authorization headers (None when
    absent) and query (latin-1, as HTTP/1.1 carries them).

    The common case, a repeat X-API-Key caller on the same API version, is one decode, two
    dict lookups and the expiry check. Everything else, refusals included, goes through
    authenticate(), so the two cannot disagree.
    """
    mode = match.auth_mode
    # authenticate() would take this key whatever else is sent
    if raw and (mode == "key" or mode == "key_or_oauth2"):
        return _key_entry(table, match.route, match.version_id, raw.decode("latin-1"), now)[0]
    if mode == "public":
        return ANONYMOUS
    return authenticate(
        table,
        match.route,
        raw.decode("latin-1") if raw is not None else None,
        authorization.decode("latin-1") if authorization is not None else None,
        query.decode("latin-1") if query else None,
        now,
    )


def _split_authorization(value: str | None) -> tuple[str, str]:
    if not value:
        return "", ""
    scheme, _, credential = value.strip().partition(" ")
    return scheme.lower(), credential.strip()


def strip_query_key(target: bytes) -> bytes:
    """`target` (path?query) without its api_key parameter(s)."""
    path, sep, query = target.partition(b"?")
    if not sep:
        return target
    kept = [pair for pair in query.split(b"&") if pair.partition(b"=")[0] != b"api_key"]
    return path + (b"?" + b"&".join(kept) if kept else b"")


def query_key(query: str) -> str | None:
    """The api_key query parameter, decoded, if present."""
    for pair in query.split("&"):
        name, sep, value = pair.partition("=")
        if sep and name == QUERY_PARAMETER:
            return unquote_plus(value)
    return None


def _key_entry(
    table: Table, route: Route, version_id: int, raw_key: str, now: float
) -> tuple[Principal, float]:
    """(The shared, never mutated Principal of a key on this route's version, the key's expiry
    or inf)."""
    keys = table.keys
    versions = keys.principals.get(raw_key)
    if versions is not None:
        known = versions.get(version_id)
        if known is not None and now < known[1]:
            return known
    record = keys.lookup(raw_key, now)
    if record is None:
        raise AuthError(
            401, "unauthenticated", "the API key is unknown, revoked or expired", _KEY_CHALLENGE
        )
    plan_id = _subscribed_plan(table, record.app_id, route)  # refusals are not remembered
    until = _NEVER if record.expires_at is None else float(record.expires_at)
    entry = (Principal(record.app_id, plan_id, key_prefix=record.prefix), until)
    if versions is None:
        if len(keys.principals) >= VERIFIED_KEYS_CACHE:
            keys.principals.clear()
        versions = keys.principals[raw_key] = {}
    versions[version_id] = entry
    return entry


def _token_principal(table: Table, route: Route, token: str, now: float) -> Principal:
    claims = table.jwt.verify(token, now)
    app_id = table.oauth_clients.get(claims.client_id)
    if app_id is None:
        raise _invalid_token("the token's client is not registered with any application")
    missing = route.scopes - claims.scopes
    if missing:
        scope = " ".join(sorted(route.scopes))
        raise AuthError(
            403,
            "forbidden",
            f"the access token lacks the scope(s): {' '.join(sorted(missing))}",
            _BEARER_CHALLENGE + f', error="insufficient_scope", scope="{scope}"'.encode(),
        )
    plan_id = _subscribed_plan(table, app_id, route)
    return Principal(app_id, plan_id, client_id=claims.client_id, subject=claims.subject)


def _subscribed_plan(table: Table, app_id: int, route: Route) -> int:
    application = table.applications.get(app_id)
    plan_id = application.subscriptions.get(route.version.id) if application else None
    if plan_id is None:
        raise AuthError(
            403,
            "forbidden",
            f"the application has no approved subscription to "
            f"{route.version.api} {route.version.version}",
        )
    return plan_id
