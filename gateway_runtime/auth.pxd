# Principal, KeyRecord and KeyTable are C structs so that authenticate_raw's cached path is
# typed field reads and dict lookups; AuthError stays a Python exception, the OAuth2 side
# stays Python (a JWT's cost is in PyJWT, not here).
cimport cython

from gateway_runtime.config.table cimport Route, Table
from gateway_runtime.routing cimport RouteMatch


cdef class Principal:
    cdef public object app_id, plan_id, key_prefix, client_id, subject
    cdef public bint key_in_query


cdef class KeyRecord:
    cdef public object prefix
    cdef public bytes digest
    cdef public object app_id, expires_at


cdef class KeyTable:
    cdef public dict _records, _verified, principals


@cython.locals(mode=str)
cpdef Principal authenticate_raw(Table table, RouteMatch match, bytes raw, bytes authorization, bytes query, double now)

@cython.locals(keys=KeyTable, versions=dict, known=tuple, until=double)
cdef tuple _key_entry(Table table, Route route, version_id, str raw_key, double now)
