cimport cython


cdef class SplitMix64:
    cdef public unsigned long long state, golden, mix1, mix2, mask

    @cython.locals(z=cython.ulonglong)
    cpdef unsigned long long next64(self)


cdef class IdSource:
    cdef public bytes prefix, stem
    cdef public unsigned long long count
    cdef public SplitMix64 rng

    @cython.locals(low=Py_ssize_t)
    cpdef bytes request_id(self, given)
    @cython.locals(rng=SplitMix64, high=cython.ulonglong, low=cython.ulonglong, span=cython.ulonglong)
    cpdef bytes traceparent_line(self, given)
