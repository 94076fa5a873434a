cimport cython

from gateway_runtime.config.table cimport RetryPolicy, Route
from gateway_runtime.http.clock cimport Clock
from gateway_runtime.http.connection cimport ClientProtocol, Dispatcher
from gateway_runtime.http.headers cimport join_bytes
from gateway_runtime.http.request cimport Request
from gateway_runtime.runtime_state cimport InstanceRuntime, UpstreamRuntime
from gateway_runtime.upstream.client cimport ResponseSink, UpstreamConnection
from gateway_runtime.upstream.pool cimport UpstreamPool


# module globals read per response: typed, a C dict lookup and C compares
cdef dict STATUS_LINES
cdef int CONNECTING, SENT, RELAYING, DONE


cdef class Exchange(ResponseSink):
    cdef public Dispatcher proxy
    cdef public UpstreamPool pool
    cdef public Clock clock
    cdef public ClientProtocol client
    cdef public Request req
    cdef public Route route
    cdef public object principal, hash_key
    cdef public UpstreamRuntime up
    cdef public InstanceRuntime inst
    cdef public UpstreamConnection conn
    cdef public object task
    cdef public bytes head_a, head_b, rl_lines
    cdef public int state, status
    cdef public bint chunk_out, body_sent
    cdef public double deadline, read_s, last_io
    cdef public int attempts
    cdef public bint keep_client, in_info, up_read_paused, fresh_retry
    cdef public object last_error

    cpdef start(self, bint fresh=*)
    cpdef on_upstream_head(self, UpstreamConnection conn, int status)
    cpdef on_upstream_body(self, bytes chunk)
    cpdef on_upstream_complete(self, UpstreamConnection conn)
    cpdef on_upstream_failed(self, UpstreamConnection conn, err)
    cpdef on_upstream_closed(self, UpstreamConnection conn)
    cpdef on_upstream_upgrade(self, UpstreamConnection conn, bytes tail)
    cpdef flush(self)
    cdef _attach(self, UpstreamConnection conn)
    cdef _complete(self, bint upstream_keep_alive)
    cdef _failed(self, err)
    cdef _give_up(self, err)
    @cython.locals(policy=RetryPolicy)
    cdef bint _may_retry(self, cause)
    cdef _next_attempt(self, prev)
    cdef _restart(self, inst)
    cdef _drop_conn(self)
    cdef bytes _extra(self)
    cdef _end_attempt(self, outcome)


@cython.locals(ex=Exchange, out=list)
cpdef Exchange new_exchange(Dispatcher proxy, ClientProtocol client, Request req, Route route, principal, UpstreamRuntime up, InstanceRuntime inst, hash_key, bytes head_a, bytes head_b, bytes rl_lines)
