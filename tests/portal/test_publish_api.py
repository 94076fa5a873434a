from __future__ import annotations

from typing import Any

import pytest
import redis as redis_lib

from gateway_runtime.contract.validate import validate_snapshot
from portal.local_redis import free_port
from portal.models import ConfigRevision
from portal.publishing import store
from portal.publishing.services import publish_revision
from tests.contract.rows import Rows, build_rows

pytestmark = pytest.mark.django_db
LIST = "/api/v1/revisions/"


@pytest.fixture(autouse=True)
def _publishing(settings: Any, redis_client: redis_lib.Redis) -> None:
    settings.MESHGATE_PUBLISH = {**settings.MESHGATE_PUBLISH, "VALIDATE": True}


@pytest.fixture
def rows(bob: Any, carol: Any) -> Rows:
    return build_rows(bob, carol)


def test_admins_publish_and_see_who_did_it(rows: Rows, alice: Any, client_for: Any) -> None:
    response = client_for(alice).post(f"{LIST}publish/", {"reason": "go live"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["created_by"] == "alice" and response.json()["reason"] == "go live"
    again = client_for(alice).post(f"{LIST}publish/", {}, format="json")
    assert (
        again.status_code == 200
        and again.json()["detail"] == "nothing changed since the current revision"
    )
    forced = client_for(alice).post(f"{LIST}publish/", {"force": True}, format="json")
    assert forced.status_code == 201 and ConfigRevision.objects.count() == 2


def test_the_list_shows_metadata_to_operators(rows: Rows, oscar: Any, client_for: Any) -> None:
    revision = publish_revision(reason="seed")
    response = client_for(oscar).get(LIST)
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "revision": revision.revision,
            "checksum": revision.checksum,
            "created_at": response.json()["results"][0]["created_at"],
            "created_by": None,
            "reason": "seed",
            "size": revision.size_bytes,
            "rolled_back_from": None,
        }
    ]


def test_the_detail_includes_the_snapshot_for_admins(
    rows: Rows, alice: Any, client_for: Any
) -> None:
    revision = publish_revision()
    body = client_for(alice).get(f"{LIST}{revision.revision}/").json()
    assert body["snapshot"]["revision"] == revision.revision
    assert validate_snapshot(body["snapshot"]) == []


def test_the_detail_of_a_trimmed_revision_has_no_snapshot(
    rows: Rows, alice: Any, client_for: Any
) -> None:
    first = publish_revision(force=True)
    for _ in range(20):
        publish_revision(force=True)
    body = client_for(alice).get(f"{LIST}{first.revision}/").json()
    assert body["revision"] == first.revision and body["snapshot"] is None


def test_admins_roll_back(rows: Rows, alice: Any, client_for: Any) -> None:
    old = publish_revision()
    rows.gold.burst = 99
    rows.gold.save()
    publish_revision()
    response = client_for(alice).post(f"{LIST}{old.revision}/rollback/")
    assert response.status_code == 201
    assert (
        response.json()["rolled_back_from"] == old.revision
        and response.json()["created_by"] == "alice"
    )
    assert store.current_checksum() == old.checksum


def test_rolling_back_to_a_trimmed_revision_is_a_400_naming_it(
    rows: Rows, alice: Any, client_for: Any
) -> None:
    first = publish_revision(force=True)
    for _ in range(20):
        publish_revision(force=True)
    response = client_for(alice).post(f"{LIST}{first.revision}/rollback/")
    assert response.status_code == 400
    assert response.json() == {
        "revision": [f"revision {first.revision} is no longer kept (only the last 20 are)"]
    }
    assert client_for(alice).post(f"{LIST}999999/rollback/").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", LIST),
        ("get", f"{LIST}1/"),
        ("post", f"{LIST}publish/"),
        ("post", f"{LIST}1/rollback/"),
    ],
)
def test_developers_get_403_everywhere(
    rows: Rows, bob: Any, client_for: Any, method: str, path: str
) -> None:
    assert getattr(client_for(bob), method)(path).status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", f"{LIST}1/"), ("post", f"{LIST}publish/"), ("post", f"{LIST}1/rollback/")],
)
def test_operators_may_only_read_the_list(
    rows: Rows, oscar: Any, client_for: Any, method: str, path: str
) -> None:
    assert getattr(client_for(oscar), method)(path).status_code == 403


def test_a_redis_outage_is_a_503_not_a_traceback(
    rows: Rows, alice: Any, client_for: Any, settings: Any
) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client_for(alice).post(f"{LIST}publish/", {}, format="json")
    assert response.status_code == 503
    assert "Redis" in response.json()["detail"] and ConfigRevision.objects.count() == 0
