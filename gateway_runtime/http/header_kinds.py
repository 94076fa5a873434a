"""What the header classifiers of http/headers.py return (compiled: the C enum of the .pxd).

Request kinds: REQ_FORWARD and the kinds from REQ_KNOWN on are forwarded as they are; the others
are held apart by the parser (captured) or dropped as hop-by-hop. Every kind but REQ_FORWARD names
one header, whose lower-case spelling is headers.REQUEST_KEYS[kind].
"""

REQ_FORWARD = 0
REQ_HOST = 1
REQ_CONTENT_LENGTH = 2
REQ_TRANSFER_ENCODING = 3
REQ_CONNECTION = 4
REQ_EXPECT = 5
REQ_X_FORWARDED_FOR = 6
REQ_X_FORWARDED_HOST = 7
REQ_FORWARDED = 8
REQ_X_REQUEST_ID = 9
REQ_TRACEPARENT = 10
REQ_KEEP_ALIVE = 11
REQ_PROXY_CONNECTION = 12
REQ_TE = 13
REQ_TRAILER = 14
REQ_UPGRADE = 15
REQ_PROXY_AUTHORIZATION = 16
REQ_X_FORWARDED_PROTO = 17
# forwarded, but read by the gateway itself (auth, cookie hashing)
REQ_KNOWN = 18
REQ_X_API_KEY = 18
REQ_AUTHORIZATION = 19
REQ_COOKIE = 20

# Response kinds: what the upstream connection does with a header of the response head.
RESP_FORWARD = 0
RESP_LENGTH = 1  # content-length: forwarded, and the body is length-delimited
RESP_DROP = 2  # hop-by-hop, or rewritten by the gateway (date, server, x-request-id)
RESP_CHUNKED = 3  # transfer-encoding: dropped, the body is chunked
RESP_UPGRADE = 4  # upgrade: dropped, its value kept for a 101
