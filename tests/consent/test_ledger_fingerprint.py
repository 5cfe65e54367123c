"""A large append's fingerprints are the ones every other path computes (issue #12).

From ``_VECTOR_HASH_MIN`` rows on, ``prepare_frame`` hashes the fingerprint
texts with DuckDB instead of one ``hashlib`` call per row. The stored
fingerprint is compared with those of events already in the ledger (written
by the API, by migration 0006, by smaller appends), so the two must give the
same digest for every text, in the same order.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import consent.ledger as ledger_module
from consent.ledger import ConsentEvent, prepare_frame


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=40))
def test_vector_digests_are_hashlib_digests(texts: list[str]) -> None:
    """Any text (NUL, the fingerprint's separator, characters beyond the BMP, empty)."""
    expected = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    assert ledger_module._sha256_hex(pa.array(texts, type=pa.string())).to_pylist() == expected


def test_vector_digests_keep_the_order_of_many_rows() -> None:
    """DuckDB hashes on several threads; the digests still come back in row order."""
    texts = [f"row {i}\x1fcookie\x1f{i * 7919 % 100_003}" for i in range(300_000)]
    expected = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    assert ledger_module._sha256_hex(pa.array(texts, type=pa.string())).to_pylist() == expected


def test_a_large_frame_is_fingerprinted_as_each_event_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above the threshold ``prepare_frame`` takes the vector path, and every row's
    fingerprint is still its event's (``content_hash_of``, what the API and migration 0006
    store), email subjects, missing expiries and sources included."""
    calls: list[int] = []
    vector = ledger_module._sha256_hex

    def counted(texts: pa.Array) -> pa.Array:
        calls.append(len(texts))
        return vector(texts)

    monkeypatch.setattr(ledger_module, "_sha256_hex", counted)
    monkeypatch.setattr(ledger_module, "_VECTOR_HASH_MIN", 4000)
    n = 4000
    start = datetime(2026, 1, 1, tzinfo=UTC)
    frame = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "subject_type": ["cookie", "email", "customer", "device"] * (n // 4),
            "subject_id": [
                f"Jose.{i}@Example.com" if i % 4 == 1 else f"s\u00fcbject-{i % 997}"
                for i in range(n)
            ],
            "purpose": ["analytics", "identity_linking"] * (n // 2),
            "status": ["granted", "denied", "withdrawn", "granted"] * (n // 4),
            "recorded_at": [start + timedelta(seconds=i, microseconds=i) for i in range(n)],
            "expires_at": [start + timedelta(days=400) if i % 3 else None for i in range(n)],
            "source": ["cmp", None, "crm \u2603", "cmp"] * (n // 4),
        }
    )
    frame["expires_at"] = pd.to_datetime(frame["expires_at"], utc=True)
    rows = prepare_frame(frame).rows
    assert calls == [n]
    for i in range(0, n, 7):
        event = ConsentEvent(**frame.iloc[i].where(frame.iloc[i].notna(), None).to_dict())
        assert rows["content_hash"][i] == event.content_hash
