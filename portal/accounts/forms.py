"""Forms of the account pages; every rule is checked on the server."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm


class SignUpForm(forms.Form):
    email = forms.EmailField(
        max_length=150, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        user_model = get_user_model()
        taken = user_model.objects.filter(username__iexact=email) | user_model.objects.filter(
            email__iexact=email
        )
        if taken.exists():
            raise forms.ValidationError(
                "An account with this email already exists; log in or reset the password."
            )
        return email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first and "email" in cleaned:
            probe = get_user_model()(username=cleaned["email"], email=cleaned["email"])
            try:
                password_validation.validate_password(first, probe)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class LoginForm(AuthenticationForm):
    """Email (or username) and password; an unconfirmed account is told so."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Wrong email or password.",
        "inactive": "Confirm your email first: follow the link we sent you.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email"
        self.fields["username"].widget.attrs["autocomplete"] = "email"

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        return username.lower() if "@" in username else username

    def get_invalid_login_error(self) -> forms.ValidationError:
        # The stock backend refuses inactive users, so authenticate() gives None for a
        # right password on an unconfirmed account: say why, but only after the password matched.
        user = get_user_model().objects.filter(username=self.cleaned_data.get("username")).first()
        if (
            user is not None
            and not user.is_active
            and user.check_password(self.cleaned_data.get("password") or "")
        ):
            return forms.ValidationError(self.error_messages["inactive"], code="inactive")
        return super().get_invalid_login_error()


class ResendConfirmationForm(forms.Form):
    email = forms.EmailField(
        max_length=150, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
