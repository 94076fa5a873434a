cdef class Clock:
    cdef public double now, wall
    cdef public bytes date
    cdef public bint closing
    cdef public object loop_time
