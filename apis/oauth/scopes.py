"""DOT's SCOPES_BACKEND_CLASS: the scopes a client may ask for are those the gateway checks.

Available = the static OAUTH2_PROVIDER["SCOPES"] plus every scope a route of a live
(published or deprecated) version requires, so a scope added to an OpenAPI document
can be requested as soon as the version is published.
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.scopes import BaseScopes
from oauth2_provider.settings import oauth2_settings

from apis.choices import Lifecycle
from apis.models import Route

LIVE_STATES = (Lifecycle.PUBLISHED, Lifecycle.DEPRECATED)


def route_scopes() -> dict[str, str]:
    scopes: dict[str, str] = {}
    rows = Route.objects.filter(version__state__in=LIVE_STATES).values_list(
        "scopes", "version__api__slug"
    )
    for names, api_slug in rows:
        for name in names or []:
            if isinstance(name, str) and name:
                scopes.setdefault(name, f"Required by routes of the {api_slug} API")
    return scopes


class RouteScopes(BaseScopes):
    def get_all_scopes(self) -> dict[str, str]:
        return {**route_scopes(), **oauth2_settings.SCOPES}

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return sorted(self.get_all_scopes())

    def get_default_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return list(oauth2_settings._DEFAULT_SCOPES)
