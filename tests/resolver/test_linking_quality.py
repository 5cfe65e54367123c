"""Linking quality on the default demo world and on FEBRL (the issue's acceptance numbers)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from api.pipeline import run_link
from api.settings import load_config
from api.workspace import Workspace
from api.worlds.demo import demo_config_toml
from resolver import evaluate_graph, exact_identifier_components, ingest_sources, read_labels
from tests.conftest import TrainedModels

pytestmark = pytest.mark.slow
BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def demo_run(
    demo_dir: Path, tmp_path_factory: pytest.TempPathFactory, trained_models: TrainedModels
):
    """The resolver on the demo world's linked sources, without the consent gate."""
    ws = Workspace.open(tmp_path_factory.mktemp("ws"))
    config = tmp_path_factory.mktemp("cfg") / "tether.toml"
    config.write_text(demo_config_toml(data_dir=str(demo_dir), activity=False))
    trained_models.seed(config, ws.home)
    summary = run_link(config=load_config(config), workspace=ws)
    return ws, summary


def test_demo_world_precision_and_f1_beat_the_exact_identifier_baseline(demo_dir, demo_run):
    ws, _ = demo_run
    labels = read_labels(demo_dir / "labels.csv")
    graph = ws.read_current("identity_graph")
    ours = evaluate_graph(graph=graph, labels=labels)
    tp = pd.read_parquet(ws.current_dir() / "touchpoints.parquet")
    base_graph = tp[["source", "record_key", "kind"]].assign(
        person_id=exact_identifier_components(tp).astype(str)
    )
    baseline = evaluate_graph(graph=base_graph, labels=labels)
    assert ours.pairwise_precision >= 0.97
    # Relatives at one address with one first name (Sr./Jr.) and no date of
    # birth on the checkout form: 2 on this world. The baseline makes more.
    assert ours.customer_false_merges <= 2 < baseline.customer_false_merges
    assert ours.pairwise_f1 >= 0.92  # issue #2
    assert ours.pairwise_f1 > baseline.pairwise_f1
    assert ours.pairwise_precision > baseline.pairwise_precision


def test_no_hard_case_merges_two_true_persons(demo_dir, demo_run):
    ws, _ = demo_run
    graph = ws.read_current("identity_graph").merge(
        read_labels(demo_dir / "labels.csv"), on=["source", "record_key"]
    )
    cases = pd.read_csv(demo_dir / "hard_cases.csv")
    assert set(cases["case"]) == {
        "family_tablet", "twins", "same_name_same_city", "recycled_phone", "placeholder_identifiers",
    }  # fmt: skip
    for case, rows in cases.groupby("case"):
        members = graph[graph["true_id"].isin(rows["true_id"])]
        per_person = members.groupby("person_id")["true_id"].nunique()
        assert (per_person == 1).all(), case


def test_ten_percent_more_records_keep_existing_ids(demo_dir, tmp_path, trained_models):
    """Add 10 % new persons' records; >= 99 % of existing persons keep their id."""
    from api.worlds.demo import SOURCE_FILES, write_demo_world

    extra = tmp_path / "extra"
    write_demo_world(extra, persons=200, seed=4242)
    grown = tmp_path / "grown"
    grown.mkdir()
    for _, (_, stem) in SOURCE_FILES.items():
        base = pd.read_csv(demo_dir / f"{stem}.csv", dtype=str)
        more = pd.read_csv(extra / f"{stem}.csv", dtype=str)
        for column in base.columns:  # keep keys unique: prefix the new world's ids
            if column.endswith("_id") and column != "event_id" or column in ("customer_id",):
                more[column] = "x" + more[column].astype(str)
        pd.concat([base, more]).to_csv(grown / f"{stem}.csv", index=False)
    (grown / "tether.toml").write_text((demo_dir / "tether.toml").read_text())
    ws = Workspace.open(tmp_path / "ws")
    trained_models.seed(demo_dir / "tether.toml", ws.home)  # the model the first run trains
    first = run_link(config=load_config(demo_dir / "tether.toml"), workspace=ws)
    before = ws.read_current("identity_graph")
    second = run_link(config=load_config(grown / "tether.toml"), workspace=ws)
    after = ws.read_current("identity_graph")
    assert second.touchpoints >= first.touchpoints * 1.09
    joined = before.merge(after, on=["source", "record_key"], suffixes=("_old", "_new"))
    per_person = joined.groupby("person_id_old")["person_id_new"].agg(
        lambda s: s.value_counts().index[0]
    )
    kept = (per_person.index == per_person.to_numpy()).mean()
    assert kept >= 0.99


@pytest.mark.parametrize(
    ("dataset", "dedupe", "floor"),
    [
        ("febrl3", False, 0.98),
        ("febrl4", False, 0.98),
        ("febrl3", True, 0.99),
        ("febrl4", True, 0.99),
    ],
    ids=["febrl3-defaults", "febrl4-defaults", "febrl3-dedupe", "febrl4-dedupe"],
)
def test_febrl_through_the_cli_config(dataset, dedupe, floor, tmp_path):
    """Column mapping only, no national id (issue #11): defaults >= 0.98, dedupe >= 0.99."""
    sys.path.insert(0, str(BENCH))
    try:
        import febrl
    finally:
        sys.path.remove(str(BENCH))
    febrl.write(dataset, tmp_path / dataset, dedupe=dedupe)
    assert "national_id" not in (tmp_path / dataset / "tether.toml").read_text()
    ws = Workspace.open(tmp_path / "ws")
    config = load_config(tmp_path / dataset / "tether.toml")
    run_link(config=config, workspace=ws)
    scores = evaluate_graph(
        graph=ws.read_current("identity_graph"),
        labels=read_labels(tmp_path / dataset / "labels.csv"),
    )
    assert scores.pairwise_f1 >= floor, scores
    assert scores.pairwise_precision >= 0.99, scores
    assert len(ingest_sources(sources=config.sources).touchpoints) == scores.records_evaluated


def test_why_explains_twins_apart_and_a_login_together(demo_dir, demo_run):
    from resolver import explain_records

    ws, _ = demo_run
    graph = ws.read_current("identity_graph")
    links = pd.read_parquet(ws.current_dir() / "links.parquet")
    labels = read_labels(demo_dir / "labels.csv")
    cases = pd.read_csv(demo_dir / "hard_cases.csv")
    twin_a, twin_b = cases.loc[cases["case"] == "twins", "true_id"].tolist()
    crm = labels[labels["source"] == "crm"].set_index("true_id")["record_key"]
    a = ("crm", str(crm[twin_a] if isinstance(crm[twin_a], str) else crm[twin_a].iloc[0]))
    b = ("crm", str(crm[twin_b] if isinstance(crm[twin_b], str) else crm[twin_b].iloc[0]))
    apart = explain_records(graph=graph, links=links, left=a, right=b)
    assert not apart.same_person
    assert apart.refused and all(e["decision"] != "accepted" for e in apart.refused)
    assert {e["decision"] for e in apart.refused} <= {"conflict", "identifier_limit"}

    login = graph[(graph["kind"] == "sessions") & graph["customer_id"].eq(a[1])].iloc[0]
    together = explain_records(graph=graph, links=links, left=a, right=("web", login["record_key"]))
    assert together.same_person and together.path
    assert together.path[0]["from"] == f"crm:{a[1]}" or together.path[-1]["to"].startswith("web:")
