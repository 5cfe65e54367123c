"""``StepHook``: what sees each pipeline step begin and end.

The loop calls ``before(step)`` just before a step runs and ``after(step,
result)`` once it returned, inside the run's failure boundary: an exception
raised by a hook fails the run at that step exactly as one raised by the step
would (a ``BaseException`` such as ``KeyboardInterrupt`` passes through, as a
kill does). Tests inject faults here; nothing monkeypatches the pipeline.
"""

from __future__ import annotations

import threading
from typing import Protocol

__all__ = ["NULL_HOOK", "PeakMemory", "StepHook"]


class StepHook(Protocol):
    """Called around every step of a run."""

    def before(self, step: str) -> None: ...

    def after(self, step: str, result: object) -> None: ...


class _NullHook:
    def before(self, step: str) -> None:
        return None

    def after(self, step: str, result: object) -> None:
        return None


NULL_HOOK: StepHook = _NullHook()


class PeakMemory:
    """The process's peak resident memory per step, sampled every ``interval`` seconds.

    A daemon thread reads ``VmRSS`` from ``/proc/self/status`` (Linux); ``reset``
    starts a new step's window and ``peak_gb`` is the largest sample since, in
    GiB. Sampling leaves the kernel's own high-water mark alone, so a parent's
    ``wait4`` still reports the run's peak. Without ``/proc`` ``peak_gb`` is
    ``None`` and no thread runs. A sample costs a few microseconds.
    """

    _STATUS = "/proc/self/status"

    def __init__(self, interval: float = 0.1) -> None:
        self._interval = interval
        self._peak_kb = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self._read("VmRSS:") is not None:
            self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)
            self._thread.start()

    def reset(self) -> None:
        """Start a new window: the peak is the current size from now on."""
        self._peak_kb = self._read("VmRSS:") or 0

    def peak_gb(self) -> float | None:
        """The largest resident size seen since ``reset``, in GiB (``None`` without ``/proc``)."""
        if self._thread is None:
            return None
        now = self._read("VmRSS:") or 0
        return round(max(self._peak_kb, now) / 1024**2, 3)

    def current_gb(self) -> float | None:
        """The resident size now, in GiB (``None`` without ``/proc``)."""
        if self._thread is None:
            return None
        return round((self._read("VmRSS:") or 0) / 1024**2, 3)

    def close(self) -> None:
        """Stop sampling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self._interval):
            rss = self._read("VmRSS:")
            if rss is not None and rss > self._peak_kb:
                self._peak_kb = rss

    def _read(self, field: str) -> int | None:
        try:
            with open(self._STATUS, encoding="ascii") as status:
                for line in status:
                    if line.startswith(field):
                        return int(line.split()[1])
        except OSError:
            return None
        return None
