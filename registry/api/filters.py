from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from registry.choices import Health, InstanceState
from registry.models import Instance


class InstanceFilterSet(django_filters.FilterSet):
    service = django_filters.CharFilter(field_name="service__slug", label="Service slug")
    state = django_filters.ChoiceFilter(choices=InstanceState.choices, method="filter_state")

    class Meta:
        model = Instance
        fields = ["service", "health", "draining", "self_registered", "zone", "host"]

    def filter_state(
        self, queryset: QuerySet[Instance], name: str, value: str
    ) -> QuerySet[Instance]:
        # `state` is computed: draining wins over health.
        if value == InstanceState.DRAINING:
            return queryset.filter(draining=True)
        return queryset.filter(draining=False, health=Health(value))
