"""Audiences end to end on the demo world, through the CLI (in-process: `tests.clirunner`)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from api.worlds.demo import WORLD_NOW
from tests.clirunner import tether_in_process as tether

pytestmark = pytest.mark.e2e

#: The example segments sent to the ad platforms (the advisors' call list goes to the CRM).
SEGMENTS = (
    "mortgage_readers_for_ads",
    "engaged_whatsapp_readers",
)
ADS = ("google_customer_match", "meta_custom_audience")


def export(home: Path, config: Path, segment: str, *destinations: str) -> list[dict[str, Any]]:
    args = ["segments", "export", segment, "-c", str(config), "--min-size", "1", "--json"]
    for name in destinations:
        args += ["-d", name]
    return json.loads(tether(*args, home=home).stdout)["exports"]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("audiences")
    tether("demo", "--home", str(home), "--json", home=home)
    return home


def test_example_segments_export_to_google_and_meta_with_consent_only(demo_home: Path) -> None:
    config = demo_home / "demo" / "tether.toml"
    run_dir = (demo_home / "current").resolve()
    consent = pd.read_parquet(run_dir / "person_consent.parquet")
    allowed = set(consent[(consent["purpose"] == "ad_targeting") & consent["allowed"]]["person_id"])
    for segment in SEGMENTS:
        for result in export(demo_home, config, segment, *ADS):
            directory = Path(result["directory"])
            members = pd.read_parquet(directory / "members.parquet")
            assert len(members) == result["counts"]["exported"] > 0, (segment, result)
            assert set(members["person_id"]) <= allowed, "nobody without ad_targeting"
            manifest = json.loads((directory / "manifest.json").read_text())
            assert set(manifest["consent_lineage"]) == set(members["person_id"])
            assert all(manifest["consent_lineage"].values())
            for name, digest in manifest["files"].items():
                import hashlib

                assert hashlib.sha256((directory / name).read_bytes()).hexdigest() == digest
    # the same run exported again: no second history entry
    again = export(demo_home, config, SEGMENTS[0], ADS[0])
    assert again[0]["created"] is False


def same(left: Any, right: Any) -> bool:
    """Equal, where a missing value (None, NaN, NA) equals only another missing value."""
    if pd.isna(left) or pd.isna(right):
        return bool(pd.isna(left) and pd.isna(right))
    return bool(left == right)


def test_a_withdrawal_or_an_erasure_then_a_new_run_puts_the_person_in_remove(
    demo_home: Path, tmp_path: Path
):
    config = demo_home / "demo" / "tether.toml"
    first = export(demo_home, config, "engaged_whatsapp_readers", ADS[0])[0]
    members = pd.read_parquet(Path(first["directory"]) / "members.parquet")
    assert members["person_id"].is_monotonic_increasing, "members are written sorted"
    # Chosen by id, not by position, and each sent with an email, so that the
    # removal has something to carry.
    with_email = members[members["Email"].notna()]["person_id"].sort_values().tolist()
    person, erased = with_email[0], with_email[1]
    run_dir = (demo_home / "current").resolve()
    graph = pd.read_parquet(run_dir / "identity_graph.parquet")
    subject = (
        graph[(graph["person_id"] == person) & graph["subject_id"].notna()]
        .sort_values(["source", "record_key"])
        .iloc[0]
    )
    # just before the demo's snapshot time: after every grant the world recorded
    withdrawn_at = WORLD_NOW - timedelta(seconds=1)
    events = tmp_path / "withdrawal.csv"
    pd.DataFrame(
        [
            {
                "event_id": "withdrawal-1",
                "subject_type": subject["subject_type"],
                "subject_id": subject["subject_id"],
                "purpose": "ad_targeting",
                "status": "withdrawn",
                "recorded_at": withdrawn_at.isoformat(),
                "source": "preference_centre",
            }
        ]
    ).to_csv(events, index=False)
    tether("consent", "import", str(events), home=demo_home)
    tether("erase", "person", erased, home=demo_home)
    tether("link", "-c", str(config), "--as-of", WORLD_NOW.isoformat(), "--json", home=demo_home)
    second = export(demo_home, config, "engaged_whatsapp_readers", ADS[0])[0]
    assert second["created"] is True and second["run_id"] != first["run_id"]
    directory = Path(second["directory"])
    removed = pd.read_csv(directory / "remove.csv", dtype=str)
    assert removed["person_id"].is_monotonic_increasing, "remove.csv is written sorted"
    assert {person, erased} <= set(removed["person_id"])
    kept = set(pd.read_parquet(directory / "members.parquet")["person_id"])
    assert person not in kept and erased not in kept
    # each removal carries exactly the identifiers sent last time, so the platform
    # can find them (an erased person's identifiers are gone from the new run)
    keys = [c for c in removed.columns if c != "person_id"]
    assert "Email" in keys
    sent = members.set_index("person_id")
    for pid in (person, erased):
        row = removed.set_index("person_id").loc[pid]
        for key in keys:
            assert same(row[key], sent.loc[pid, key]), (pid, key)
    # nobody else changed: same inputs, same time, same ids, same consent
    assert second["counts"]["removed"] == 2 and second["counts"]["added"] == 0
