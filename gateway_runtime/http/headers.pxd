cimport cython
cimport gateway_runtime.http.header_kinds as kinds
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.object cimport PyObject
from cpython.pyport cimport PY_SSIZE_T_MAX
from libc.string cimport memchr, memcpy


cdef class SplitMix64:
    cdef public unsigned long long state, golden, mix1, mix2, mask

    @cython.locals(z=cython.ulonglong)
    cpdef unsigned long long next64(self)


cdef class IdSource:
    cdef public bytes prefix, stem
    cdef public unsigned long long count
    cdef public SplitMix64 rng

    @cython.locals(low=Py_ssize_t)
    cpdef bytes request_id(self, given)
    @cython.locals(rng=SplitMix64, high=cython.ulonglong, low=cython.ulonglong, span=cython.ulonglong)
    cpdef bytes traceparent_line(self, given)


cdef bint COMPILED

# `except -1`: a kind is never negative, so a call costs no PyErr_Occurred() check
@cython.locals(n=Py_ssize_t)
cpdef int request_header_kind(bytes name) except -1
cpdef bytes request_header_key(int kind, bytes name)
@cython.locals(n=Py_ssize_t)
cpdef int response_header_kind(bytes name) except -1
@cython.locals(p=cython.p_uchar, q=cython.p_uchar, i=Py_ssize_t, c=cython.int)
cdef bint _is(bytes name, bytes lower) noexcept
@cython.locals(n=Py_ssize_t, i=Py_ssize_t, p=cython.p_char, q=cython.p_char)
cpdef bytes lower_name(bytes name)

cdef extern from "Python.h":
    # join_bytes reads the items of a list it holds, without touching their reference counts
    PyObject* _item "PyList_GET_ITEM" (object, Py_ssize_t)
    bint _is_bytes "PyBytes_CheckExact" (PyObject*)
    Py_ssize_t _size "PyBytes_GET_SIZE" (PyObject*)
    char* _data "PyBytes_AS_STRING" (PyObject*)

@cython.locals(count=Py_ssize_t, n=Py_ssize_t, i=Py_ssize_t, size=Py_ssize_t, dst=cython.p_char)
cpdef bytes join_bytes(list pieces)

@cython.locals(n=Py_ssize_t)
cpdef bytes bytes_from(bytes data, Py_ssize_t start)
cpdef bytes bytes_upto(bytes data, Py_ssize_t end)
@cython.locals(p=cython.p_char, hit=cython.p_char)
cpdef Py_ssize_t find_byte(bytes data, int byte) except -2

@cython.locals(p=cython.p_char)
cdef bytes _traceparent(unsigned long long high, unsigned long long low, unsigned long long span)
@cython.locals(i=cython.int, d=cython.int)
cdef void _hex16(char* p, unsigned long long v) noexcept
