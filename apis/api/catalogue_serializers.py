"""Serializers of the catalogue REST API. Rules live in the services; these only shape data.

Model-level uniqueness validators are switched off (`validators = []`): the services
run full_clean(), which checks the same constraints and names the field.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apis.models import VERSION_PROXY_SETTINGS, Api, ApiVersion, Plan, Route
from registry.models import Service


class ApiSerializer(serializers.ModelSerializer[Api]):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Api
        fields = ["id", "name", "slug", "description", "owner", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators: list[Any] = []
        extra_kwargs: dict[str, Any] = {"slug": {"validators": []}}


class ApiVersionSerializer(serializers.ModelSerializer[ApiVersion]):
    api = serializers.SlugRelatedField(slug_field="slug", queryset=Api.objects.all())
    upstream_service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), required=False, allow_null=True
    )
    route_count = serializers.IntegerField(read_only=True, source="routes.count")

    class Meta:
        model = ApiVersion
        fields = [
            "id",
            "api",
            "label",
            "base_path",
            "host",
            "state",
            "sunset_at",
            "published_at",
            "deprecated_at",
            "retired_at",
            "upstream_service",
            *VERSION_PROXY_SETTINGS,
            "openapi_version",
            "openapi_format",
            "route_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "state",
            "sunset_at",
            "published_at",
            "deprecated_at",
            "retired_at",
            "openapi_version",
            "openapi_format",
            "created_at",
            "updated_at",
        ]
        validators: list[Any] = []

    def validate_api(self, api: Api) -> Api:
        if self.instance is not None and api.pk != self.instance.api_id:
            raise serializers.ValidationError("a version cannot move to another API")
        return api


class RouteSerializer(serializers.ModelSerializer[Route]):
    """Method, path and documentation come from the OpenAPI document; the rest are overrides."""

    effective_auth_mode = serializers.CharField(read_only=True)
    scopes = serializers.ListField(child=serializers.CharField(max_length=200), required=False)

    class Meta:
        model = Route
        fields = [
            "id",
            "version",
            "method",
            "path_template",
            "operation_id",
            "summary",
            "auth_mode",
            "effective_auth_mode",
            "scopes",
            "timeout_ms",
            "max_body_bytes",
            "enabled",
        ]
        read_only_fields = ["id", "version", "method", "path_template", "operation_id", "summary"]


class PlanSerializer(serializers.ModelSerializer[Plan]):
    api = serializers.SlugRelatedField(slug_field="slug", queryset=Api.objects.all())

    class Meta:
        model = Plan
        fields = [
            "id",
            "api",
            "name",
            "slug",
            "description",
            "requests_per_second",
            "requests_per_minute",
            "quota_per_day",
            "quota_per_month",
            "burst",
            "approval_required",
            "redis_down_policy",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators: list[Any] = []

    def validate_api(self, api: Api) -> Api:
        if self.instance is not None and api.pk != self.instance.api_id:
            raise serializers.ValidationError("a plan cannot move to another API")
        return api


class DeprecateSerializer(serializers.Serializer[Any]):
    sunset_at = serializers.DateTimeField(
        help_text="When the version will be retired; in the future"
    )


class OpenApiUploadSerializer(serializers.Serializer[Any]):
    """The multipart form of an upload; raw JSON/YAML bodies are accepted as well."""

    document = serializers.FileField(help_text="The OpenAPI 3.0/3.1 document, JSON or YAML")


class OpenApiProblemSerializer(serializers.Serializer[Any]):
    path = serializers.CharField(help_text="JSON path, e.g. $.paths['/pets'].get.responses")
    line = serializers.IntegerField(allow_null=True, help_text="1-based line in the upload")
    message = serializers.CharField()


class OpenApiErrorsSerializer(serializers.Serializer[Any]):
    errors = OpenApiProblemSerializer(many=True)
