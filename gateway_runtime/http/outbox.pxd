cdef class Outbox:
    cdef public list pending
    cdef public bint scheduled
    cdef public object call_soon, flush_cb, context

    cpdef write(self, transport, bytes data)
    cpdef close(self, transport)
    cdef _schedule(self)
    cpdef flush(self)
