"""The bulk append path keeps the ledger whole: indexes, idempotency, conflicts (issue #12).

A first import bigger than the ledger takes the snapshot path (one
transaction on SQLite, COPY on PostgreSQL, whose writers share one
transaction wrapper); the ledger's indexes stay as the migrations made them,
a second append of the same rows is all duplicates, and a reused id is a
conflict while the rest are stored.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

import consent.ledger as ledger_module
from api.storage import open_store
from consent.errors import ConsentEventInvalid
from consent.ledger import AppendResult, Ledger, metadata


def _rows(n: int, *, status: str = "granted", offset: int = 0) -> pd.DataFrame:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return pd.DataFrame(
        {
            "event_id": [f"E{offset + i:07d}" for i in range(n)],
            "subject_type": "cookie",
            "subject_id": [f"K{(offset + i) % 997}" for i in range(n)],
            "purpose": "analytics",
            "status": status,
            "recorded_at": [start + timedelta(minutes=offset + i) for i in range(n)],
            "source": "cmp",
        }
    )


def _indexes(store: Engine) -> dict[str, str]:
    """The ledger's indexes: name -> definition, as the database would write them again."""
    with store.connect() as connection:
        if store.dialect.name == "sqlite":
            rows = connection.execute(
                text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                    "AND tbl_name = 'consent_events' AND sql IS NOT NULL"
                )
            ).all()
        else:
            rows = connection.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'consent_events'"
                )
            ).all()
    return {str(name): str(definition) for name, definition in rows}


def test_a_first_bulk_import_keeps_the_indexes_and_stays_idempotent(store: Engine) -> None:
    ledger = Ledger(store)
    before = _indexes(store)
    assert {"ix_consent_events_subject", "ix_consent_events_ingested"} <= before.keys()
    ledger.append_frame(_rows(100))  # a small ledger already
    first = ledger.append_frame(_rows(5000, offset=100))  # bigger than the ledger
    assert (first.inserted, first.duplicates, first.conflicts) == (5000, 0, 0)
    assert _indexes(store) == before
    with store.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
        if store.dialect.name == "sqlite":
            plan = " ".join(
                str(r[-1])
                for r in connection.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT * FROM consent_events "
                        "WHERE subject_type = 'cookie' AND subject_id = 'K5'"
                    )
                ).all()
            )
            assert "ix_consent_events_subject" in plan
    again = ledger.append_frame(_rows(5100))
    assert (again.inserted, again.duplicates, again.conflicts) == (0, 5100, 0)
    assert ledger.count() == 5100


def test_a_bulk_import_with_a_reused_id_stores_the_rest_and_names_it(store: Engine) -> None:
    ledger = Ledger(store)
    ledger.append_frame(_rows(10))
    rows = pd.concat([_rows(4000, offset=10), _rows(1, status="withdrawn")], ignore_index=True)
    result = ledger.append_frame(rows)
    assert (result.inserted, result.conflicts, result.conflict_ids) == (4000, 1, ("E0000000",))
    stored = ledger.events(subject_type="cookie", subject_ids=["K0"])
    assert set(stored.loc[stored["event_id"] == "E0000000", "status"]) == {"granted"}
    assert ledger.count() == 4010


# --- a first import outnumbering the ledger builds the secondary indexes after its rows -----


