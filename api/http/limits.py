"""Per-key limits on the HTTP API's expensive requests: a rate and a number in progress.

A preview reads the whole run and judges every person's consent from the
ledger; an export writes files. A few of them at once slow every other
request (issue #12: four parallel previews with overlap took 24 s and moved
identify's median from 7 ms to 34 ms), so each key gets a token bucket
(``[api] heavy_per_minute`` tokens a minute, at most ``heavy_burst`` saved
up) and at most ``heavy_concurrent`` expensive requests in progress. Past
either limit the request is answered 429 with ``Retry-After``. Across all
keys, at most ``heavy_workers`` expensive requests run at once (``Slots``);
the others wait their turn on the event loop, holding no worker thread, so
many keys at once cannot crowd out identify either.

The buckets live in the server process's memory: with ``tether serve
--workers N`` each worker counts on its own. A token bucket is a few lines;
pyrate-limiter (in the lock only through schemathesis, a dev tool) would be
a new runtime dependency with a leak thread per bucket for the same thing.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from api.errors import RateLimited
from api.settings import ApiOptions

__all__ = ["Lease", "RateLimiter", "Slots"]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    running: int = 0


class Lease:
    """One admitted expensive request; ``release()`` when it is done (idempotent)."""

    def __init__(self, limiter: RateLimiter, key_id: str) -> None:
        self._limiter = limiter
        self._key_id = key_id
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._limiter._release(self._key_id)


class RateLimiter:
    """Token buckets and in-progress counts per key id, thread-safe, in memory."""

    def __init__(self, *, options: ApiOptions, clock: Callable[[], float] = time.monotonic) -> None:
        self._per_second = options.heavy_per_minute / 60.0
        self._burst = float(options.heavy_burst)
        self._concurrent = options.heavy_concurrent
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, *, key_id: str, cost: int = 1, what: str = "request") -> Lease:
        """Admit one expensive request of ``key_id`` costing ``cost`` tokens, or ``RateLimited``.

        ``what`` names the endpoint in the message. Nothing is taken from a
        refused request's bucket.
        """
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key_id)
            if bucket is None:
                bucket = self._buckets[key_id] = _Bucket(tokens=self._burst, updated=now)
            if self._per_second > 0:
                bucket.tokens = min(
                    self._burst, bucket.tokens + (now - bucket.updated) * self._per_second
                )
                bucket.updated = now
            if self._concurrent and bucket.running >= self._concurrent:
                raise RateLimited(
                    f"key {key_id} already has {bucket.running} expensive requests in "
                    f"progress, the most [api] heavy_concurrent allows; retry this {what} "
                    "when one has finished",
                    key_id=key_id,
                    limit="heavy_concurrent",
                    retry_after_seconds=1,
                )
            needed = min(float(cost), self._burst)
            if self._per_second > 0 and bucket.tokens < needed:
                wait = math.ceil((needed - bucket.tokens) / self._per_second)
                raise RateLimited(
                    f"key {key_id} made more expensive requests than [api] heavy_per_minute "
                    f"allows ({self._per_second * 60:g} a minute, {self._burst:g} at once); "
                    f"retry this {what} in {wait} s",
                    key_id=key_id,
                    limit="heavy_per_minute",
                    retry_after_seconds=wait,
                )
            if self._per_second > 0:
                bucket.tokens -= needed
            bucket.running += 1
        return Lease(self, key_id)

    def _release(self, key_id: str) -> None:
        with self._lock:
            bucket = self._buckets.get(key_id)
            if bucket is not None and bucket.running > 0:
                bucket.running -= 1


class Slots:
    """At most ``n`` expensive requests run at once in this process; the others wait.

    One ``asyncio.Semaphore`` per running event loop (a test client may run
    the same app on several loops, one after the other).
    """

    def __init__(self, n: int) -> None:
        self._n = n
        self._by_loop: dict[int, asyncio.Semaphore] = {}

    def semaphore(self) -> asyncio.Semaphore:
        """The semaphore of the running event loop."""
        loop = id(asyncio.get_running_loop())
        found = self._by_loop.get(loop)
        if found is None:
            found = self._by_loop[loop] = asyncio.Semaphore(self._n)
        return found
