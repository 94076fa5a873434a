from __future__ import annotations

from rest_framework.routers import SimpleRouter

from portal.api.audit import AuditLogViewSet
from portal.api.revisions import RevisionViewSet

router = SimpleRouter(trailing_slash=True)
router.register("audit-log", AuditLogViewSet, basename="audit-log")
router.register("revisions", RevisionViewSet, basename="revision")

urlpatterns = router.urls
