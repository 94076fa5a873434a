"""Operator REST API of the registry: services and instances. Developers get 403 on all of it."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from portal.api.permissions import IsOperator
from registry.api.errors import conflicts_as_409
from registry.api.filters import InstanceFilterSet
from registry.api.health import HealthMinuteSerializer, HistoryQuerySerializer
from registry.api.serializers import (
    InstanceSerializer,
    RegistrationTokenSerializer,
    ServiceSerializer,
    StateReasonSerializer,
)
from registry.models import Instance, Service
from registry.services import health, instances, services


class ServiceViewSet(viewsets.ModelViewSet):
    serializer_class = ServiceSerializer
    permission_classes = [IsOperator]
    lookup_field = "slug"
    search_fields = ["name", "slug", "description"]
    ordering_fields = ["slug", "name", "created_at"]
    filterset_fields = ["check_type", "owner__username"]

    def get_queryset(self) -> QuerySet[Service]:
        queryset = Service.objects.select_related("owner").annotate(
            instance_count=Count("instances")
        )
        # Aggregation drops Meta.ordering, and pagination needs a stable order.
        return queryset.order_by("slug")

    def perform_create(self, serializer: BaseSerializer[Service]) -> None:
        serializer.instance = services.create_service(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer: BaseSerializer[Service]) -> None:
        service = serializer.instance
        serializer.instance = services.update_service(
            service, actor=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, service: Service) -> None:
        with conflicts_as_409():
            services.delete_service(service, actor=self.request.user)

    @extend_schema(request=None, responses={201: RegistrationTokenSerializer})
    @action(detail=True, methods=["post"], url_path="registration-token")
    def registration_token(self, request: Request, slug: str) -> Response:
        """Issue the self-registration token, replacing any earlier one. Shown only here."""
        service = self.get_object()
        token = services.issue_registration_token(service, actor=request.user)
        body = RegistrationTokenSerializer(
            {"service": service.slug, "token": token, "prefix": service.registration_token_prefix}
        ).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class InstanceViewSet(viewsets.ModelViewSet):
    serializer_class = InstanceSerializer
    permission_classes = [IsOperator]
    filterset_class = InstanceFilterSet
    search_fields = ["host", "zone", "service__slug"]
    ordering_fields = ["host", "port", "weight", "state_changed_at", "last_heartbeat_at"]

    def get_queryset(self) -> QuerySet[Instance]:
        return Instance.objects.select_related("service")

    def perform_create(self, serializer: BaseSerializer[Instance]) -> None:
        fields = dict(serializer.validated_data)
        service = fields.pop("service")
        with conflicts_as_409():
            serializer.instance = instances.register_instance(
                service, actor=self.request.user, **fields
            )

    def perform_update(self, serializer: BaseSerializer[Instance]) -> None:
        fields = dict(serializer.validated_data)
        fields.pop("service", None)
        with conflicts_as_409():
            serializer.instance = instances.update_instance(
                serializer.instance, actor=self.request.user, **fields
            )

    def perform_destroy(self, instance: Instance) -> None:
        instances.remove_instance(instance, actor=self.request.user)

    @extend_schema(request=StateReasonSerializer, responses={200: InstanceSerializer})
    @action(detail=True, methods=["post"])
    def drain(self, request: Request, pk: str) -> Response:
        """Stop new traffic to the instance; it stays drained until undrained."""
        reason = self._reason(request)
        instance = instances.drain_instance(self.get_object(), actor=request.user, reason=reason)
        return Response(InstanceSerializer(instance).data)

    @extend_schema(request=StateReasonSerializer, responses={200: InstanceSerializer})
    @action(detail=True, methods=["post"])
    def undrain(self, request: Request, pk: str) -> Response:
        """Let the instance take traffic again."""
        reason = self._reason(request)
        instance = instances.undrain_instance(self.get_object(), actor=request.user, reason=reason)
        return Response(InstanceSerializer(instance).data)

    @extend_schema(request=None, responses={202: None})
    @action(detail=True, methods=["post"])
    def check(self, request: Request, pk: str) -> Response:
        """Probe the instance in the next health tick (about a second); audited."""
        health.request_check(self.get_object(), actor=request.user)
        return Response({"detail": "check requested"}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(parameters=[HistoryQuerySerializer], responses={200: HealthMinuteSerializer})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request: Request, pk: str) -> Response:
        """Per-minute checks, success ratio and latency percentiles (?minutes=60, max 7 days)."""
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        instance = self.get_object()
        rows = health.instance_history(
            instance, since=health.history_since(query.validated_data["minutes"])
        )
        return Response(
            {
                "instance": instance.pk,
                "minutes": HealthMinuteSerializer(rows, many=True).data,
            }
        )

    def _reason(self, request: Request) -> str:
        serializer = StateReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return str(serializer.validated_data.get("reason", ""))
