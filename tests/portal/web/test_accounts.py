"""Sign up with email confirmation, log in / out, password reset: through the pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from portal.choices import Role
from tests.portal.web.conftest import csrf_post

pytestmark = pytest.mark.django_db

PASSWORD = "plum-orchard-47"  # noqa: S105 - a test account


def _sign_up(client: Client, email: str = "dana@example.test", **extra: str) -> Any:
    data = {"email": email, "password1": PASSWORD, "password2": PASSWORD, **extra}
    return csrf_post(client, "/accounts/signup/", data)


def _link(message: Any) -> str:
    match = re.search(r"https?://[^/\s]+(/\S+)", message.body)
    assert match, message.body
    return match.group(1)


def test_it_creates_an_inactive_developer_and_mails_a_confirmation_link(web_client: Any) -> None:
    response = _sign_up(web_client(), email="Dana@Example.test")
    assert response.status_code == 200
    assert "Check your email" in response.content.decode()
    user = get_user_model().objects.get(email="dana@example.test")
    assert (user.is_active, user.role, user.username) == (
        False,
        Role.DEVELOPER,
        "dana@example.test",
    )
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dana@example.test"]
    assert "/accounts/confirm/" in mail.outbox[0].body


def test_the_confirmation_link_activates_logs_in_and_works_once(web_client: Any) -> None:
    client = web_client()
    _sign_up(client)
    link = _link(mail.outbox[0])
    response = client.get(link)
    assert response.status_code == 302 and response["Location"] == "/apps/"
    assert get_user_model().objects.get(email="dana@example.test").is_active
    assert client.get("/apps/").status_code == 200
    again = web_client().get(link)
    assert again.status_code == 400
    assert "not valid" in again.content.decode()


def test_a_forged_confirmation_link_is_refused(web_client: Any) -> None:
    _sign_up(web_client())
    assert web_client().get("/accounts/confirm/MQ/abc-def/").status_code == 400
    assert web_client().get("/accounts/confirm/!!!/abc/").status_code == 400
    assert not get_user_model().objects.get(email="dana@example.test").is_active


def test_an_unconfirmed_account_is_told_to_confirm_on_login(web_client: Any) -> None:
    client = web_client()
    _sign_up(client)
    response = csrf_post(
        client, "/accounts/login/", {"username": "dana@example.test", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert "Confirm your email first" in response.content.decode()
    wrong = csrf_post(
        client, "/accounts/login/", {"username": "dana@example.test", "password": "nope"}
    )
    assert "Wrong email or password" in wrong.content.decode()
    assert "Confirm your email" not in wrong.content.decode()


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({"email": "not-an-email"}, "Enter a valid email address"),
        ({"password2": "something-else-12"}, "The two passwords differ"),
        ({"password1": "12345678", "password2": "12345678"}, "This password is too common"),
        ({"email": "bob@example.test"}, "An account with this email already exists"),
    ],
)
def test_sign_up_errors_name_the_problem(
    web_client: Any, bob: Any, data: dict[str, str], field_message: str
) -> None:
    response = _sign_up(web_client(), **data)
    assert response.status_code == 200
    assert field_message in response.content.decode()
    assert mail.outbox == []


def test_login_by_email_lands_on_the_role_home_and_logout_needs_post(
    web_client: Any, bob: Any
) -> None:
    client = web_client()
    response = csrf_post(
        client, "/accounts/login/", {"username": "bob", "password": "correct-horse-9"}
    )
    assert response.status_code == 302 and response["Location"] == "/apps/"
    assert client.get("/accounts/logout/").status_code == 405
    out = csrf_post(client, "/accounts/logout/")
    assert out.status_code == 302
    assert client.get("/apps/")["Location"].startswith("/accounts/login/")


def test_a_post_without_csrf_token_is_refused(web_client: Any) -> None:
    response = web_client().post("/accounts/signup/", {"email": "x@example.test"})
    assert response.status_code == 403


def test_password_reset_from_email_to_new_login(web_client: Any, bob: Any) -> None:
    client = web_client()
    sent = csrf_post(client, "/accounts/password-reset/", {"email": "bob@example.test"})
    assert sent.status_code == 302 and sent["Location"] == "/accounts/password-reset/sent/"
    assert len(mail.outbox) == 1
    link = _link(mail.outbox[0])
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    new_password = "quince-harbour-83"  # noqa: S105
    done = csrf_post(
        client,
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert done.status_code == 302 and done["Location"] == "/accounts/password-reset/done/"
    bob.refresh_from_db()
    assert bob.check_password(new_password)


def test_password_reset_for_an_unknown_email_sends_nothing_and_says_the_same(
    web_client: Any,
) -> None:
    response = csrf_post(
        web_client(), "/accounts/password-reset/", {"email": "nobody@example.test"}
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_a_lost_confirmation_can_be_sent_again_without_revealing_accounts(
    web_client: Any, bob: Any
) -> None:
    client = web_client()
    _sign_up(client)
    mail.outbox.clear()
    response = csrf_post(client, "/accounts/confirm/resend/", {"email": "DANA@example.test"})
    assert "Check your email" in response.content.decode()
    assert len(mail.outbox) == 1 and "/accounts/confirm/" in mail.outbox[0].body
    for email in ("bob@example.test", "nobody@example.test"):  # active, unknown: same answer
        response = csrf_post(client, "/accounts/confirm/resend/", {"email": email})
        assert "Check your email" in response.content.decode()
    assert len(mail.outbox) == 1
    assert client.get(_link(mail.outbox[0])).status_code == 302


@pytest.mark.parametrize(
    ("persona", "landing"),
    [("alice", "/console/apis/"), ("oscar", "/operator/"), ("bob", "/apps/")],
)
def test_each_role_lands_on_its_own_home_after_login(
    request: Any, web_client: Any, persona: str, landing: str
) -> None:
    request.getfixturevalue(persona)
    data = {"username": persona, "password": "correct-horse-9"}
    response = csrf_post(web_client(), "/accounts/login/", data)
    assert response.status_code == 302 and response["Location"] == landing


def test_login_honours_a_local_next_but_not_another_site(web_client: Any, bob: Any) -> None:
    data = {"username": "bob", "password": "correct-horse-9"}
    local = csrf_post(
        web_client(), "/accounts/login/?next=/catalogue/", {**data, "next": "/catalogue/"}
    )
    assert local["Location"] == "/catalogue/"
    evil = csrf_post(web_client(), "/accounts/login/", {**data, "next": "https://evil.example/"})
    assert evil["Location"] == "/apps/"


def test_sign_up_cannot_choose_a_role(web_client: Any) -> None:
    _sign_up(web_client(), role="admin", is_staff="on", is_superuser="on")
    user = get_user_model().objects.get(email="dana@example.test")
    assert (user.role, user.is_staff, user.is_superuser) == (Role.DEVELOPER, False, False)
