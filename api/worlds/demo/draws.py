"""The random draws of one chunk: one seeded generator, and the ids, times and IPs drawn from it.

Every record of a chunk is drawn from the one ``numpy`` generator seeded by
``(seed, chunk)``, in a fixed order: that order is what makes the same seed
give the same files, so helpers here never draw more than they return.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import numpy as np

from api.worlds.demo.world import WORLD_NOW

__all__ = ["Draws"]


@cache
def _zipf_weights(n: int, offset: float) -> np.ndarray:
    weights: np.ndarray = 1.0 / (np.arange(n) + offset)
    normalised: np.ndarray = weights / weights.sum()
    return normalised


class Draws:
    """The random source of one chunk, with the chunk's id counters."""

    def __init__(self, *, seed: int, chunk: int) -> None:
        self.rng = np.random.default_rng([seed, chunk])
        self.chunk = chunk
        self.counters: dict[str, int] = {}

    def chance(self, p: float) -> bool:
        """True with probability ``p``."""
        return bool(self.rng.random() < p)

    def pick(self, items: list[Any]) -> Any:
        """One of ``items``, uniformly."""
        return items[int(self.rng.integers(len(items)))]

    def zipf_pick(self, pool: list[Any], *, offset: float = 10.0) -> Any:
        """One of ``pool``, the first entries the likeliest (real name and city frequencies).

        Zipf-like: weight 1/(rank+offset). Surnames (offset 10): the commonest
        is ~2 % of people (Smith in the UK is ~1 %); cities (offset 3): the
        biggest holds ~12 % (London: 13 % of the UK).
        """
        return pool[int(self.rng.choice(len(pool), p=_zipf_weights(len(pool), offset)))]

    def new_id(self, prefix: str) -> str:
        """The next id with ``prefix`` in this chunk (``C0000000001``): unique across chunks."""
        n = self.counters.get(prefix, 0) + 1
        self.counters[prefix] = n
        return f"{prefix}{self.chunk:03d}{n:07d}"

    def uuid(self) -> str:
        """A random UUID-shaped string (cookies, devices, advertising ids)."""
        raw = self.rng.bytes(16).hex()
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"

    def timestamp(self, *, days_back: int = 180) -> datetime:
        """A moment in the ``days_back`` days before the world's clock."""
        seconds = int(self.rng.integers(days_back * 86400))
        return WORLD_NOW - timedelta(seconds=seconds)

    def carrier_ip(self, country: str) -> str:
        """A mobile carrier's NAT address: thousands of people share a few of them."""
        digest = hashlib.sha256(f"{country}{int(self.rng.integers(60))}".encode()).digest()
        return f"100.{64 + digest[0] % 64}.{digest[1]}.{digest[2]}"

    def ip(self) -> str:
        """A random public-looking IPv4 address (a home's)."""
        a, b, c, d = (int(x) for x in self.rng.integers(1, 255, size=4))
        return f"{a % 223 + 1}.{b}.{c}.{d}"
