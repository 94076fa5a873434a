cimport cython

from gateway_runtime.auth cimport Principal, authenticate_raw
from gateway_runtime.config.table cimport Route, Table, Version
from gateway_runtime.http.clock cimport Clock
from gateway_runtime.http.connection cimport ClientProtocol, Dispatcher
from gateway_runtime.http.headers cimport IdSource, bytes_from, join_bytes
from gateway_runtime.http.outbox cimport Outbox
from gateway_runtime.http.request cimport Request
from gateway_runtime.metrics cimport Metrics
from gateway_runtime.ratelimit cimport RateLimiter
from gateway_runtime.ratelimit_dims cimport Decision
from gateway_runtime.routing cimport RouteIndex, RouteMatch
from gateway_runtime.runtime_state cimport InstanceRuntime, RuntimeState, UpstreamRuntime
from gateway_runtime.upstream.exchange cimport Exchange, new_exchange
from gateway_runtime.upstream.pool cimport UpstreamPool
from gateway_runtime.usage cimport Usage


cdef class Proxy(Dispatcher):
    cdef public object ctx, store, runtime, accesslog, server
    cdef public Metrics metrics
    cdef public Usage usage
    cdef public bytes scheme
    cdef public Outbox outbox
    cdef public UpstreamPool pool
    cdef public Clock clock
    cdef public IdSource ids
    cdef public RateLimiter limiter

    @cython.locals(
        limiter=RateLimiter, decision=Decision, routes=RouteIndex, principal=Principal,
        m=RouteMatch, table=Table, route=Route,
    )
    cpdef dispatch(self, ClientProtocol client, Request req)
    @cython.locals(
        runtime=RuntimeState, up=UpstreamRuntime, inst=InstanceRuntime, ex=Exchange, version=Version,
        target=bytes,
    )
    cdef _forward(self, ClientProtocol client, Request req, Route route, Principal principal, bytes rl_lines)
    cdef Principal _authenticate(self, Table table, RouteMatch m, Request req)
    cdef bytes _head_rest(self, Request req, ClientProtocol client)
    @cython.locals(now=cython.double, seconds=cython.double, route_id=cython.long, app_id=cython.long)
    cpdef record(self, Request req, Route route, Principal principal, int status)


cpdef bytes response_extra(Request req, Version version, bytes rl_lines)
@cython.locals(rest=bytes)
cpdef bytes request_line(bytes method, Version version, bytes raw_target)
