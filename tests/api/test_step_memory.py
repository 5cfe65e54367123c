"""Per-step peak memory of a run (issue #14): ``PeakMemory`` and the run summary's field."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from api.pipeline.hooks import PeakMemory
from api.workspace import Workspace

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


def test_a_published_run_reports_each_steps_peak_and_held_memory(api_world: Path) -> None:
    workspace = Workspace.open(api_world)
    run_id = workspace.current_run_id()
    assert run_id is not None
    report = json.loads((workspace.run_dir(run_id) / "report.json").read_text())
    steps = {"ingest", "consent", "model", "link", "person_ids", "person_consent", "features"}
    for field in ("peak_rss_gb", "held_rss_gb"):
        memory = report[field]
        assert steps <= set(memory), field  # the nightly's segments and exports too
        assert all(isinstance(gb, float) and 0 < gb < 1024 for gb in memory.values()), memory
