"""Developer-portal forms. The services enforce the rules; these give fields and messages."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from apis.models import ApiVersion, Application, Plan
from apis.services.keys import MAX_GRACE_SECONDS
from apis.services.oauth_clients import GRANT_TYPES

GRACE_CHOICES = [
    (0, "None: the old key stops now"),
    (3600, "1 hour"),
    (24 * 3600, "1 day"),
    (7 * 24 * 3600, "7 days"),
    (MAX_GRACE_SECONDS, "30 days"),
]


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: on the field it names, else at the top."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.message_dict.items():
        target = name if name in form.fields else None
        for message in errors:
            form.add_error(target, message if target else f"{name.replace('_', ' ')}: {message}")


class ApplicationForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError("Give the application a name.")
        return name


class VersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.label)


class PlanChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} (needs approval)" if obj.approval_required else str(obj.name)


class SubscribeForm(forms.Form):
    """Subscribe one of the developer's applications to a version of one API under a plan."""

    application = forms.ModelChoiceField(queryset=Application.objects.none(), empty_label=None)
    version = VersionChoiceField(queryset=ApiVersion.objects.none(), empty_label=None)
    plan = PlanChoiceField(queryset=Plan.objects.none(), empty_label=None)

    def __init__(
        self,
        *args: Any,
        applications: QuerySet[Application],
        versions: QuerySet[ApiVersion],
        plans: QuerySet[Plan],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = cast(dict[str, forms.ModelChoiceField], self.fields)
        choices["application"].queryset = applications
        choices["version"].queryset = versions
        choices["plan"].queryset = plans


class KeyForm(forms.Form):
    name = forms.CharField(
        max_length=100, required=False, help_text="To tell your keys apart, e.g. production."
    )
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires at (UTC, optional)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class RotateKeyForm(forms.Form):
    grace_seconds = forms.TypedChoiceField(
        choices=GRACE_CHOICES,
        coerce=int,
        initial=24 * 3600,
        label="The old key keeps working for",
    )


class OAuthClientForm(forms.Form):
    name = forms.CharField(max_length=100, required=False)
    grant_type = forms.ChoiceField(
        choices=[(value, value.replace("-", " ")) for value in GRANT_TYPES],
        initial="client-credentials",
    )
    redirect_uris = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Authorization code only: one HTTPS URI per line.",
    )
