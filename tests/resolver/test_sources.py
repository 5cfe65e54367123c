from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from resolver import InputError, SourceConfig, SourceSchemaError, ingest_sources


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


class _Started:
    """A ``Progress`` that records the steps started, in order (the sources as read)."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, step: str, *, total: int | None = None) -> None:
        self.started.append(step)

    def finish(self, step: str, *, rows: int | None = None) -> None:
        pass


def test_quarantine_reasons_and_reconciliation(tmp_path):
    sessions = _write(
        tmp_path / "s.csv",
        "session_id,started_at,cookie_id,device_id,email,phone\n"
        "s1,2026-10-01T10:00:00Z,c1,,A@Example.com,07911 123456\n"
        "s2,not-a-time,c1,,,\n"
        "s3,2026-10-01T10:00:00Z,,,,\n"
        ",2026-10-01T10:00:00Z,c2,,,\n"
        "s1,2026-10-02T10:00:00Z,c3,,,\n"
        "s6,2026-10-02T10:00:00Z,c3,,not-an-email,12\n",
    )
    result = ingest_sources(sources=[SourceConfig(name="web", kind="sessions", path=sessions)])
    (counts,) = result.counts
    assert counts.rows_in == 6 and counts.rows_used == 2 and counts.rows_quarantined == 4
    assert counts.reconciles
    assert counts.reasons == {
        "duplicate_key:session_id": 1,
        "invalid_timestamp:started_at": 1,
        "missing_identifier:cookie_id|device_id": 1,
        "missing_required:session_id": 1,
    }
    assert counts.dropped_values == {"email": 1, "phone": 1}
    q = result.quarantine["web"]
    assert list(q["_row"]) == [2, 3, 4, 5]  # data row numbers, 1-based
    tp = result.touchpoints.set_index("record_key")
    assert tp.loc["s1", "email"] == "a@example.com"
    assert tp.loc["s1", "phone"] == "+447911123456"
    assert tp.loc["s1", "subject_type"] == "cookie" and tp.loc["s1", "subject_id"] == "c1"


def test_column_mapping_unknown_columns_and_directory_of_parquet(tmp_path):
    folder = tmp_path / "crm"
    folder.mkdir()
    pd.DataFrame({"CustID": ["c1"], "Mail": ["x@y.com"], "segment": ["gold"]}).to_parquet(
        folder / "part-0.parquet"
    )
    pd.DataFrame({"CustID": ["c2"], "Mail": [None], "segment": [None]}).to_parquet(
        folder / "part-1.parquet"
    )
    config = SourceConfig(
        name="crm",
        kind="customers",
        path=folder,
        columns={"customer_id": "CustID", "email": "Mail"},
    )
    result = ingest_sources(sources=[config])
    tp = result.touchpoints
    assert list(tp["record_key"]) == ["c1", "c2"]
    assert tp.loc[0, "attributes"] == '{"segment": "gold"}'
    assert tp.loc[0, "subject_type"] == "customer"


def test_missing_required_column_names_source_and_column(tmp_path):
    path = _write(tmp_path / "c.csv", "id,email\n1,a@b.com\n")
    with pytest.raises(
        SourceSchemaError, match=r"source `crm`.*customer_id.*sources\.crm\.columns"
    ):
        ingest_sources(sources=[SourceConfig(name="crm", kind="customers", path=path)])


def test_mapping_to_absent_column_and_unknown_canonical_name(tmp_path):
    path = _write(tmp_path / "c.csv", "customer_id\n1\n")
    with pytest.raises(SourceSchemaError, match="EmailAddress"):
        ingest_sources(
            sources=[
                SourceConfig(
                    name="crm", kind="customers", path=path, columns={"email": "EmailAddress"}
                )
            ]
        )
    with pytest.raises(SourceSchemaError, match="unknown canonical column"):
        SourceConfig(name="crm", kind="customers", path=path, columns={"emale": "x"})


def test_missing_path_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        ingest_sources(sources=[SourceConfig(name="x", kind="devices", path=tmp_path / "no.csv")])


def _touchpoints(tmp_path: Path, *, kind: str, text: str, region: str) -> pd.DataFrame:
    """One source of ``kind`` written as CSV ``text``, ingested: its touchpoints by record key."""
    path = _write(tmp_path / f"{kind}.csv", text)
    return ingest_sources(
        sources=[SourceConfig(name=kind, kind=kind, path=path)], default_region=region
    ).touchpoints.set_index("record_key")


def test_whatsapp_bare_digits_are_international(tmp_path):
    tp = _touchpoints(
        tmp_path,
        kind="contacts",
        text="contact_id,channel,phone,display_name\n"
        "m1,whatsapp,972502345678,דוד כהן\n"
        "m2,telegram,07911 123456,James S.\n",
        region="GB",
    )
    assert tp.loc["m1", "phone"] == "+972502345678"
    assert tp.loc["m1", "first_latin"] == "dvd"
    assert tp.loc["m2", "phone"] == "+447911123456"
    assert tp.loc["m2", "last_name"] is None  # an initial is not a last name


def test_consent_and_event_validation(tmp_path):
    path = _write(
        tmp_path / "c.csv",
        "subject_type,subject_id,purpose,status,recorded_at\n"
        "cookie,c1,analytics,granted,2026-01-01\n"
        "planet,c1,analytics,granted,2026-01-01\n"
        "cookie,c1,analytics,maybe,2026-01-01\n",
    )
    result = ingest_sources(sources=[SourceConfig(name="consents", kind="consents", path=path)])
    assert result.counts[0].reasons == {"invalid_value:status": 1, "invalid_value:subject_type": 1}
    assert len(result.activity["consents"]) == 1


def test_a_city_written_in_any_script_is_one_city(tmp_path):
    """Hebrew, Latin and Russian writers of Haifa; a Moscow of Russia and one of Idaho."""
    tp = _touchpoints(
        tmp_path,
        kind="customers",
        text="customer_id,first_name,city,country\n"
        "1,Dana,חיפה,IL\n2,Dana,Hayfa,IL\n3,Dana,Хайфа,IL\n4,Oleg,г. Москва,RU\n"
        "5,Oleg,Moscow,US\n6,Dana,Kfar Nowhere,IL\n",
        region="IL",
    )
    assert tp.loc[["1", "2", "3"], "city"].tolist() == ["haifa"] * 3
    assert tp.loc[["4", "5", "6"], "city"].tolist() == ["moscow", "moscow", "kfar nowhere"]


def test_a_generational_suffix_is_kept_apart_from_the_name(tmp_path):
    """Sr and Jr are dropped from the name (the model compares Dunn with Dunn) but kept as
    the record's generation, which tells a father from his son of one name."""
    crm = _touchpoints(
        tmp_path,
        kind="customers",
        text="customer_id,first_name,last_name\n"
        "1,Larry,Walcombe Sr\n2,LARRY,WALCOMBE JR\n3,james,dunn jr.\n4,Sr. Maria,Garcia\n"
        "5,James,Dunn\n",
        region="US",
    )
    assert crm["last_name"].tolist() == ["walcombe", "walcombe", "dunn", "garcia", "dunn"]
    assert crm["generation"].tolist() == ["sr", "jr", "jr", None, None]
    contacts = _touchpoints(
        tmp_path,
        kind="contacts",
        text="contact_id,channel,phone,display_name\n"
        "m1,whatsapp,17736781533,William Morris Sr.\nm2,messenger,,William Morris\n"
        "m3,telegram,,John Jr\n",
        region="US",
    )
    assert contacts["last_name"].tolist() == ["morris", "morris", None]
    assert contacts["generation"].tolist() == ["sr", None, "jr"]


