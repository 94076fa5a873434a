cdef class OutlierCounters:
    cdef public Py_ssize_t fails, connect_fails, ejections
    cdef public double ejected_until, decay_at
    cdef public object ejection_reason


cpdef record_outcome(OutlierCounters c, outcome, policy)
