from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "MeshGate portal"

    def ready(self) -> None:
        from portal import audit
        from portal.publishing import signals

        audit.register_models()
        signals.connect_signals()
