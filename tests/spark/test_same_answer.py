"""The Spark engine gives DuckDB's answer: one test body, run on both engines.

As Splink parametrises its tests by backend, these tests take the engine as
a parameter and check the same things on each, against what DuckDB gives:
a run published by `tether link --engine ENGINE` (identity graph, every
edge's decision, the scores, the refused identifiers; the hard cases of the
demo world kept apart), and a model trained on the engine. The data is small
(a few hundred persons): local Spark on two cores spends a second or more on
every query, whatever the size (``docs/scale.md``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from api.settings import load_config
from api.workspace import Workspace
from resolver import evaluate_graph, read_labels
from resolver.link import link_touchpoints, prepare_linking, train_on_touchpoints
from resolver.sources import ingest_sources
from tests.clirunner import tether_in_process
from tests.conftest import TrainedModels, make_demo_dir
from tests.spark.conftest import TEST_SPARK

pytestmark = [pytest.mark.spark, pytest.mark.slow]

ENGINES = ["duckdb", "spark"]
PERSONS = 250


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, trained_models: TrainedModels) -> Path:
    """A small demo world, its `[spark]` table, and its model (trained once on DuckDB)."""
    directory = make_demo_dir(tmp_path_factory.mktemp("spark-world"), persons=PERSONS, seed=11)
    trained_models.seed(directory / "tether.toml", directory / "model-home")
    with (directory / "tether.toml").open("a") as config:
        config.write(
            f'\n[spark]\nmaster = "{TEST_SPARK.master}"\n'
            f"shuffle_partitions = {TEST_SPARK.shuffle_partitions}\n"
            f'driver_memory = "{TEST_SPARK.driver_memory}"\n'
        )
    return directory


@pytest.fixture(scope="module")
def published(world: Path, spark_session: Any, tmp_path_factory) -> dict[str, Workspace]:
    """``tether link --engine ENGINE`` on the world, each in a workspace holding the model."""
    out = {}
    for engine in ENGINES:
        home = tmp_path_factory.mktemp(f"ws-{engine}")
        target = Workspace.open(home).model_path.parent
        target.mkdir(parents=True, exist_ok=True)
        for path in (world / "model-home" / "model").iterdir():
            (target / path.name).write_bytes(path.read_bytes())
        tether_in_process(
            "link", "-c", str(world / "tether.toml"), "--engine", engine, "--json", home=home
        )
        out[engine] = Workspace.open(home)
    return out


def _run_file(ws: Workspace, name: str) -> pd.DataFrame:
    frame: pd.DataFrame = pd.read_parquet(ws.current_dir() / name)
    return frame


@pytest.mark.parametrize("engine", ENGINES)
def test_tether_link_publishes_duckdbs_run(world, published, engine) -> None:
    ours, duck = published[engine], published["duckdb"]
    graph, duck_graph = ours.read_current("identity_graph"), duck.read_current("identity_graph")
    # the same persons: DuckDB's persons as labels, pairwise F1 of this engine's graph
    as_labels = duck_graph[["source", "record_key", "person_id"]].rename(
        columns={"person_id": "true_id"}
    )
    assert evaluate_graph(graph=graph, labels=as_labels).pairwise_f1 == 1.0
    assert len(graph) == len(duck_graph)
    assert graph["person_id"].nunique() == duck_graph["person_id"].nunique()
    # every edge with the same decision (rows in another order: neither engine sorts them)
    key = ["rule", "left_source", "left_key", "right_source", "right_key"]
    links, duck_links = (
        _run_file(ws, "links.parquet").sort_values(key, ignore_index=True) for ws in (ours, duck)
    )
    pd.testing.assert_frame_equal(links.drop(columns="probability"),
                                  duck_links.drop(columns="probability"))  # fmt: skip
    np.testing.assert_allclose(links["probability"], duck_links["probability"], rtol=1e-9)
    assert (links["rule"] == "ip_user_agent").any()  # browser stitching ran
    assert (links["decision"] != "accepted").any()  # and the guard-rails refused some
    # Splink's scores agree to rounding, on the same pairs with the same blocking rule
    scores, duck_scores = (_run_file(ws, "predictions.parquet") for ws in (ours, duck))
    pd.testing.assert_frame_equal(scores[["left", "right", "rule"]],
                                  duck_scores[["left", "right", "rule"]])  # fmt: skip
    np.testing.assert_allclose(scores["probability"], duck_scores["probability"], atol=1e-12)
    pd.testing.assert_frame_equal(
        _run_file(ours, "blocked_identifiers.parquet"),
        _run_file(duck, "blocked_identifiers.parquet"),
        check_dtype=False,
    )
    # the hard cases stay apart
    truth = graph.merge(read_labels(world / "labels.csv"), on=["source", "record_key"])
    for case, rows in pd.read_csv(world / "hard_cases.csv").groupby("case"):
        members = truth[truth["true_id"].isin(rows["true_id"])]
        assert (members.groupby("person_id")["true_id"].nunique() == 1).all(), case
    assert (
        evaluate_graph(graph=graph, labels=read_labels(world / "labels.csv")).pairwise_precision
        >= 0.95
    )


@pytest.fixture(scope="module")
def trained(world: Path, spark_session: Any) -> dict[str, Any]:
    """The world's model trained on each engine from the same model input."""
    config = load_config(world / "tether.toml")
    touchpoints = ingest_sources(sources=config.sources).touchpoints
    prepared = prepare_linking(touchpoints, options=config.linking, con=duckdb.connect())
    models = {
        engine: train_on_touchpoints(
            touchpoints,
            options=dataclasses.replace(config.linking, engine=engine),
            prepared=prepared,
            spark=TEST_SPARK,
        )
        for engine in ENGINES
    }
    return {"touchpoints": touchpoints, "prepared": prepared, "config": config, "models": models}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_model_trained_on_the_engine_links_as_duckdbs(trained, engine) -> None:
    model = trained["models"][engine]
    assert model.settings["sql_dialect"] == "duckdb"  # stored in DuckDB's dialect, always
    # linked on DuckDB (the engines link alike: the test above), against DuckDB's model
    clusters = {
        name: link_touchpoints(
            trained["touchpoints"],
            model=m,
            options=trained["config"].linking,
            prepared=trained["prepared"],
        ).cluster
        for name, m in (("ours", model), ("duckdb", trained["models"]["duckdb"]))
    }
    same = _pairwise_f1(clusters["ours"], clusters["duckdb"])
    assert same >= 0.995, same
    # λ agrees closely (deterministic rules); u comes from a seeded but engine-specific sample
    duck_lambda = trained["models"]["duckdb"].probability_two_random_records_match
    assert model.probability_two_random_records_match == pytest.approx(duck_lambda, rel=0.05)


def _pairwise_f1(labels: np.ndarray, reference: np.ndarray) -> float:
    """Pairwise F1 of one clustering against another (pairs of records put together)."""
    frame = pd.DataFrame({"a": labels, "b": reference})

    def pairs(counts: pd.Series) -> int:
        return int((counts * (counts - 1) // 2).sum())

    both = pairs(frame.groupby(["a", "b"]).size())
    ours, theirs = pairs(frame.groupby("a").size()), pairs(frame.groupby("b").size())
    if ours == theirs == 0:
        return 1.0
    return 2 * both / (ours + theirs)
