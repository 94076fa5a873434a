"""MeshGate's extensions of django-oauth-toolkit: JWT access tokens, scopes, revocation hooks."""
