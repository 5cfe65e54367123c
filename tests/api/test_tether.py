"""The ``Tether`` object: linking from it is the batch's linking, consent gate and erasures included.

The README's old notebook recipe called ``link_touchpoints`` by hand: it
linked records that have no ``identity_linking`` consent and brought an
erased customer back. ``Tether.runs.link()`` must give exactly what ``tether
link`` gives on the same workspace, and neither may hold the erased person.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from api import Tether
from api.cli import app
from api.worlds.demo import WORLD_NOW, demo_config_toml, write_demo_world
from resolver import ingest_sources, link_touchpoints, load_model

PERSONS = 300


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One workspace linked once, a customer erased, then copied: one copy per way of linking."""
    root = tmp_path_factory.mktemp("tether-object")
    data = root / "data"
    write_demo_world(data, persons=PERSONS, seed=11)
    config = data / "tether.toml"
    config.write_text(demo_config_toml(data_dir="."))
    first = root / "by-cli"
    with Tether.open(first, config=config) as tether:
        tether.runs.link(retrain=True, as_of=WORLD_NOW)
        run = tether.run
        assert run is not None
        records = run.records()
        crm = records[records["source"] == "crm"]
        per_person = records.groupby("person_id")["source"].nunique()
        person = str(per_person[per_person.index.isin(crm["person_id"])].idxmax())
        erased = records[records["person_id"] == person]
        customer = str(erased.loc[erased["source"] == "crm", "record_key"].iloc[0])
        receipt = tether.consent.erase(subject_type="customer", subject_id=customer)
    assert receipt.person_id == person and receipt.records == len(erased)
    second = root / "by-object"
    shutil.copytree(first, second, symlinks=True)  # same model, salt, store and previous run

    result = CliRunner().invoke(
        app,
        ["link", "--config", str(config), "--home", str(first), "--as-of", WORLD_NOW.isoformat()],
    )
    assert result.exit_code == 0, result.output
    with Tether.open(second, config=config) as tether:
        summary = tether.runs.link(as_of=WORLD_NOW)
    return {
        "config": config,
        "cli": Tether.open(first, config=config),
        "object": Tether.open(second, config=config),
        "summary": summary,
        "erased": erased,
        "customer": customer,
    }


def test_link_from_the_object_is_the_cli_link(linked: dict[str, object]) -> None:
    cli, obj = linked["cli"], linked["object"]
    assert isinstance(cli, Tether) and isinstance(obj, Tether)
    cli_run, obj_run = cli.run, obj.run
    assert cli_run is not None and obj_run is not None
    columns = ["source", "record_key", "person_id", "may_link", "subject_type", "subject_id"]
    pd.testing.assert_frame_equal(
        cli_run.table("identity_graph")[columns], obj_run.table("identity_graph")[columns]
    )
    cli_linking, obj_linking = cli_run.report["linking"], obj_run.report["linking"]
    assert cli_linking["edges_by_decision"] == obj_linking["edges_by_decision"]
    assert cli_linking["consent_refusals"] == obj_linking["consent_refusals"] > 0
    assert (
        cli_run.report["consent"]["records_without_linking_consent"]
        == obj_run.report["consent"]["records_without_linking_consent"]
        > 0
    )


def test_the_erased_person_stays_out(linked: dict[str, object]) -> None:
    erased = linked["erased"]
    assert isinstance(erased, pd.DataFrame)
    keys = set(zip(erased["source"], erased["record_key"], strict=True))
    emails = set(erased["email"].dropna())
    phones = set(erased["phone"].dropna())
    assert keys and emails
    for tether in (linked["cli"], linked["object"]):
        assert isinstance(tether, Tether)
        run = tether.run
        assert run is not None
        records = run.records()
        assert not keys & set(zip(records["source"], records["record_key"], strict=True))
        assert not emails & set(records["email"].dropna())
        assert not phones & set(records["phone"].dropna())
        assert linked["customer"] not in set(records["customer_id"].dropna())


def test_linking_by_hand_skips_the_gate_and_the_erasure(linked: dict[str, object]) -> None:
    """What the old README recipe did: the reason ``runs.link`` exists."""
    config = linked["config"]
    obj = linked["object"]
    assert isinstance(config, Path) and isinstance(obj, Tether) and obj.config is not None
    touchpoints = ingest_sources(sources=obj.config.sources).touchpoints
    result = link_touchpoints(
        touchpoints, model=load_model(obj.workspace.model_path), options=obj.config.linking
    )
    assert result.stats["consent_refusals"] == 0
    assert linked["customer"] in set(touchpoints["customer_id"].dropna())
    summary = linked["summary"]
    assert summary.linking["consent_refusals"] > 0  # type: ignore[attr-defined]


def test_namespaces_answer_on_the_run(linked: dict[str, object]) -> None:
    obj = linked["object"]
    assert isinstance(obj, Tether)
    run = obj.run
    assert run is not None
    records = run.records()
    crm = records[records["source"] == "crm"].iloc[0]
    match = obj.persons.get(subject_type="customer", subject_id=str(crm["record_key"]))
    mine = obj.persons.records(person_id=match.person_id)
    assert len(mine) == len(match.records) and set(mine["person_id"]) == {match.person_id}
    other = records[(records["source"] == "crm") & (records["person_id"] != match.person_id)].iloc[
        0
    ]
    left, right = ("crm", str(crm["record_key"])), ("crm", str(other["record_key"]))
    why = obj.persons.why(left=left, right=right)
    assert not why.same_person
    explained = obj.persons.explain(left=left, right=right)
    assert 0.0 <= explained.match_probability <= 1.0
    assert set(explained.comparisons["comparison"]) == set(obj.model.trained().comparisons)
    assert "vegaEmbed" in explained.chart.html and "cdn.jsdelivr" not in explained.chart.html
    assert obj.consent.decode(string="DBABLA~CAAAAAAAAABA").kind == "gpp"
    shown = obj.consent.show(subject_type="person", subject_id=match.person_id, as_of=WORLD_NOW)
    assert shown.person_id == match.person_id and shown.person
    identified = obj.identify(customer_id=str(crm["record_key"]))
    assert identified.person_id == match.person_id and identified.method == "exact:customer_id"


@pytest.fixture(scope="module", autouse=True)
def _close(linked: dict[str, object]) -> Iterator[None]:
    yield None
    for name in ("cli", "object"):
        tether = linked[name]
        assert isinstance(tether, Tether)
        tether.close()
