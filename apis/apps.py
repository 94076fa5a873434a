from __future__ import annotations

from django.apps import AppConfig


class ApisConfig(AppConfig):
    name = "apis"

    def ready(self) -> None:
        from apis.oauth import signals

        signals.connect_signals()
