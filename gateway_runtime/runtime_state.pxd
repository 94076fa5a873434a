cimport cython

from gateway_runtime.balancer cimport Balancer
from gateway_runtime.outlier cimport OutlierCounters
from gateway_runtime.retry_budget cimport RetryBudget


cdef class RuntimeState


cdef class InstanceRuntime(OutlierCounters):
    cdef public object id, upstream, spec, host, port, scheme, host_header, weight
    cdef public double eff_weight, ready_since
    cdef public Py_ssize_t in_flight
    cdef public object config_state, health
    cdef public tuple pool_key

    cpdef apply_spec(self, spec)
    cpdef bint in_pool(self)
    cpdef bint available(self)


cdef class UpstreamRuntime:
    cdef public object slug
    cdef public RuntimeState owner
    cdef public list instances
    cdef public dict by_id
    cdef public Py_ssize_t in_flight
    # The limits stay Python objects: a snapshot's 100.0 must not fail a swap with a TypeError.
    cdef public object max_in_flight
    cdef public bint panic
    cdef public RetryBudget budget
    cdef public Balancer balancer
    cdef public object hash_on, spec

    cpdef bint at_capacity(self)
    @cython.locals(inst=InstanceRuntime)
    cpdef acquire(self, key=*, exclude=*)
    cpdef release(self, InstanceRuntime inst, outcome)
    cdef _eject(self, InstanceRuntime inst, reason)
    @cython.locals(inst=InstanceRuntime)
    cpdef refresh(self, double now)
    @cython.locals(inst=InstanceRuntime)
    cpdef tick(self, double now)


cdef class RuntimeState:
    cdef public object clock, policy, default_balancer, rng, reports
    cdef public double panic_threshold, slow_start_s
    cdef public object default_max_in_flight
    cdef public dict upstreams, _instances, _overlay
    cdef public bint _synced

    cpdef upstream(self, slug)
