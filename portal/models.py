from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from portal.choices import Role


class User(AbstractUser):
    """A portal account. The role decides what the REST API and admin let it touch."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.DEVELOPER)

    @property
    def is_portal_admin(self) -> bool:
        return self.is_active and (self.is_superuser or self.role == Role.ADMIN)

    @property
    def is_operator(self) -> bool:
        # Admins own the whole installation, so they may do what operators do.
        return self.is_portal_admin or (self.is_active and self.role == Role.OPERATOR)


class ConfigRevision(models.Model):
    """One published configuration snapshot. The primary key is the revision number."""

    revision = models.BigAutoField(primary_key=True)
    checksum = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        "portal.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)
    size_bytes = models.PositiveIntegerField(default=0)
    rolled_back_from = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-revision"]

    def __str__(self) -> str:
        return f"revision {self.revision}"
