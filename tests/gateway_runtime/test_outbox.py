"""The outbox: an iteration's writes go out together, in order; a close never overtakes them."""

from __future__ import annotations

import asyncio
import logging
import socket

import uvloop

from gateway_runtime.http.outbox import Outbox


class _Quiet(asyncio.Protocol):
    pass


async def _pair(loop: asyncio.AbstractEventLoop) -> tuple[asyncio.Transport, socket.socket]:
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    transport, _ = await loop.connect_accepted_socket(_Quiet, ours)
    return transport, theirs  # type: ignore[return-value]


def _read_all(peer: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = peer.recv(65536)
        except BlockingIOError:
            return b"".join(chunks)
        if not chunk:
            chunks.append(b"<EOF>")
            return b"".join(chunks)
        chunks.append(chunk)


def _run(scenario) -> None:  # type: ignore[no-untyped-def]
    uvloop.run(scenario())


def test_writes_wait_for_the_end_of_the_iteration_then_arrive_in_order():
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        outbox = Outbox()
        transport, peer = await _pair(loop)
        outbox.write(transport, b"one ")
        outbox.write(transport, b"two ")
        assert _read_all(peer) == b"", "nothing leaves before the iteration ends"
        assert outbox.scheduled and len(outbox.pending) == 2
        await asyncio.sleep(0.01)
        outbox.write(transport, b"three")
        await asyncio.sleep(0.01)
        assert _read_all(peer) == b"one two three"
        assert not outbox.scheduled and outbox.pending == []
        transport.close()
        peer.close()

    _run(scenario)


def test_a_close_is_carried_out_after_the_bytes_queued_before_it():
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        outbox = Outbox()
        transport, peer = await _pair(loop)
        outbox.write(transport, b"last words")
        outbox.close(transport)
        assert not transport.is_closing(), "the close waits its turn too"
        await asyncio.sleep(0.05)
        assert _read_all(peer) == b"last words<EOF>"
        peer.close()

    _run(scenario)


def test_an_aborted_connection_loses_its_bytes_and_costs_the_others_nothing(caplog):
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        outbox = Outbox()
        doomed, doomed_peer = await _pair(loop)
        fine, fine_peer = await _pair(loop)
        outbox.write(doomed, b"never sent")
        outbox.write(fine, b"first")
        doomed.abort()  # the client went away in the same iteration
        for _ in range(6):  # what a pipelined client's later answers would queue
            outbox.write(doomed, b" nor this")
        outbox.write(fine, b" second")
        outbox.flush()
        await asyncio.sleep(0.05)
        assert _read_all(fine_peer) == b"first second"
        assert b"never sent" not in _read_all(doomed_peer)
        fine.close()
        fine_peer.close()
        doomed_peer.close()

    _run(scenario)
    noisy = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert noisy == [], "a client that vanished is not an error worth a log line"


def test_one_flush_serves_every_connection_of_the_iteration():
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        outbox = Outbox()
        pairs = [await _pair(loop) for _ in range(5)]
        flushes = 0
        real_flush = outbox.flush

        def counting_flush() -> None:
            nonlocal flushes
            flushes += 1
            real_flush()

        outbox.call_soon = lambda _callback, context=None: loop.call_soon(counting_flush)
        for index, (transport, _) in enumerate(pairs):
            outbox.write(transport, b"%d" % index)
        await asyncio.sleep(0.05)
        assert flushes == 1
        assert [_read_all(peer) for _, peer in pairs] == [b"0", b"1", b"2", b"3", b"4"]
        for transport, peer in pairs:
            transport.close()
            peer.close()

    _run(scenario)
