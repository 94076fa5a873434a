"""The operator dashboard's rows: database state overlaid with the live Redis state.

The health workers write the database and the Redis hash in the same tick; when
the two disagree the newer one wins (a drain lands in the database first, a probe
verdict may land in Redis first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, F, Q

from registry.models import HealthMinute, Instance, Service
from registry.services.health import stale_intervals
from registry.web.sources import LiveHealth

HISTORY = timedelta(minutes=60)
FLAP_WINDOW = timedelta(minutes=10)
# Minutes with both passes and failures, within FLAP_WINDOW, that make an instance "flapping".
FLAP_MIXED_MINUTES = 3


def ago(seconds: float) -> str:
    """A short age for a table cell: "12 s", "5 min", "3 h", "2 d"."""
    seconds = max(seconds, 0.0)
    for limit, unit, size in ((90, "s", 1), (5400, "min", 60), (172800, "h", 3600)):
        if seconds < limit:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds // 86400)} d"


@dataclass
class InstanceRow:
    instance: Instance
    state: str
    since: datetime
    reason: str
    now: datetime
    stale: bool = False
    flapping: bool = False
    ejections: list[Any] = field(default_factory=list)

    @property
    def since_ago(self) -> str:
        return ago((self.now - self.since).total_seconds())

    @property
    def checked_ago(self) -> str | None:
        checked = self.instance.last_check_at
        return None if checked is None else ago((self.now - checked).total_seconds())


@dataclass
class ServiceCard:
    service: Service
    rows: list[InstanceRow]

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.state] = counts.get(row.state, 0) + 1
        return counts


def build_cards(services: list[Service], live: LiveHealth, *, now: datetime) -> list[ServiceCard]:
    """One card per service (instances prefetched by the caller)."""
    ids = [instance.pk for service in services for instance in service.instances.all()]
    flapping = flapping_instances(ids, now=now)
    cards = []
    for service in services:
        rows = [_row(i, live, now=now, flapping=i.pk in flapping) for i in service.instances.all()]
        cards.append(ServiceCard(service=service, rows=rows))
    return cards


def instance_row(instance: Instance, live: LiveHealth, *, now: datetime) -> InstanceRow:
    flapping = instance.pk in flapping_instances([instance.pk], now=now)
    return _row(instance, live, now=now, flapping=flapping)


def flapping_instances(ids: list[int], *, now: datetime) -> set[int]:
    """Instances whose recent minutes mix passes and failures: one grouped query."""
    if not ids:
        return set()
    mixed = Q(successes__gt=0) & Q(successes__lt=F("checks"))
    recent = HealthMinute.objects.filter(instance_id__in=ids, minute__gte=now - FLAP_WINDOW)
    grouped = recent.values("instance_id").annotate(mixed=Count("id", filter=mixed))
    return {row["instance_id"] for row in grouped if row["mixed"] >= FLAP_MIXED_MINUTES}


def _row(instance: Instance, live: LiveHealth, *, now: datetime, flapping: bool) -> InstanceRow:
    state, since, reason = instance.state, instance.state_changed_at, instance.state_reason
    entry = live.states.get(instance.pk)
    if entry and isinstance(entry.get("since"), int | float):
        live_since = datetime.fromtimestamp(entry["since"], UTC)
        if live_since > since:
            state, since, reason = (
                str(entry.get("state")),
                live_since,
                str(entry.get("reason") or ""),
            )
    return InstanceRow(
        instance=instance,
        state=state,
        since=since,
        reason=reason,
        now=now,
        stale=instance.is_stale(now, stale_intervals()),
        flapping=flapping,
        ejections=live.ejections.get(instance.pk, []),
    )


Series = dict[str, list[Any]]


def check_history(service: Service, *, now: datetime) -> dict[str, Series]:
    """Per instance id, the last hour of minutes for Chart.js: labels, success %, p95 ms."""
    ids = [instance.pk for instance in service.instances.all()]
    series: dict[str, Series] = {str(pk): {"t": [], "ok": [], "p95": []} for pk in ids}
    minutes = HealthMinute.objects.filter(instance_id__in=ids, minute__gte=now - HISTORY)
    columns = ("instance_id", "minute", "checks", "successes", "p95_ms")
    for pk, minute, checks, successes, p95 in minutes.order_by("minute").values_list(*columns):
        entry = series[str(pk)]
        entry["t"].append(minute.strftime("%H:%M"))
        entry["ok"].append(round(100 * successes / checks, 1) if checks else None)
        entry["p95"].append(None if p95 is None else round(p95, 1))
    return series
