cimport cython

# Aliased: tests and callers import Decision from this module, a cimported name is not exported.
from gateway_runtime.ratelimit_dims cimport Decision as CDecision, Dim as CDim


cdef class KeyState:
    cdef public tuple key
    cdef public object plan
    cdef public list dims
    cdef public long demand
    cdef public double est, idle_since, settled_at
    cdef public long mark
    cdef public bint live


cdef class RateLimiter:
    cdef public object prefix, clock
    cdef public double sync_interval, sync_timeout, now
    cdef public bint redis_ok
    cdef public object last_error
    cdef public long syncs, settled
    cdef public dict _keys, _by_plan
    cdef public object _last_plan
    cdef public dict _last_apps
    cdef public list _active, _scan
    cdef public Py_ssize_t _scan_pos
    cdef public long _round
    cdef public list _retired
    cdef public object _redis_store, _local_store

    @cython.locals(apps=dict, st=KeyState, dims=list, d=CDim, best=CDim, best_left=long, left=long)
    cpdef CDecision check(self, app_id, plan)
    @cython.locals(st=KeyState, apps=dict)
    cdef KeyState _open(self, app_id, plan, KeyState old)
    cdef _forget(self, KeyState st)
    @cython.locals(st=KeyState, d=CDim, demand=long, mark=long, batch=list, owners=list)
    cpdef tuple _collect(self, double now)
    @cython.locals(d=CDim, want=long)
    cdef _queue(self, KeyState st, list batch, list owners, double now)
    @cython.locals(d=CDim, i=Py_ssize_t, grant=long, left=long)
    cpdef _apply(self, double now, list owners, list batch, list results)


@cython.locals(new_key=str, p1=double)
cdef _add(list batch, list owners, CDim d, double now, long want)
@cython.locals(d=CDim, need=long, used=long, loose=bint)
cdef bint _settle_due(KeyState st, double now, bint active)
