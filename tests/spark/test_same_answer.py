"""The Spark engine gives DuckDB's answer: one test body, run on both engines.

As Splink parametrises its tests by backend, these tests take the engine as
a parameter and check the same things on each: `tether link --engine ENGINE
--retrain` trains and links a small demo world, and its identity graph must
match DuckDB's (pairwise F1 >= 0.995, the issue's bar; the hard cases apart).
Then the model the Spark run trained links the same world on DuckDB: with one
model, the two engines must agree edge for edge.

One Spark run in all: local Spark on two cores spends a second or more on
every query, whatever the size (``docs/scale.md``), so the world is small.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from api.workspace import Workspace
from resolver import evaluate_graph, read_labels
from tests.clirunner import tether_in_process
from tests.conftest import make_demo_dir
from tests.spark.conftest import TEST_SPARK

pytestmark = [pytest.mark.spark, pytest.mark.slow]

ENGINES = ["duckdb", "spark"]
PERSONS = 250


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo world whose `tether.toml` has a `[spark]` table for the test session."""
    directory = make_demo_dir(tmp_path_factory.mktemp("spark-world"), persons=PERSONS, seed=11)
    add_a_browser_shared_by_one_customers_rows(directory)
    with (directory / "tether.toml").open("a") as config:
        config.write(
            f'\n[spark]\nmaster = "{TEST_SPARK.master}"\n'
            f"shuffle_partitions = {TEST_SPARK.shuffle_partitions}\n"
            f'driver_memory = "{TEST_SPARK.driver_memory}"\n'
        )
    return directory


#: A customer written twice in the CRM (one email) and a browser logged into both rows,
#: then used anonymously. The cookie is refused as shared (two customer ids) until the
#: rows are one person; then its anonymous session joins them (``GuardedUnion.add``
#: tries shared identifiers again). Both engines must do so.
SHARED_BROWSER = {
    "crm.csv": [
        "C9000000001,ada.twice@example.com,07400 900001,Ada,Lovelace,1985-12-10,F,"
        "12 St James Square,London,SW1Y 4JH,GB,2024-01-05 00:00:00+00:00",
        "C9000000002,ada.twice@example.com,07400 900001,Ada,Lovelace,1985-12-10,F,"
        "12 St James Square,London,SW1Y 4JH,GB,2025-03-07 00:00:00+00:00",
    ],
    "web_sessions.csv": [
        f"S900000000{n},2026-10-0{n} 09:00:00+00:00,9d9d9d9d-0000-4000-8000-00000000ada0,,"
        f"203.0.113.9,Mozilla/5.0 (Macintosh) Safari/17.1,{customer},,,,,,,,False"
        for n, customer in ((1, "C9000000001"), (2, "C9000000002"), (3, ""))
    ],
    "consents.csv": [
        "cookie,9d9d9d9d-0000-4000-8000-00000000ada0,identity_linking,granted,"
        "2026-05-01 00:00:00+00:00,cmp,banner-v3,2027-05-01 00:00:00+00:00,E9000000001"
    ],
    "labels.csv": [
        *(f"crm,C900000000{n},T09999999" for n in (1, 2)),
        *(f"web,S900000000{n},T09999999" for n in (1, 2, 3)),
    ],
}


def add_a_browser_shared_by_one_customers_rows(directory: Path) -> None:
    """Append ``SHARED_BROWSER``'s rows to the world's files."""
    for name, rows in SHARED_BROWSER.items():
        with (directory / name).open("a") as out:
            out.write("".join(f"{row}\n" for row in rows))


def _link(world: Path, home: Path, *args: str) -> Workspace:
    ran = tether_in_process("link", "-c", str(world / "tether.toml"), "--json", *args, home=home)
    assert json.loads(ran.stdout)["persons"] > 0
    return Workspace.open(home)


@pytest.fixture(scope="module")
def runs(world: Path, spark_session: Any, tmp_path_factory) -> dict[str, Workspace]:
    """``tether link --engine E --retrain`` per engine; and DuckDB with Spark's model."""
    out = {
        engine: _link(
            world, tmp_path_factory.mktemp(f"ws-{engine}"), "--engine", engine, "--retrain"
        )  # fmt: skip
        for engine in ENGINES
    }
    home = tmp_path_factory.mktemp("ws-duckdb-spark-model")
    target = Workspace.open(home).model_path.parent
    target.mkdir(parents=True, exist_ok=True)
    for path in out["spark"].model_path.parent.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    out["duckdb, spark's model"] = _link(world, home, "--engine", "duckdb")
    return out


