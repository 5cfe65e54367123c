"""Erasure: a person asked to be forgotten (GDPR Art. 17, SPEC §5).

``ErasureStore.erase`` takes the erased person's records (from the current
identity graph) and writes:

- the **suppression list**: every consent subject of the person
  (``cookie:K1``, ``customer:C9``, ``email:<sha256>``...) and keyed hashes of
  every normalised identifier (``resolver.suppression``). Ingest drops
  matching rows from the next run on, so the person's records, identifiers
  and activity disappear from every later run, and every audience that
  exported them gets a ``remove`` at its next export;
- an **audit record**: erasure id, time, the subject asked for (an id, or
  the SHA-256 of an email: never the email), the person id, the current run
  and counts. No name, email, phone or other personal data.

The consent ledger keeps the person's consent events: they prove that past
processing was lawful (Art. 17(3)(b), 7(1)) and hold no contact data.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from consent.effective import email_subject_id
from consent.errors import ConsentError
from consent.ledger import SUBJECT_TYPES, metadata, stored_utc
from resolver.normalize import normalize_email
from resolver.suppression import Suppression, hash_identifier, record_identifiers

__all__ = ["ErasureReceipt", "ErasureStore", "erasures", "suppressions", "erasure_subject"]

erasures = Table(
    "erasures",
    metadata,
    Column("erasure_id", String(64), primary_key=True),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("subject_type", String(16), nullable=False),
    Column("subject_id", String(256), nullable=False),
    Column("person_id", String(64), nullable=True),
    Column("run_id", String(64), nullable=True),
    Column("records", Integer, nullable=False),
    Column("subjects", Integer, nullable=False),
    Column("identifiers", Integer, nullable=False),
    Column("requested_by", String(64), nullable=False),
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("kind", String(16), nullable=False),
    Column("value", String(300), nullable=False),
    Column("erasure_id", String(64), nullable=False),
    PrimaryKeyConstraint("kind", "value"),
)


@dataclass(frozen=True, kw_only=True, slots=True)
class ErasureReceipt:
    """The audit record of one erasure: ids and counts only."""

    erasure_id: str
    requested_at: datetime
    subject_type: str
    subject_id: str
    person_id: str | None
    run_id: str | None
    records: int
    subjects: int
    identifiers: int
    requested_by: str

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["requested_at"] = self.requested_at.astimezone(UTC).isoformat()
        return out


def erasure_subject(*, subject_type: str, subject_id: str) -> tuple[str, str]:
    """The subject as stored: an email given in clear becomes its ``email`` subject id.

    >>> erasure_subject(subject_type="email", subject_id=" Jane@Example.com ")[1][:12]
    '8c87b489ce35'
    """
    if subject_type not in SUBJECT_TYPES | {"person"}:
        raise ConsentError(
            f"subject type {subject_type!r}: use one of "
            f"{', '.join(sorted(SUBJECT_TYPES | {'person'}))}",
            subject_type=subject_type,
        )
    if subject_type == "email" and "@" in subject_id:
        email = normalize_email(subject_id)
        if email is None:
            raise ConsentError("that email address is not valid", subject_type="email")
        return "email", email_subject_id(email)
    return subject_type, subject_id.strip()


class ErasureStore:
    """Erasures and the suppression list in the operational store."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def erase(
        self,
        *,
        subject_type: str,
        subject_id: str,
        records: pd.DataFrame,
        person_id: str | None,
        run_id: str | None,
        key: str,
        requested_by: str = "cli",
        now: datetime | None = None,
    ) -> ErasureReceipt:
        """Suppress the person's subjects and identifiers; store the audit record.

        Args:
            subject_type: as asked (``person`` for a person id).
            subject_id: as asked; an email in clear is stored as its hash.
            records: the person's touchpoints (empty when the subject is not
                in the current graph: the subject itself is still suppressed).
            person_id: the person the subject resolved to, if any.
            run_id: the run the person was resolved in.
            key: the workspace salt that keys identifier hashes.
            requested_by: ``cli``, ``api`` or a user name: never personal data.
            now: the time of the request (default: now, UTC).
        """
        stored_type, stored_id = erasure_subject(subject_type=subject_type, subject_id=subject_id)
        subjects: set[str] = set()
        if stored_type != "person":
            subjects.add(f"{stored_type}:{stored_id}")
        if subject_type == "email" and "@" in subject_id:
            email = normalize_email(subject_id)
            assert email is not None
            identifiers = {hash_identifier(kind="email", value=email, key=key)}
        else:
            identifiers = set()
        if len(records):
            subjects |= set(
                records["subject_type"].astype(str) + ":" + records["subject_id"].astype(str)
            )
            for column, kind in (
                ("customer_id", "customer"),
                ("cookie_id", "cookie"),
                ("device_id", "device"),
            ):
                if column in records:
                    subjects |= {f"{kind}:{v}" for v in records[column].dropna().astype(str)}
            if "email" in records:
                subjects |= {
                    f"email:{email_subject_id(e)}" for e in records["email"].dropna().astype(str)
                }
            identifiers |= record_identifiers(records, key=key)
        receipt = ErasureReceipt(
            erasure_id="er_" + uuid.uuid4().hex,
            requested_at=(now or datetime.now(UTC)).astimezone(UTC),
            subject_type=stored_type,
            subject_id=stored_id,
            person_id=person_id,
            run_id=run_id,
            records=len(records),
            subjects=len(subjects),
            identifiers=len(identifiers),
            requested_by=requested_by,
        )
        rows = [{"kind": "subject", "value": s, "erasure_id": receipt.erasure_id} for s in subjects]
        rows += [
            {"kind": "identifier", "value": h, "erasure_id": receipt.erasure_id}
            for h in identifiers
        ]
        with self._engine.begin() as connection:
            connection.execute(erasures.insert(), [asdict(receipt)])
            if rows:
                connection.execute(self._insert_new(), rows)
        return receipt

    def _insert_new(self) -> Any:
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(suppressions).on_conflict_do_nothing()
        return sqlite.insert(suppressions).on_conflict_do_nothing()

    def suppression(self, *, key: str) -> Suppression:
        """The whole suppression list, for ingest."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(suppressions.c.kind, suppressions.c.value)).all()
        return Suppression(
            key=key,
            subjects=frozenset(v for k, v in rows if k == "subject"),
            identifiers=frozenset(v for k, v in rows if k == "identifier"),
        )

    def receipts(self) -> list[ErasureReceipt]:
        """Every erasure's audit record, oldest first."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(erasures).order_by(erasures.c.requested_at)).all()
        return [
            ErasureReceipt(**{**row._asdict(), "requested_at": stored_utc(row.requested_at)})
            for row in rows
        ]
