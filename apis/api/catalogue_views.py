"""Catalogue REST API: admins write; everyone else reads what the gateway serves.

Non-admins see only published and deprecated versions, and the APIs, routes and
plans that belong to them; drafts and retired versions are 404 for them, as if
they did not exist.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from apis.api.catalogue_serializers import (
    ApiSerializer,
    ApiVersionSerializer,
    DeprecateSerializer,
    OpenApiErrorsSerializer,
    OpenApiUploadSerializer,
    PlanSerializer,
    RouteSerializer,
)
from apis.api.catalogue_upload import RawDocumentParser, YamlRenderer, uploaded_source
from apis.choices import Lifecycle
from apis.models import Api, ApiVersion, Plan, Route
from apis.services import catalogue, plans
from apis.services.openapi import OpenApiError, export_openapi
from portal.api.permissions import IsAdminOrReadOnly

READABLE_STATES = (Lifecycle.PUBLISHED, Lifecycle.DEPRECATED)


def is_admin(request: Request) -> bool:
    return bool(getattr(request.user, "is_portal_admin", False))


class ApiViewSet(viewsets.ModelViewSet):
    queryset = Api.objects.all()
    serializer_class = ApiSerializer
    permission_classes = [IsAdminOrReadOnly]
    lookup_field = "slug"
    search_fields = ["name", "slug", "description"]
    ordering_fields = ["slug", "name", "created_at"]

    def get_queryset(self) -> QuerySet[Api]:
        apis = Api.objects.select_related("owner")
        if is_admin(self.request):
            return apis
        return apis.filter(versions__state__in=READABLE_STATES).distinct()

    def perform_create(self, serializer: BaseSerializer[Api]) -> None:
        serializer.instance = catalogue.create_api(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer: BaseSerializer[Api]) -> None:
        api = serializer.instance
        serializer.instance = catalogue.update_api(
            api, actor=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, api: Api) -> None:
        catalogue.delete_api(api, actor=self.request.user)


class ApiVersionViewSet(viewsets.ModelViewSet):
    queryset = ApiVersion.objects.all()
    serializer_class = ApiVersionSerializer
    permission_classes = [IsAdminOrReadOnly]
    filterset_fields = ["api__slug", "state"]
    ordering_fields = ["label", "created_at", "published_at"]

    def get_queryset(self) -> QuerySet[ApiVersion]:
        versions = ApiVersion.objects.select_related("api", "upstream_service")
        # The stored document can be megabytes; only the export reads it.
        versions = versions.defer("openapi_source", "openapi_document")
        if is_admin(self.request):
            return versions
        return versions.filter(state__in=READABLE_STATES)

    def perform_create(self, serializer: BaseSerializer[ApiVersion]) -> None:
        fields = dict(serializer.validated_data)
        api = fields.pop("api")
        serializer.instance = catalogue.create_api_version(api, actor=self.request.user, **fields)

    def perform_update(self, serializer: BaseSerializer[ApiVersion]) -> None:
        fields = {key: value for key, value in serializer.validated_data.items() if key != "api"}
        version = serializer.instance
        serializer.instance = catalogue.update_api_version(
            version, actor=self.request.user, **fields
        )

    def perform_destroy(self, version: ApiVersion) -> None:
        catalogue.delete_api_version(version, actor=self.request.user)

    @extend_schema(
        summary="Export the version as OpenAPI, with servers pointing at the gateway",
        parameters=[OpenApiParameter("format", str, enum=["json", "yaml"], required=False)],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "application/yaml"): OpenApiTypes.STR,
        },
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="openapi",
        renderer_classes=[JSONRenderer, YamlRenderer],
        parser_classes=[MultiPartParser, FormParser, RawDocumentParser],
    )
    def openapi(self, request: Request, pk: str) -> Response:
        version = self._full_version()
        if not version.openapi_document:
            raise NotFound("this version has no OpenAPI document yet")
        return Response(export_openapi(version))

    @extend_schema(
        summary="Upload (replace) the version's OpenAPI document and sync its routes",
        request={
            "multipart/form-data": OpenApiUploadSerializer,
            "application/json": OpenApiTypes.OBJECT,
            "application/yaml": OpenApiTypes.STR,
        },
        responses={200: ApiVersionSerializer, 400: OpenApiResponse(OpenApiErrorsSerializer)},
    )
    @openapi.mapping.post
    def upload_openapi(self, request: Request, pk: str) -> Response:
        version = self.get_object()
        try:
            version = catalogue.import_openapi(
                version, uploaded_source(request), actor=request.user
            )
        except OpenApiError as exc:
            errors = [problem.as_dict() for problem in exc.problems]
            return Response({"errors": errors}, status=status.HTTP_400_BAD_REQUEST)
        return Response(self.get_serializer(version).data)

    @extend_schema(request=None, responses={200: ApiVersionSerializer})
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str) -> Response:
        version = catalogue.publish_version(self.get_object(), actor=request.user)
        return Response(self.get_serializer(version).data)

    @extend_schema(request=DeprecateSerializer, responses={200: ApiVersionSerializer})
    @action(detail=True, methods=["post"])
    def deprecate(self, request: Request, pk: str) -> Response:
        body = DeprecateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = catalogue.deprecate_version(
            self.get_object(), sunset_at=body.validated_data["sunset_at"], actor=request.user
        )
        return Response(self.get_serializer(version).data)

    @extend_schema(request=None, responses={200: ApiVersionSerializer})
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, pk: str) -> Response:
        version = catalogue.retire_version(self.get_object(), actor=request.user)
        return Response(self.get_serializer(version).data)

    def _full_version(self) -> ApiVersion:
        version = self.get_object()
        version.refresh_from_db(fields=["openapi_source", "openapi_document"])
        return version


class RouteViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Routes come from the OpenAPI document; only their overrides can be changed (PATCH)."""

    queryset = Route.objects.all()
    serializer_class = RouteSerializer
    permission_classes = [IsAdminOrReadOnly]
    http_method_names = ["get", "patch", "head", "options"]
    filterset_fields = ["version", "method", "enabled"]
    ordering_fields = ["path_template", "method"]

    def get_queryset(self) -> QuerySet[Route]:
        routes = Route.objects.select_related("version")
        if is_admin(self.request):
            return routes
        return routes.filter(version__state__in=READABLE_STATES)

    def perform_update(self, serializer: BaseSerializer[Route]) -> None:
        route = serializer.instance
        serializer.instance = catalogue.update_route(
            route, actor=self.request.user, **serializer.validated_data
        )


class PlanViewSet(viewsets.ModelViewSet):
    queryset = Plan.objects.all()
    serializer_class = PlanSerializer
    permission_classes = [IsAdminOrReadOnly]
    filterset_fields = ["api__slug", "is_active"]
    ordering_fields = ["slug", "name", "created_at"]

    def get_queryset(self) -> QuerySet[Plan]:
        all_plans = Plan.objects.select_related("api")
        if is_admin(self.request):
            return all_plans
        readable = Api.objects.filter(versions__state__in=READABLE_STATES)
        return all_plans.filter(is_active=True, api__in=readable)

    def perform_create(self, serializer: BaseSerializer[Plan]) -> None:
        fields: dict[str, Any] = dict(serializer.validated_data)
        api = fields.pop("api")
        serializer.instance = plans.create_plan(api, actor=self.request.user, **fields)

    def perform_update(self, serializer: BaseSerializer[Plan]) -> None:
        fields = {key: value for key, value in serializer.validated_data.items() if key != "api"}
        serializer.instance = plans.update_plan(
            serializer.instance, actor=self.request.user, **fields
        )

    def perform_destroy(self, plan: Plan) -> None:
        plans.delete_plan(plan, actor=self.request.user)
