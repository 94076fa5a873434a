"""Django admin for the apis app. Only portal admins see any of it.

Catalogue classes first; the consumer side (applications, subscriptions, keys,
OAuth2 clients) appends its own classes below, each using `PortalAdminOnly`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from apis.models import Api, ApiVersion, Plan, Route
from apis.services import catalogue
from apis.services.catalogue import VERSION_SETTINGS
from apis.services.openapi import OpenApiError, ParsedOpenApi, parse_openapi
from apis.services.plans import LIMITS, PLAN_FIELDS, check_limits
from portal.services import acting_as


class PortalAdminOnly:
    """Every permission of the admin page follows the portal role, not Django's permission table."""

    def _allowed(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "is_portal_admin", False))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)


class AuditedAdmin(PortalAdminOnly, admin.ModelAdmin):
    """Saves and deletes run in `acting_as`, so the audit log names the admin."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with acting_as(request.user):
            super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with acting_as(request.user):
            super().delete_model(request, obj)


@admin.register(Api)
class ApiAdmin(AuditedAdmin):
    list_display = ["name", "slug", "owner", "updated_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}


class RouteInline(PortalAdminOnly, admin.TabularInline):
    """Method and path come from the document: routes are edited here, never added."""

    model = Route
    extra = 0
    can_delete = False
    fields = [
        "method",
        "path_template",
        "operation_id",
        "auth_mode",
        "scopes",
        "timeout_ms",
        "enabled",
    ]
    readonly_fields = ["method", "path_template", "operation_id"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False


class ApiVersionForm(forms.ModelForm):
    openapi_upload = forms.FileField(
        required=False,
        label="OpenAPI document",
        help_text="JSON or YAML, OpenAPI 3.0 or 3.1; replaces the current one",
    )

    class Meta:
        model = ApiVersion
        fields = ["api", *VERSION_SETTINGS]

    def clean_openapi_upload(self) -> ParsedOpenApi | None:
        upload = self.cleaned_data.get("openapi_upload")
        if not upload:
            return None
        try:
            return parse_openapi(upload.read())
        except OpenApiError as exc:
            lines = [
                f"{p.path}{f' (line {p.line})' if p.line else ''}: {p.message}"
                for p in exc.problems
            ]
            raise ValidationError(lines) from None


@admin.register(ApiVersion)
class ApiVersionAdmin(AuditedAdmin):
    form = ApiVersionForm
    list_display = ["api", "label", "base_path", "host", "state", "sunset_at", "upstream_service"]
    list_filter = ["state", "auth_mode"]
    search_fields = ["api__name", "api__slug", "label", "base_path"]
    readonly_fields = [
        "state",
        "sunset_at",
        "published_at",
        "deprecated_at",
        "retired_at",
        "openapi_version",
    ]
    inlines = [RouteInline]
    actions = ["publish", "retire"]

    def save_model(self, request: HttpRequest, obj: ApiVersion, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        parsed = form.cleaned_data.get("openapi_upload")
        if parsed is None:
            return
        try:
            catalogue.import_openapi(obj, parsed, actor=request.user)
        except (OpenApiError, ValidationError) as exc:
            self.message_user(request, f"the document was not imported: {exc}", messages.ERROR)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        with acting_as(request.user):
            super().save_formset(request, form, formset, change)

    @admin.action(description="Publish the selected versions")
    def publish(self, request: HttpRequest, queryset: QuerySet[ApiVersion]) -> None:
        self._each(request, queryset, catalogue.publish_version, "published")

    @admin.action(description="Retire the selected versions")
    def retire(self, request: HttpRequest, queryset: QuerySet[ApiVersion]) -> None:
        self._each(request, queryset, catalogue.retire_version, "retired")

    def _each(
        self, request: HttpRequest, queryset: QuerySet[ApiVersion], service: Any, done: str
    ) -> None:
        for version in queryset:
            try:
                service(version, actor=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{version}: {'; '.join(exc.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"{version}: {done}", messages.SUCCESS)


@admin.register(Route)
class RouteAdmin(AuditedAdmin):
    list_display = ["method", "path_template", "version", "auth_mode", "enabled"]
    list_filter = ["enabled", "auth_mode", "method"]
    search_fields = ["path_template", "operation_id", "version__api__slug"]
    readonly_fields = ["version", "method", "path_template", "operation_id", "summary"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False


class PlanForm(forms.ModelForm):
    class Meta:
        model = Plan
        fields = ["api", *PLAN_FIELDS]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        limits = {name: cleaned.get(name) for name in (*LIMITS, "burst")}
        check_limits(Plan(**limits))  # its errors name the fields, which the form shows there
        return cleaned


@admin.register(Plan)
class PlanAdmin(AuditedAdmin):
    form = PlanForm
    list_display = [
        "api",
        "name",
        "slug",
        "requests_per_second",
        "requests_per_minute",
        "is_active",
    ]
    list_filter = ["is_active", "approval_required"]
    search_fields = ["name", "slug", "api__slug"]
    prepopulated_fields = {"slug": ("name",)}


# The consumer side registers its own classes (applications, subscriptions, keys, clients).
from apis import admin_consumers  # noqa: E402, F401