@pytest.fixture
def rebuilds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Appends of 1,000 rows or more rebuild the indexes (50,000 in earnest); the list
    counts the rebuilds that dropped indexes."""
    monkeypatch.setattr("consent.ledger._REBUILD_MIN", 1000)
    seen: list[int] = []
    for name in ("_drop_indexes_sqlite", "_drop_indexes_postgresql"):
        original = getattr(ledger_module, name)

        def spy(cursor: Any, _original: Any = original) -> list[str]:
            dropped: list[str] = _original(cursor)
            seen.append(len(dropped))
            return dropped

        monkeypatch.setattr(ledger_module, name, spy)
    return seen


def test_an_import_outnumbering_the_ledger_rebuilds_its_indexes_as_they_were(
    store: Engine, rebuilds: list[int]
) -> None:
    ledger = Ledger(store)
    before = _indexes(store)
    ledger.append_frame(_rows(100))
    assert rebuilds == []  # 100 rows: below the threshold
    first = ledger.append_frame(_rows(5000, offset=100))
    assert rebuilds == [2]  # the subject and ingested_at indexes
    assert (first.inserted, first.duplicates, first.conflicts) == (5000, 0, 0)
    assert _indexes(store) == before
    with store.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    stored = ledger.events(subject_type="cookie", subject_ids=["K5"])
    assert sorted(stored["event_id"]) == sorted(f"E{i:07d}" for i in range(5100) if i % 997 == 5), (
        "read back through the rebuilt subject index"
    )
    again = ledger.append_frame(
        pd.concat([_rows(5100), _rows(1, status="withdrawn", offset=7)], ignore_index=True)
    )
    assert (again.inserted, again.duplicates, again.conflicts) == (0, 5100, 1)
    assert again.conflict_ids == ("E0000007",)
    assert ledger.count() == 5100
    assert len(rebuilds) == 1  # nothing new the second time


def test_a_sqlite_rebuild_sorts_in_files_and_leaves_the_connection_as_it_was(
    tmp_path: Path, rebuilds: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's sorter writes the rebuilt indexes' sorted runs to temporary files (at 11.5 M
    events, in memory they held 1.1 GiB more): inside the rebuild ``temp_store`` is FILE
    (1), and the pooled connection is back to the store's MEMORY (2) after it."""
    store = open_store(f"sqlite:///{tmp_path / 'tether.db'}")
    seen: list[int] = []
    spied = ledger_module._drop_indexes_sqlite

    def spy(cursor: Any) -> list[str]:
        seen.append(cursor.execute("PRAGMA temp_store").fetchone()[0])
        return spied(cursor)

    monkeypatch.setattr(ledger_module, "_drop_indexes_sqlite", spy)
    try:
        ledger = Ledger(store)
        ledger.append_frame(_rows(3000))
        assert seen == [1] and ledger.count() == 3000
        with store.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA temp_store").scalar() == 2
    finally:
        store.dispose()


