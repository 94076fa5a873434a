cimport cython


cdef class VersionLatency:
    cdef readonly long version_id
    cdef long long counts[12]

    @cython.locals(i=cython.int)
    cpdef list as_list(self)
    @cython.locals(i=cython.int)
    cpdef add(self, VersionLatency other)


cdef class Cell:
    cdef readonly long version_id, route_id, app_id
    cdef readonly int status
    cdef public long long n
    cdef readonly VersionLatency lat


@cython.locals(h=cython.ulonglong)
cpdef Py_ssize_t slot_of(
    long version_id, long route_id, long app_id, int status, Py_ssize_t mask
) noexcept

cdef double BOUNDS_MS[11]

@cython.locals(i=cython.int, bound=cython.double)
cpdef int bucket_of(double ms) except -1


cdef class MinuteCounts:
    cdef public str minute
    cdef public object epoch
    cdef list _slots, _cells
    cdef dict _lat

    cpdef bint counted(self)
    @cython.locals(slots=list, mask=Py_ssize_t, i=Py_ssize_t, c=Cell)
    cpdef Cell cell(self, long version_id, long route_id, long app_id, int status)
    @cython.locals(lat=VersionLatency, c=Cell)
    cdef Cell _new_cell(self, long version_id, long route_id, long app_id, int status)
    @cython.locals(slots=list, mask=Py_ssize_t, i=Py_ssize_t)
    cdef _place(self, Cell c)
    @cython.locals(oc=Cell, c=Cell, olat=VersionLatency, lat=VersionLatency)
    cpdef merge(self, MinuteCounts other)


cdef class Usage:
    cdef public object clock, flush_every, max_minutes, last_error
    cdef list _closed
    cdef MinuteCounts _current
    cdef dict _keys
    cdef object _now, _next_flush

    @cython.locals(cell=Cell)
    cpdef record(
        self, long version_id, long route_id, long app_id, int status, double seconds, key_prefix
    )
