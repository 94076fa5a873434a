"""Service functions that write the registry: one module per job.

- services.py: create, change and delete services; issue self-registration tokens.
- instances.py: operators register, change, drain and remove instances.
- tokens.py: the self-registration token format and its lookup.
- self_registration.py: an instance registers, heartbeats and deregisters itself.
- expiry.py: the heartbeat TTL (unhealthy after the TTL, removed after deregister_after).
- audit_context.py: audit attribution for writes no user makes (a token, the TTL task).
- health.py: operators' health actions (check now) and the health data the API reads.
- gateways.py: the gateway workers' status reports (contracts §2).
"""
