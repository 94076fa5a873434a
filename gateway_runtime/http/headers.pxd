cdef class IdSource:
    cdef public bytes prefix, stem
    cdef public unsigned long long count
    cdef public object draw

    @cython.locals(low=Py_ssize_t)
    cpdef bytes request_id(self, given)
    cpdef bytes traceparent_line(self, given)
