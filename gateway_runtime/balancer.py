"""Load-balancing algorithms: pure, synchronous, no I/O.

A balancer picks one of the *candidates* that RuntimeState hands it: the instances that may take
traffic right now (healthy or unknown, not draining, not ejected, or every non-draining one in
panic mode). A candidate is any object with `id`, `eff_weight` (weight after slow start, > 0) and
`in_flight`. RuntimeState calls `update(candidates)` whenever that set or a weight changes, off the
per-request path; `pick()` is the per-request call.

- SmoothWeightedRoundRobin: nginx's smooth weighted round robin. Every pick adds each weight to its
  running total, takes the largest and subtracts the sum of weights from it, so weights 2:1 give
  a, b, a, a, b, a ... exactly in proportion and evenly interleaved.
- LeastRequestP2C (the default): two candidates drawn at random (with replacement), the one with
  fewer requests in flight wins (unequal weights: see the class). Drawing with replacement is
  what makes a busy host still get a share: with 3 equal hosts, one of them stuck with 10 in
  flight is drawn twice in 1 of 9 picks, so it keeps about 11 % of the traffic instead of none.
- MaglevHash: Maglev consistent hashing (Eisenbud et al., NSDI 2016) keyed by mmh3. Removing one of
  N hosts moves about 1/N of the keys. A request without a key falls back to P2C.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Protocol

import mmh3


class Candidate(Protocol):
    id: int
    eff_weight: float
    in_flight: int


# Table sizes for Maglev: primes, the smallest one >= 500 x candidates is used. Larger tables move
# fewer extra keys when the set changes but cost more to build, and the build runs when a host is
# ejected or restored. Measured removing 1 of 10 hosts (100,000 keys): 1021 slots moved 11.6-12.5 %,
# 8209 slots 10.8-11.1 % (5.6 ms to build), 65537 slots 10.1 % (61 ms: too long a stall).
MAGLEV_SIZES = (251, 509, 1021, 2053, 4099, 8209, 16411, 32771, 65537)


class Balancer:
    """Base class: keeps the current candidates; subclasses implement pick()."""

    name = "base"

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()
        self._random = self.rng.random
        self.cands: tuple[Candidate, ...] = ()

    def update(self, cands: Sequence[Candidate]) -> None:
        """New candidate set (or new weights): recompute whatever depends on it."""
        self.cands = tuple(cands)

    def pick(
        self, key: bytes | str | None = None, exclude: Candidate | None = None
    ) -> Candidate | None:
        raise NotImplementedError

    def _first_other(self, exclude: Candidate | None) -> Candidate | None:
        for cand in self.cands:
            if cand is not exclude:
                return cand
        return None


class SmoothWeightedRoundRobin(Balancer):
    """nginx's smooth weighted round robin; running totals survive candidate updates by id."""

    name = "round_robin"

    def __init__(self, rng: random.Random | None = None) -> None:
        super().__init__(rng)
        self._current: list[float] = []
        self._weights: list[float] = []
        self._total = 0.0

    def update(self, cands: Sequence[Candidate]) -> None:
        old = {c.id: cur for c, cur in zip(self.cands, self._current, strict=True)}
        super().update(cands)
        self._weights = [float(c.eff_weight) for c in self.cands]
        self._current = [old.get(c.id, 0.0) for c in self.cands]
        self._total = sum(self._weights)

    def pick(
        self, key: bytes | str | None = None, exclude: Candidate | None = None
    ) -> Candidate | None:
        cands = self.cands
        current = self._current
        weights = self._weights
        best = -1
        best_value = 0.0
        total = 0.0
        for i in range(len(cands)):
            if cands[i] is exclude:
                continue
            value = current[i] + weights[i]
            current[i] = value
            total += weights[i]
            if best < 0 or value > best_value:
                best = i
                best_value = value
        if best < 0:
            return None
        current[best] -= total
        return cands[best]


