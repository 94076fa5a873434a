# The result classes are C structs so that a cached match costs the proxy field reads only;
# the trie is too, with the walk typed, so that an uncached match (parameter paths are
# mostly distinct) reads C fields and calls the dict/str C API instead of generic lookups.
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


cdef class _Mount:
    cdef readonly Version version
    cdef readonly bint retired


cdef class _Leaf:
    cdef public dict methods
    cdef public RouteMatch get
    cdef public MethodNotAllowed not_allowed
    cdef public tuple params


cdef class _Node:
    cdef public dict static, leaves
    cdef public _Node param


cdef class _Host:
    cdef public dict mounts
    cdef public tuple depths


cdef class RouteIndex:
    cdef public dict _hosts
    cdef public _Host _any
    cdef public _Node _root
    cdef public Py_ssize_t route_count
    cdef public dict _seen
    cdef public Py_ssize_t _seen_size

    @cython.locals(first=_Seen, entry=_Seen, result=object)
    cpdef match_raw(self, bytes host, bytes method, bytes path)

    @cython.locals(segments=list, end=Py_ssize_t, named=_Host, result=object)
    cpdef match(self, str host, str method, str path)

    @cython.locals(
        deepest=_Mount, depth=Py_ssize_t, cut=Py_ssize_t, i=Py_ssize_t, segment=str,
        mount=_Mount, leaf=_Leaf, found=RouteMatch,
    )
    cdef _match_host(self, _Host host, str method, str path, list segments, Py_ssize_t end)


@cython.locals(cut=Py_ssize_t)
cdef str _bare_host(str host)


@cython.locals(segment=str, param=_Node, child=_Node, found=_Leaf)
cdef _Leaf _descend(_Node node, list segments, Py_ssize_t depth, Py_ssize_t end, _Mount mount)


@cython.locals(values=tuple, position=Py_ssize_t, match=RouteMatch)
cdef RouteMatch _with_values(RouteMatch found, list segments, Py_ssize_t base, tuple params)
