from gateway_runtime.http.outbox cimport Outbox


cdef class UpstreamConnection:
    cdef public object pool, key, transport, parser, exchange, tunnel
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
