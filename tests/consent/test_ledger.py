from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import column, table

from api.storage import open_store
from consent.errors import ConsentEventInvalid
from consent.ledger import (
    EVENT_COLUMNS,
    EVIDENCE_KEYS,
    ConsentEvent,
    Ledger,
    consent_events,
    prepare_frame,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["small", "bulk"])
def write_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways an append is written: API-sized (PostgreSQL: arrays, no temporary table)
    and bulk (PostgreSQL: COPY into a temporary table); SQLite has one way."""
    if request.param == "bulk":
        monkeypatch.setattr("consent.ledger._SMALL", 0)
    return str(request.param)


def _event(i: int, **changes: object) -> ConsentEvent:
    fields: dict[str, object] = {
        "subject_type": "cookie",
        "subject_id": f"c{i % 50}",
        "purpose": "ad_targeting",
        "status": "granted" if i % 3 else "denied",
        "recorded_at": T0 + timedelta(minutes=i),
        "source": "cmp",
        "evidence": {"cmp_version": "3", "tc_string": "CP...", "ip_hash": "ab12"},
        "event_id": f"e{i}",
    } | changes
    return ConsentEvent(**fields)


def test_append_is_idempotent_and_keeps_evidence(ledger, write_path):
    first = ledger.append([_event(i) for i in range(10)])
    again = ledger.append([_event(i) for i in range(5, 15)])
    assert (first.inserted, first.duplicates) == (10, 0)
    assert (again.received, again.inserted, again.duplicates) == (10, 5, 5)
    events = ledger.events()
    assert len(events) == 15 and events["event_id"].is_unique
    assert events.loc[events["event_id"] == "e3", "evidence"].item() == (
        '{"cmp_version": "3", "ip_hash": "ab12", "tc_string": "CP..."}'
    )
    assert str(events["recorded_at"].dt.tz) == "UTC"


def test_events_without_id_get_a_content_id(ledger):
    event = _event(1, event_id=None)
    assert ledger.append([event, event]).inserted == 1
    assert ledger.events()["event_id"].item().startswith("ce_")


def test_as_of_and_subject_filters_and_time_zones(ledger):
    tel_aviv = datetime(2026, 1, 1, 2, 30, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Jerusalem")
    )
    ledger.append([_event(0, recorded_at=tel_aviv), _event(1), _event(2)])
    before = ledger.events(as_of=datetime(2026, 1, 1, 2, 0, tzinfo=UTC))
    assert before["event_id"].tolist() == ["e1", "e2"]  # e0 is 02:30 UTC, later
    assert ledger.events(subject_ids=["c1"])["event_id"].tolist() == ["e1"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"subject_type": "planet"}, "subject_type"),
        ({"status": "maybe"}, "status"),
        ({"recorded_at": datetime(2026, 1, 1)}, "time zone"),
        ({"purpose": "ad targeting!"}, "purpose"),
    ],
)
def test_invalid_events_are_refused_naming_the_rule(changes, message):
    with pytest.raises(ConsentEventInvalid, match=message):
        _event(1, **changes)


WRITERS, PER_WRITER, SHARED = 8, 10_000, 1_000

#: In a writer process: the barrier every writer waits at before it appends.
_START: Any = None


def _ready(start: Any) -> None:
    """The writer processes' initializer: keep the shared start barrier."""
    global _START
    _START = start


def _write(url: str, writer: int, batch_size: int = 500) -> int:
    """One writer process: 9,000 own events and the 1,000 events every writer sends."""
    engine = open_store(url, migrate=False)
    ledger = Ledger(engine)
    events = []
    for i in range(PER_WRITER):
        if i < SHARED:  # 10 %: the same events from every writer (a retried import)
            events.append(_event(i, event_id=f"shared-{i}"))
        else:
            events.append(_event(i, event_id=f"w{writer}-{i}"))
    if _START is not None:  # all eight append at once, each in its own process
        _START.wait(timeout=300)
    inserted = ledger.append(events, batch_size=batch_size).inserted
    engine.dispose()
    return inserted


