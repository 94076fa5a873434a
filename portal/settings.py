"""MeshGate control-plane settings, driven by environment variables (see README)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from gateway_runtime.redis_url import RedisUrlError, check_url, kombu_url
from portal.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    persistent_secret,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MESHGATE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or persistent_secret(VAR_DIR / "secret_key")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Production behind TLS: HTTPS=1 turns on every transport-security setting that
# `manage.py check --deploy` asks for.
HTTPS = env_bool("HTTPS", False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
if env_bool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "oauth2_provider",
    "django_celery_beat",
    "auditlog",
    "portal",
    "registry",
    "apis",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'meshgate.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
if not env_str("DATABASE_URL"):
    # A file, not SQLite's in-memory default, so the Celery worker that the e2e tests
    # start can see the test data; one file per test run so parallel runs in one
    # checkout do not share it.
    _TEST_DB = Path(tempfile.gettempdir()) / f"meshgate-test-{os.getpid()}.sqlite3"
    DATABASES["default"]["TEST"] = {"NAME": str(_TEST_DB)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the Celery worker write one file. Take the write lock at BEGIN
    # (waiting up to `timeout` s) instead of failing at once with "database is locked"
    # when a transaction that has read tries to write; WAL lets readers run meanwhile,
    # and with WAL synchronous=NORMAL is safe (a power cut loses the last commits, never
    # the file) and makes each commit about 5x cheaper.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "portal.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# The web UI's own sign-in (portal/accounts); the Django admin keeps its login page.
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Console in development; pytest-django swaps in the locmem backend for tests (mail.outbox).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Confirmation and password-reset links last this long.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 24 * 3600, minimum=60)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "meshgate@localhost")


def _redis_url(name: str, url: str, convert: Any = check_url) -> Any:
    # A malformed URL (redis+sentinel:// ones are parsed here) stops the start, naming the variable.
    try:
        return convert(url)
    except RedisUrlError as error:
        raise ImproperlyConfigured(f"{name}: {error}") from None


# redis://, rediss://, unix:// or redis+sentinel://host:26379[,host2:26379]/service[/db]
REDIS_URL = _redis_url("REDIS_URL", env_str("REDIS_URL", "redis://127.0.0.1:6379/0"))

# Celery: the broker is the same Redis unless CELERY_BROKER_URL says otherwise. kombu spells
# Sentinel differently (sentinel://h1:p;sentinel://h2:p + master_name), hence kombu_url.
CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS = _redis_url(
    "CELERY_BROKER_URL", env_str("CELERY_BROKER_URL", REDIS_URL), kombu_url
)
# No result backend. Were one set on this Redis, it would take the same treatment:
# CELERY_RESULT_BACKEND, CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = kombu_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exceptions.problem_exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "MeshGate control plane API",
    "DESCRIPTION": "Catalogue, registry, consumers and configuration publishing.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# django-oauth-toolkit: the Application model is NOT swapped; apis.OAuthClient links
# a DOT application to a MeshGate application (decided on day one, see docs).
OAUTH2_PROVIDER = {
    "PKCE_REQUIRED": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OAUTH_ACCESS_TOKEN_SECONDS", 900, minimum=60),
    "REFRESH_TOKEN_EXPIRE_SECONDS": 14 * 24 * 3600,
    "ROTATE_REFRESH_TOKEN": True,
    "SCOPES": {"read": "Read access", "write": "Write access"},
    "DEFAULT_SCOPES": ["read"],
    # Follow RFC 9700 (OAuth 2.0 Security BCP) everywhere: no implicit or password
    # grant, S256 PKCE only, tokens stored hashed, refresh-token replay detection.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    # Loopback http redirect URIs stay allowed for native apps (RFC 8252) only in DEBUG.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"] if DEBUG else ["https"],
    # Access tokens are JWTs signed by the portal so gateways validate them locally.
    "ACCESS_TOKEN_GENERATOR": "apis.oauth.tokens.generate_access_token",
    # oauthlib reuses the access-token generator for refresh tokens unless told
    # otherwise; a refresh token must stay opaque, never a JWT a gateway would accept.
    "REFRESH_TOKEN_GENERATOR": "oauthlib.oauth2.rfc6749.tokens.random_token_generator",
    # Clients may request the static scopes above plus those that live routes require.
    "SCOPES_BACKEND_CLASS": "apis.oauth.scopes.RouteScopes",
}

OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"

MESHGATE_PUBLISH = {
    "REDIS_PREFIX": env_str("MESHGATE_REDIS_PREFIX", "meshgate"),
    "DEBOUNCE_SECONDS": env_float("MESHGATE_PUBLISH_DEBOUNCE", 0.5),
    "HISTORY": env_int("MESHGATE_PUBLISH_HISTORY", 20, minimum=1),
    # Check each published snapshot against the JSON Schema (costs seconds at 100k keys).
    "VALIDATE": env_bool("MESHGATE_PUBLISH_VALIDATE", True),
}
# Where clients reach the gateway: exported OpenAPI documents name it in `servers`.
MESHGATE_GATEWAY = {
    "PUBLIC_URL": env_str("MESHGATE_GATEWAY_URL", "http://127.0.0.1:8080"),
}
# Health workers (registry/health/): beat fires one tick per shard per second; see
# registry/health/__init__.py for how ticks, leases and windows fit together.
MESHGATE_HEALTH: dict[str, Any] = {
    "SHARDS": env_int("MESHGATE_HEALTH_SHARDS", 1, minimum=1),
    # Queue of the tick tasks. A tick takes milliseconds (probes run on a thread of the
    # worker process), so the default queue and any pool will do.
    "QUEUE": env_str("MESHGATE_HEALTH_QUEUE", "celery"),
    # Each tick (beat: every second) schedules probes up to this far ahead, so a tick that
    # arrives up to LOOKAHEAD - 1 s late finds its probes already fired on time.
    "LOOKAHEAD_SECONDS": env_float("MESHGATE_HEALTH_LOOKAHEAD", 2.0, minimum=1.0),
    # A shard lease not renewed for this long passes to another worker.
    "LEASE_SECONDS": env_float("MESHGATE_HEALTH_LEASE", 3.0, minimum=0.5),
    "CONCURRENCY": env_int("MESHGATE_HEALTH_CONCURRENCY", 500, minimum=1),
    "RETENTION_DAYS": env_int("MESHGATE_HEALTH_RETENTION_DAYS", 7, minimum=1),
    # Missing results for this many intervals mark an instance's health data stale.
    "STALE_INTERVALS": env_int("MESHGATE_HEALTH_STALE_INTERVALS", 3, minimum=1),
}
# The developer portal: whether visitors may browse the catalogue and references before logging in.
MESHGATE_PORTAL = {
    "PUBLIC_CATALOGUE": env_bool("MESHGATE_PUBLIC_CATALOGUE", True),
}
MESHGATE_KEYS = {
    "ROTATION_GRACE_SECONDS": env_int("MESHGATE_KEY_ROTATION_GRACE", 24 * 3600, minimum=0),
}
MESHGATE_OAUTH = {
    "ISSUER": env_str("MESHGATE_OAUTH_ISSUER", "http://127.0.0.1:8000/o"),
    "AUDIENCE": env_str("MESHGATE_OAUTH_AUDIENCE", "meshgate-gateway"),
    # Ed25519 key signing the JWT access tokens: the PEM in MESHGATE_OAUTH_SIGNING_KEY when
    # set (all portal hosts must share it), else this file, created (0600) on first use.
    "SIGNING_KEY_FILE": env_str(
        "MESHGATE_OAUTH_SIGNING_KEY_FILE", str(VAR_DIR / "oauth_signing_key.pem")
    ),
}

AUDITLOG_INCLUDE_ALL_MODELS = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
