from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from api.storage import open_store
from consent.errors import ConsentEventInvalid
from consent.ledger import ConsentEvent, Ledger

T0 = datetime(2026, 1, 1, tzinfo=UTC)


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


def test_append_is_idempotent_and_keeps_evidence(ledger):
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


def _write(url: str, writer: int) -> int:
    """One writer process: 9,000 own events and the 1,000 events every writer sends."""
    engine = open_store(url, migrate=False)
    ledger = Ledger(engine)
    events = []
    for i in range(PER_WRITER):
        if i < SHARED:  # 10 %: the same events from every writer (a retried import)
            events.append(_event(i, event_id=f"shared-{i}"))
        else:
            events.append(_event(i, event_id=f"w{writer}-{i}"))
    inserted = ledger.append(events, batch_size=500).inserted
    engine.dispose()
    return inserted


@pytest.mark.slow
def test_eight_concurrent_writers_store_every_distinct_event_once(store_url, ledger):
    # spawn, not fork: the test process may already run DuckDB threads, and a
    # forked copy of a threaded process can crash.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=WRITERS, mp_context=context) as pool:
        inserted = list(pool.map(_write, [store_url] * WRITERS, range(WRITERS)))
    distinct = WRITERS * (PER_WRITER - SHARED) + SHARED
    assert sum(inserted) == distinct  # each writer counted only what it stored
    assert ledger.count() == distinct
