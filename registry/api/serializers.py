"""Shapes of the registry's REST API. Row rules live in the models' clean(), run by the services."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from registry.models import SERVICE_SETTINGS, Instance, Service

# What identifies and weighs an instance; both instance serializers show it.
_ADDRESS_FIELDS = ("id", "service", "host", "port", "scheme", "weight", "zone", "tags", "metadata")
_STATE_FIELDS = ("state", "health", "draining", "state_changed_at", "state_reason")
# The latest probe result (registry/health/), shown to operators.
_CHECK_FIELDS = ("last_check_at", "last_check_ok", "last_check_ms", "last_check_reason")


class ServiceSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.all(),
        required=False,
        allow_null=True,
    )
    has_registration_token = serializers.SerializerMethodField()
    instance_count = serializers.SerializerMethodField()

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "owner",
            *SERVICE_SETTINGS,
            "has_registration_token",
            "registration_token_prefix",
            "instance_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["registration_token_prefix", "created_at", "updated_at"]

    def get_has_registration_token(self, service: Service) -> bool:
        return bool(service.registration_token_hash)

    def get_instance_count(self, service: Service) -> int:
        # Lists annotate the count; a freshly created or updated row is counted here.
        annotated: int | None = getattr(service, "instance_count", None)
        return annotated if annotated is not None else service.instances.count()


class InstanceSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    state = serializers.CharField(read_only=True)

    class Meta:
        model = Instance
        fields = [
            *_ADDRESS_FIELDS,
            *_STATE_FIELDS,
            *_CHECK_FIELDS,
            "self_registered",
            "last_heartbeat_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            *_STATE_FIELDS,
            *_CHECK_FIELDS,
            "self_registered",
            "last_heartbeat_at",
            "created_at",
            "updated_at",
        ]
        # The address check runs in the service function, which answers 409 with a clear message.
        validators: list[Any] = []

    def validate_service(self, service: Service) -> Service:
        if self.instance is not None and service != self.instance.service:
            raise serializers.ValidationError(
                "an instance cannot move to another service; register a new one"
            )
        return service


class StateReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class RegistrationTokenSerializer(serializers.Serializer):
    service = serializers.SlugField(read_only=True)
    token = serializers.CharField(
        read_only=True, help_text="Shown once; only its SHA-256 digest is stored."
    )
    prefix = serializers.CharField(read_only=True)


class SelfRegistrationSerializer(serializers.Serializer):
    """What an instance says about itself. On a refresh, omitted fields keep their values."""

    host = serializers.CharField(max_length=255)
    port = serializers.IntegerField(min_value=1, max_value=65535)
    scheme = serializers.ChoiceField(
        choices=Instance._meta.get_field("scheme").choices, required=False
    )
    weight = serializers.IntegerField(min_value=1, max_value=10000, required=False)
    zone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    metadata = serializers.DictField(required=False)


class SelfRegisteredInstanceSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    state = serializers.CharField(read_only=True)
    heartbeat_ttl_seconds = serializers.IntegerField(
        source="service.heartbeat_ttl_seconds", read_only=True
    )
    deregister_after_seconds = serializers.IntegerField(
        source="service.deregister_after_seconds", read_only=True
    )

    class Meta:
        model = Instance
        fields = [
            *_ADDRESS_FIELDS,
            *_STATE_FIELDS,
            "last_heartbeat_at",
            "heartbeat_ttl_seconds",
            "deregister_after_seconds",
        ]
        read_only_fields = fields
