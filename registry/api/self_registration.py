"""Self-registration endpoints, authenticated only by the service's registration token.

    POST   services/{slug}/register/                      create or refresh the caller's instance
    POST   services/{slug}/instances/{id}/heartbeat/      keep it alive (before the service's TTL)
    DELETE services/{slug}/instances/{id}/                deregister
    POST   services/{slug}/instances/{id}/deregister/     deregister (for clients without DELETE)

A token reaches only its own service's self-registered instances; anything else is a 404.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.api.errors import conflicts_as_409
from registry.api.serializers import SelfRegisteredInstanceSerializer, SelfRegistrationSerializer
from registry.auth import RegistrationTokenAuthentication, ServicePrincipal
from registry.models import Instance, Service
from registry.services import self_registration


class HasRegistrationToken(BasePermission):
    message = "A service registration token is required."

    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, ServicePrincipal)


class SelfRegistrationView(APIView):
    authentication_classes = [RegistrationTokenAuthentication]
    permission_classes = [HasRegistrationToken]

    def token_service(self, slug: str) -> Service:
        service: Service = self.request.auth
        # Another service's slug answers like a missing one: a token reveals only its own.
        if service.slug != slug:
            raise Http404
        return service

    def own_instance(self, slug: str, pk: int) -> Instance:
        service = self.token_service(slug)
        return get_object_or_404(
            Instance.objects.filter(self_registration.own_instances(service)), pk=pk
        )


class RegisterView(SelfRegistrationView):
    @extend_schema(
        request=SelfRegistrationSerializer,
        responses={201: SelfRegisteredInstanceSerializer, 200: SelfRegisteredInstanceSerializer},
    )
    def post(self, request: Request, slug: str) -> Response:
        """Register the calling instance (201), or refresh it if its host:port is known (200)."""
        service = self.token_service(slug)
        serializer = SelfRegistrationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with conflicts_as_409():
            instance, created = self_registration.register_self(
                service, now=timezone.now(), **serializer.validated_data
            )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(SelfRegisteredInstanceSerializer(instance).data, status=code)


class HeartbeatView(SelfRegistrationView):
    @extend_schema(request=None, responses={200: SelfRegisteredInstanceSerializer})
    def post(self, request: Request, slug: str, pk: int) -> Response:
        """Record a heartbeat. A 404 means the instance was removed: register again."""
        instance = self_registration.heartbeat_instance(
            self.own_instance(slug, pk), now=timezone.now()
        )
        if instance is None:
            raise Http404
        return Response(SelfRegisteredInstanceSerializer(instance).data)


class SelfInstanceView(SelfRegistrationView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, slug: str, pk: int) -> Response:
        """Deregister the instance."""
        self_registration.deregister_instance(self.own_instance(slug, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeregisterView(SelfRegistrationView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, slug: str, pk: int) -> Response:
        """Deregister the instance (the same as DELETE on the instance)."""
        self_registration.deregister_instance(self.own_instance(slug, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
