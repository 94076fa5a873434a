"""Django admin for the registry: operators and admins only; writes go through the services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from portal.services import acting_as
from registry.models import Instance, Service
from registry.services import instances, services

if TYPE_CHECKING:
    from portal.models import User

_STATE_FIELDS = (
    "state",
    "health",
    "draining",
    "state_changed_at",
    "state_reason",
    "self_registered",
    "last_heartbeat_at",
    # Written only by the health workers.
    "last_check_at",
    "last_check_ok",
    "last_check_ms",
    "last_check_reason",
    "check_streak",
)


def _actor(request: HttpRequest) -> User:
    # The admin serves only signed-in staff, so the user is never anonymous here.
    return cast("User", request.user)


class OperatorOnlyAdmin(admin.ModelAdmin):
    """Django's per-model permissions are not used: the portal role decides."""

    def _allowed(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and getattr(user, "is_operator", False))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)


def _changes(obj: Any, changed: list[str], editable: frozenset[str]) -> dict[str, Any]:
    # Save only what the form changed, so a stale form never writes back an old health value.
    return {name: getattr(obj, name) for name in changed if name in editable}


class InstanceInline(admin.TabularInline):
    model = Instance
    extra = 0
    fields = (
        "host",
        "port",
        "scheme",
        "weight",
        "zone",
        "state",
        "state_reason",
        "self_registered",
    )
    readonly_fields = ("state", "state_reason", "self_registered")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(getattr(request.user, "is_operator", False))

    has_change_permission = has_add_permission
    has_delete_permission = has_add_permission
    has_view_permission = has_add_permission


@admin.register(Service)
class ServiceAdmin(OperatorOnlyAdmin):
    list_display = ("slug", "name", "check_type", "lb_algorithm", "owner", "updated_at")
    search_fields = ("slug", "name")
    prepopulated_fields = {"slug": ("name",)}
    exclude = ("registration_token_hash",)
    readonly_fields = ("registration_token_prefix", "created_at", "updated_at")
    inlines = [InstanceInline]

    def save_model(self, request: HttpRequest, obj: Service, form: ModelForm, change: bool) -> None:
        if change:
            services.update_service(
                obj,
                actor=_actor(request),
                **_changes(obj, form.changed_data, services.EDITABLE_FIELDS),
            )
            return
        obj.owner = obj.owner or _actor(request)
        with acting_as(_actor(request)):
            obj.save()

    def delete_model(self, request: HttpRequest, obj: Service) -> None:
        services.delete_service(obj, actor=_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        for service in queryset:
            services.delete_service(service, actor=_actor(request))

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        formset.save(commit=False)
        for obj in formset.deleted_objects:
            instances.remove_instance(obj, actor=_actor(request))
        for obj, changed in formset.changed_objects:
            instances.update_instance(
                obj, actor=_actor(request), **_changes(obj, changed, instances.EDITABLE_FIELDS)
            )
        for obj in formset.new_objects:
            with acting_as(_actor(request)):
                obj.save()


@admin.register(Instance)
class InstanceAdmin(OperatorOnlyAdmin):
    list_display = (
        "__str__",
        "service",
        "weight",
        "zone",
        "state",
        "state_changed_at",
        "self_registered",
    )
    list_filter = ("service", "health", "draining", "self_registered")
    search_fields = ("host", "service__slug")
    readonly_fields = (*_STATE_FIELDS, "created_at", "updated_at")
    actions = ["drain", "undrain"]

    def save_model(
        self, request: HttpRequest, obj: Instance, form: ModelForm, change: bool
    ) -> None:
        if change:
            instances.update_instance(
                obj,
                actor=_actor(request),
                **_changes(obj, form.changed_data, instances.EDITABLE_FIELDS),
            )
            return
        with acting_as(_actor(request)):
            obj.save()

    def delete_model(self, request: HttpRequest, obj: Instance) -> None:
        instances.remove_instance(obj, actor=_actor(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
        for instance in queryset:
            instances.remove_instance(instance, actor=_actor(request))

    @admin.action(description="Drain the selected instances")
    def drain(self, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
        for instance in queryset:
            instances.drain_instance(instance, actor=_actor(request))
        self.message_user(request, f"Drained {queryset.count()} instance(s).", messages.SUCCESS)

    @admin.action(description="Undrain the selected instances")
    def undrain(self, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
        for instance in queryset:
            instances.undrain_instance(instance, actor=_actor(request))
        self.message_user(request, f"Undrained {queryset.count()} instance(s).", messages.SUCCESS)
