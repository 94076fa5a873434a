cdef class RetryBudget:
    cdef public double ratio
    cdef public object min_per_second
    cdef public Py_ssize_t window_s, _idx, _requests_now
    cdef public list _requests, _retries
    cdef public object _sum_requests, _sum_retries, _second, denied

    cpdef on_request(self)
    cpdef bint try_retry(self)
