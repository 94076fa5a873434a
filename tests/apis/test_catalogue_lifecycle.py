"""Version lifecycle: draft -> published -> deprecated (sunset) -> retired, and nothing else."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from apis.choices import Lifecycle
from apis.models import ApiVersion
from apis.services.catalogue import deprecate_version, publish_version, retire_version
from tests.apis.fixtures.catalogue import PETSTORE, make_service, make_version, read

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def ready(alice) -> ApiVersion:
    return make_version(alice, source=read(PETSTORE), upstream_service=make_service(alice))


def state_error(call: callable) -> str:  # type: ignore[valid-type]
    with pytest.raises(ValidationError) as caught:
        call()
    return " ".join(caught.value.message_dict["state"])


@time_machine.travel(NOW, tick=False)
def test_a_version_walks_the_whole_lifecycle(alice, ready) -> None:
    sunset = NOW + dt.timedelta(days=90)

    published = publish_version(ready, actor=alice)
    assert (published.state, published.published_at) == (Lifecycle.PUBLISHED, NOW)
    deprecated = deprecate_version(published, sunset_at=sunset, actor=alice)
    assert (deprecated.state, deprecated.deprecated_at, deprecated.sunset_at) == (
        Lifecycle.DEPRECATED,
        NOW,
        sunset,
    )
    retired = retire_version(deprecated, actor=alice)
    assert (retired.state, retired.retired_at) == (Lifecycle.RETIRED, NOW)


def test_publishing_needs_an_upstream_service(alice) -> None:
    version = make_version(alice, source=read(PETSTORE))

    with pytest.raises(ValidationError) as caught:
        publish_version(version, actor=alice)

    assert "upstream_service" in caught.value.message_dict
    assert ApiVersion.objects.get(pk=version.pk).state == Lifecycle.DRAFT


def test_publishing_needs_at_least_one_route(alice) -> None:
    version = make_version(alice, upstream_service=make_service(alice))

    with pytest.raises(ValidationError) as caught:
        publish_version(version, actor=alice)

    assert "openapi_document" in caught.value.message_dict


def test_it_refuses_transitions_the_lifecycle_does_not_allow(alice, ready) -> None:
    later = timezone.now() + dt.timedelta(days=30)

    assert "cannot become retired" in state_error(lambda: retire_version(ready, actor=alice))
    assert "cannot become deprecated" in state_error(
        lambda: deprecate_version(ready, sunset_at=later, actor=alice)
    )
    publish_version(ready, actor=alice)
    assert "cannot become published" in state_error(lambda: publish_version(ready, actor=alice))
    retire_version(ready, actor=alice)
    message = state_error(lambda: deprecate_version(ready, sunset_at=later, actor=alice))
    assert "retired is final" in message
    assert ApiVersion.objects.get(pk=ready.pk).state == Lifecycle.RETIRED


@time_machine.travel(NOW, tick=False)
def test_deprecation_needs_a_sunset_in_the_future(alice, ready) -> None:
    publish_version(ready, actor=alice)

    for sunset in (None, NOW, NOW - dt.timedelta(days=1)):
        with pytest.raises(ValidationError) as caught:
            deprecate_version(ready, sunset_at=sunset, actor=alice)
        assert "sunset_at" in caught.value.message_dict
    assert ApiVersion.objects.get(pk=ready.pk).state == Lifecycle.PUBLISHED


def test_lifecycle_changes_are_audited_with_the_actor(alice, ready) -> None:
    from auditlog.models import LogEntry

    publish_version(ready, actor=alice)

    entry = LogEntry.objects.get_for_object(ready).order_by("-timestamp").first()
    assert entry.actor == alice
    assert entry.changes_dict["state"] == ["draft", "published"]
