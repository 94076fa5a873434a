"""The home page points each role at its part of the portal."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_offered_the_catalogue_and_sign_up(web_client: Any) -> None:
    page = web_client().get("/").content.decode()
    assert 'href="/catalogue/"' in page and 'href="/accounts/signup/"' in page
    assert 'href="/console/' not in page


def test_a_developer_sees_their_applications_and_no_console(web_client: Any, bob: Any) -> None:
    page = web_client(bob).get("/").content.decode()
    assert 'href="/apps/"' in page and "Log out" in page
    assert "Console" not in page and "/admin/" not in page


def test_an_admin_sees_the_console_and_operator_links(web_client: Any, alice: Any) -> None:
    page = web_client(alice).get("/").content.decode()
    assert 'href="/console/apis/"' in page and 'href="/operator/"' in page
    assert 'href="/console/approvals/"' in page  # in the menu


def test_an_operator_sees_operator_links_only(web_client: Any, oscar: Any) -> None:
    page = web_client(oscar).get("/").content.decode()
    assert 'href="/operator/"' in page and 'href="/operator/gateways/"' in page
    assert "/console/" not in page


def test_the_menu_marks_the_current_section(web_client: Any, bob: Any) -> None:
    client = web_client(bob)
    assert (
        '<a href="/apps/" aria-current="page">My applications</a>'
        in client.get("/apps/").content.decode()
    )
    catalogue = client.get("/catalogue/").content.decode()
    assert '<a href="/catalogue/" aria-current="page">APIs</a>' in catalogue
    assert '<a href="/apps/">My applications</a>' in catalogue
