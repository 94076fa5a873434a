# The result classes are C structs so that a cached match costs the proxy field reads only;
# the trie (_Node, _Host, _Leaf) stays Python: it is walked on a cache miss only.
cimport cython

from gateway_runtime.config.table cimport Route, Version


cdef class RouteMatch:
    cdef readonly Route route
    cdef readonly Version version
    cdef readonly tuple values
    cdef readonly str auth_mode
    cdef readonly object version_id


cdef class NoRoute:
    pass


cdef class MethodNotAllowed:
    cdef readonly bytes allow


cdef class Gone:
    cdef readonly object version


cdef class _Seen:
    cdef readonly bytes host, method
    cdef readonly object result
    cdef readonly _Seen older
    cdef readonly Py_ssize_t depth


cdef class RouteIndex:
    cdef public dict _hosts
    cdef public object _any, _root
    cdef public Py_ssize_t route_count
    cdef public dict _seen
    cdef public Py_ssize_t _seen_size

    @cython.locals(first=_Seen, entry=_Seen, result=object)
    cpdef match_raw(self, bytes host, bytes method, bytes path)
