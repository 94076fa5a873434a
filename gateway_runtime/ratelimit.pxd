cimport cython

# Aliased: tests and callers import Decision from this module, a cimported name is not exported.
from gateway_runtime.ratelimit_dims cimport Decision as CDecision, Dim as CDim


cdef class KeyState:
    cdef public tuple key
    cdef public object plan
    cdef public list dims
    cdef public long demand
    cdef public double est, idle_since
    cdef public long mark


cdef class RateLimiter:
    cdef public object prefix, clock
    cdef public double sync_interval, sync_timeout, now
    cdef public bint redis_ok
    cdef public object last_error
    cdef public long syncs
    cdef public dict _keys
    cdef public list _active, _scan
    cdef public Py_ssize_t _scan_pos
    cdef public long _round
    cdef public list _retired
    cdef public object _redis_store, _local_store

    @cython.locals(st=KeyState, dims=list, d=CDim, best=CDim, best_left=long, left=long)
    cpdef CDecision check(self, long app_id, plan)
    @cython.locals(st=KeyState)
    cdef KeyState _open(self, long app_id, plan, KeyState old)
