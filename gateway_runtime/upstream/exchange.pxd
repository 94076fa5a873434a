from gateway_runtime.http.request cimport Request
from gateway_runtime.http.connection cimport ClientProtocol
from gateway_runtime.upstream.client cimport UpstreamConnection

cdef class Exchange:
    cdef public object proxy
    cdef public ClientProtocol client
    cdef public Request req
    cdef public object route, principal, up, inst, hash_key
    cdef public UpstreamConnection conn
    cdef public object task
    cdef public bytes head_a, head_b, resp_extra
    cdef public int state, status
    cdef public list out
    cdef public bint chunk_out, resp_started, body_sent
    cdef public double deadline, read_s, last_io
    cdef public int attempts
    cdef public bint keep_client, in_info, up_read_paused, fresh_retry
    cdef public object last_error
