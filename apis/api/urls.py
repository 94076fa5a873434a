from __future__ import annotations

from django.urls import include, path

# Two routers: the catalogue (admins write, everyone reads the published part) and
# the consumer side (developers' own applications, keys, clients, subscriptions).
urlpatterns = [
    path("", include("apis.api.catalogue_urls")),
    path("", include("apis.api.consumer_urls")),
]