def test_a_rebuild_refused_by_an_id_stored_meanwhile_rolls_back_with_its_indexes(
    store: Engine, rebuilds: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer stored ids after the snapshot: the unchecked insert is refused, the
    dropped indexes come back with the rollback, and the checked path decides each row."""
    ledger = Ledger(store)
    before = _indexes(store)
    ledger.append_frame(_rows(30))
    ledger.append_frame(_rows(1, offset=40, status="withdrawn"))  # E0000040, other content
    nothing = pd.DataFrame({"event_id": [], "content_hash": []}, dtype=object)
    monkeypatch.setattr(Ledger, "_stored_fingerprints", lambda self, incoming: nothing)
    result = ledger.append_frame(_rows(3000))
    assert rebuilds == [2]
    assert (result.inserted, result.duplicates, result.conflicts) == (2969, 30, 1)
    assert result.conflict_ids == ("E0000040",)
    assert _indexes(store) == before
    assert ledger.count() == 3000


def test_concurrent_imports_that_rebuild_store_every_distinct_event_once(
    store_url: str, rebuilds: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four writers at once, each 3,000 events into an empty ledger (so each may take the
    rebuild path), 500 of them sent by every writer."""
    monkeypatch.setattr("consent.ledger._SMALL", 0)
    writers, per_writer, shared = 4, 3000, 500
    start = threading.Barrier(writers)

    def write(writer: int) -> AppendResult:
        engine = open_store(store_url, migrate=False)
        try:
            rows = pd.concat(
                [_rows(shared), _rows(per_writer - shared, offset=10_000 * (writer + 1))],
                ignore_index=True,
            )
            start.wait(timeout=60)
            return Ledger(engine).append_frame(rows)
        finally:
            engine.dispose()

    engine = open_store(store_url, migrate=False)
    try:
        before = _indexes(engine)
        with ThreadPoolExecutor(max_workers=writers) as pool:
            results = list(pool.map(write, range(writers)))
        distinct = writers * (per_writer - shared) + shared
        assert sum(r.inserted for r in results) == distinct
        assert all(r.inserted + r.duplicates == r.received for r in results)
        assert all(r.conflicts == 0 for r in results)
        assert Ledger(engine).count() == distinct
        assert _indexes(engine) == before
        assert rebuilds, "at least the first writer rebuilt the indexes"
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "ids",
    [
        ["a1", "b2", "c3", "d4"],
        ["a1", None, "c3", float("nan")],
        ["a1", pd.NA, "c3", None],
        [" a1", "b2 ", "c3", "d4"],
        ["a1", "", "c3", "   "],
        ["a1", "b\x01", "\x1fc3", "d4"],
        ["a1", "b\u00e9", "c3\u2003", "d4"],
        ["a1", 5, "c3", "d4"],
        ["a1", b"b2", "c3", "d4"],
        [None, None, None, None],
    ],
)
def test_ids_checked_in_arrow_read_as_the_per_value_checks_read_them(
    ids: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``_Plain`` (ids kept as given) takes over from ``_Coded`` only where the result is
    the same: stripped, empty as missing, numbers as text, whatever the ids look like."""
    frame = _rows(4).astype(object)
    frame["event_id"] = pd.Series(ids, dtype=object)
    fast = ledger_module.prepare_frame(frame, on_invalid="skip")
    with monkeypatch.context() as patch:
        patch.setattr(ledger_module._Plain, "of", classmethod(lambda cls, f, n: None))
        plain = ledger_module.prepare_frame(frame, on_invalid="skip")
    pd.testing.assert_frame_equal(fast.rows, plain.rows)
    assert fast.invalid_reasons == plain.invalid_reasons


def test_a_new_sqlite_store_has_large_pages_and_an_old_one_keeps_its_own(tmp_path: Any) -> None:
    """A store created by Tether gets 16 KiB pages (a first import about a fifth faster,
    bench/RESULTS.md); an existing store in WAL mode cannot change its page size, and
    opening it must neither fail nor try."""
    import sqlite3

    def page_size(path: Any) -> int:
        with sqlite3.connect(path) as db:
            return int(db.execute("PRAGMA page_size").fetchone()[0])

    new = tmp_path / "new.db"
    engine = open_store(f"sqlite:///{new}")
    Ledger(engine).append_frame(_rows(10))
    engine.dispose()
    assert page_size(new) == 16384

    old = tmp_path / "old.db"
    with sqlite3.connect(old) as db:  # what a store made before this change looks like
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (x)")
    engine = open_store(f"sqlite:///{old}")
    result = Ledger(engine).append_frame(_rows(10))
    engine.dispose()
    assert result.inserted == 10 and page_size(old) == 4096


def test_rows_checked_a_slice_at_a_time_are_the_rows_checked_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``prepare_frame`` checks ``PREPARE_ROWS`` rows at a time (issue #14): the rows, their
    fingerprints and content ids, the refused rows and their reasons, and the error naming
    the invalid rows are those of the whole table checked at once."""
    frame = _rows(40).astype(object)
    frame.loc[[3, 17, 18, 33, *range(6, 12)], "status"] = "maybe"  # rows 6-11: a slice of 6
    frame.loc[[5, 26], "subject_type"] = "robot"
    frame.loc[[9, 21], "event_id"] = None  # a content id, made of the row
    frame.loc[12, "subject_type"], frame.loc[12, "subject_id"] = "email", " Ann@Example.com"
    frame["evidence"] = pd.Series([{"form": "f"} if i % 7 == 0 else None for i in range(40)])
    whole = ledger_module.prepare_frame(frame, on_invalid="skip")
    with pytest.raises(ConsentEventInvalid) as at_once:
        ledger_module.prepare_frame(frame)
    monkeypatch.setattr(ledger_module, "PREPARE_ROWS", 6)
    sliced = ledger_module.prepare_frame(frame, on_invalid="skip")
    pd.testing.assert_frame_equal(sliced.rows, whole.rows)
    pd.testing.assert_frame_equal(sliced.refused, whole.refused)
    assert sliced.invalid == whole.invalid == 12
    assert list(sliced.invalid_reasons.items()) == list(whole.invalid_reasons.items())
    with pytest.raises(ConsentEventInvalid) as in_slices:
        ledger_module.prepare_frame(frame)
    assert str(in_slices.value) == str(at_once.value)
    assert in_slices.value.details() == at_once.value.details()


def test_rows_checked_in_slices_are_stored_as_rows_checked_at_once(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked in slices, the rows' Arrow text columns are one chunk per slice (issue #14);
    each database's bulk path (SQLite's inserts, PostgreSQL's COPY in id order) stores
    every row as the rows checked at once say."""
    rows = _rows(5000).sample(frac=1, random_state=3).reset_index(drop=True)  # ids unordered
    whole = ledger_module.prepare_frame(rows)
    monkeypatch.setattr(ledger_module, "PREPARE_ROWS", 700)
    sliced = ledger_module.prepare_frame(rows)
    assert pa.array(sliced.rows["event_id"]).num_chunks > 1
    result = Ledger(store).append_prepared(sliced)
    assert (result.inserted, result.duplicates, result.conflicts) == (5000, 0, 0)
    columns = ["event_id", "subject_id", "content_hash"]
    stored = Ledger(store).events(columns=columns, ordered=False)
    expected = whole.rows[columns].astype(object).sort_values("event_id")
    got = stored[columns].astype(object).sort_values("event_id")
    assert got.to_numpy().tolist() == expected.to_numpy().tolist()
