"""Per-step peak memory of a run (issue #14): ``PeakMemory`` and the run summary's field."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow as pa
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


def test_person_consent_holds_event_ids_as_arrow_lists_and_writes_them_as_lists_were(
    tmp_path: Path,
) -> None:
    """The person-consent table holds its event ids in Arrow (at 10 M touchpoints a Python
    list and strings per row held gigabytes until the run ended), and its file is the one a
    column of Python lists made: the same schema and pandas metadata, read back the same."""
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    from api.pipeline.steps import _write_parquet
    from consent.effective import person_consent

    subjects = pd.DataFrame(
        {
            "person_id": ["p", "p", "q"],
            "subject_type": ["cookie", "email", "cookie"],
            "subject_id": ["c1", "e1", "c2"],
        }
    )
    states = pd.DataFrame(
        {
            "subject_type": ["cookie", "email", "email"],
            "subject_id": ["c1", "e1", "e1"],
            "purpose": ["analytics", "analytics", "ad_targeting"],
            "status": ["granted", "granted", "denied"],
            "event_id": ["ev_b", "ev_a", "ev_c"],
            "recorded_at": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"], utc=True),
            "live": [True, True, True],
        }
    )
    table = person_consent(
        subjects=subjects, states=states, as_of=pd.Timestamp("2026-02-01", tz="UTC")
    )
    assert isinstance(table["event_ids"].dtype, pd.ArrowDtype)
    cells = zip(table["person_id"], table["purpose"], strict=True)
    ids = dict(zip(cells, table["event_ids"], strict=True))
    assert ids[("p", "analytics")] == ["ev_a", "ev_b"] and ids[("p", "ad_targeting")] == ["ev_c"]
    assert ids[("q", "analytics")] == []

    as_lists = table.assign(
        event_ids=pd.Series([list(v) for v in table["event_ids"]], dtype=object)
    )
    _write_parquet(table, tmp_path / "arrow.parquet")
    as_lists.to_parquet(tmp_path / "lists.parquet", index=False)
    ours, theirs = (
        pq.read_schema(tmp_path / "arrow.parquet"),
        pq.read_schema(tmp_path / "lists.parquet"),
    )
    assert ours.equals(theirs, check_metadata=True)
    back = pd.read_parquet(tmp_path / "arrow.parquet")
    assert back["event_ids"].dtype == object
    assert [list(v) for v in back["event_ids"]] == [list(v) for v in table["event_ids"]]
    assert np.array_equal(back["allowed"], table["allowed"])


def test_release_between_steps_returns_what_arrow_freed() -> None:
    """Arrow's pool (mimalloc) keeps the pages of freed buffers for reuse: the run gives
    them back between steps, or the text a step read as Arrow stays resident into every
    later step (at 1 M touchpoints 0.1-0.35 GiB held per step, bench/RESULTS.md)."""
    from api.pipeline.run import _release_memory

    memory = PeakMemory()
    try:
        buffers = [pa.allocate_buffer(256 * 1024) for _ in range(1600)]  # 400 MiB
        for buffer in buffers:
            view = memoryview(buffer).cast("B")
            for page in range(0, len(view), 4096):
                view[page] = 1  # resident
        held = memory.current_gb()
        del buffers, view
        _release_memory()
        after = memory.current_gb()
        assert held is not None and after is not None
        assert after < held - 0.3, (held, after)
    finally:
        memory.close()


def test_the_model_input_training_prepared_is_gone_when_linking_clusters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Training hands linking the model input, and linking lets go of it once scored: no
    reference is left in the run (its loop, ``done``) while the clustering runs (issue #14:
    at 10 M touchpoints 2.4 GiB under linking's peak)."""
    import gc
    import weakref

    import resolver.link as link_module
    from api.pipeline import run_link
    from api.pipeline.results import ModelReady
    from api.settings import load_config
    from api.worlds.demo import demo_config_toml, write_demo_world

    write_demo_world(tmp_path / "data", persons=300, seed=5)
    (tmp_path / "tether.toml").write_text(demo_config_toml(data_dir="data"))
    seen: list[weakref.ref[object]] = []
    alive_when_clustering: list[bool] = []

    class Hook:
        def before(self, step: str) -> None:
            return None

        def after(self, step: str, result: object) -> None:
            if isinstance(result, ModelReady) and result.prepared is not None:
                seen.append(weakref.ref(result.prepared.model_input))

    cluster = link_module.cluster_linked

    def clustering(*args: object, **kwargs: object) -> object:
        gc.collect()
        alive_when_clustering.append(any(ref() is not None for ref in seen))
        return cluster(*args, **kwargs)

    monkeypatch.setattr(link_module, "cluster_linked", clustering)
    summary = run_link(
        config=load_config(tmp_path / "tether.toml"),
        workspace=Workspace.open(tmp_path / "home"),
        retrain=True,
        hook=Hook(),
    )
    assert len(seen) == 1 and alive_when_clustering == [False]
    assert summary.linking["model_input_rows"] > 0
