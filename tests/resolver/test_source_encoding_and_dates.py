"""A source's `encoding` and `date_order` (issue #12).

One latin-1 byte used to reject a whole UTF-8 CSV with no row number;
`01/10/2026` in a timestamp was read month first while birth dates were read
day first, both silently. Now an undecodable row is quarantined with its
row number and the rest is used, and every date column of a source follows
one order, with the guesses counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from resolver.errors import InputError, SourceSchemaError
from resolver.sources import SourceConfig, SourceCounts, ingest_sources

CRM_ROWS = [
    b"customer_id,first_name,last_name,email,date_of_birth,country,created_at",
    b"c1,Anna,Smith,anna@example.com,1980-04-03,GB,2026-01-02T10:00:00Z",
    b"c2,Ren\xe9e,Dupont,renee@example.com,1975-07-21,FR,2026-01-02T10:00:00Z",  # latin-1 byte
    "c3,Zoë,Brown,zoe@example.com,1990-01-30,GB,2026-01-02T10:00:00Z".encode(),  # UTF-8
    b"c4,Bob,Jones,bob@example.com,1985-12-01,GB,2026-01-02T10:00:00Z",
]


def write_csv(path: Path, rows: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(rows) + b"\n")
    return path


def test_one_latin1_byte_quarantines_its_row_only(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "crm.csv", CRM_ROWS)
    result = ingest_sources(sources=[SourceConfig(name="crm", kind="customers", path=path)])
    (counts,) = result.counts
    assert (counts.rows_in, counts.rows_used, counts.rows_quarantined) == (4, 3, 1)
    assert counts.reasons == {"undecodable": 1} and counts.reconciles
    assert sorted(result.touchpoints["record_key"]) == ["c1", "c3", "c4"]
    assert "zoë" in set(result.touchpoints["first_name"])  # valid UTF-8 is read as UTF-8
    quarantined = result.quarantine["crm"]
    assert quarantined["_row"].tolist() == [2] and quarantined["_reason"].tolist() == [
        "undecodable"
    ]
    assert quarantined["first_name"].tolist() == ["Ren\\xe9e"]  # the byte, shown escaped
    quarantined.to_parquet(tmp_path / "q.parquet")  # writable, as the run writes it


def test_with_the_source_encoding_the_row_is_read(tmp_path: Path) -> None:
    rows = [r for r in CRM_ROWS if not r.startswith(b"c3")]  # latin-1 throughout
    path = write_csv(tmp_path / "crm.csv", rows)
    source = SourceConfig(name="crm", kind="customers", path=path, encoding="latin-1")
    result = ingest_sources(sources=[source])
    (counts,) = result.counts
    assert (counts.rows_used, counts.rows_quarantined) == (3, 0)
    renee = result.touchpoints.set_index("record_key").loc["c2"]
    assert renee["first_name"] == "renée" and renee["dob"] == "1975-07-21"


def test_a_bad_byte_in_an_activity_source_and_in_a_folder_of_files(tmp_path: Path) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    header = b"subject_type,subject_id,ts,event_type,category"
    write_csv(folder / "a.csv", [header, b"cookie,k1,2026-01-02T10:00:00Z,page_view,loans"])
    write_csv(folder / "b.csv", [header, b"cookie,k2,2026-01-02T10:00:00Z,page_view,cr\xe9dit",
                                 b"cookie,k3,2026-01-02T10:00:00Z,page_view,loans"])  # fmt: skip
    result = ingest_sources(sources=[SourceConfig(name="web", kind="events", path=folder)])
    (counts,) = result.counts
    assert (counts.rows_in, counts.rows_used, counts.reasons) == (3, 2, {"undecodable": 1})
    assert result.quarantine["web"]["_row"].tolist() == [2]
    assert sorted(result.activity["events"]["subject_id"]) == ["k1", "k3"]


def test_an_undecodable_header_names_the_file_and_the_setting(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "crm.csv", [b"customer_id,pr\xe9nom", b"c1,Anna"])
    with pytest.raises(InputError, match=r"crm.csv: the header line is not utf-8 text"):
        ingest_sources(sources=[SourceConfig(name="crm", kind="customers", path=path)])


def test_unknown_encodings_and_orders_are_refused_when_configured(tmp_path: Path) -> None:
    with pytest.raises(SourceSchemaError, match="unknown encoding `klingon`"):
        SourceConfig(name="a", kind="customers", path=tmp_path, encoding="klingon")
    with pytest.raises(SourceSchemaError, match="date_order must be one of DMY, MDY, YMD"):
        SourceConfig(name="a", kind="customers", path=tmp_path, date_order="DYM")


# --- dates -------------------------------------------------------------------------------

CONSENTS = [
    "subject_type,subject_id,purpose,status,recorded_at",
    "customer,c1,analytics,granted,01/10/2026 10:00+00:00",
    "customer,c2,analytics,granted,13/10/2026 10:00+00:00",
    "customer,c3,analytics,granted,2026-10-01T10:00:00+00:00",
    "customer,c4,analytics,granted,05/05/2026 10:00+00:00",
]


def consents(tmp_path: Path, **options: Any) -> tuple[pd.Series, SourceCounts]:
    path = tmp_path / "consents.csv"
    path.write_text("\n".join(CONSENTS) + "\n")
    source = SourceConfig(name="cmp", kind="consents", path=path, **options)
    result = ingest_sources(sources=[source])
    (counts,) = result.counts
    frame = result.activity.get("consents")
    stamps = (
        frame.set_index("subject_id")["recorded_at"]
        if frame is not None
        else pd.Series(dtype=object)
    )
    return stamps, counts


def test_timestamps_follow_the_region_and_count_the_guesses(tmp_path: Path) -> None:
    stamps, counts = consents(tmp_path)  # default_region GB: day first
    assert stamps["c1"] == pd.Timestamp("2026-10-01 10:00", tz="UTC")  # was 10 January
    assert stamps["c2"] == pd.Timestamp("2026-10-13 10:00", tz="UTC")  # only one reading
    assert stamps["c3"] == pd.Timestamp("2026-10-01 10:00", tz="UTC")
    assert counts.ambiguous_dates == {"recorded_at": 1}  # c1 only: 13/10 and 05/05 are no guess


def test_timestamps_follow_a_declared_order_strictly(tmp_path: Path) -> None:
    stamps, counts = consents(tmp_path, date_order="MDY")
    assert stamps["c1"] == pd.Timestamp("2026-01-10 10:00", tz="UTC")
    assert stamps["c3"] == pd.Timestamp("2026-10-01 10:00", tz="UTC")  # ISO whatever the order
    assert "c2" not in stamps.index  # no 13th month under MDY
    assert counts.reasons == {"invalid_timestamp:recorded_at": 1}
    assert counts.ambiguous_dates == {}


def test_the_default_follows_a_month_first_region(tmp_path: Path) -> None:
    path = tmp_path / "consents.csv"
    path.write_text("\n".join(CONSENTS) + "\n")
    result = ingest_sources(
        sources=[SourceConfig(name="cmp", kind="consents", path=path)], default_region="US"
    )
    stamps = result.activity["consents"].set_index("subject_id")["recorded_at"]
    assert stamps["c1"] == pd.Timestamp("2026-01-10 10:00", tz="UTC")
    assert stamps["c2"] == pd.Timestamp("2026-10-13 10:00", tz="UTC")
    assert result.counts[0].ambiguous_dates == {"recorded_at": 1}


CUSTOMERS = [
    "customer_id,date_of_birth,country,created_at",
    "c1,03/04/1980,IL,02/01/2026",
    "c2,03/04/1980,US,2026-01-02",
    "c3,13/04/1980,IL,2026-01-02",
    "c4,1980-04-03,RU,2026-01-02",
    "c5,04/04/1980,RU,2026-01-02",
]


def customers(tmp_path: Path, **options: Any) -> tuple[pd.DataFrame, SourceCounts]:
    path = tmp_path / "crm.csv"
    path.write_text("\n".join(CUSTOMERS) + "\n")
    source = SourceConfig(name="crm", kind="customers", path=path, **options)
    result = ingest_sources(sources=[source])
    return result.touchpoints.set_index("record_key"), result.counts[0]


def test_birth_dates_without_an_order_follow_the_rows_country_and_are_counted(
    tmp_path: Path,
) -> None:
    touch, counts = customers(tmp_path)
    assert touch.loc["c1", "dob"] == "1980-04-03"  # Israel: day first
    assert touch.loc["c2", "dob"] == "1980-03-04"  # US: month first
    assert touch.loc["c3", "dob"] == "1980-04-13"
    assert touch.loc["c4", "dob"] == "1980-04-03"
    assert touch.loc["c1", "ts"] == pd.Timestamp("2026-01-02", tz="UTC")  # default GB: day first
    assert counts.ambiguous_dates == {"created_at": 1, "date_of_birth": 2}


def test_a_declared_order_applies_to_birth_dates_and_timestamps_alike(tmp_path: Path) -> None:
    touch, counts = customers(tmp_path, date_order="MDY")
    assert touch.loc["c1", "dob"] == "1980-03-04" == touch.loc["c2", "dob"]
    assert pd.isna(touch.loc["c3", "dob"])  # no 13th month: dropped, counted
    assert touch.loc["c4", "dob"] == "1980-04-03"
    assert touch.loc["c1", "ts"] == pd.Timestamp("2026-02-01", tz="UTC")
    assert counts.dropped_values == {"date_of_birth": 1}
    assert counts.ambiguous_dates == {}
    ymd, _ = customers(tmp_path, date_order="YMD")
    assert ymd["dob"].dropna().tolist() == ["1980-04-03"]


def test_the_run_report_carries_the_guessed_dates(api_world: Path) -> None:
    """The demo CRM writes birth dates dd/mm/yyyy (mm/dd for US rows) with no ``date_order``:
    the run's report counts the guesses per source, next to the reconciliation."""
    import json

    report = json.loads((api_world / "current" / "report.json").read_text())
    by_source = {s["source"]: s for s in report["sources"]}
    crm = next(s for s in by_source.values() if s["kind"] == "customers")
    assert crm["ambiguous_dates"].get("date_of_birth", 0) > 0
    assert all("ambiguous_dates" in s for s in by_source.values())
