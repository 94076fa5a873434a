cimport gateway_runtime.http.header_kinds as kinds
from gateway_runtime.auth cimport Principal
from gateway_runtime.config.table cimport Route
from gateway_runtime.http.clock cimport Clock
from gateway_runtime.http.headers cimport (
    bytes_from,
    bytes_upto,
    find_byte,
    request_header_key,
    request_header_kind,
)
from gateway_runtime.http.outbox cimport Outbox
from gateway_runtime.http.request cimport Request

cdef class ClientProtocol


cdef class Dispatcher:
    cpdef dispatch(self, ClientProtocol client, Request req)
    cpdef record(self, Request req, Route route, Principal principal, int status)


cdef class ClientProtocol:
    cdef public object server, limits, loop, transport, parser
    cdef public bytes client_ip
    cdef public Request cur, active
    cdef public object pipeline
    cdef public Py_ssize_t head_size
    cdef public double head_started, last_read, idle_since
    cdef public bint reading_paused, writing_paused, closed
    cdef public object pending_error, tunnel, upgrade_tail
    cdef public bint eof
    cdef public Py_ssize_t served
    cdef public bytes fwd_host
    cdef public object fwd_lines
    cdef public list out
    cdef public Outbox outbox
    cdef public Clock clock
    cdef public Dispatcher dispatcher

    cpdef write(self, data)
    cpdef response_done(self, Request req, bint keep_alive)
    cpdef pause_reading(self)
    cpdef resume_reading(self)
    cpdef close(self)
    cpdef _start(self, Request req)
    cpdef _advance(self)
    cpdef bint _can_discard(self, Request req)


cdef _capture(Request req, int kind, value)
