"""Forms of the admin console. They check shape; the catalogue services check the rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone

from apis.choices import AuthMode, RedisDownPolicy, RouteAuth
from apis.services.openapi import MAX_DOCUMENT_BYTES
from registry.models import Service


class ApiForm(forms.Form):
    name = forms.CharField(max_length=100)
    slug = forms.SlugField(max_length=100, help_text="Letters, digits, - and _; used in URLs")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class VersionForm(forms.Form):
    label = forms.CharField(max_length=40, help_text="For example v1")
    base_path = forms.CharField(
        max_length=200, help_text="Mount point on the gateway: /petstore/v1"
    )
    host = forms.CharField(max_length=255, required=False, help_text="Empty matches any Host")
    upstream_service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("slug"), required=False, empty_label="(none yet)"
    )
    auth_mode = forms.ChoiceField(choices=AuthMode.choices, initial=AuthMode.KEY)
    upstream_path = forms.CharField(max_length=200, initial="/")


class OpenApiUploadForm(forms.Form):
    document = forms.FileField(required=False, help_text="OpenAPI 3.0 or 3.1, JSON or YAML")
    text = forms.CharField(
        required=False,
        label="…or paste it",
        help_text="Up to 2 MB pasted; upload larger documents (up to 20 MB) as a file",
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload, text = data.get("document"), data.get("text")
        if not upload and not text:
            raise forms.ValidationError("choose a file or paste the document")
        if upload and upload.size > MAX_DOCUMENT_BYTES:
            self.add_error("document", f"larger than {MAX_DOCUMENT_BYTES // 2**20} MiB")
        return data

    def source(self) -> bytes | str:
        upload = self.cleaned_data.get("document")
        return upload.read() if upload else self.cleaned_data["text"]


class DeprecateForm(forms.Form):
    sunset_at = forms.DateTimeField(
        label="Sunset date (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text="After this date clients should have moved on; it is sent in the Sunset header",
    )

    def clean_sunset_at(self) -> datetime:
        value: datetime = self.cleaned_data["sunset_at"]
        if value <= timezone.now():
            raise forms.ValidationError("must be in the future")
        return value


class PlanForm(forms.Form):
    name = forms.CharField(max_length=100)
    slug = forms.SlugField(max_length=100)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    requests_per_second = forms.IntegerField(required=False, min_value=1)
    requests_per_minute = forms.IntegerField(required=False, min_value=1)
    quota_per_day = forms.IntegerField(required=False, min_value=1)
    quota_per_month = forms.IntegerField(required=False, min_value=1)
    burst = forms.IntegerField(required=False, min_value=1)
    approval_required = forms.BooleanField(required=False)
    redis_down_policy = forms.ChoiceField(choices=RedisDownPolicy.choices)
    is_active = forms.BooleanField(required=False, initial=True, label="Offered")


class RouteForm(forms.Form):
    """A route's overrides; method and path come from the OpenAPI document."""

    auth_mode = forms.ChoiceField(choices=RouteAuth.choices, required=False, label="Authentication")
    scopes = forms.CharField(
        required=False, help_text="OAuth2 scopes a token must carry, separated by spaces or commas"
    )
    timeout_ms = forms.IntegerField(
        required=False, min_value=1, label="Timeout (ms)", help_text="Empty: the version's"
    )
    max_body_bytes = forms.IntegerField(
        required=False, min_value=0, label="Body limit (bytes)", help_text="Empty: the version's"
    )
    enabled = forms.BooleanField(required=False, help_text="A disabled route answers 404")

    def clean_scopes(self) -> list[str]:
        raw: str = self.cleaned_data.get("scopes") or ""
        return [scope for scope in raw.replace(",", " ").split() if scope]


class RevisionDiffForm(forms.Form):
    a = forms.IntegerField(min_value=1, label="From revision")
    b = forms.IntegerField(min_value=1, label="To revision")
