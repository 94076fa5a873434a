cimport cython


cdef class Hist:
    cdef long long counts[12]
    cdef public double total

    @cython.locals(i=cython.int)
    cpdef list as_list(self)


cdef class Series:
    cdef readonly long route_id, app_id
    cdef readonly int status
    cdef public long long n
    cdef readonly Hist hist


@cython.locals(h=cython.ulonglong)
cpdef Py_ssize_t slot_of(long route_id, long app_id, int status, Py_ssize_t mask) noexcept

cdef double BOUNDS[11]

@cython.locals(i=cython.int, bound=cython.double)
cpdef int bucket_of(double seconds) except -1


cdef class Metrics:
    cdef list _slots, _order
    cdef dict _hists
    cdef public dict upstream_errors
    cdef public object runtime, store, limiter

    @cython.locals(slots=list, mask=Py_ssize_t, i=Py_ssize_t, series=Series, hist=Hist)
    cpdef request(self, long route_id, long app_id, int status, double seconds)
    @cython.locals(hist=Hist, series=Series)
    cdef Series _new_series(self, long route_id, long app_id, int status)
    @cython.locals(slots=list, mask=Py_ssize_t, i=Py_ssize_t)
    cdef _place(self, Series series)
