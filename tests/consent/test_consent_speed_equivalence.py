"""The consent step's fast paths decide exactly what the plain ones do (issue #11).

- A large append reads the ledger's ids and fingerprints once and inserts the
  rest unchecked (``Ledger._stored_fingerprints``, ``_insert_new_*``); the
  plain path looks every id up in the database. Same counts, same conflicts,
  same stored rows, including when an id is stored after the snapshot was read
  (another writer): the unchecked insert is refused and the batch checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from consent.ledger import AppendResult, Ledger

T0 = datetime(2026, 3, 1, tzinfo=UTC)
IDS = ["a", "b", "c", "d", "e", "f", "g", "h", None]
STORE_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _row(event_id: str | None, variant: int) -> dict[str, Any]:
    """A consents row whose content depends on ``variant`` (same variant, same content)."""
    return {
        "subject_type": ["cookie", "customer", "email"][variant % 3],
        "subject_id": ["c1", "C2", "Jane@Example.com"][variant % 3],
        "purpose": ["identity_linking", "ad_targeting"][variant % 2],
        "status": ["granted", "denied", "withdrawn"][variant % 3],
        "recorded_at": T0 + timedelta(minutes=variant % 4),
        "expires_at": T0 + timedelta(days=30) if variant % 2 else None,
        "source": "crm" if variant < 4 else None,
        "evidence": {"form": f"f{variant}"} if variant % 3 == 0 else None,
        "event_id": event_id,
    }


def _frame(rows: list[tuple[str | None, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [_row(i, v) for i, v in rows],
        columns=list(_row("x", 0)),
    )
    for column in ("recorded_at", "expires_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


appends = st.lists(st.tuples(st.sampled_from(IDS), st.integers(0, 5)), max_size=14)


def _clear(store: Engine) -> None:
    with store.begin() as connection:
        connection.execute(text("DELETE FROM consent_events"))


def _stored(ledger: Ledger) -> list[tuple[object, ...]]:
    columns = ["event_id", "subject_type", "subject_id", "purpose", "status"]
    columns += ["recorded_at", "expires_at", "source", "evidence", "content_hash"]
    events = ledger.events(columns=columns, ordered=False).sort_values("event_id")
    return [tuple(r) for r in events.astype(object).where(events.notna(), None).to_numpy()]


def _outcome(result: AppendResult) -> tuple[object, ...]:
    return (
        result.received,
        result.inserted,
        result.duplicates,
        result.conflicts,
        sorted(result.conflict_ids),
        result.invalid,
    )


@contextmanager
def _plain_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with monkeypatch.context() as patch:
        patch.setattr(Ledger, "_stored_fingerprints", lambda self, incoming: None)
        yield


def _run(
    ledger: Ledger, before: list[tuple[str | None, int]], now: list[tuple[str | None, int]]
) -> tuple[tuple[object, ...], list[tuple[object, ...]]]:
    if before:
        ledger.append_frame(_frame(before), batch_size=3)
    result = ledger.append_frame(_frame(now), batch_size=3)
    return _outcome(result), _stored(ledger)


@STORE_SETTINGS
@given(before=appends, now=appends, stale=st.sets(st.sampled_from(IDS[:-1])))
def test_snapshot_append_matches_checked_append(
    store: Engine,
    monkeypatch: pytest.MonkeyPatch,
    before: list[tuple[str | None, int]],
    now: list[tuple[str | None, int]],
    stale: set[str],
) -> None:
    """Duplicates, conflicts (stored, or earlier in the same append), new ids, ids without
    an id (content-derived), in batches of 3; ``stale`` ids are missing from the snapshot,
    as if another writer stored them after it was read."""
    ledger = Ledger(store)
    monkeypatch.setattr("consent.ledger._SMALL", 0)  # every append takes the bulk path
    _clear(store)
    with _plain_path(monkeypatch):
        expected = _run(ledger, before, now)
    _clear(store)
    fingerprints = Ledger._stored_fingerprints

    def snapshot(self: Ledger, incoming: int) -> pd.DataFrame | None:
        stored = fingerprints(self, incoming)
        if stored is None:
            return None
        return stored[~stored["event_id"].isin(stale)]

    with monkeypatch.context() as patch:
        patch.setattr(Ledger, "_stored_fingerprints", snapshot)
        actual = _run(ledger, before, now)
    assert actual == expected


def test_snapshot_is_skipped_for_a_ledger_much_larger_than_the_append(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("consent.ledger._SMALL", 0)
    ledger = Ledger(store)
    ledger.append_frame(_frame([(f"id{i}", i % 6) for i in range(20)]))
    if store.dialect.name == "postgresql":
        with store.begin() as connection:
            connection.execute(text("ANALYZE consent_events"))
    assert ledger._stored_fingerprints(4) is None  # 20 stored > 4 x 4 incoming
    snapshot = ledger._stored_fingerprints(5)
    assert snapshot is not None and sorted(snapshot["event_id"]) == sorted(
        f"id{i}" for i in range(20)
    )
