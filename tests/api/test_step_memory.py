"""Per-step peak memory of a run (issue #14): ``PeakMemory`` and the run summary's field."""

from __future__ import annotations

import sys

import pytest

from api.pipeline.hooks import PeakMemory

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")


def test_peak_memory_sees_what_a_step_holds_and_forgets_it_at_reset() -> None:
    memory = PeakMemory()
    try:
        memory.reset()
        before = memory.peak_gb()
        assert before is not None
        held = bytearray(256 * 1024**2)  # zero-filled: its pages are resident
        held[::4096] = b"\x01" * len(held[::4096])
        peak = memory.peak_gb()
        assert peak is not None and peak >= before + 0.2
        del held
        memory.reset()
        after = memory.peak_gb()
        assert after is not None and after < peak - 0.2
    finally:
        memory.close()
