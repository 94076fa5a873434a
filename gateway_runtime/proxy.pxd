cimport cython

from gateway_runtime.http.clock cimport Clock
from gateway_runtime.http.connection cimport ClientProtocol
from gateway_runtime.http.outbox cimport Outbox
from gateway_runtime.http.request cimport Request
from gateway_runtime.runtime_state cimport InstanceRuntime, RuntimeState, UpstreamRuntime
from gateway_runtime.upstream.pool cimport UpstreamPool


cdef class Proxy:
    cdef public object ctx, store, runtime, limiter, metrics, usage, accesslog, server
    cdef public bytes scheme
    cdef public Outbox outbox
    cdef public UpstreamPool pool
    cdef public Clock clock

    cpdef dispatch(self, ClientProtocol client, Request req)
    @cython.locals(runtime=RuntimeState, up=UpstreamRuntime, inst=InstanceRuntime)
    cdef _forward(self, ClientProtocol client, Request req, route, principal, bytes extra)
    cdef _authenticate(self, table, route, Request req)
    cdef bytes _head_rest(self, Request req, ClientProtocol client)
    cpdef record(self, Request req, route, principal, int status)