class LeastRequestP2C(Balancer):
    """Least request: power of two choices when the weights are equal, weighted otherwise.

    With unequal weights, P2C would hand the heavier host far more than its weight (idle hosts
    2:1 -> 8:1), so like Envoy we switch to a weighted random draw over weight / (in_flight + 1):
    idle hosts get their weights exactly and a loaded one is drawn less. O(n), n is small.
    """

    name = "least_request"

    def __init__(self, rng: random.Random | None = None) -> None:
        super().__init__(rng)
        self._equal = True

    def update(self, cands: Sequence[Candidate]) -> None:
        super().update(cands)
        self._equal = len({float(c.eff_weight) for c in self.cands}) <= 1

    def pick(
        self, key: bytes | str | None = None, exclude: Candidate | None = None
    ) -> Candidate | None:
        cands = self.cands
        if not cands:
            return None
        if not self._equal:
            return self._weighted(exclude)
        count = len(cands)
        # Two draws, in this order: a seeded rng must give the same picks as it always has.
        rand = self._random
        draw = rand()
        i = int(draw * count)
        first = cands[i]
        draw = rand()
        i = int(draw * count)
        second = cands[i]
        if exclude is not None:
            if first is exclude:
                first = second
            if second is exclude:
                second = first
            if first is exclude:  # both draws hit the excluded one
                return self._first_other(exclude)
        if second is not first and second.in_flight < first.in_flight:
            return second
        return first

    def _weighted(self, exclude: Candidate | None) -> Candidate | None:
        scores = [0.0 if c is exclude else c.eff_weight / (c.in_flight + 1) for c in self.cands]
        point = self._random() * sum(scores)
        for cand, score in zip(self.cands, scores, strict=True):
            point -= score
            if point < 0 and score > 0:
                return cand
        return self._first_other(exclude)


def maglev_size(count: int) -> int:
    """The lookup-table size for `count` candidates: the smallest listed prime >= 500 x count."""
    for size in MAGLEV_SIZES:
        if size >= 500 * count:
            return size
    return MAGLEV_SIZES[-1]


def build_maglev(names: Sequence[str], weights: Sequence[float], size: int) -> list[int]:
    """The Maglev lookup table: slot -> index into `names`.

    Each name walks its own permutation of the slots (offset + j * skip mod size, size prime) and
    takes the next free slot on its turn; a name with weight w takes a turn in w/max(w) of the
    rounds, so slot shares follow the weights.
    """
    count = len(names)
    table = [-1] * size
    if count == 0:
        return table
    offsets = [mmh3.hash(n, 0xBEEF, signed=False) % size for n in names]
    skips = [mmh3.hash(n, 0xCAFE, signed=False) % (size - 1) + 1 for n in names]
    top = max(weights)
    shares = [w / top for w in weights]
    credit = [0.0] * count
    nexts = [0] * count
    filled = 0
    while True:
        for i in range(count):
            credit[i] += shares[i]
            if credit[i] < 1.0:
                continue
            credit[i] -= 1.0
            slot = (offsets[i] + nexts[i] * skips[i]) % size
            while table[slot] >= 0:
                nexts[i] += 1
                slot = (offsets[i] + nexts[i] * skips[i]) % size
            table[slot] = i
            nexts[i] += 1
            filled += 1
            if filled == size:
                return table


class MaglevHash(Balancer):
    """Consistent hashing on a request key; keyless requests go to a P2C fallback."""

    name = "maglev"

    def __init__(self, rng: random.Random | None = None) -> None:
        super().__init__(rng)
        self._fallback = LeastRequestP2C(self.rng)
        self._table: list[int] = []
        self._size = 1
        self._built_for: tuple[tuple[int, float], ...] = ()

    def update(self, cands: Sequence[Candidate]) -> None:
        super().update(cands)
        self._fallback.update(self.cands)
        # Configured weights, not slow-start ones: like Envoy, slow start does not apply to hashing
        # (ramping would move keys every tick and rebuild the table every second).
        signature = tuple((c.id, float(getattr(c, "weight", c.eff_weight))) for c in self.cands)
        if signature == self._built_for:
            return
        self._built_for = signature
        self._size = maglev_size(len(self.cands))
        names = [str(c.id) for c in self.cands]
        self._table = build_maglev(names, [w for _, w in signature], self._size)

    def pick(
        self, key: bytes | str | None = None, exclude: Candidate | None = None
    ) -> Candidate | None:
        if not self.cands:
            return None
        if key is None:
            return self._fallback.pick(None, exclude)
        slot = mmh3.hash(key, signed=False) % self._size
        cand = self.cands[self._table[slot]]
        if cand is exclude:
            # A retry goes to the next different host along the table: still deterministic per key.
            for step in range(1, self._size):
                other = self.cands[self._table[(slot + step) % self._size]]
                if other is not exclude:
                    return other
            return None
        return cand


BALANCERS: dict[str, type[Balancer]] = {
    "least_request": LeastRequestP2C,
    "p2c": LeastRequestP2C,
    "round_robin": SmoothWeightedRoundRobin,
    "maglev": MaglevHash,
    "consistent_hash": MaglevHash,
}


def make_balancer(name: str | None, rng: random.Random | None = None) -> Balancer:
    """A balancer by policy name; unknown or missing names get the default (least request P2C)."""
    return BALANCERS.get(name or "least_request", LeastRequestP2C)(rng)
