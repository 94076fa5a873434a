from __future__ import annotations

from django.apps import AppConfig


class ApisConfig(AppConfig):
    name = "apis"
