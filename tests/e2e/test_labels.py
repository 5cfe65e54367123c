"""Labels at work, from the CLI: threshold sweep, clerical review sample, calibration.

On the labelled demo world (the session's published API world, copied so that
calibrating does not change the model other tests use), in-process through
Typer's runner: a subprocess adds nothing here but start-up time.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli import app
from resolver.calibration import fit_calibration
from resolver.errors import LabelsError
from resolver.review import REVIEW_COLUMNS, read_pair_labels
from tests.clirunner import tether_in_process as tether

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def home(api_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("labels") / "home"
    shutil.copytree(api_world, copy, symlinks=True)
    return copy


def run(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def truth_labels(home: Path, pairs: pd.DataFrame) -> pd.DataFrame:
    """Label sampled pairs from the demo world's ground truth (the reviewer's answers)."""
    labels = pd.read_csv(home / "demo" / "labels.csv", dtype=str)
    true = dict(
        zip(
            zip(labels["source"], labels["record_key"], strict=True), labels["true_id"], strict=True
        )
    )
    same = [
        int(true[(ls, lk)] == true[(rs, rk)])
        for ls, lk, rs, rk in zip(
            pairs["left_source"], pairs["left_record_key"], pairs["right_source"],
            pairs["right_record_key"], strict=True,
        )
    ]  # fmt: skip
    return pairs.assign(label=same)


def test_evaluate_sweeps_thresholds_and_recommends_one(home: Path) -> None:
    result = run("evaluate", "--labels", str(home / "demo" / "labels.csv"), "--home", str(home),
                 "--min-precision", "0.98")  # fmt: skip
    sweep = result["threshold_sweep"]
    table = pd.DataFrame(sweep["thresholds"])
    assert len(table) >= 10 and table["threshold"].is_monotonic_increasing
    # at the run's own threshold the sweep reproduces the run (same guards, same gate)
    at_run = table.loc[table["threshold"] == sweep["current_threshold"]].iloc[0]
    assert at_run["precision"] == pytest.approx(result["pairwise_precision"], abs=1e-6)
    assert at_run["recall"] == pytest.approx(result["pairwise_recall"], abs=1e-6)
    best = table.loc[table["threshold"] == sweep["recommended_threshold"]].iloc[0]
    assert best["precision"] >= 0.98
    assert best["f1"] == table.loc[table["precision"] >= 0.98, "f1"].max()
    # more permissive thresholds merge more: persons never grow as the threshold falls
    assert table["persons"].is_monotonic_increasing


def test_review_sample_then_calibrate_improves_held_out_brier(home: Path, tmp_path: Path) -> None:
    sample = tmp_path / "pairs.csv"
    written = run("review", "sample", "--home", str(home), "--n", "300", "--out", str(sample))
    pairs = pd.read_csv(sample, dtype=str, keep_default_na=False)
    assert written["pairs"] == len(pairs) == 300 and list(pairs.columns) == list(REVIEW_COLUMNS)
    assert pairs["label"].eq("").all()
    # no clear email or phone for the reviewer, only masked ones
    touch = pd.read_parquet(home / "current" / "touchpoints.parquet")
    shown = set(pairs[["email_left", "email_right", "phone_left", "phone_right"]].stack())
    assert not shown & set(touch["email"].dropna()) and not shown & set(touch["phone"].dropna())
    # most pairs near the threshold, where the model is least sure
    p = pairs["model_probability"].astype(float)
    assert ((p > 0.5) & (p < 0.99)).mean() > 0.25
    labelled = tmp_path / "labelled.csv"
    truth_labels(home, pairs).to_csv(labelled, index=False)

    result = run("calibrate", "--labels", str(labelled), "--home", str(home))
    assert result["saved"] and result["improves"]
    assert result["brier_after"] < result["brier_before"]
    assert (home / "model" / "calibration.json").exists()
    # the next run maps its scores through the calibration
    config = home / "demo" / "tether.toml"
    linked = run("link", "-c", str(config), "--home", str(home))
    predictions = pd.read_parquet(Path(linked["run_dir"]) / "predictions.parquet")
    assert not np.allclose(predictions["probability"], predictions["model_probability"])


def test_bad_or_too_few_pair_labels_name_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    pd.DataFrame(
        {"pair_id": ["a", "b", "c"], "label": ["1", "maybe", "0"], "model_probability": "0.5"}
    ).to_csv(bad, index=False)
    with pytest.raises(LabelsError, match=r"bad\.csv: line\(s\) \[3\]"):
        read_pair_labels(bad)
    refused = tether("calibrate", "--labels", str(bad), home=tmp_path / "ws", check=False)
    assert refused.returncode == 2, refused.stderr
    assert "labels_invalid" in refused.stderr and "line(s) [3]" in refused.stderr
    few = np.array([0.2, 0.9] * 10)
    with pytest.raises(LabelsError, match="needs at least 40"):
        fit_calibration(probability=few, label=np.array([0, 1] * 10), source="few.csv")
