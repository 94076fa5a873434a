"""Upstream side of the gateway: pooled keep-alive connections and the forwarding exchange."""
