"""The one-use token in an email-confirmation link."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.tokens import PasswordResetTokenGenerator


class EmailConfirmationTokenGenerator(PasswordResetTokenGenerator):
    """Like the password-reset token, but it also hashes `is_active`.

    So a confirmation link stops working once the account is active: Django's reset
    token alone would stay valid until its timeout.
    """

    key_salt = "meshgate.accounts.EmailConfirmationTokenGenerator"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        return f"{super()._make_hash_value(user, timestamp)}{user.is_active}"


confirmation_token = EmailConfirmationTokenGenerator()
