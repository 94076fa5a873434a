"""Client-facing HTTP/1.1 server of the gateway (httptools parser, asyncio protocol)."""
