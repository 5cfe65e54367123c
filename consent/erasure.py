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

Erasure reaches the runs already written, too: ``since`` hands the readers
of a run (previews, exports, identify) the erasures that run has not seen,
and the workspace redacts the person's rows from every kept run's files.
``record_redaction`` keeps what was removed where, per erasure and run, as
file names and row counts only (``redactions``).

The consent ledger keeps the person's consent events: they prove that past
processing was lawful (Art. 17(3)(b), 7(1)) and hold no contact data.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
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
    Text,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from consent.effective import email_subject_id
from consent.errors import ConsentError
from consent.ledger import SUBJECT_TYPES, metadata, stored_utc
from resolver.normalize import normalize_email
from resolver.suppression import Suppression, hash_identifier, record_identifiers

__all__ = [
    "ErasedSince",
    "ErasureReceipt",
    "ErasureStore",
    "Redaction",
    "erasure_redactions",
    "erasure_subject",
    "erasures",
    "suppressions",
]

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

erasure_redactions = Table(
    "erasure_redactions",
    metadata,
    Column("erasure_id", String(64), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("redacted_at", DateTime(timezone=True), nullable=False),
    Column("files", Integer, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("detail", Text, nullable=False),
    PrimaryKeyConstraint("erasure_id", "run_id"),
)
"""Per erasure and kept run: how many files and rows were redacted, and the rows per file
(``detail``: JSON of run-relative file path -> rows). Paths and counts only, never PII."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ErasedSince:
    """Erasures requested at or after a moment: what a run made before them still holds."""

    erasure_ids: frozenset[str] = frozenset()
    person_ids: frozenset[str] = frozenset()
    """The persons the erasures resolved to (in the run current when each was asked)."""
    subjects: frozenset[str] = frozenset()
    """Their suppressed consent subjects (``type:id``; emails as ``email:<sha256>``)."""
    identifiers: frozenset[str] = frozenset()
    """Their suppressed identifier hashes (``erasure``; ``since`` leaves them out)."""

    def suppression(self, *, key: str) -> Suppression:
        """As a ``Suppression`` (what ingest would drop), keyed by the workspace salt."""
        return Suppression(key=key, subjects=self.subjects, identifiers=self.identifiers)

    def __bool__(self) -> bool:
        return bool(self.erasure_ids)


@dataclass(frozen=True, kw_only=True, slots=True)
class Redaction:
    """What one erasure removed from one kept run: files rewritten and rows removed per file."""

    erasure_id: str
    run_id: str
    redacted_at: datetime
    removed: Mapping[str, int] = field(default_factory=dict)
    """Run-relative file path -> rows removed (files that held none are left out)."""

    @property
    def files(self) -> int:
        return len(self.removed)

    @property
    def rows(self) -> int:
        return sum(self.removed.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "erasure_id": self.erasure_id,
            "run_id": self.run_id,
            "redacted_at": self.redacted_at.astimezone(UTC).isoformat(),
            "files": self.files,
            "rows": self.rows,
            "removed": dict(self.removed),
        }


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
    if subject_type not in {*SUBJECT_TYPES, "person"}:
        raise ConsentError(
            f"subject type {subject_type!r}: use one of "
            f"{', '.join(sorted({*SUBJECT_TYPES, 'person'}))}",
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

    def since(self, moment: datetime) -> ErasedSince:
        """Erasures requested at or after ``moment`` (a run's start), with their subjects.

        A run's ingest applied every erasure requested before it started; the
        ones returned here came later, so the run's files still hold those
        persons and its readers must leave them out. One indexed query, and a
        second only when there are such erasures.
        """
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(erasures.c.erasure_id, erasures.c.person_id).where(
                    erasures.c.requested_at >= moment.astimezone(UTC)
                )
            ).all()
            if not rows:
                return ErasedSince()
            ids = [str(r[0]) for r in rows]
            subjects = connection.execute(
                select(suppressions.c.value).where(
                    suppressions.c.kind == "subject", suppressions.c.erasure_id.in_(ids)
                )
            ).all()
        return ErasedSince(
            erasure_ids=frozenset(ids),
            person_ids=frozenset(str(r[1]) for r in rows if r[1] is not None),
            subjects=frozenset(str(r[0]) for r in subjects),
        )

    def erasure(self, erasure_id: str) -> ErasedSince:
        """One erasure's person, subjects and identifier hashes (what redacting a run removes).

        The suppression list holds each subject or identifier once, under the
        erasure that listed it first: a later erasure of the same person finds
        it there and the run's persons through the subjects it did add.
        """
        with self._engine.connect() as connection:
            person = connection.execute(
                select(erasures.c.person_id).where(erasures.c.erasure_id == erasure_id)
            ).all()
            listed = connection.execute(
                select(suppressions.c.kind, suppressions.c.value).where(
                    suppressions.c.erasure_id == erasure_id
                )
            ).all()
        return ErasedSince(
            erasure_ids=frozenset({erasure_id}) if person else frozenset(),
            person_ids=frozenset(str(r[0]) for r in person if r[0] is not None),
            subjects=frozenset(str(v) for k, v in listed if k == "subject"),
            identifiers=frozenset(str(v) for k, v in listed if k == "identifier"),
        )

    def record_redaction(self, redaction: Redaction) -> None:
        """Keep what an erasure removed from a run (paths and counts); once per erasure and run."""
        row = {
            "erasure_id": redaction.erasure_id,
            "run_id": redaction.run_id,
            "redacted_at": redaction.redacted_at.astimezone(UTC),
            "files": redaction.files,
            "rows": redaction.rows,
            "detail": json.dumps(dict(sorted(redaction.removed.items()))),
        }
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        with self._engine.begin() as connection:
            connection.execute(dialect.insert(erasure_redactions).on_conflict_do_nothing(), [row])

    def redactions(self, *, erasure_id: str | None = None) -> list[Redaction]:
        """The redaction audit, oldest first (one erasure's when ``erasure_id`` is given)."""
        query = select(erasure_redactions).order_by(
            erasure_redactions.c.redacted_at, erasure_redactions.c.run_id
        )
        if erasure_id is not None:
            query = query.where(erasure_redactions.c.erasure_id == erasure_id)
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            Redaction(
                erasure_id=str(r.erasure_id),
                run_id=str(r.run_id),
                redacted_at=stored_utc(r.redacted_at),
                removed={str(k): int(v) for k, v in json.loads(r.detail).items()},
            )
            for r in rows
        ]

    def unredacted(self, *, run_id: str, since: datetime) -> list[str]:
        """Erasure ids requested at or after ``since`` that have no redaction of ``run_id`` yet."""
        done = select(erasure_redactions.c.erasure_id).where(erasure_redactions.c.run_id == run_id)
        query = (
            select(erasures.c.erasure_id)
            .where(erasures.c.requested_at >= since.astimezone(UTC))
            .where(erasures.c.erasure_id.not_in(done))
            .order_by(erasures.c.requested_at)
        )
        with self._engine.connect() as connection:
            return [str(r[0]) for r in connection.execute(query).all()]

    def receipts(self) -> list[ErasureReceipt]:
        """Every erasure's audit record, oldest first."""
        with self._engine.connect() as connection:
            rows = connection.execute(select(erasures).order_by(erasures.c.requested_at)).all()
        return [
            ErasureReceipt(**{**row._asdict(), "requested_at": stored_utc(row.requested_at)})
            for row in rows
        ]
