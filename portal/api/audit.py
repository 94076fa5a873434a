"""The audit log over REST, for admins: who changed what, when, before -> after."""

from __future__ import annotations

from typing import Any

import django_filters
from auditlog.models import LogEntry
from django.db.models import Q, QuerySet
from rest_framework import serializers, viewsets

from portal.api.permissions import IsPortalAdmin

ACTIONS = {code: str(label) for code, label in LogEntry.Action.choices}
ACTION_CODES = {label: code for code, label in ACTIONS.items()}


class LogEntrySerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField(
        help_text="Username, or the agent (e.g. service:<slug>)."
    )
    action = serializers.SerializerMethodField()
    object_type = serializers.SerializerMethodField(
        help_text="app_label.model, e.g. registry.instance"
    )
    object_id = serializers.CharField(source="object_pk")
    changes = serializers.SerializerMethodField(help_text="{field: {before, after}}")

    class Meta:
        model = LogEntry
        fields = [
            "id",
            "timestamp",
            "actor",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "remote_addr",
        ]

    def get_actor(self, entry: LogEntry) -> str | None:
        return entry.actor.get_username() if entry.actor else entry.actor_email

    def get_action(self, entry: LogEntry) -> str:
        return ACTIONS.get(entry.action, str(entry.action))

    def get_object_type(self, entry: LogEntry) -> str:
        return f"{entry.content_type.app_label}.{entry.content_type.model}"

    def get_changes(self, entry: LogEntry) -> dict[str, dict[str, Any]]:
        return {
            field: {"before": values[0], "after": values[1]}
            for field, values in entry.changes_dict.items()
        }


class LogEntryFilterSet(django_filters.FilterSet):
    object_type = django_filters.CharFilter(method="filter_object_type", label="app_label.model")
    object_id = django_filters.CharFilter(field_name="object_pk")
    actor = django_filters.CharFilter(method="filter_actor", label="Username or agent")
    action = django_filters.ChoiceFilter(
        choices=[(label, label) for label in ACTION_CODES], method="filter_action"
    )
    since = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(
        field_name="timestamp", lookup_expr="lt", label="Before (exclusive)"
    )

    class Meta:
        model = LogEntry
        fields: list[str] = []

    def filter_object_type(
        self, queryset: QuerySet[LogEntry], name: str, value: str
    ) -> QuerySet[LogEntry]:
        app_label, _, model = value.lower().partition(".")
        return queryset.filter(content_type__app_label=app_label, content_type__model=model)

    def filter_actor(
        self, queryset: QuerySet[LogEntry], name: str, value: str
    ) -> QuerySet[LogEntry]:
        return queryset.filter(Q(actor__username=value) | Q(actor__isnull=True, actor_email=value))

    def filter_action(
        self, queryset: QuerySet[LogEntry], name: str, value: str
    ) -> QuerySet[LogEntry]:
        return queryset.filter(action=ACTION_CODES[value])


class AuditLogViewSet(viewsets.ReadOnlyModelViewSet):
    """Every recorded change to the catalogue, consumers and registry, newest first."""

    serializer_class = LogEntrySerializer
    permission_classes = [IsPortalAdmin]
    filterset_class = LogEntryFilterSet
    search_fields = ["object_repr"]
    ordering_fields = ["timestamp"]
    ordering = ["-timestamp", "-id"]

    def get_queryset(self) -> QuerySet[LogEntry]:
        return LogEntry.objects.select_related("actor", "content_type").order_by(
            "-timestamp", "-id"
        )
