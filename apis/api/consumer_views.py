"""Consumer REST API: a developer's applications, subscriptions, API keys and OAuth2 clients.

Ownership is a queryset filter: a developer's querysets hold only their own objects,
so another developer's object is 404, never 403. Admins see everything; approving
and rejecting subscriptions is theirs alone.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from apis.api.consumer_serializers import (
    ApiKeyCreatedSerializer,
    ApiKeySerializer,
    ApplicationSerializer,
    OAuthClientCreatedSerializer,
    OAuthClientSerializer,
    RotateKeySerializer,
    SubscriptionSerializer,
)
from apis.choices import SubscriptionStatus
from apis.models import ApiKey, Application, OAuthClient, Subscription
from apis.services import applications, keys, oauth_clients, subscriptions
from portal.api.permissions import IsPortalAdmin

# Secrets in a response must not be kept by a browser or proxy cache.
NO_STORE = {"Cache-Control": "no-store"}


class ByApplication(filters.FilterSet):
    # A plain number, not a model choice: checking the id against every application
    # would tell a developer which of other people's ids exist.
    application = filters.NumberFilter(field_name="application_id")


class SubscriptionFilter(ByApplication):
    status = filters.ChoiceFilter(choices=SubscriptionStatus.choices)
    api_version = filters.NumberFilter(field_name="api_version_id")


class OwnedViewSet(viewsets.GenericViewSet):
    """Base: the queryset of `owner_path` objects, narrowed to the caller's unless admin."""

    owner_path = "application__owner"

    def owned(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if getattr(self.request.user, "is_portal_admin", False):
            return queryset
        return queryset.filter(**{self.owner_path: self.request.user})


class ApplicationViewSet(OwnedViewSet, viewsets.ModelViewSet):
    # For the schema generator; requests use get_queryset().
    queryset = Application.objects.none()
    serializer_class = ApplicationSerializer
    owner_path = "owner"
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self) -> QuerySet[Application]:
        return self.owned(Application.objects.select_related("owner"))

    def perform_create(self, serializer: BaseSerializer[Application]) -> None:
        user = self.request.user
        serializer.instance = applications.create_application(
            user, actor=user, **serializer.validated_data
        )

    def perform_update(self, serializer: BaseSerializer[Application]) -> None:
        serializer.instance = applications.update_application(
            serializer.instance, actor=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, application: Application) -> None:
        applications.delete_application(application, actor=self.request.user)


class SubscriptionViewSet(
    OwnedViewSet, mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin
):
    # For the schema generator; requests use get_queryset().
    queryset = Subscription.objects.none()
    serializer_class = SubscriptionSerializer
    filterset_class = SubscriptionFilter
    ordering_fields = ["created_at", "decided_at"]

    def get_queryset(self) -> QuerySet[Subscription]:
        related = ("application", "api_version__api", "plan", "decided_by")
        return self.owned(Subscription.objects.select_related(*related))

    def perform_create(self, serializer: BaseSerializer[Subscription]) -> None:
        fields = dict(serializer.validated_data)
        application = fields.pop("application")
        serializer.instance = subscriptions.subscribe(
            application, actor=self.request.user, **fields
        )

    @extend_schema(
        summary="Subscriptions waiting for approval (admins)",
        responses={200: SubscriptionSerializer(many=True)},
    )
    @action(detail=False, methods=["get"], permission_classes=[IsPortalAdmin])
    def pending(self, request: Request) -> Response:
        queryset = self.filter_queryset(
            self.get_queryset().filter(status=SubscriptionStatus.PENDING)
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=None, responses={200: SubscriptionSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsPortalAdmin])
    def approve(self, request: Request, pk: str) -> Response:
        return self._respond(
            subscriptions.approve_subscription(self.get_object(), actor=request.user)
        )

    @extend_schema(request=None, responses={200: SubscriptionSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsPortalAdmin])
    def reject(self, request: Request, pk: str) -> Response:
        return self._respond(
            subscriptions.reject_subscription(self.get_object(), actor=request.user)
        )

    @extend_schema(request=None, responses={200: SubscriptionSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        return self._respond(
            subscriptions.revoke_subscription(self.get_object(), actor=request.user)
        )

    def _respond(self, subscription: Subscription) -> Response:
        return Response(self.get_serializer(subscription).data)


class ApiKeyViewSet(
    OwnedViewSet, mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin
):
    """Keys are listed with their status, revoked and expired ones included; the secret never is."""

    # For the schema generator; requests use get_queryset().
    queryset = ApiKey.objects.none()
    serializer_class = ApiKeySerializer
    filterset_class = ByApplication
    search_fields = ["name", "prefix"]
    ordering_fields = ["created_at", "expires_at"]

    def get_queryset(self) -> QuerySet[ApiKey]:
        return self.owned(ApiKey.objects.all())

    @extend_schema(responses={201: ApiKeyCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        key, full_key = keys.create_api_key(fields.pop("application"), actor=request.user, **fields)
        return self._with_key(key, full_key)

    @extend_schema(request=RotateKeySerializer, responses={201: ApiKeyCreatedSerializer})
    @action(detail=True, methods=["post"])
    def rotate(self, request: Request, pk: str) -> Response:
        """A new key (shown once) replacing this one, which keeps working for the grace period."""
        body = RotateKeySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key, full_key = keys.rotate_api_key(
            self.get_object(), actor=request.user, **body.validated_data
        )
        return self._with_key(key, full_key)

    @extend_schema(request=None, responses={200: ApiKeySerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        key = keys.revoke_api_key(self.get_object(), actor=request.user)
        return Response(self.get_serializer(key).data)

    def _with_key(self, key: ApiKey, full_key: str) -> Response:
        body = {**self.get_serializer(key).data, "key": full_key}
        return Response(body, status=status.HTTP_201_CREATED, headers=NO_STORE)


class OAuthClientViewSet(
    OwnedViewSet,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
):
    """Deleting a client revokes every access token it holds."""

    # For the schema generator; requests use get_queryset().
    queryset = OAuthClient.objects.none()
    serializer_class = OAuthClientSerializer
    filterset_class = ByApplication
    ordering_fields = ["created_at"]

    def get_queryset(self) -> QuerySet[OAuthClient]:
        return self.owned(OAuthClient.objects.select_related("client", "application"))

    @extend_schema(responses={201: OAuthClientCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        dot = fields.get("client", {})
        client, secret = oauth_clients.create_oauth_client(
            fields["application"],
            actor=request.user,
            name=dot.get("name", ""),
            grant_type=dot.get("authorization_grant_type", "client-credentials"),
            redirect_uris=dot.get("redirect_uris", ""),
        )
        body = {**self.get_serializer(client).data, "client_secret": secret}
        return Response(body, status=status.HTTP_201_CREATED, headers=NO_STORE)

    def perform_destroy(self, client: OAuthClient) -> None:
        oauth_clients.delete_oauth_client(client, actor=self.request.user)
