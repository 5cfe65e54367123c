"""Judging while the ledger is written (``events_after_append``): the nightly judges from the
ledger as read before its append and its own checked rows, never reading the ledger back. The
promise is write, then read: the events it judges are the events the ledger holds once the
append is done, duplicates and conflicts included, on SQLite and PostgreSQL (issue #11)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from consent.effective import subject_states
from consent.ledger import Ledger, events_after_append, prepare_frame
from tests.consent.test_judging_read import _events


def _as_read(frame: pd.DataFrame) -> pd.DataFrame:
    text = {c: object for c in frame.columns if str(frame[c].dtype) == "string"}
    return frame.astype(text).sort_values("event_id", ignore_index=True)


def test_the_events_judged_are_the_events_the_append_leaves(ledger: Ledger) -> None:
    events = _events(3000)
    ledger.append_frame(events.iloc[:1500])  # the ledger before the run
    imported = events.iloc[1000:2500].copy()  # 500 stored already, 1000 new
    imported.loc[imported.index[:3], "status"] = "withdrawn"  # stored ids, other content
    imported = pd.concat([imported, imported.iloc[-5:].assign(source="crm")])  # an id twice
    signals = events.iloc[2400:3000]  # 100 of them also imported
    frames = [imported.reset_index(drop=True), signals.reset_index(drop=True)]

    stored = ledger.snapshot()
    prepared = [prepare_frame(f) for f in frames]
    judged = events_after_append(stored=stored, prepared=prepared)
    for rows in prepared:
        ledger.append_prepared(rows)
    read = ledger.events(columns=Ledger.JUDGING_COLUMNS, ordered=False, arrow_text=True)

    assert len(read) == 3000 and len(judged) == 3000
    assert judged.dtypes.to_dict() == read.dtypes.to_dict()
    pd.testing.assert_frame_equal(_as_read(judged), _as_read(read))
    as_of = datetime(2026, 1, 12, tzinfo=UTC)
    pd.testing.assert_frame_equal(
        subject_states(judged, as_of=as_of), subject_states(read, as_of=as_of)
    )


def test_a_first_import_is_judged_from_its_rows_alone(ledger: Ledger) -> None:
    events = _events(800)
    stored = ledger.snapshot()
    assert stored.empty
    prepared = [prepare_frame(events)]
    judged = events_after_append(stored=stored, prepared=prepared)
    ledger.append_prepared(prepared[0], stored=stored[["event_id", "content_hash"]])
    read = ledger.events(columns=Ledger.JUDGING_COLUMNS, ordered=False, arrow_text=True)
    pd.testing.assert_frame_equal(_as_read(judged), _as_read(read))
