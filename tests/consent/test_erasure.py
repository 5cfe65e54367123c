"""Erasure: the suppression list and the audit record, on SQLite and PostgreSQL."""

from __future__ import annotations

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select

from consent.erasure import ErasureStore, erasures
from consent.errors import ConsentError
from consent.ledger import metadata
from resolver.suppression import Suppression, hash_identifier, suppressed_rows

KEY = "workspace-salt"

RECORDS = pd.DataFrame(
    {
        "subject_type": ["customer", "cookie", "contact"],
        "subject_id": ["C1", "K1", "M7"],
        "customer_id": ["C1", "C1", None],
        "cookie_id": [None, "K1", None],
        "device_id": [None, None, None],
        "ad_id": [None, None, None],
        "email": ["jane.doe@example.com", "jane.doe@example.com", None],
        "phone": ["+447911123456", None, "+447911123456"],
        "national_id": [None, None, None],
    }
)


def test_migrations_match_the_tables_the_code_uses(store: Engine) -> None:
    with store.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == []


def test_erase_writes_ids_and_hashes_only(store: Engine) -> None:
    receipt = ErasureStore(store).erase(
        subject_type="customer",
        subject_id="C1",
        records=RECORDS,
        person_id="P9",
        run_id="r1",
        key=KEY,
    )
    assert (receipt.records, receipt.person_id, receipt.run_id) == (3, "P9", "r1")
    suppression = ErasureStore(store).suppression(key=KEY)
    assert {"customer:C1", "cookie:K1", "contact:M7"} <= suppression.subjects
    assert hash_identifier(kind="email", value="jane.doe@example.com", key=KEY) in (
        suppression.identifiers
    )
    assert hash_identifier(kind="phone", value="+447911123456", key=KEY) in (
        suppression.identifiers
    )
    with store.connect() as connection:
        audit = [dict(r._asdict()) for r in connection.execute(select(erasures)).all()]
    text = repr(audit) + repr(sorted(suppression.subjects | suppression.identifiers))
    for pii in ("jane", "example.com", "447911123456", "7700 900123"):
        assert pii not in text
    assert [r.erasure_id for r in ErasureStore(store).receipts()] == [receipt.erasure_id]


def test_an_email_given_in_clear_is_stored_as_its_hash(store: Engine) -> None:
    receipt = ErasureStore(store).erase(
        subject_type="email",
        subject_id="Jane.Doe@Example.com",
        records=RECORDS.iloc[:0],
        person_id=None,
        run_id=None,
        key=KEY,
    )
    assert "example" not in receipt.subject_id.lower() and len(receipt.subject_id) == 64
    suppression = ErasureStore(store).suppression(key=KEY)
    rows = pd.DataFrame({"customer_id": ["X"], "email": [" JANE.DOE@example.COM "]})
    assert suppressed_rows(rows, suppression=suppression, default_region="GB").tolist() == [True]
    with pytest.raises(ConsentError, match="subject type"):
        ErasureStore(store).erase(
            subject_type="visitor", subject_id="x", records=RECORDS, person_id=None,
            run_id=None, key=KEY,
        )  # fmt: skip


def test_suppressed_rows_match_every_way_an_identifier_is_written() -> None:
    suppression = Suppression(
        key=KEY,
        subjects=frozenset({"cookie:K1", "contact:M7"}),
        identifiers=frozenset(
            {
                hash_identifier(kind="phone", value="+447911123456", key=KEY),
                hash_identifier(kind="ad_id", value="ab-cd", key=KEY),
            }
        ),
    )
    sessions = pd.DataFrame(
        {
            "session_id": ["S1", "S2", "S3", "S4", "S5"],
            "cookie_id": ["K1", "K2", "K3", "K4", "K5"],
            "phone": [None, "07911 123456", "+44 7911 123457", None, None],
            "ad_id": [None, None, None, "AB-CD", None],
            "country": [None, "gb", None, None, None],
        }
    )
    hits = suppressed_rows(sessions, suppression=suppression, default_region="GB")
    assert hits.tolist() == [True, True, False, True, False]
    contacts = pd.DataFrame(
        {"contact_id": ["M7", "M8", "M9"], "channel": ["viber", "whatsapp", "telegram"],
         "phone": [None, "447911123456", "447911123999"]}
    )  # fmt: skip
    assert suppressed_rows(contacts, suppression=suppression, default_region="US").tolist() == [
        True,
        True,
        False,
    ]
    events = pd.DataFrame({"subject_type": ["Cookie", "cookie"], "subject_id": ["K1", "K9"]})
    assert suppressed_rows(events, suppression=suppression, default_region="GB").tolist() == [
        True,
        False,
    ]
