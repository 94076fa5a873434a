"""Operator REST API of the health data: states, history, ejections, stale checks, gateways.

    GET  health/services/[{slug}/]   services with their instances' states and since-when
    GET  health/ejections/           ejections in force (from gateways) and recent ones
    GET  health/stale/               instances without results for STALE_INTERVALS, checker ticks
    GET  gateways/                   gateway workers and the revision each serves
    GET  instances/{id}/history/     per-minute history (in views.py, beside drain/undrain/check)

Operators and admins only; developers get 403. Reads are not audited; the actions are.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.permissions import IsOperator
from registry.models import Ejection, HealthMinute, Instance, Service
from registry.services import gateways, health


class InstanceHealthSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True)
    since = serializers.DateTimeField(source="state_changed_at", read_only=True)
    reason = serializers.CharField(source="state_reason", read_only=True)
    stale = serializers.SerializerMethodField()
    ejected = serializers.SerializerMethodField()

    class Meta:
        model = Instance
        fields = [
            "id", "host", "port", "scheme", "weight", "zone", "state", "health", "draining",
            "since", "reason", "last_check_at", "last_check_ok", "last_check_ms",
            "last_check_reason", "stale", "ejected",
        ]  # fmt: skip
        read_only_fields = fields

    def get_stale(self, instance: Instance) -> bool:
        return instance.is_stale(self.context["now"], self.context["stale_intervals"])

    def get_ejected(self, instance: Instance) -> bool:
        return instance.pk in self.context["ejected"]


class HealthServiceSerializer(serializers.ModelSerializer):
    counts = serializers.SerializerMethodField(help_text="Instances per state, and stale ones.")
    instances = InstanceHealthSerializer(many=True, read_only=True)

    class Meta:
        model = Service
        fields = [
            "id", "slug", "name", "check_type", "check_interval_seconds",
            "check_timeout_seconds", "healthy_threshold", "unhealthy_threshold", "counts",
            "instances",
        ]  # fmt: skip
        read_only_fields = fields

    def get_counts(self, service: Service) -> dict[str, int]:
        counts = dict.fromkeys(("healthy", "unhealthy", "unknown", "draining", "stale"), 0)
        for instance in service.instances.all():
            counts[instance.state] += 1
            now, intervals = self.context["now"], self.context["stale_intervals"]
            counts["stale"] += instance.is_stale(now, intervals)
        return counts


def _health_context(view: Any) -> dict[str, Any]:
    return {
        "now": timezone.now(),
        "stale_intervals": health.stale_intervals(),
        "ejected": {entry.report.instance for entry in health.current_ejections()},
    }


class HealthServiceViewSet(viewsets.ReadOnlyModelViewSet):
    """Every service with its instances: state, since when, why, the last check, stale."""

    serializer_class = HealthServiceSerializer
    permission_classes = [IsOperator]
    lookup_field = "slug"
    search_fields = ["slug", "name"]
    filterset_fields = ["check_type"]
    ordering_fields = ["slug", "name"]

    def get_queryset(self) -> QuerySet[Service]:
        instances = Instance.objects.order_by("host", "port")
        return Service.objects.prefetch_related(Prefetch("instances", queryset=instances))

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), **_health_context(self)}


class HealthMinuteSerializer(serializers.ModelSerializer):
    success_ratio = serializers.FloatField(read_only=True)

    class Meta:
        model = HealthMinute
        fields = ["minute", "checks", "successes", "success_ratio", "p50_ms", "p95_ms", "p99_ms"]
        read_only_fields = fields


class HistoryQuerySerializer(serializers.Serializer):
    minutes = serializers.IntegerField(min_value=1, max_value=7 * 24 * 60, default=60)


class EjectionSerializer(serializers.ModelSerializer):
    instance = serializers.PrimaryKeyRelatedField(read_only=True)
    upstream = serializers.CharField(source="instance.service.slug", read_only=True)

    class Meta:
        model = Ejection
        fields = [
            "id", "instance", "upstream", "gateway", "reason", "ejected_at", "until", "count",
            "restored_at", "verdict", "verdict_reason",
        ]  # fmt: skip
        read_only_fields = fields


class EjectionsView(APIView):
    """Ejections gateways report now (contracts §3), and the recent recorded ones."""

    permission_classes = [IsOperator]

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        current = [
            {**asdict(entry.report), "address": str(entry.instance) if entry.instance else None}
            for entry in health.current_ejections()
        ]
        recent = Ejection.objects.select_related("instance__service")[:100]
        return Response({"current": current, "recent": EjectionSerializer(recent, many=True).data})


class StaleView(APIView):
    """Instances without a check result for STALE_INTERVALS intervals, and each shard's
    last tick: a stopped checker shows here first."""

    permission_classes = [IsOperator]

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        context = _health_context(self)
        stale = health.stale_instances(now=context["now"])
        return Response(
            {
                "stale_intervals": context["stale_intervals"],
                "count": len(stale),
                "instances": [
                    {
                        **InstanceHealthSerializer(row, context=context).data,
                        "service": row.service.slug,
                    }
                    for row in stale[:500]
                ],
                "checkers": health.checker_status(),
            }
        )


class GatewaysView(APIView):
    """Gateway workers (contracts §2) and the configuration revision each one serves."""

    permission_classes = [IsOperator]

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response(
            {
                "summary": asdict(gateways.gateway_summary()),
                "workers": [asdict(worker) for worker in gateways.list_gateways()],
            }
        )
