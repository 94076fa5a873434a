"""Django admin for the consumer side: applications, subscriptions, API keys, OAuth2 clients.

Keys and clients are never added here: their secret must be shown once to the
developer who asked for it, which the REST API does. Admins see them, revoke keys,
delete clients and decide subscriptions, all through the services.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from apis.admin import AuditedAdmin, PortalAdminOnly
from apis.models import ApiKey, Application, OAuthClient, RevokedToken, Subscription
from apis.services import keys, oauth_clients, subscriptions
from portal.services import acting_as


class NoAddAdmin(AuditedAdmin):
    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with acting_as(request.user):
            for obj in queryset:  # one by one, so signals and the audit log see each row
                obj.delete()


def _each(
    admin_: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Any],
    service: Callable[..., Any],
    done: str,
) -> None:
    changed = 0
    for obj in queryset:
        try:
            service(obj, actor=request.user)
            changed += 1
        except ValidationError as exc:
            admin_.message_user(request, f"{obj}: {'; '.join(exc.messages)}", messages.ERROR)
    if changed:
        admin_.message_user(request, f"{changed} {done}", messages.SUCCESS)


@admin.register(Application)
class ApplicationAdmin(AuditedAdmin):
    list_display = ["name", "owner", "created_at"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]


@admin.register(Subscription)
class SubscriptionAdmin(NoAddAdmin):
    list_display = ["application", "api_version", "plan", "status", "created_at", "decided_by"]
    list_filter = ["status"]
    search_fields = ["application__name", "application__owner__username", "api_version__api__slug"]
    list_select_related = ["application", "api_version__api", "plan", "decided_by"]
    readonly_fields = [
        "application",
        "api_version",
        "plan",
        "status",
        "created_at",
        "decided_at",
        "decided_by",
    ]
    actions = ["approve", "reject", "revoke"]

    @admin.action(description="Approve the selected subscriptions")
    def approve(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        _each(self, request, queryset, subscriptions.approve_subscription, "approved")

    @admin.action(description="Reject the selected subscriptions")
    def reject(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        _each(self, request, queryset, subscriptions.reject_subscription, "rejected")

    @admin.action(description="Revoke the selected subscriptions")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        _each(self, request, queryset, subscriptions.revoke_subscription, "revoked")


@admin.register(ApiKey)
class ApiKeyAdmin(NoAddAdmin):
    # key_hash is left out on purpose: it is not secret, but nobody needs to read it.
    fields = readonly_fields = (
        "application",
        "name",
        "prefix",
        "created_at",
        "expires_at",
        "revoked_at",
        "replaced_by",
        "last_used_at",
    )
    list_display = ["prefix", "application", "name", "status", "expires_at", "last_used_at"]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "name", "application__name"]
    list_select_related = ["application"]
    actions = ["revoke"]

    @admin.display(description="status")
    def status(self, key: ApiKey) -> str:
        if key.revoked_at:
            return "revoked"
        return "active" if key.is_usable(timezone.now()) else "expired"

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        _each(self, request, queryset, keys.revoke_api_key, "revoked")


@admin.register(OAuthClient)
class OAuthClientAdmin(NoAddAdmin):
    """Deleting a client here revokes its tokens, as the REST API does."""

    list_display = ["application", "client_id", "grant_type", "created_at"]
    search_fields = ["application__name", "client__client_id"]
    list_select_related = ["application", "client"]
    readonly_fields = ["application", "client", "created_at"]

    @admin.display(description="client id")
    def client_id(self, client: OAuthClient) -> str:
        return client.client.client_id

    @admin.display(description="grant")
    def grant_type(self, client: OAuthClient) -> str:
        return client.client.authorization_grant_type

    def delete_model(self, request: HttpRequest, obj: OAuthClient) -> None:
        oauth_clients.delete_oauth_client(obj, actor=request.user)


@admin.register(RevokedToken)
class RevokedTokenAdmin(PortalAdminOnly, admin.ModelAdmin):
    """The gateways' deny-list, read-only: rows come from revoking tokens."""

    list_display = ["jti", "expires_at", "revoked_at"]
    readonly_fields = ["jti", "expires_at", "revoked_at"]
    search_fields = ["jti"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
