"""The `tether` CLI: what a data engineer actually runs.

In-process through ``main()`` (``tests.clirunner``) where a process adds
nothing but start-up time; as a real subprocess for what only a process
shows (``tether --help``, exit 2 without a traceback). The first link here
trains its model through the CLI; other workspaces start with the session's
model for their world (``trained_models``), the one a first run would train.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.clirunner import tether_in_process as tether
from tests.conftest import TrainedModels

pytestmark = pytest.mark.e2e

TETHER = [sys.executable, "-m", "api.cli"]


def tether_process(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``tether <args>`` as a real process (what a shell or cron starts)."""
    env = {**os.environ, "TETHER_HOME": str(home)}
    result = subprocess.run(
        [*TETHER, *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"tether {' '.join(args)} -> {result.returncode}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    tether("generate", "--out", str(out), "--persons", "400", "--seed", "7", home=out / "ws")
    return out


def test_help_lists_the_commands_in_a_real_process(tmp_path: Path) -> None:
    result = tether_process("--help", home=tmp_path / "ws")
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    for command in ("demo", "link", "nightly", "evaluate", "consent", "segments", "serve"):
        assert command in result.stdout, command


def test_generate_link_evaluate_json(small_world: Path, tmp_path: Path):
    home = tmp_path / "ws"
    linked = tether("link", "--config", str(small_world / "tether.toml"), "--json", home=home)
    summary = json.loads(linked.stdout)
    assert all(s["reconciles"] for s in summary["sources"])
    assert summary["id_churn"]["new"] == summary["persons"]
    run_dir = Path(summary["run_dir"])
    graph = pd.read_parquet(run_dir / "identity_graph.parquet")
    assert len(graph) == summary["touchpoints"]
    assert {"source", "record_key", "person_id"} <= set(graph.columns)
    assert (home / "current").resolve() == run_dir.resolve()
    assert (home / "model" / "model.json").exists()

    scores = json.loads(
        tether("evaluate", "--labels", str(small_world / "labels.csv"), "--json", home=home).stdout
    )
    assert scores["pairwise_precision"] >= 0.97
    # Stitching a relative's never-identified browser at a shared home IP is the
    # residual error of max_persons_per_ip = 6 (docs/linking.md): 2 on this world.
    assert scores["customer_false_merges"] <= 2
    assert scores["run_id"] == summary["run_id"]

    # The same inputs again: same persons, ids kept, reusing the saved model.
    again = json.loads(
        tether("link", "--config", str(small_world / "tether.toml"), "--json", home=home).stdout
    )
    assert again["model"]["trained_this_run"] is False
    assert again["id_churn"]["kept"] == summary["persons"]
    graph2 = pd.read_parquet(Path(again["run_dir"]) / "identity_graph.parquet")
    assert graph2["person_id"].tolist() == graph["person_id"].tolist()


def test_bad_config_exits_2_with_a_message_naming_the_key(tmp_path: Path):
    config = tmp_path / "tether.toml"
    config.write_text(
        '[sources.crm]\nkind = "customer"\npath = "x.csv"\n[linking]\nthreshold = 2\n'
    )
    result = tether_process("link", "--config", str(config), home=tmp_path / "ws", check=False)
    assert result.returncode == 2
    assert "sources.crm.kind" in result.stderr and "threshold" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_labels_and_no_run_exit_2(tmp_path: Path):
    result = tether(
        "evaluate", "--labels", str(tmp_path / "l.csv"), home=tmp_path / "ws", check=False
    )
    assert result.returncode == 2 and "no completed run" in result.stderr


def test_quarantine_is_written_and_counted(
    small_world: Path, tmp_path: Path, trained_models: TrainedModels
):
    world = tmp_path / "world"
    shutil.copytree(small_world, world)
    # the row added below is quarantined: the model trained is small_world's
    trained_models.seed(small_world / "tether.toml", tmp_path / "ws")
    crm = world / "crm.csv"
    crm.write_text(crm.read_text() + ",nobody@example.com,,,,,,,,,GB,\n")  # no customer_id
    summary = json.loads(
        tether(
            "link", "--config", str(world / "tether.toml"), "--json", home=tmp_path / "ws"
        ).stdout
    )
    crm_counts = next(s for s in summary["sources"] if s["source"] == "crm")
    assert crm_counts["rows_quarantined"] == 1
    assert crm_counts["reasons"] == {"missing_required:customer_id": 1}
    assert crm_counts["rows_in"] == crm_counts["rows_used"] + 1
    quarantined = pd.read_parquet(Path(summary["run_dir"]) / "quarantine" / "crm.parquet")
    assert quarantined["_reason"].tolist() == ["missing_required:customer_id"]


def test_init_writes_a_config_that_loads(tmp_path: Path):
    path = tmp_path / "tether.toml"
    tether("init", "--path", str(path), home=tmp_path / "ws")
    from api.settings import load_config

    config = load_config(path)
    assert [s.name for s in config.sources] == ["crm", "web"]
    assert config.linking.blocklist["email"] == ("noemail@example.com", "test@test.com")
    from audiences.segments import load_segments

    assert config.segments == tmp_path / "segments"
    assert len(load_segments(config.segments)) == 3, "the example segments, ready to edit"
    assert config.destinations["google_customer_match"]["min_size"] == 100
    again = tether("init", "--path", str(path), home=tmp_path / "ws", check=False)
    assert again.returncode == 2


def test_consent_import_is_idempotent_and_names_refused_rows(small_world: Path, tmp_path: Path):
    consents = pd.read_csv(small_world / "consents.csv", dtype=str)
    broken = consents.head(2).assign(status="maybe")
    path = tmp_path / "consents.csv"
    pd.concat([consents, broken]).to_csv(path, index=False)
    ran = tether("consent", "import", str(path), "--json", home=tmp_path / "ws", check=False)
    assert ran.returncode == 3  # some rows refused (docs/consent.md)
    first = json.loads(ran.stdout)
    assert first["rows_in"] == len(consents) + 2
    assert first["inserted"] == len(consents) and first["duplicates"] == 0
    assert first["refused_reasons"] == {"invalid_value:status": 2}
    refused = pd.read_csv(first["quarantine"])
    assert refused["row"].tolist() == [len(consents) + 1, len(consents) + 2]
    again = json.loads(
        tether("consent", "import", str(path), "--json", home=tmp_path / "ws", check=False).stdout
    )
    assert again["inserted"] == 0 and again["duplicates"] == len(consents)
    assert (tmp_path / "ws" / "tether.db").exists()


def test_consent_decode_prints_iab_fields_and_rejects_truncated(tmp_path: Path):
    text = "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA"
    decoded = json.loads(tether("consent", "decode", text, "--json", home=tmp_path).stdout)
    assert decoded["cmpId"] == 675 and decoded["purposeConsents"] == [2, 10]
    assert decoded["created"] == "2020-01-26T17:01:00.000Z"
    assert decoded["tcf22Violations"]  # policy version 2
    truncated = tether("consent", "decode", text[:20], home=tmp_path, check=False)
    assert truncated.returncode == 2 and "tc_string_invalid" in truncated.stderr


def test_consent_decode_gpp_usnat(tmp_path: Path):
    decoded = json.loads(
        tether("consent", "decode", "DBABLA~CVVVkkkkkpFY.YA", "--json", home=tmp_path).stdout
    )
    assert decoded["sectionIds"] == [7]
    assert decoded["usnat"]["SaleOptOut"] == 1 and decoded["usnat"]["Gpc"] is True
    bad = tether("consent", "decode", "DBABM", home=tmp_path, check=False)
    assert bad.returncode == 2 and "gpp_string_invalid" in bad.stderr


def _identifiers_of(records: pd.DataFrame) -> dict[str, set[str]]:
    return {
        column: set(records[column].dropna().astype(str))
        for column in ("customer_id", "cookie_id", "device_id", "ad_id", "email", "phone")
    }


def _cells(run_dir: Path) -> list[str]:
    """Every text cell of every Parquet file of a run (quarantine included)."""
    cells: list[str] = []
    for path in run_dir.rglob("*.parquet"):
        frame = pd.read_parquet(path)
        for column in frame.columns:
            values = frame[column].dropna()
            cells += [str(v) for v in values if isinstance(v, str)]
    return cells


def test_erase_removes_the_person_from_the_next_run(
    small_world: Path, tmp_path: Path, trained_models: TrainedModels
):
    home = tmp_path / "ws"
    config = str(small_world / "tether.toml")
    trained_models.seed(small_world / "tether.toml", home)
    first = json.loads(tether("link", "--config", config, "--json", home=home).stdout)
    run_dir = Path(first["run_dir"])
    tp = pd.read_parquet(run_dir / "touchpoints.parquet")
    graph = pd.read_parquet(run_dir / "identity_graph.parquet")
    # the customer with the most linked records: cookies, devices and chats besides the CRM
    sizes = graph.groupby("person_id")["kind"].agg(["nunique", "size"])
    busy = sizes[sizes["nunique"] >= 3].reset_index()
    person = busy.sort_values(["size", "person_id"]).iloc[-1]["person_id"]
    records = tp[(graph["person_id"] == person).to_numpy()]
    customer = records["customer_id"].dropna().min()
    ids = _identifiers_of(records)
    assert ids["email"] and ids["cookie_id"]

    shown = json.loads(tether("consent", "show", "customer", customer, "--json", home=home).stdout)
    assert shown["person_id"] == person and set(shown["person"]) >= {"ad_targeting"}

    erased = json.loads(tether("erase", "customer", customer, "--json", home=home).stdout)
    assert erased["person_id"] == person and erased["records"] == len(records)
    audit = json.dumps(erased)
    for values in ids.values():
        for value in values - {customer}:
            assert value not in audit

    second = json.loads(tether("link", "--config", config, "--json", home=home).stdout)
    assert all(s["reconciles"] for s in second["sources"])
    assert sum(s["rows_suppressed"] for s in second["sources"]) >= len(records)
    after = Path(second["run_dir"])
    graph2 = pd.read_parquet(after / "identity_graph.parquet")
    keys = set(zip(records["source"], records["record_key"], strict=True))
    assert not keys & set(zip(graph2["source"], graph2["record_key"], strict=True))
    cells = _cells(after)
    text = "\n".join(cells).lower()
    for email in ids["email"]:
        assert email.lower() not in text
    digits = {"".join(ch for ch in c if ch.isdigit()) for c in cells}
    for phone in ids["phone"]:
        assert not any(d.endswith(phone[-9:]) for d in digits if len(d) >= 9)
    exact = set(cells)
    for column in ("customer_id", "cookie_id", "device_id", "ad_id"):
        assert not ids[column] & exact, column
    # the erased person is not a person any more; the registry may keep the retired id only
    assert person not in set(graph2["person_id"])


def test_generate_the_harder_world_and_link_it(tmp_path: Path) -> None:
    world = tmp_path / "harder"
    tether("generate", "--out", str(world), "--persons", "300", "--world", "harder",
           "--seed", "3", home=tmp_path / "ws")  # fmt: skip
    assert (world / "loyalty.csv").exists() and (world / "hard_cases.csv").exists()
    linked = json.loads(
        tether("link", "-c", str(world / "tether.toml"), "--json", home=tmp_path / "ws").stdout
    )
    assert all(s["reconciles"] for s in linked["sources"])
    blocking = linked["linking"]["blocking"]
    assert blocking["comparisons_per_record"] <= blocking["comparison_bound_per_record"]
    scores = json.loads(
        tether(
            "evaluate",
            "--labels",
            str(world / "labels.csv"),
            "--no-sweep",
            "--json",
            home=tmp_path / "ws",
        ).stdout  # fmt: skip
    )
    assert scores["pairwise_precision"] > 0.9
