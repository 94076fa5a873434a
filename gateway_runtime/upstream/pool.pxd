from gateway_runtime.http.outbox cimport Outbox
from gateway_runtime.upstream.client cimport UpstreamConnection


cdef class UpstreamPool:
    cdef public Outbox outbox
    cdef public Py_ssize_t max_idle_per_host, opened
    cdef public double idle_timeout
    cdef public dict idle
    cdef public object _ssl

    cpdef UpstreamConnection acquire(self, tuple key)
    cpdef release(self, UpstreamConnection conn, double now)
