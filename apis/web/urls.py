from __future__ import annotations

from django.urls import path

from apis.web import app_views, catalogue_views, credential_views

app_name = "devportal"

urlpatterns = [
    path("catalogue/", catalogue_views.catalogue_list, name="catalogue"),
    path("catalogue/<slug:slug>/", catalogue_views.api_detail, name="api_detail"),
    path("catalogue/<slug:slug>/subscribe/", catalogue_views.subscribe, name="subscribe"),
    path(
        "catalogue/<slug:slug>/<str:label>/reference/",
        catalogue_views.api_reference,
        name="reference",
    ),
    path(
        "catalogue/<slug:slug>/<str:label>/openapi.json",
        catalogue_views.api_document,
        name="document",
    ),
    path("apps/", app_views.app_list, name="app_list"),
    path("apps/new/", app_views.app_create, name="app_create"),
    path("apps/<int:app_id>/", app_views.app_detail, name="app_detail"),
    path("apps/<int:app_id>/edit/", app_views.app_edit, name="app_edit"),
    path("apps/<int:app_id>/delete/", app_views.app_delete, name="app_delete"),
    path("apps/<int:app_id>/usage/", app_views.app_usage, name="app_usage"),
    path(
        "apps/<int:app_id>/subscriptions/<int:subscription_id>/cancel/",
        app_views.subscription_cancel,
        name="subscription_cancel",
    ),
    path("apps/<int:app_id>/keys/new/", credential_views.key_create, name="key_create"),
    path(
        "apps/<int:app_id>/keys/<int:key_id>/rotate/",
        credential_views.key_rotate,
        name="key_rotate",
    ),
    path(
        "apps/<int:app_id>/keys/<int:key_id>/revoke/",
        credential_views.key_revoke,
        name="key_revoke",
    ),
    path("apps/<int:app_id>/clients/new/", credential_views.client_create, name="client_create"),
    path(
        "apps/<int:app_id>/clients/<int:client_id>/delete/",
        credential_views.client_delete,
        name="client_delete",
    ),
]
