"""MeshGate data plane. Never imports Django or a portal app: its only input is the snapshot."""
