"""HTML pages of the portal (the full web UI is its own issue)."""

from __future__ import annotations

from django.urls import path

from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
]
