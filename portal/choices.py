from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin (API owner)"
    OPERATOR = "operator", "Operator"
    DEVELOPER = "developer", "Developer"
