"""Accounts: developer sign-up and email confirmation."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from portal.accounts.tokens import confirmation_token
from portal.choices import Role
from portal.services import acting_as


def sign_up(*, email: str, password: str, request: HttpRequest) -> Any:
    """An inactive developer account named by its email; a confirmation link is mailed.

    The username is the email, so the stock authentication backend logs people in by email.
    """
    user_model = get_user_model()
    with acting_as(None):
        user = user_model.objects.create_user(
            username=email, email=email, password=password, role=Role.DEVELOPER, is_active=False
        )
    send_confirmation(user, request=request)
    return user


def send_confirmation(user: Any, *, request: HttpRequest) -> None:
    """Mail `user` the link that activates the account."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("accounts:confirm", args=[uid, confirmation_token.make_token(user)])
    context = {"user": user, "link": request.build_absolute_uri(path)}
    send_mail(
        subject="Confirm your MeshGate account",
        message=render_to_string("accounts/confirm_email.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )


def resend_confirmation(email: str, *, request: HttpRequest) -> None:
    """Mail a new link if an unconfirmed account uses `email`; silently nothing otherwise."""
    user = get_user_model().objects.filter(email__iexact=email, is_active=False).first()
    if user is not None and user.has_usable_password():
        send_confirmation(user, request=request)


def confirm_email(uidb64: str, token: str) -> Any | None:
    """Activate the account the link names; None when the link is wrong, used or expired."""
    user = _user_from_uid(uidb64)
    if user is None or not confirmation_token.check_token(user, token):
        return None
    with acting_as(user):
        user.is_active = True
        user.save(update_fields=["is_active"])
    return user


def _user_from_uid(uidb64: str) -> Any | None:
    user_model = get_user_model()
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None
    return user_model.objects.filter(pk=pk).first()