@pytest.fixture(scope="module")
def writer_processes() -> Iterator[ProcessPoolExecutor]:
    """Eight writer processes started once for the module.

    Forked from a fork server, not from this process: the test process may
    already run DuckDB threads, and a forked copy of a threaded process can
    crash. The server is a fresh process that imports this module once, so a
    writer starts without seconds of imports. The barrier holds each writer
    until all eight are in ``append``, so the eight tasks of a test run in
    eight processes at the same time.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    start = context.Barrier(WRITERS)
    with ProcessPoolExecutor(
        max_workers=WRITERS, mp_context=context, initializer=_ready, initargs=(start,)
    ) as pool:
        yield pool


@pytest.mark.slow
@pytest.mark.parametrize("batch_size", [500, 5000], ids=["api-sized", "bulk"])
def test_eight_concurrent_writers_store_every_distinct_event_once(
    store_url, ledger, batch_size, writer_processes
):
    inserted = list(
        writer_processes.map(
            _write, [store_url] * WRITERS, range(WRITERS), [batch_size] * WRITERS, timeout=600
        )
    )
    distinct = WRITERS * (PER_WRITER - SHARED) + SHARED
    assert sum(inserted) == distinct  # each writer counted only what it stored
    assert ledger.count() == distinct


# --- a reused event_id with different content is a conflict, never a duplicate ----------


def test_a_reused_id_with_different_content_is_a_conflict_not_a_duplicate(ledger, write_path):
    grant = _event(1, status="granted", event_id="crm-pref-1")
    assert ledger.append([grant]).inserted == 1
    withdrawal = _event(1, status="withdrawn", event_id="crm-pref-1")
    result = ledger.append([withdrawal, _event(2)])
    assert (result.received, result.inserted, result.duplicates) == (2, 1, 0)
    assert (result.conflicts, result.conflict_ids) == (1, ("crm-pref-1",))
    stored = ledger.events(subject_ids=["c1"])
    assert stored["status"].tolist() == ["granted"], "the conflicting event is not stored"
    again = ledger.append([grant])
    assert (again.inserted, again.duplicates, again.conflicts) == (0, 1, 0), "a true duplicate"


def test_conflicts_within_one_append_and_through_the_frame_path(ledger, write_path):
    frame = pd.DataFrame(
        [
            _row("a", status="granted"),
            _row("a", status="granted"),  # the same again: a duplicate
            _row("a", status="withdrawn"),  # the same id, another status: a conflict
            _row("b", recorded_at="2026-01-02T00:00:00Z"),
        ]
    )
    result = ledger.append_frame(frame)
    assert (result.received, result.inserted, result.duplicates, result.conflicts) == (4, 2, 1, 1)
    assert result.conflict_ids == ("a",)
    later = ledger.append_frame(pd.DataFrame([_row("b", recorded_at="2026-01-03T00:00:00Z")]))
    assert (later.inserted, later.duplicates, later.conflict_ids) == (0, 0, ("b",))
    assert ledger.count() == 2


def test_the_fingerprint_is_the_same_whichever_way_an_event_comes_in(ledger, write_path):
    """One event, sent as an object and as a row (times in other zones): a duplicate."""
    event = _event(7, expires_at=T0 + timedelta(days=30), event_id="x7")
    assert ledger.append([event]).inserted == 1
    row = _row(
        "x7",
        subject_id="c7",
        status="granted",
        recorded_at="2026-01-01T02:07:00+02:00",
        expires_at=pd.Timestamp("2026-01-30T19:00:00-05:00"),
        source="cmp",
    )
    assert ledger.append_frame(pd.DataFrame([row])).duplicates == 1
    stored = ledger.events(columns=["event_id", "content_hash"])
    assert stored["content_hash"].item() == event.content_hash
    assert prepare_frame(pd.DataFrame([row])).rows["content_hash"].item() == event.content_hash


# --- clear-text email subjects are hashed at the boundary -----------------------------------


def test_email_subjects_are_stored_hashed_as_effective_consent_looks_them_up(ledger, write_path):
    from consent.effective import email_subject_id

    digest = email_subject_id("jane.doe+news@gmail.com")
    event = _event(1, subject_type="email", subject_id="  Jane.Doe+news@Gmail.COM ")
    assert event.subject_id == digest
    hashed = _event(2, subject_type="email", subject_id=digest)
    assert hashed.subject_id == digest, "a SHA-256 is taken as already hashed"
    frame = pd.DataFrame(
        [_row("f1", subject_type="email", subject_id="MAILTO:jane.doe+news@gmail.com")]
    )
    ledger.append([event, hashed])
    ledger.append_frame(frame)
    stored = ledger.events(subject_type="email")
    assert stored["subject_id"].tolist() == [digest] * 3
    assert not stored["subject_id"].str.contains("@").any()
    with pytest.raises(ConsentEventInvalid, match="subject_id") as refused:
        _event(3, subject_type="email", subject_id="not an address")
    assert refused.value.details()["field"] == "subject_id"
    assert "not an address" not in refused.value.message, "values are never echoed"


# --- validation names the field --------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"purpose": "ad_targetting"}, "purpose"),
        ({"expires_at": T0 - timedelta(days=1)}, "expires_at"),
        ({"recorded_at": "2026-01-01T10:00:00"}, "recorded_at"),
        ({"recorded_at": 1767225600}, "recorded_at"),
        ({"expires_at": 1767225600.0}, "expires_at"),
        ({"recorded_at": "2200-12-31T23:00:00-05:00"}, "recorded_at"),
        (
            {"recorded_at": datetime(1970, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))},
            "recorded_at",
        ),
        ({"evidence": {"form": "v3", "email": "x", "name": "y"}}, "evidence"),
    ],
)
def test_bad_events_are_refused_with_the_field_named(ledger, changes, field):
    with pytest.raises(ConsentEventInvalid) as refused:
        _event(1, **changes)
    assert refused.value.details()["field"] == field
    # the same through the table path: nothing of the table is stored
    row = _row("bad", **changes)
    with pytest.raises(ConsentEventInvalid) as refused_row:
        ledger.append_frame(pd.DataFrame([_row("ok"), row]))
    assert refused_row.value.details()["field"] == field
    assert refused_row.value.details()["rows"] == [2]
    assert ledger.count() == 0


def test_messages_name_the_unknown_evidence_keys_and_skip_mode_counts_refusals(ledger):
    with pytest.raises(ConsentEventInvalid, match="email, name"):
        _event(1, evidence={"form": "v3", "email": "x", "name": "y"})
    frame = pd.DataFrame(
        [
            _row("ok"),
            _row("naive", recorded_at="2026-01-01T10:00:00"),
            _row("epoch", recorded_at=1767225600),
            _row("naive2", recorded_at="2026-01-02T10:00:00"),
        ]
    )
    result = ledger.append_frame(frame, on_invalid="skip")
    assert (result.received, result.inserted, result.invalid) == (4, 1, 3)
    assert sorted(result.invalid_reasons.values()) == [1, 2]
    assert all(r.startswith("recorded_at:") for r in result.invalid_reasons)


def test_naive_and_epoch_columns_are_refused_whole():
    naive = pd.DataFrame([_row("a")]).assign(recorded_at=pd.Timestamp("2026-01-01 10:00"))
    with pytest.raises(ConsentEventInvalid, match="time zone"):
        prepare_frame(naive)
    epoch = pd.DataFrame([_row("a")]).assign(recorded_at=1767225600)
    with pytest.raises(ConsentEventInvalid, match="epoch"):
        prepare_frame(epoch)


# --- evidence is a declared set of fields ---------------------------------------------------


def test_evidence_keeps_declared_fields_as_json_and_plain_text_as_the_form(ledger, write_path):
    evidence = {
        "source": "banner",
        "form": "prefs-v3",
        "cmp_id": 279,
        "cmp_version": 4,
        "tc_string": "CP...",
        "gpp_string": "DBAA",
        "ip_hash": "ab12",
        "collected_at": "2026-01-01T00:00:00Z",
        "user_agent_hash": "cd34",
    }
    assert set(evidence) == EVIDENCE_KEYS
    ledger.append([_event(1, evidence=evidence)])
    ledger.append_frame(
        pd.DataFrame([_row("t1", evidence="banner-v3"), _row("t2", evidence='{"ip_hash": "ef"}')])
    )
    stored = ledger.events().set_index("event_id")["evidence"]
    assert json.loads(stored["e1"]) == evidence
    assert json.loads(stored["t1"]) == {"form": "banner-v3"}
    assert json.loads(stored["t2"]) == {"ip_hash": "ef"}
    with pytest.raises(ConsentEventInvalid, match="first_name") as refused:
        ledger.append_frame(pd.DataFrame([_row("t3", evidence='{"first_name": "Jane"}')]))
    assert refused.value.details()["field"] == "evidence"


# --- migration 0006 ---------------------------------------------------------------------------


def test_migration_fingerprints_existing_rows_and_hashes_clear_emails(store):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import insert, text

    from api.storage import MIGRATIONS
    from consent.effective import email_subject_id

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    old = [
        {"event_id": "old1", "subject_type": "cookie", "subject_id": "k1", "purpose": "analytics",
         "status": "granted", "recorded_at": T0, "expires_at": T0 + timedelta(days=9),
         "source": "cmp", "evidence": '{"text": "banner"}', "ingested_at": T0},
        {"event_id": "old2", "subject_type": "email", "subject_id": "Jane@Example.com",
         "purpose": "ad_targeting", "status": "denied", "recorded_at": T0, "expires_at": None,
         "source": None, "evidence": None, "ingested_at": T0},
    ]  # fmt: skip
    columns = [c for c in consent_events.columns if c.name != "content_hash"]
    legacy = table("consent_events", *[column(c.name, c.type) for c in columns])
    with store.begin() as connection:
        connection.execute(insert(legacy), old)
    with store.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    ledger = Ledger(store)
    stored = ledger.events(columns=["event_id", "subject_id", "content_hash"]).set_index("event_id")
    assert stored.at["old2", "subject_id"] == email_subject_id("jane@example.com")
    # the rows now answer as the new code computes: re-sending them is a duplicate
    resent = [
        ConsentEvent(subject_type="cookie", subject_id="k1", purpose="analytics", status="granted",
                     recorded_at=T0, expires_at=T0 + timedelta(days=9), source="cmp", event_id="old1"),
        ConsentEvent(subject_type="email", subject_id="jane@example.com", purpose="ad_targeting",
                     status="denied", recorded_at=T0, event_id="old2"),
    ]  # fmt: skip
    assert stored.at["old1", "content_hash"] == resent[0].content_hash
    result = ledger.append(resent)
    assert (result.duplicates, result.conflicts) == (2, 0)
    with store.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM consent_events")).scalar_one() == 2


# --- reading back ---------------------------------------------------------------------------


def test_read_back_selected_columns_unordered_and_as_of(ledger):
    rows = [
        _row(f"r{i}", subject_id=f"k{i % 7}", recorded_at=T0 + timedelta(hours=i))
        for i in range(50)
    ]
    ledger.append_frame(pd.DataFrame(rows))
    as_of = T0 + timedelta(hours=24, minutes=30)
    ordered = ledger.events(as_of=as_of)
    assert ordered["event_id"].tolist() == [f"r{i}" for i in range(25)]
    assert list(ordered.columns) == list(EVENT_COLUMNS)
    some = ledger.events(as_of=as_of, columns=["event_id", "recorded_at"], ordered=False)
    assert list(some.columns) == ["event_id", "recorded_at"]
    assert sorted(some["event_id"]) == sorted(ordered["event_id"])
    assert str(some["recorded_at"].dt.tz) == "UTC"
    times = some.set_index("event_id")["recorded_at"].sort_index()
    assert times.equals(ordered.set_index("event_id")["recorded_at"].sort_index())
    cookies = ledger.events(subject_type="cookie", ordered=False)
    assert len(cookies) == 50 and cookies["expires_at"].isna().all()
    assert ledger.events(subject_type="email").empty


def _row(event_id: str, **changes: object) -> dict[str, object]:
    """A ``consents`` row as a source file gives it (times as ISO 8601 text)."""
    return {
        "subject_type": "cookie",
        "subject_id": "k1",
        "purpose": "ad_targeting",
        "status": "granted",
        "recorded_at": "2026-01-01T00:00:00Z",
        "expires_at": None,
        "source": "cmp",
        "evidence": None,
        "event_id": event_id,
    } | changes


def test_all_or_nothing_refuses_the_whole_append_on_a_conflict(ledger, write_path):
    assert ledger.append([_event(1, event_id="p1")]).inserted == 1
    withdrawal = _event(1, status="withdrawn", event_id="p1")
    result = ledger.append([_event(2), withdrawal, _event(3)], all_or_nothing=True)
    assert (result.received, result.inserted, result.conflicts, result.withheld) == (3, 0, 1, 2)
    assert result.conflict_ids == ("p1",)
    assert ledger.count() == 1, "nothing of a refused append is stored"
    inner = ledger.append([_event(4), _event(4, status="withdrawn")], all_or_nothing=True)
    assert (inner.inserted, inner.conflicts, inner.withheld) == (0, 1, 1)
    fine = ledger.append([_event(1, event_id="p1"), _event(2)], all_or_nothing=True)
    assert (fine.inserted, fine.duplicates, fine.conflicts) == (1, 1, 0)
    assert ledger.count() == 2
