"""The `tether` CLI as a subprocess: what a data engineer actually runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.e2e

TETHER = [sys.executable, "-m", "api.cli"]


def tether(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
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
    result = tether("link", "--config", str(config), home=tmp_path / "ws", check=False)
    assert result.returncode == 2
    assert "sources.crm.kind" in result.stderr and "threshold" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_labels_and_no_run_exit_2(tmp_path: Path):
    result = tether(
        "evaluate", "--labels", str(tmp_path / "l.csv"), home=tmp_path / "ws", check=False
    )
    assert result.returncode == 2 and "no completed run" in result.stderr


def test_quarantine_is_written_and_counted(small_world: Path, tmp_path: Path):
    world = tmp_path / "world"
    shutil.copytree(small_world, world)
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
    again = tether("init", "--path", str(path), home=tmp_path / "ws", check=False)
    assert again.returncode == 2


def test_consent_import_is_idempotent_and_names_refused_rows(small_world: Path, tmp_path: Path):
    consents = pd.read_csv(small_world / "consents.csv", dtype=str)
    broken = consents.head(2).assign(status="maybe")
    path = tmp_path / "consents.csv"
    pd.concat([consents, broken]).to_csv(path, index=False)
    first = json.loads(
        tether("consent", "import", str(path), "--json", home=tmp_path / "ws").stdout
    )
    assert first["rows_in"] == len(consents) + 2
    assert first["inserted"] == len(consents) and first["duplicates"] == 0
    assert first["quarantine_reasons"] == {"invalid_value:status": 2}
    again = json.loads(
        tether("consent", "import", str(path), "--json", home=tmp_path / "ws").stdout
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
