"""Linking lets go of the model input once scored, when the caller hands it over: at 10 M
touchpoints it was 2.4 GiB of text under the clustering's peak (issue #14)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import resolver.link as link_module
from api.settings import load_config
from api.worlds.demo import demo_config_toml, write_demo_world
from api.worlds.harder import harder_config_toml, write_harder_world
from resolver import ingest_sources
from resolver.cluster import GuardedUnion
from resolver.link import (
    CLUSTER_LINKED_COLUMNS,
    link_touchpoints,
    prepare_linking,
    train_on_touchpoints,
)


def test_the_model_input_is_gone_before_clustering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_demo_world(tmp_path, persons=300, seed=3)
    (tmp_path / "tether.toml").write_text(demo_config_toml(data_dir="."))
    config = load_config(tmp_path / "tether.toml")
    touchpoints = ingest_sources(sources=config.sources).touchpoints
    prepared = prepare_linking(touchpoints, options=config.linking, con=duckdb.connect())
    model = train_on_touchpoints(touchpoints, options=config.linking, prepared=prepared)
    rows = len(prepared.model_input)
    model_input = weakref.ref(prepared.model_input)
    alive_when_clustering: list[bool] = []
    cluster = link_module.cluster_linked

    def clustering(*args: object, **kwargs: object) -> object:
        gc.collect()
        alive_when_clustering.append(model_input() is not None)
        return cluster(*args, **kwargs)

    monkeypatch.setattr(link_module, "cluster_linked", clustering)
    handed = [prepared]
    del prepared
    result = link_touchpoints(
        touchpoints, model=model, options=config.linking, prepared=handed.pop()
    )
    assert alive_when_clustering == [False]
    assert result.stats["model_input_rows"] == rows > 0


def test_duckdb_reading_the_touchpoints_parquet_prepares_what_the_frame_does(
    tmp_path: Path,
) -> None:
    """The model step hands DuckDB the run's ``touchpoints.parquet`` instead of a frame of
    its linking columns (issue #14): the deterministic edges, blocked values, fragments and
    model input are the same, the model input's text as Arrow either way."""
    write_demo_world(tmp_path, persons=300, seed=5)
    (tmp_path / "tether.toml").write_text(demo_config_toml(data_dir="."))
    config = load_config(tmp_path / "tether.toml")
    touchpoints = ingest_sources(sources=config.sources).touchpoints
    source = tmp_path / "touchpoints.parquet"
    touchpoints.to_parquet(source, index=False)
    framed = prepare_linking(touchpoints, options=config.linking, con=duckdb.connect())
    read = prepare_linking(None, options=config.linking, con=duckdb.connect(), source=source)
    for name in ("edges", "junk"):  # as sets of rows: DuckDB's threads order them
        mine, theirs = getattr(read, name), getattr(framed, name)
        keys = list(theirs.columns)
        pd.testing.assert_frame_equal(
            mine.sort_values(keys).reset_index(drop=True),
            theirs.sort_values(keys).reset_index(drop=True),
        )
    np.testing.assert_array_equal(read.fragment, framed.fragment)
    pd.testing.assert_frame_equal(read.model_input, framed.model_input)
    assert len(read.model_input) > 100
    assert isinstance(read.model_input["first_latin"].dtype, pd.ArrowDtype)
    with pytest.raises(TypeError, match="Parquet"):
        prepare_linking(None, options=config.linking, con=duckdb.connect())


def test_linking_handed_a_column_reader_reads_a_phase_at_a_time_and_links_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run hands linking a function that reads the touchpoints' columns (``RecordRows``):
    no column is held while Splink scores or while the union decides the edges, stitching
    reads its columns one by one, and every decision is the frame's (issue #14)."""
    write_harder_world(tmp_path / "data", persons=400, seed=13)
    (tmp_path / "tether.toml").write_text(harder_config_toml(data_dir="data"))
    config = load_config(tmp_path / "tether.toml")
    touchpoints = ingest_sources(sources=config.sources).touchpoints
    prepared = prepare_linking(touchpoints, options=config.linking, con=duckdb.connect())
    model = train_on_touchpoints(touchpoints, options=config.linking, prepared=prepared)
    framed = link_touchpoints(touchpoints, model=model, options=config.linking, prepared=prepared)

    asked: list[list[str]] = []
    alive: list[weakref.ref[pd.DataFrame]] = []

    def read(columns: Sequence[str]) -> pd.DataFrame:
        asked.append(list(columns))
        frame = touchpoints[[c for c in columns if c in touchpoints]].copy()
        alive.append(weakref.ref(frame))
        return frame

    held: dict[str, list[int]] = {"predict": [], "union": []}

    def holding(phase: str, call: Callable[..., object]) -> Callable[..., object]:
        def counted(*args: object, **kwargs: object) -> object:
            gc.collect()
            held[phase].append(sum(ref() is not None for ref in alive))
            return call(*args, **kwargs)

        return counted

    monkeypatch.setattr(link_module, "predict_pairs", holding("predict", link_module.predict_pairs))
    add = GuardedUnion.add
    monkeypatch.setattr(GuardedUnion, "add", lambda self, edges: holding("union", add)(self, edges))
    read_so = link_touchpoints(read, model=model, options=config.linking, prepared=prepared)

    assert held == {"predict": [0], "union": [0, 0]}  # the edges, then the stitched ones
    assert max(len(columns) for columns in asked) <= 13  # never the 23 at once
    assert {c for columns in asked for c in columns} <= set(CLUSTER_LINKED_COLUMNS)
    browsing = [c for c in asked if {"cookie_id", "user_agent", "ip", "ts"} & set(c)]
    assert browsing == [["cookie_id"], ["user_agent"], ["ts"], ["ip"]]
    np.testing.assert_array_equal(read_so.cluster, framed.cluster)
    pd.testing.assert_frame_equal(read_so.edges, framed.edges)
    pd.testing.assert_frame_equal(read_so.predictions, framed.predictions)
    assert (framed.edges["rule"] == "ip_user_agent").any()  # a world that stitches
    assert len(np.unique(framed.cluster)) < len(touchpoints) * 0.8
