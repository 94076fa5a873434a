"""MeshGate data plane. Never imports Django or a portal app: its only input is the snapshot."""

from gateway_runtime.accel import choose

# Before any hot-path module is imported: compiled extensions only when current (accel.py).
HOT_PATH = choose()
