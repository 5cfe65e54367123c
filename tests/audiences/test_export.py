"""Exports: golden files per destination, the consent gate, holdout, minimum size and deltas."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from audiences.destinations import DESTINATIONS, destination
from audiences.errors import AudienceTooSmall
from audiences.export import holdout_mask, plan_export, removal_keys, write_export
from audiences.normalize import sha256_hex

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
UPDATE = os.environ.get("TETHER_UPDATE_GOLDEN") == "1"
WHEN = datetime(2026, 11, 1, tzinfo=UTC)

IDENTIFIERS = pd.DataFrame(
    {
        "person_id": ["p1", "p2", "p3", "p4"],
        "email": ["jane.doe+news@gmail.com", "zoe@example.fr", None, "sam@example.com"],
        "phone": ["+447911123456", None, "+12025550143", None],
        "first_name": ["Jane", "Zoë", "Émile", None],
        "last_name": ["Doe", "Pérez", "O'Connor", None],
        "postcode": ["SW1A 1AA", "75001", "94303-5300", None],
        "city": ["London", "Paris", "Palo Alto", None],
        "country": ["GB", "FR", "US", None],
        "gender": ["F", "F", "M", None],
        "date_of_birth": ["1980-02-16", None, "1975-12-01", None],
        "ad_id": [None, None, "5F3A2B18-9C4D-4E7F-B8E2-17D3A1E69B25", None],
    }
)


def consent_rows(allowed: dict[str, bool], purposes: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "person_id": pid,
                "purpose": purpose,
                "allowed": ok,
                "status": "granted" if ok else "denied",
                "event_ids": [f"E-{pid}-{purpose}"],
            }
            for pid, ok in allowed.items()
            for purpose in purposes
        ]
    )


ALL_ALLOWED = consent_rows(
    {"p1": True, "p2": True, "p3": True, "p4": True},
    ("ad_targeting", "messaging_marketing", "personalisation"),
)
#: Destinations that send identifiers (messaging ones send contacts: tests/audiences/test_outreach.py).
IDENTIFIER_DESTINATIONS = sorted(n for n, d in DESTINATIONS.items() if d.channel is None)


@pytest.mark.parametrize("name", IDENTIFIER_DESTINATIONS)
def test_golden_files_and_payloads(name: str, tmp_path: Path) -> None:
    dest = destination(name, min_size=1)
    plan = plan_export(
        segment="golden",
        members=IDENTIFIERS["person_id"],
        destination=dest,
        consent=ALL_ALLOWED,
        identifiers=IDENTIFIERS,
    )
    previous = pd.DataFrame({"person_id": ["p0"], **{k: [f"old-{k}"] for k in removal_keys(dest)}})
    result = write_export(
        plan=plan,
        destination=dest,
        run_id="r1",
        export_id="ex_golden",
        previous=previous,
        directory=tmp_path / name,
        holdout=0.0,
        as_of=WHEN,
        created_at=WHEN,
    )
    golden = GOLDEN / name
    for file in ("upload.csv", "payload_add.jsonl", "payload_remove.jsonl", "remove.csv"):
        produced = (result.directory / file).read_text()
        if UPDATE:
            golden.mkdir(parents=True, exist_ok=True)
            (golden / file).write_text(produced)
        assert produced == (golden / file).read_text(), (
            f"{name}/{file} differs from the golden file"
        )
    assert result.counts["removed"] == 1 and result.counts["added"] == plan.exported


def test_google_golden_rows_are_the_documented_normalisation() -> None:
    text = (GOLDEN / "google_customer_match" / "upload.csv").read_text().splitlines()
    assert text[0] == "Email,Phone,First Name,Last Name,Country,Zip"
    first = text[1].split(",")
    assert first[0] == sha256_hex("janedoe@gmail.com")  # gmail dots and +tag removed
    assert first[1] == sha256_hex("+447911123456")  # E.164 with +
    assert first[4:] == ["GB", "SW1A 1AA"]  # country and zip in clear
    payload = json.loads((GOLDEN / "google_customer_match" / "payload_add.jsonl").read_text())
    member = payload["body"]["audienceMembers"][0]
    assert member["consent"] == {
        "adUserData": "CONSENT_GRANTED",
        "adPersonalization": "CONSENT_GRANTED",
    }
    meta = (GOLDEN / "meta_custom_audience" / "upload.csv").read_text().splitlines()
    assert meta[1].split(",")[0] == sha256_hex("jane.doe+news@gmail.com")  # Meta keeps them


def test_batches_respect_the_platform_limits() -> None:
    many = pd.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(25_001)],
            "email": [f"user{i}@example.com" for i in range(25_001)],
            "country": "GB",
        }
    )
    for name, limit in (("google_customer_match", 10_000), ("meta_custom_audience", 10_000),
                        ("uid2", 5_000), ("linkedin", 1_000)):  # fmt: skip
        dest = DESTINATIONS[name]
        assert dest.batch_size == limit
        rows = dest.rows(many)
        bodies = list(dest.payloads(rows, action="add", session_id=7))
        assert len(bodies) == -(-25_001 // limit)
        sizes = [
            len(
                b["body"].get("audienceMembers")
                or b["body"].get("elements")
                or b["body"].get("email_hash")
                or b["body"]["payload"]["data"]
            )
            for b in bodies
        ]
        assert max(sizes) <= limit and sum(sizes) == 25_001, name
    meta = list(DESTINATIONS["meta_custom_audience"].payloads(
        DESTINATIONS["meta_custom_audience"].rows(many), action="remove", session_id=7))  # fmt: skip
    assert [b["body"]["session"]["last_batch_flag"] for b in meta] == [False, False, True]
    assert {b["method"] for b in meta} == {"DELETE"}


def test_consent_gate_holdout_and_minimum() -> None:
    consent = consent_rows(
        {"p1": True, "p2": False, "p3": True, "p4": True}, ("ad_targeting", "messaging_marketing")
    )
    google = destination("google_customer_match", min_size=1)
    plan = plan_export(
        segment="s", members=IDENTIFIERS["person_id"], destination=google, consent=consent,
        identifiers=IDENTIFIERS,
    )  # fmt: skip
    assert "p2" not in set(plan.rows["person_id"]) and plan.refused_consent == 1
    assert plan.lineage["p1"] == ["E-p1-ad_targeting"]
    with pytest.raises(AudienceTooSmall, match=r"needs at least 100: set \[destinations"):
        plan_export(
            segment="s", members=IDENTIFIERS["person_id"],
            destination=DESTINATIONS["google_customer_match"], consent=consent,
            identifiers=IDENTIFIERS,
        )  # fmt: skip
    ids = pd.Series([f"person{i}" for i in range(20_000)])
    held = holdout_mask(ids, segment="s", share=0.1)
    assert 0.09 < held.mean() < 0.11
    assert held.equals(holdout_mask(ids, segment="s", share=0.1)), "stable"
    assert not held.equals(holdout_mask(ids, segment="other", share=0.1)), "per segment"


def test_nobody_eligible_is_an_empty_plan_not_a_crash() -> None:
    nobody = consent_rows({"p1": False, "p2": False}, ("ad_targeting",))
    plan = plan_export(
        segment="s", members=IDENTIFIERS["person_id"], destination=destination("uid2", min_size=0),
        consent=nobody, identifiers=IDENTIFIERS,
    )  # fmt: skip
    assert plan.exported == 0 and plan.lineage == {} and plan.refused_consent == 4


@pytest.mark.parametrize("name", ["google_customer_match", "csv_internal"])
def test_the_same_inputs_in_any_order_write_byte_identical_files(name: str, tmp_path: Path) -> None:
    """Members, upload, add and remove are sorted by person id, so a rerun is byte-identical."""
    dest = destination(name, min_size=1)
    previous = pd.DataFrame(
        {"person_id": ["p9", "p0", "p1"], **{k: ["x9", "x0", "x1"] for k in removal_keys(dest)}}
    )
    written = []
    for attempt, order in enumerate(([0, 1, 2, 3], [3, 1, 0, 2], [2, 3, 1, 0])):
        shuffled = IDENTIFIERS.iloc[order].reset_index(drop=True)
        plan = plan_export(
            segment="s", members=shuffled["person_id"].iloc[::-1], destination=dest,
            consent=ALL_ALLOWED.sample(frac=1, random_state=attempt), identifiers=shuffled,
        )  # fmt: skip
        result = write_export(
            plan=plan, destination=dest, run_id="r1", export_id="ex1",
            previous=previous.sample(frac=1, random_state=attempt),
            directory=tmp_path / str(attempt), holdout=0.0, as_of=WHEN, created_at=WHEN,
        )  # fmt: skip
        written.append({p.name: p.read_bytes() for p in sorted(result.directory.iterdir())})
    assert written[0] == written[1] == written[2]
    members = pd.read_parquet(tmp_path / "0" / "members.parquet")
    assert members["person_id"].tolist() == sorted(members["person_id"])
    removed = pd.read_csv(tmp_path / "0" / "remove.csv")
    assert removed["person_id"].tolist() == ["p0", "p9"]
