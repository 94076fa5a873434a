"""Configuration revisions over REST: list, read, publish, roll back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import redis
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.permissions import IsOperator, IsPortalAdmin
from portal.models import ConfigRevision
from portal.publishing.services import publish_revision, read_snapshot, rollback_revision


class RedisUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "the configuration store (Redis) is unavailable; try again shortly"
    default_code = "store_unavailable"


class RevisionSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    size = serializers.IntegerField(source="size_bytes", read_only=True, help_text="bytes of JSON")

    class Meta:
        model = ConfigRevision
        fields = [
            "revision",
            "checksum",
            "created_at",
            "created_by",
            "reason",
            "size",
            "rolled_back_from",
        ]
        read_only_fields = fields


class RevisionDetailSerializer(RevisionSerializer):
    snapshot = serializers.SerializerMethodField(
        help_text="The document, or null once no longer kept."
    )

    class Meta(RevisionSerializer.Meta):
        fields = [*RevisionSerializer.Meta.fields, "snapshot"]
        read_only_fields = fields

    def get_snapshot(self, revision: ConfigRevision) -> dict[str, Any] | None:
        return self.context.get("snapshot")


class PublishSerializer(serializers.Serializer):
    force = serializers.BooleanField(default=False, help_text="publish even when nothing changed")
    reason = serializers.CharField(max_length=200, default="", allow_blank=True)


class RevisionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Operators may read the list; snapshots, publishing and rollback are for admins."""

    queryset = ConfigRevision.objects.select_related("created_by").order_by("-revision")
    serializer_class = RevisionSerializer
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"

    def get_permissions(self) -> list[BasePermission]:
        return [IsOperator()] if self.action == "list" else [IsPortalAdmin()]

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return {"retrieve": RevisionDetailSerializer, "publish": PublishSerializer}.get(
            self.action, RevisionSerializer
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        revision = self.get_object()
        with _store_errors():
            snapshot = read_snapshot(revision.revision)
        context = {**self.get_serializer_context(), "snapshot": snapshot}
        return Response(RevisionDetailSerializer(revision, context=context).data)

    @extend_schema(
        request=PublishSerializer, responses={201: RevisionSerializer, 200: RevisionSerializer}
    )
    @action(detail=False, methods=["post"])
    def publish(self, request: Request) -> Response:
        options = PublishSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        with _store_errors():
            revision = publish_revision(actor=request.user, **options.validated_data)
        if revision is None:
            return Response(
                {"detail": "nothing changed since the current revision"}, status=status.HTTP_200_OK
            )
        return Response(RevisionSerializer(revision).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={201: RevisionSerializer})
    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, pk: str | None = None) -> Response:
        old = self.get_object()
        with _store_errors():
            revision = rollback_revision(old.revision, actor=request.user)
        return Response(RevisionSerializer(revision).data, status=status.HTTP_201_CREATED)


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    """Turn a Redis outage into a 503 with a clear message instead of a 500."""
    try:
        yield
    except redis.exceptions.RedisError:
        raise RedisUnavailable() from None