def _file(ws: Workspace, name: str) -> pd.DataFrame:
    frame: pd.DataFrame = pd.read_parquet(ws.current_dir() / name)
    return frame


def _f1(graph: pd.DataFrame, reference: pd.DataFrame) -> float:
    labels = reference[["source", "record_key", "person_id"]].rename(
        columns={"person_id": "true_id"}
    )
    return float(evaluate_graph(graph=graph, labels=labels).pairwise_f1)


@pytest.mark.parametrize("engine", ENGINES)
def test_tether_link_on_the_engine_publishes_duckdbs_identity_graph(world, runs, engine) -> None:
    ours, duck = runs[engine], runs["duckdb"]
    graph = ours.read_current("identity_graph")
    assert len(graph) == len(duck.read_current("identity_graph"))
    assert _f1(graph, duck.read_current("identity_graph")) >= 0.995
    # trained on this engine, stored in DuckDB's dialect (the real-time scorer reads it)
    model = json.loads(ours.model_path.read_text())
    assert model["sql_dialect"] == "duckdb"
    # the hard cases stay apart
    truth = graph.merge(read_labels(world / "labels.csv"), on=["source", "record_key"])
    for case, rows in pd.read_csv(world / "hard_cases.csv").groupby("case"):
        members = truth[truth["true_id"].isin(rows["true_id"])]
        assert (members.groupby("person_id")["true_id"].nunique() == 1).all(), case
    quality = evaluate_graph(graph=graph, labels=read_labels(world / "labels.csv"))
    assert quality.pairwise_precision >= 0.95


def test_with_one_model_spark_and_duckdb_agree_edge_for_edge(runs) -> None:
    spark, duck = runs["spark"], runs["duckdb, spark's model"]
    assert _f1(spark.read_current("identity_graph"), duck.read_current("identity_graph")) == 1.0
    # every edge with the same decision (rows in another order: neither engine sorts them)
    key = ["rule", "left_source", "left_key", "right_source", "right_key"]
    links, duck_links = (_file(ws, "links.parquet").sort_values(key, ignore_index=True)
                         for ws in (spark, duck))  # fmt: skip
    pd.testing.assert_frame_equal(
        links.drop(columns="probability"), duck_links.drop(columns="probability")
    )
    assert (links["rule"] == "ip_user_agent").any()  # browser stitching ran
    assert (links["decision"] != "accepted").any()  # and the guard-rails refused some
    pd.testing.assert_frame_equal(
        _file(spark, "blocked_identifiers.parquet"),
        _file(duck, "blocked_identifiers.parquet"),
        check_dtype=False,
    )
    # Splink's scores: the same blocked pairs. Probabilities agree to rounding except
    # where the engines' Jaro-Winkler differ (Splink's Spark UDF counts half
    # transpositions differently: docs/scale.md), which moves a pair by one level
    scores, duck_scores = (_file(ws, "predictions.parquet") for ws in (spark, duck))
    both = duck_scores.merge(scores, on=["left", "right"], how="outer", suffixes=("_d", "_s"))
    same = np.isclose(both["probability_d"], both["probability_s"], rtol=0, atol=1e-12)
    assert same.mean() >= 0.97, both[~same]
    differs = both[~same]
    assert (differs[["probability_d", "probability_s"]].max(axis=1) < 0.5).all(), differs


@pytest.mark.parametrize("engine", ENGINES)
def test_a_browser_shared_by_one_customers_rows_joins_that_customer(runs, engine) -> None:
    """The cookie of ``SHARED_BROWSER`` is refused as shared, then tried again once the
    customer's two CRM rows are one person: its anonymous session joins them."""
    graph = runs[engine].read_current("identity_graph").set_index("record_key")["person_id"]
    assert graph["C9000000001"] == graph["C9000000002"], "the duplicate rows are one person"
    assert graph["S9000000003"] == graph["C9000000001"], "the anonymous session joins them"
