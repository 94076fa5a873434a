"""Token authentication for self-registration: `Authorization: Bearer mgs_<prefix>_<secret>`.

Used only by the self-registration endpoints, which need no session and no CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from registry.models import Service
from registry.services.tokens import service_for_token

REALM = "meshgate-registry"


@dataclass(frozen=True)
class ServicePrincipal:
    """The caller of a self-registration endpoint: a service holding its token, not a user."""

    service: Service
    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_portal_admin = False
    is_operator = False

    @property
    def username(self) -> str:
        return f"service:{self.service.slug}"


class RegistrationTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[ServicePrincipal, Service] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Authorization must be 'Bearer <registration token>'.")
        service = service_for_token(parts[1].decode("latin-1"))
        if service is None:
            raise AuthenticationFailed("Invalid registration token.")
        return ServicePrincipal(service), service

    def authenticate_header(self, request: Request) -> str:
        # Having a challenge makes DRF answer 401 rather than 403 for a missing token.
        return f'Bearer realm="{REALM}"'


class RegistrationTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "registry.auth.RegistrationTokenAuthentication"
    name = "registrationToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "mgs_<prefix>_<secret>"}
