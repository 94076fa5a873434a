cdef class Request:
    cdef public bytes method, url, path, query, host
    cdef public list fwd
    cdef public bint host_seen
    cdef public object api_key, authorization
    cdef public dict held
    cdef public object content_length
    cdef public bint chunked, keep_alive, upgrade, expect_continue
    cdef public object conn_tokens, xff, xfh, forwarded, request_id, traceparent
    cdef public bytes request_id_line
    cdef public double started
    cdef public object body
    cdef public Py_ssize_t body_buffered, body_received
    cdef public bint body_done
    cdef public object exchange
    cdef public bint head_only, responded
    cdef public object route_max_body
    cdef public bint discard_body, http10

    cpdef header(self, bytes name)