def _one_consent(folder: Path) -> Path:
    """A consents file of one row: cookie c1 grants analytics."""
    return _write(
        folder / "c.csv",
        "subject_type,subject_id,purpose,status,recorded_at\ncookie,c1,analytics,granted,2026-01-01\n",
    )


def test_activity_rows_are_handed_over_a_chunk_at_a_time_as_read(tmp_path):
    """``on_activity`` gets the rows ``activity`` would hold, a chunk (here a file) at a
    time, as soon as each is read; what it takes leaves the result (issue #14)."""
    header = "subject_type,subject_id,ts,event_type,channel\n"
    first = _write(tmp_path / "e1.csv", header + "cookie,c1,2026-10-01T10:00:00Z,page_view,web\n")
    second = _write(tmp_path / "e2.csv", header + "cookie,c2,2026-10-02T10:00:00Z,click,\n")
    consents = _one_consent(tmp_path)
    sources = [
        SourceConfig(name="web_events", kind="events", path=first),
        SourceConfig(name="app_events", kind="events", path=second),
        SourceConfig(name="consents", kind="consents", path=consents),
    ]
    held = ingest_sources(sources=sources).activity
    handed: list[tuple[str, pd.DataFrame, list[str]]] = []
    progress = _Started()

    def take(kind: str, frame: pd.DataFrame) -> bool:
        handed.append((kind, frame, list(progress.started)))
        return kind == "events"

    result = ingest_sources(sources=sources, on_activity=take, progress=progress)
    assert [(kind, read) for kind, _, read in handed] == [
        ("events", ["ingest:web_events"]),
        ("events", ["ingest:web_events", "ingest:app_events"]),
        ("consents", ["ingest:web_events", "ingest:app_events", "ingest:consents"]),
    ]
    events = pd.concat([handed[0][1], handed[1][1]], ignore_index=True)
    pd.testing.assert_frame_equal(events, held["events"])
    assert events["source"].tolist() == ["web_events", "app_events"]
    assert set(result.activity) == {"consents"}  # the events were taken, the consents not
    pd.testing.assert_frame_equal(result.activity["consents"], held["consents"])


