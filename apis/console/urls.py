from __future__ import annotations

from django.urls import path, re_path
from django.views.generic import RedirectView

from apis.console import views, views_config, views_import, views_plans

app_name = "console"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="console:api_list"), name="index"),
    path("apis/", views.api_list, name="api_list"),
    path("apis/new/", views.api_create, name="api_create"),
    path("apis/<slug:slug>/", views.api_detail, name="api_detail"),
    path("apis/<slug:slug>/edit/", views.api_edit, name="api_edit"),
    path("apis/<slug:slug>/versions/new/", views.version_create, name="version_create"),
    path("apis/<slug:slug>/plans/new/", views_plans.plan_create, name="plan_create"),
    path("versions/<int:pk>/", views.version_detail, name="version_detail"),
    path("versions/<int:pk>/settings/", views.version_edit, name="version_edit"),
    re_path(
        r"^versions/(?P<pk>[0-9]+)/(?P<action>publish|deprecate|retire)/$",
        views.version_lifecycle,
        name="version_lifecycle",
    ),
    path("versions/<int:pk>/openapi/", views_import.openapi_upload, name="openapi_upload"),
    path(
        "versions/<int:pk>/openapi/<str:token>/",
        views_import.openapi_preview,
        name="openapi_preview",
    ),
    path(
        "versions/<int:pk>/openapi/<str:token>/apply/",
        views_import.openapi_apply,
        name="openapi_apply",
    ),
    path("routes/<int:pk>/", views.route_edit, name="route_edit"),
    path("plans/<int:pk>/", views_plans.plan_edit, name="plan_edit"),
    path("approvals/", views_plans.approvals, name="approvals"),
    re_path(
        r"^subscriptions/(?P<pk>[0-9]+)/(?P<decision>approve|reject|revoke)/$",
        views_plans.decide,
        name="subscription_decide",
    ),
    path("revisions/", views_config.revisions, name="revisions"),
    path("revisions/diff/", views_config.revision_diff, name="revision_diff"),
    path("revisions/publish/", views_config.revision_publish, name="revision_publish"),
    path(
        "revisions/<int:revision>/rollback/",
        views_config.revision_rollback,
        name="revision_rollback",
    ),
    path("audit/", views_config.audit_log, name="audit"),
]
