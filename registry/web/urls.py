from __future__ import annotations

from django.urls import path, re_path

from registry.web import views

app_name = "operator"

urlpatterns = [
    path("", views.services, name="services"),
    path("services/<slug:slug>/", views.service_detail, name="service_detail"),
    path("gateways/", views.gateways, name="gateways"),
    re_path(
        r"^instances/(?P<pk>[0-9]+)/(?P<action>drain|undrain|check)/$",
        views.instance_action,
        name="instance_action",
    ),
]
