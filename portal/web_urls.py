"""HTML pages of the portal (the full web UI is its own issue)."""

from __future__ import annotations

from django.urls import include, path

from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("portal.accounts.urls")),
    path("", include("apis.web.urls")),
    path("console/", include("apis.console.urls")),
    path("operator/", include("registry.web.urls")),
]
