cimport cython

cimport gateway_runtime.http.header_kinds as kinds
from gateway_runtime.http.headers cimport response_header_kind
from gateway_runtime.http.outbox cimport Outbox


cdef class UpstreamConnection


cdef class ResponseSink:
    cdef public bint resp_started
    cdef public list out

    cpdef on_upstream_head(self, UpstreamConnection conn, int status)
    cpdef on_upstream_body(self, bytes chunk)
    cpdef on_upstream_complete(self, UpstreamConnection conn)
    cpdef on_upstream_failed(self, UpstreamConnection conn, err)
    cpdef on_upstream_closed(self, UpstreamConnection conn)
    cpdef on_upstream_upgrade(self, UpstreamConnection conn, bytes tail)
    cpdef flush(self)


cdef class UpstreamConnection:
    cdef public object pool, key, transport, parser, tunnel
    cdef public ResponseSink exchange
    cdef public bint closed
    cdef public double idle_since
    cdef public list lines
    cdef public bint has_length, chunked
    cdef public object upgrade_value
    cdef public bint got_bytes
    cdef public Py_ssize_t requests, head_bytes
    cdef public Outbox outbox

    cpdef prepare(self)
    cpdef send(self, data)
    cpdef close(self)
