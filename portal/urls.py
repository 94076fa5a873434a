from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from oauth2_provider import urls as oauth_urls

api_v1 = [
    path("", include("apis.api.urls")),
    path("", include("registry.api.urls")),
    path("", include("portal.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    # Only the protocol endpoints: DOT's own client-management pages would let a
    # developer create clients that belong to no MeshGate application.
    path("o/", include((oauth_urls.base_urlpatterns, "oauth2_provider"))),
    path("api/v1/", include(api_v1)),
    path("", include("portal.web_urls")),
]
