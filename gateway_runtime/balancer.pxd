cimport cython


cdef class Balancer:
    cdef public object rng
    cdef public tuple cands
    # rng.random, bound once: saves an attribute lookup per pick
    cdef object _random

    cpdef pick(self, key=*, exclude=*)
    cdef _first_other(self, exclude)


cdef class SmoothWeightedRoundRobin(Balancer):
    cdef public list _current, _weights
    cdef public double _total

    @cython.locals(cands=tuple, current=list, weights=list, best=Py_ssize_t, best_value=double,
                   total=double, i=Py_ssize_t, value=double)
    cpdef pick(self, key=*, exclude=*)


cdef class LeastRequestP2C(Balancer):
    cdef public bint _equal

    @cython.locals(cands=tuple, count=Py_ssize_t, draw=double, i=Py_ssize_t)
    cpdef pick(self, key=*, exclude=*)
    cdef _weighted(self, exclude)


cdef class MaglevHash(Balancer):
    cdef public LeastRequestP2C _fallback
    cdef public list _table
    cdef public Py_ssize_t _size
    cdef public tuple _built_for

    cpdef pick(self, key=*, exclude=*)
