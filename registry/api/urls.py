from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from registry.api import health
from registry.api import self_registration as selfreg
from registry.api.views import InstanceViewSet, ServiceViewSet

router = SimpleRouter(trailing_slash=True)
router.register("services", ServiceViewSet, basename="service")
router.register("instances", InstanceViewSet, basename="instance")
router.register("health/services", health.HealthServiceViewSet, basename="health-service")

health_urls = [
    path("health/ejections/", health.EjectionsView.as_view(), name="health-ejections"),
    path("health/stale/", health.StaleView.as_view(), name="health-stale"),
    path("gateways/", health.GatewaysView.as_view(), name="gateways"),
]

# Token-authenticated paths for instances that manage themselves (see self_registration.py).
self_registration_urls = [
    path(
        "services/<slug:slug>/register/",
        selfreg.RegisterView.as_view(),
        name="service-self-register",
    ),
    path(
        "services/<slug:slug>/instances/<int:pk>/heartbeat/",
        selfreg.HeartbeatView.as_view(),
        name="service-self-heartbeat",
    ),
    path(
        "services/<slug:slug>/instances/<int:pk>/deregister/",
        selfreg.DeregisterView.as_view(),
        name="service-self-deregister",
    ),
    path(
        "services/<slug:slug>/instances/<int:pk>/",
        selfreg.SelfInstanceView.as_view(),
        name="service-self-instance",
    ),
]

urlpatterns = [*self_registration_urls, *health_urls, *router.urls]
