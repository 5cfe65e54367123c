"""Linking lets go of the model input once scored, when the caller hands it over: at 10 M
touchpoints it was 2.4 GiB of text under the clustering's peak (issue #14)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import duckdb
import pytest

import resolver.link as link_module
from api.settings import load_config
from api.worlds.demo import demo_config_toml, write_demo_world
from resolver import ingest_sources
from resolver.link import link_touchpoints, prepare_linking, train_on_touchpoints


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
