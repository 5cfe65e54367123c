"""The nightly's judging read (``Ledger.events(arrow_text=True)``): the same events and the
same subject states as the Python-object read, on SQLite and PostgreSQL (issue #14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from consent.effective import subject_states
from consent.ledger import Ledger


def _events(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    recorded = [start + timedelta(hours=int(h)) for h in rng.integers(0, 400, n)]
    expires: list[datetime | None] = [
        r + timedelta(days=int(d)) if d else None
        for r, d in zip(recorded, rng.integers(0, 30, n), strict=True)
    ]
    return pd.DataFrame(
        {
            "event_id": [f"E{i:06d}" for i in range(n)],
            "subject_type": rng.choice(["cookie", "customer", "device"], n),
            "subject_id": [f"S{i}" for i in rng.integers(0, n // 4, n)],
            "purpose": rng.choice(["analytics", "ad_targeting", "identity_linking"], n),
            "status": rng.choice(["granted", "denied", "withdrawn"], n),
            "recorded_at": recorded,
            "expires_at": expires,
            "source": rng.choice(["cmp", "crm", "gpc"], n),
        }
    )


def test_the_arrow_read_holds_the_same_events_and_judges_the_same(ledger: Ledger) -> None:
    ledger.append_frame(_events(3000))
    as_of = datetime(2026, 1, 12, tzinfo=UTC)
    read = {
        arrow: ledger.events(
            as_of=as_of, columns=Ledger.JUDGING_COLUMNS, ordered=False, arrow_text=arrow
        )
        for arrow in (False, True)
    }
    text = [c for c in read[True].columns if c not in ("recorded_at", "expires_at")]
    assert all(str(read[True][c].dtype) == "string" for c in text)
    assert read[True]["subject_id"].array.__arrow_array__() is not None  # Arrow, not objects
    order = ["event_id"]
    plain = read[False].sort_values(order, ignore_index=True)
    arrow = read[True].sort_values(order, ignore_index=True)
    pd.testing.assert_frame_equal(arrow.astype(dict.fromkeys(text, object)), plain)
    assert len(plain) > 1000 and plain["expires_at"].isna().any()

    states = {k: subject_states(v, as_of=as_of) for k, v in read.items()}
    pd.testing.assert_frame_equal(
        states[True].astype(
            {c: object for c in states[True] if str(states[True][c].dtype) == "string"}
        ),
        states[False],
    )


def test_an_empty_ledger_reads_as_an_empty_frame(ledger: Ledger) -> None:
    frame = ledger.events(columns=Ledger.JUDGING_COLUMNS, ordered=False, arrow_text=True)
    assert frame.empty and list(frame.columns) == list(Ledger.JUDGING_COLUMNS)
