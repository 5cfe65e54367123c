"""Judging while the ledger is written (``events_after_append``): the nightly judges from the
ledger as read before its append and its own checked rows, never reading the ledger back. The
promise is write, then read: the events it judges are the events the ledger holds once the
append is done, duplicates and conflicts included, on SQLite and PostgreSQL (issue #11)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from api.storage import open_store
from consent.effective import subject_states
from consent.ledger import Ledger, combine_prepared, events_after_append, prepare_frame
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


def test_tables_combined_store_what_appending_them_in_turn_stores(
    ledger: Ledger, tmp_path: Path
) -> None:
    """The nightly appends its imported consents and session signals as one append
    (``combine_prepared``): it stores what appending them one after the other stores (here
    into a second ledger holding the same events before), and counts the same rows as
    inserted; a stored id in both tables is counted against the append's first row of it
    (``combine_prepared``), so duplicates and conflicts may trade places."""
    events = _events(3000)
    imported = events.iloc[1000:2500].copy()
    imported.loc[imported.index[:3], "source"] = "api"  # stored ids, other content
    signals = pd.concat(
        [
            events.iloc[2400:3000],  # 100 ids the import brings first
            events.iloc[1000:1002],  # stored ids the import changed: as stored, duplicates
            imported.iloc[2:3],  # a stored id, changed the same way again: a conflict again
        ]
    ).copy()
    signals.loc[signals.index[:4], "source"] = "api"  # differ from the import's rows
    tables = [imported.reset_index(drop=True), signals.reset_index(drop=True)]

    reference = Ledger(open_store(f"sqlite:///{tmp_path / 'reference.db'}"))
    in_turn = []
    for target in (ledger, reference):
        target.append_frame(events.iloc[:1500])  # the ledger before the run
    for table in tables:
        stored = reference.snapshot()[["event_id", "content_hash"]]
        in_turn.append(reference.append_prepared(prepare_frame(table), stored=stored))

    stored = ledger.snapshot()
    judged = events_after_append(stored=stored, prepared=[prepare_frame(t) for t in tables])
    result = ledger.append_prepared(
        combine_prepared([prepare_frame(t) for t in tables]),
        stored=stored[["event_id", "content_hash"]],
    )
    read = ledger.events(columns=Ledger.JUDGING_COLUMNS, ordered=False, arrow_text=True)
    written = reference.events(columns=Ledger.JUDGING_COLUMNS, ordered=False, arrow_text=True)

    pd.testing.assert_frame_equal(_as_read(judged), _as_read(read))
    pd.testing.assert_frame_equal(_as_read(written), _as_read(read))
    assert result.received == sum(r.received for r in in_turn)
    assert result.inserted == sum(r.inserted for r in in_turn)
    assert result.duplicates + result.conflicts == sum(r.duplicates + r.conflicts for r in in_turn)
    assert set(result.conflict_ids) <= set(events["event_id"])
    reference.engine.dispose()


def test_an_append_of_nothing_writes_nothing(ledger: Ledger) -> None:
    calls: list[str] = []
    result = ledger.append_prepared(
        combine_prepared([]),
        stored=ledger.snapshot()[["event_id", "content_hash"]],
        rows_written=lambda: calls.append("in"),
    )
    assert (result.received, result.inserted) == (0, 0) and calls == ["in"]
    assert ledger.count() == 0


def test_the_write_says_when_its_rows_are_in_before_it_commits(ledger: Ledger) -> None:
    """``rows_written`` fires once, when only the index builds and the commit are left:
    another connection still reads the ledger as it was (the transaction is open)."""
    ledger.append_frame(_events(3000).iloc[:100])
    seen: list[int] = []

    def rows_in() -> None:
        seen.append(len(Ledger(ledger.engine).events(columns=["event_id"], ordered=False)))

    stored = ledger.snapshot()
    ledger.append_prepared(
        prepare_frame(_events(3000).iloc[100:]),
        stored=stored[["event_id", "content_hash"]],
        rows_written=rows_in,
    )
    assert seen == [100]  # called once, before the commit
    assert len(ledger.events(columns=["event_id"], ordered=False)) == 3000


def test_the_write_says_so_when_it_ends_without_writing(ledger: Ledger) -> None:
    events = _events(2500)
    ledger.append_frame(events)
    calls: list[str] = []
    again = ledger.append_prepared(prepare_frame(events), rows_written=lambda: calls.append("in"))
    assert again.inserted == 0 and calls == ["in"]