def test_the_touchpoints_are_handed_over_a_chunk_at_a_time_as_each_is_read(tmp_path):
    """``on_touchpoints`` gets the touchpoints ``touchpoints`` would hold a chunk (here a
    file) at a time, numbered on from the chunk before, each before the next source is read;
    taken, the result holds none (issue #14)."""
    crm = _write(tmp_path / "crm.csv", "customer_id,email\nk1,a@example.com\nk2,b@example.com\n")
    web = tmp_path / "web"
    web.mkdir()
    _write(web / "1.csv", "session_id,started_at,cookie_id\ns1,2026-10-01T10:00:00Z,c1\n")
    _write(web / "2.csv", "session_id,started_at,cookie_id\ns2,2026-10-02T10:00:00Z,c2\n")
    consents = _one_consent(tmp_path)
    sources = [
        SourceConfig(name="consents", kind="consents", path=consents),
        SourceConfig(name="crm", kind="customers", path=crm),
        SourceConfig(name="web", kind="sessions", path=web),
    ]
    held = ingest_sources(sources=sources).touchpoints
    progress = _Started()
    handed: list[tuple[pd.DataFrame, list[str]]] = []

    def take(frame: pd.DataFrame) -> bool:
        handed.append((frame, list(progress.started)))
        return True

    result = ingest_sources(sources=sources, on_touchpoints=take, progress=progress)
    assert [len(frame) for frame, _ in handed] == [2, 1, 1]
    assert [read for _, read in handed] == [["ingest:crm"], ["ingest:crm", "ingest:web"]] + [
        ["ingest:crm", "ingest:web"]
    ]
    assert [frame["record_id"].tolist() for frame, _ in handed] == [[0, 1], [2], [3]]
    joined = pd.concat([frame for frame, _ in handed], ignore_index=True)
    pd.testing.assert_frame_equal(joined, held)
    assert len(result.touchpoints) == 0 and list(result.touchpoints.columns) == list(held.columns)
    assert dict(result.touchpoints.dtypes) == dict(held.dtypes)


def test_sources_are_read_events_first_consents_last_and_reported_as_configured(tmp_path):
    """Ingest reads the events and interactions before the linked sources and the consents
    after them (the run writes each kind away as it comes, issue #14); the
    counts, the quarantine and the record ids keep the configured order."""
    consents = _write(
        tmp_path / "c.csv",
        "subject_type,subject_id,purpose,status,recorded_at\n"
        "cookie,c1,analytics,granted,2026-01-01\n"
        "cookie,c1,analytics,maybe,2026-01-01\n",
    )
    crm = _write(tmp_path / "crm.csv", "customer_id,email\nk1,a@example.com\n,b@example.com\n")
    web = _write(
        tmp_path / "s.csv",
        "session_id,started_at,cookie_id\ns1,2026-10-01T10:00:00Z,c1\ns2,2026-10-01T11:00:00Z,\n",
    )
    events = _write(
        tmp_path / "e.csv",
        "subject_type,subject_id,ts,event_type\ncookie,c1,2026-10-01T10:00:00Z,page_view\n",
    )
    sources = [
        SourceConfig(name="consents", kind="consents", path=consents),
        SourceConfig(name="crm", kind="customers", path=crm),
        SourceConfig(name="web", kind="sessions", path=web),
        SourceConfig(name="events", kind="events", path=events),
    ]
    progress = _Started()
    result = ingest_sources(sources=sources, progress=progress)
    assert progress.started == ["ingest:events", "ingest:crm", "ingest:web", "ingest:consents"]
    assert [c.source for c in result.counts] == ["consents", "crm", "web", "events"]
    assert list(result.quarantine) == ["consents", "crm", "web"]  # each refused one row
    assert result.touchpoints[["source", "record_key"]].values.tolist() == [
        ["crm", "k1"],
        ["web", "s1"],
    ]
    assert result.touchpoints["record_id"].tolist() == [0, 1]


def test_touchpoints_not_taken_are_returned_numbered_as_read(tmp_path):
    """A callback may take some chunks and leave others: the result holds those left, with
    the record ids they were handed with (every linked chunk numbered in the order read,
    taken or not), and a source without a usable row gives a chunk of none."""
    crm = _write(tmp_path / "crm.csv", "customer_id,email\nk1,a@example.com\nk2,b@example.com\n")
    bad = _write(
        tmp_path / "bad.csv", "session_id,started_at,cookie_id\n,2026-10-01T10:00:00Z,c1\n"
    )
    web = _write(
        tmp_path / "web.csv", "session_id,started_at,cookie_id\ns9,2026-10-01T10:00:00Z,c9\n"
    )
    sources = [
        SourceConfig(name="crm", kind="customers", path=crm),
        SourceConfig(name="bad", kind="sessions", path=bad),
        SourceConfig(name="web", kind="sessions", path=web),
    ]
    held = ingest_sources(sources=sources).touchpoints
    handed: list[pd.DataFrame] = []

    def take_the_crm(frame: pd.DataFrame) -> bool:
        handed.append(frame)
        return bool((frame["source"] == "crm").all()) and len(frame) > 0

    result = ingest_sources(sources=sources, on_touchpoints=take_the_crm)
    assert [len(frame) for frame in handed] == [2, 0, 1]
    assert result.touchpoints[["source", "record_key", "record_id"]].values.tolist() == [
        ["web", "s9", 2]
    ]
    assert held["record_id"].tolist() == [0, 1, 2]
    assert dict(result.touchpoints.dtypes) == dict(held.dtypes)
