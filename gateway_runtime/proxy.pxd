cimport cython

from gateway_runtime.http.clock cimport Clock
from gateway_runtime.http.connection cimport ClientProtocol
from gateway_runtime.http.outbox cimport Outbox
from gateway_runtime.http.request cimport Request
from gateway_runtime.metrics cimport Metrics
from gateway_runtime.upstream.pool cimport UpstreamPool
from gateway_runtime.usage cimport Usage


cdef class Proxy:
    cdef public object ctx, store, runtime, limiter, accesslog, server
    cdef public Metrics metrics
    cdef public Usage usage
    cdef public bytes scheme
    cdef public Outbox outbox
    cdef public UpstreamPool pool
    cdef public Clock clock

    cpdef dispatch(self, ClientProtocol client, Request req)
    cdef _forward(self, ClientProtocol client, Request req, route, principal, bytes extra)
    cdef _authenticate(self, table, route, Request req)
    cdef bytes _head_rest(self, Request req, ClientProtocol client)
    @cython.locals(now=cython.double, seconds=cython.double, route_id=cython.long, app_id=cython.long)
    cpdef record(self, Request req, route, principal, int status)
