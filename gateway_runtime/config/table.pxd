# What the request path reads, as C struct members. Numbers handed on as Python objects
# (plan limits, max_body_bytes: compared with and stored as objects) stay objects, so reading
# them does not box; ids and seconds go to C arguments and fields (metrics, usage, Exchange).


cdef class Plan:
    cdef readonly object id
    cdef readonly str name
    cdef readonly object rps, rpm, per_day, per_month, burst
    cdef readonly str redis_down


cdef class Timeouts:
    cdef readonly double connect_s, read_s, total_s


cdef class RetryPolicy:
    cdef readonly long retries
    cdef readonly frozenset on, statuses
    cdef readonly bint non_idempotent


cdef class Version:
    cdef readonly long id
    cdef readonly str api, version, host, base_path, state, sunset_at, upstream, upstream_path
    cdef readonly str auth_mode
    cdef readonly bint allow_key_in_query
    cdef readonly Timeouts timeouts
    cdef readonly RetryPolicy retry
    cdef readonly object max_body_bytes
    cdef readonly frozenset plans
    cdef readonly Py_ssize_t base_len
    cdef readonly bytes upstream_prefix, extra_headers


cdef class Route:
    cdef readonly long id
    cdef readonly str method, path
    cdef readonly tuple param_names
    cdef readonly str auth_mode
    cdef readonly frozenset scopes
    cdef readonly double timeout_s
    cdef readonly object max_body_bytes
    cdef readonly Version version
    cdef readonly double read_s
    cdef readonly frozenset retry_statuses


cdef class Table:
    cdef readonly object revision, checksum, created_at
    cdef readonly object routes
    cdef readonly dict versions, plans, upstreams, applications
    cdef readonly object keys, jwt
    cdef readonly dict oauth_clients
    cdef readonly Py_ssize_t route_count
