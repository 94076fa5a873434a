from __future__ import annotations

from rest_framework.routers import SimpleRouter

from apis.api.catalogue_views import ApiVersionViewSet, ApiViewSet, PlanViewSet, RouteViewSet

router = SimpleRouter(trailing_slash=True)
router.register("apis", ApiViewSet, basename="api")
router.register("api-versions", ApiVersionViewSet, basename="api-version")
router.register("routes", RouteViewSet, basename="route")
router.register("plans", PlanViewSet, basename="plan")

urlpatterns = router.urls
