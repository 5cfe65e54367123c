"""The bulk append path keeps the ledger whole: indexes, idempotency, conflicts (issue #12).

A first import bigger than the ledger takes the snapshot path (one
transaction on SQLite, COPY on PostgreSQL, whose writers share one
transaction wrapper); the ledger's indexes stay as the migrations made them,
a second append of the same rows is all duplicates, and a reused id is a
conflict while the rest are stored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

from consent.ledger import Ledger, metadata


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


def _indexes(store: Engine) -> set[str]:
    with store.connect() as connection:
        if store.dialect.name == "sqlite":
            rows = connection.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'index' "
                    "AND tbl_name = 'consent_events' AND sql IS NOT NULL"
                )
            ).all()
        else:
            rows = connection.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'consent_events'")
            ).all()
    return {str(r[0]) for r in rows}


def test_a_first_bulk_import_keeps_the_indexes_and_stays_idempotent(store: Engine) -> None:
    ledger = Ledger(store)
    before = _indexes(store)
    assert {"ix_consent_events_subject", "ix_consent_events_ingested"} <= before
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
