from __future__ import annotations

from rest_framework.routers import SimpleRouter

from apis.api.consumer_views import (
    ApiKeyViewSet,
    ApplicationViewSet,
    OAuthClientViewSet,
    SubscriptionViewSet,
)

router = SimpleRouter(trailing_slash=True)
router.register("applications", ApplicationViewSet, basename="application")
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("api-keys", ApiKeyViewSet, basename="api-key")
router.register("oauth-clients", OAuthClientViewSet, basename="oauth-client")

urlpatterns = router.urls
