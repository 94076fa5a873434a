cimport cython


cdef class Decision:
    cdef public bint allowed
    cdef public int status
    cdef public str slug
    cdef public long limit, remaining, reset, retry_after
    cdef public bytes header_bytes


cdef class Dim:
    cdef public str kind, period, base
    cdef public long limit
    cdef public double rate, cap
    cdef public long ttl, provisional, allow, used, held, left
    cdef public str held_key
    cdef public double reset_at
    cdef public long sent
    cdef public Decision _ok, _no

    cpdef str key_at(self, double now)
    @cython.locals(remaining=long, top=long, shift=int, reset=long, last=Decision)
    cpdef Decision admitted(self, long left, double now)
    @cython.locals(reset=long, last=Decision)
    cpdef Decision refused(self, double now, int status=*)
    cpdef long reset_in(self, double now, long remaining)


@cython.locals(n=long)
cdef long _ceil(double x) except? -1
