"""Role checks for the REST API. Object ownership is enforced by each viewset's queryset."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request


class IsPortalAdmin(BasePermission):
    message = "Only admins (API owners) may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_portal_admin)


class IsOperator(BasePermission):
    message = "Only operators or admins may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_operator)


class IsAdminOrReadOnly(BasePermission):
    """Everyone signed in may read (the catalogue); only admins may write."""

    message = "Only admins (API owners) may change the catalogue."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or request.user.is_portal_admin


class IsOperatorOrReadOnly(BasePermission):
    message = "Only operators or admins may change the registry."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or request.user.is_operator
