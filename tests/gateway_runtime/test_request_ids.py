"""Request ids and trace ids made by the proxy's IdSource (http/headers.py)."""

from __future__ import annotations

import re

from gateway_runtime.http.headers import IdSource, SplitMix64

TRACEPARENT = re.compile(rb"^traceparent: 00-([0-9a-f]{32})-([0-9a-f]{16})-01\r\n$")


def test_fresh_request_ids_are_unique_across_stem_changes() -> None:
    ids = IdSource()
    made = [ids.request_id(None) for _ in range(3 * 4096 + 10)]
    assert len(set(made)) == len(made)
    prefix = ids.prefix.decode()
    assert all(re.fullmatch(prefix + r"[0-9a-f]+", rid.decode()) for rid in made)
    # the counter in hex: id n ends with n's hex digits
    assert made[4095].decode() == f"{prefix}{4096:04x}"
    assert made[4096 * 2].decode() == f"{prefix}{4096 * 2 + 1:04x}"


def test_two_sources_use_different_prefixes() -> None:
    assert IdSource().request_id(None) != IdSource().request_id(None)


def test_client_request_id_kept_when_sane_replaced_when_not() -> None:
    ids = IdSource()
    assert ids.request_id(b"abc-123.x:y_z") == b"abc-123.x:y_z"
    for bad in (b"", b"has space", b"x" * 129, b"semi;colon", b"\xff"):
        assert ids.request_id(bad).startswith(ids.prefix)


def test_new_traceparent_is_well_formed_and_random() -> None:
    ids = IdSource()
    lines = [ids.traceparent_line(None) for _ in range(1000)]
    traces = set()
    for line in lines:
        m = TRACEPARENT.match(line)
        assert m is not None, line
        traces.add(m.group(1))
    assert len(traces) == 1000


class Scripted(SplitMix64):
    """Hands out chosen 64-bit values instead of random ones."""

    def __init__(self, values: list[int]) -> None:
        super().__init__(seed=0)
        self.values = iter(values)

    def next64(self) -> int:
        return next(self.values)


def test_splitmix64_gives_the_reference_sequence() -> None:
    rng = SplitMix64(seed=0)
    assert [rng.next64() for _ in range(3)] == [
        0xE220A8397B1DCDAF,
        0x6E789E6AA1B965F4,
        0x06C45D188009454F,
    ]
    wrapped = SplitMix64(seed=(1 << 64) - 1)  # the state wraps at 64 bits
    assert 0 <= wrapped.next64() < 1 << 64


def test_trace_id_is_two_draws_and_span_id_the_third() -> None:
    ids = IdSource(Scripted([0x0123456789ABCDEF, 0x0011223344556677, 0x8899AABBCCDDEEFF]))
    assert ids.traceparent_line(None) == (
        b"traceparent: 00-0123456789abcdef0011223344556677-8899aabbccddeeff-01\r\n"
    )


def test_all_zero_ids_are_drawn_again() -> None:
    values = [0, 0, 5, 1, 2, 0, 0, 1, 7]  # trace id zero; span id zero; both set
    ids = IdSource(Scripted(values))
    assert ids.traceparent_line(None) == (
        b"traceparent: 00-00000000000000000000000000000001-0000000000000007-01\r\n"
    )


def test_valid_client_traceparent_passed_on_invalid_replaced() -> None:
    ids = IdSource()
    given = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert ids.traceparent_line(given) == b"traceparent: " + given + b"\r\n"
    for bad in (
        b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        b"garbage",
    ):
        line = ids.traceparent_line(bad)
        assert TRACEPARENT.match(line) and bad not in line


def test_a_new_traceparent_is_its_three_draws_in_hex() -> None:
    """Compiled, the line is written digit by digit in C: it must be the f-string's, whatever the
    draws (leading zeros, all bits set, every hex digit)."""
    draws = [
        (1, 0, 1),
        (0, 1, 1),
        ((1 << 64) - 1, (1 << 64) - 1, (1 << 64) - 1),
        (0x0F0F0F0F0F0F0F0F, 0xF0F0F0F0F0F0F0F0, 0x1000000000000000),
        *(
            (SplitMix64(seed).next64(), seed, SplitMix64(seed + 1).next64())
            for seed in range(1, 50)
        ),
    ]
    ids = IdSource(Scripted([v for three in draws for v in three]))
    for high, low, span in draws:
        expected = f"traceparent: 00-{high:016x}{low:016x}-{span:016x}-01\r\n".encode()
        assert ids.traceparent_line(None) == expected
