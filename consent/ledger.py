"""The consent ledger: append-only, idempotent on ``event_id``, evidence kept.

Events are never updated or deleted in place (an erasure is an event too).
Appending the same ``event_id`` twice stores it once, so imports and API
retries are safe. An event without an id gets a deterministic one, a hash of
what it says, so re-importing a file without ids is idempotent as well.

The ledger takes an SQLAlchemy ``Engine``; which database (SQLite in the
workspace, PostgreSQL in production) is the caller's business.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import pandas as pd
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Index,
    MetaData,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from consent.errors import ConsentEventInvalid

__all__ = [
    "SUBJECT_TYPES",
    "events_from_frame",
    "AppendResult",
    "ConsentEvent",
    "Ledger",
    "consent_events",
    "event_id_for",
    "metadata",
    "stored_utc",
]

SubjectType = Literal["customer", "cookie", "device", "contact", "email"]
ConsentStatus = Literal["granted", "denied", "withdrawn"]
SUBJECT_TYPES: frozenset[str] = frozenset({"customer", "cookie", "device", "contact", "email"})
STATUSES: frozenset[str] = frozenset({"granted", "denied", "withdrawn"})

metadata = MetaData()

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 12, 31, tzinfo=UTC)

consent_events = Table(
    "consent_events",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("subject_type", String(16), nullable=False),
    Column("subject_id", String(256), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("source", String(64), nullable=True),
    Column("evidence", Text, nullable=True),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
    Index("ix_consent_events_subject", "subject_type", "subject_id", "purpose", "recorded_at"),
    Index("ix_consent_events_ingested", "ingested_at"),
)


def stored_utc(moment: datetime) -> datetime:
    """A time read back from the store, as UTC: SQLite hands back naive datetimes, and every
    time Tether stores is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class ConsentEvent:
    """One recorded consent decision of one subject for one purpose."""

    subject_type: str
    subject_id: str
    purpose: str
    status: str
    recorded_at: datetime
    expires_at: datetime | None = None
    source: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    """Form or CMP version, TC string, IP hash...: never raw personal data."""
    event_id: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.subject_type not in SUBJECT_TYPES:
            problems.append(f"subject_type must be one of {', '.join(sorted(SUBJECT_TYPES))}")
        if self.status not in STATUSES:
            problems.append(f"status must be one of {', '.join(sorted(STATUSES))}")
        if not self.subject_id:
            problems.append("subject_id is empty")
        if not self.purpose or not self.purpose.replace("_", "").isalnum():
            problems.append("purpose must be a name like ad_targeting")
        if self.recorded_at.tzinfo is None:
            problems.append("recorded_at needs a time zone")
        for name, moment in (("recorded_at", self.recorded_at), ("expires_at", self.expires_at)):
            # Consent is a record of the computer age; pandas (and the effective-consent
            # arithmetic) hold times from 1677 to 2262 only.
            if moment is not None and not EARLIEST.year <= moment.year <= LATEST.year:
                problems.append(f"{name} must be between {EARLIEST.year} and {LATEST.year}")
        if problems:
            raise ConsentEventInvalid(
                f"consent event {self.event_id or '(no id)'}: " + "; ".join(problems),
                event_id=self.event_id,
                problems=problems,
            )

    @property
    def id(self) -> str:
        """``event_id`` when given, else a hash of what the event says."""
        return self.event_id or event_id_for(self)


def event_id_for(event: ConsentEvent) -> str:
    """A deterministic id from the event's content (for sources without ids)."""
    canonical = json.dumps(
        [
            event.subject_type,
            event.subject_id,
            event.purpose,
            event.status,
            event.recorded_at.astimezone(UTC).isoformat(),
            event.expires_at.astimezone(UTC).isoformat() if event.expires_at else None,
            event.source,
        ]
    )
    return "ce_" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True, kw_only=True, slots=True)
class AppendResult:
    """What an append did: ``received = inserted + duplicates``."""

    received: int
    inserted: int
    duplicates: int


class Ledger:
    """The append-only consent ledger on an SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    def append(self, events: Iterable[ConsentEvent], *, batch_size: int = 1000) -> AppendResult:
        """Store events not stored yet; events whose id is already there are skipped."""
        rows = [_row(event) for event in events]
        inserted = 0
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            with self._engine.begin() as connection:
                inserted += len(connection.execute(self._insert_new(), batch).all())
        return AppendResult(received=len(rows), inserted=inserted, duplicates=len(rows) - inserted)

    def _insert_new(self) -> Any:
        """INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING event_id: counts what is new."""
        dialect = self._engine.dialect.name
        if dialect == "postgresql":
            pg = postgresql.insert(consent_events).on_conflict_do_nothing(
                index_elements=["event_id"]
            )
            return pg.returning(consent_events.c.event_id)
        if dialect == "sqlite":
            lite = sqlite.insert(consent_events).on_conflict_do_nothing(index_elements=["event_id"])
            return lite.returning(consent_events.c.event_id)
        raise ConsentEventInvalid(f"unsupported database dialect {dialect}")  # pragma: no cover

    def events(
        self,
        *,
        subject_type: str | None = None,
        subject_ids: Sequence[str] | None = None,
        as_of: datetime | None = None,
    ) -> pd.DataFrame:
        """Events (optionally of some subjects, recorded at or before ``as_of``), oldest first."""
        query = select(consent_events)
        if subject_type is not None:
            query = query.where(consent_events.c.subject_type == subject_type)
        if subject_ids is not None:
            query = query.where(consent_events.c.subject_id.in_(list(subject_ids)))
        if as_of is not None:
            query = query.where(consent_events.c.recorded_at <= as_of.astimezone(UTC))
        query = query.order_by(consent_events.c.recorded_at, consent_events.c.event_id)
        columns = [c.name for c in consent_events.columns]
        with self._engine.connect() as connection:
            frame = pd.DataFrame(connection.execute(query).all(), columns=columns)
        if frame.empty:
            return frame
        for column in ("recorded_at", "expires_at", "ingested_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        return frame

    def count(self) -> int:
        from sqlalchemy import func

        with self._engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(consent_events)).scalar_one()
            )


def events_from_frame(frame: pd.DataFrame) -> list[ConsentEvent]:
    """Consent events from validated ``consents`` rows (``resolver.ingest_sources``).

    ``evidence`` is kept as given when it is JSON, else as ``{"text": ...}``.
    """
    events = []
    for row in frame.to_dict(orient="records"):
        evidence_raw = row.get("evidence")
        evidence: dict[str, Any] = {}
        if isinstance(evidence_raw, str) and evidence_raw:
            try:
                parsed = json.loads(evidence_raw)
                evidence = parsed if isinstance(parsed, dict) else {"text": evidence_raw}
            except json.JSONDecodeError:
                evidence = {"text": evidence_raw}
        expires = row.get("expires_at")
        event_id = row.get("event_id")
        events.append(
            ConsentEvent(
                subject_type=str(row["subject_type"]),
                subject_id=str(row["subject_id"]),
                purpose=str(row["purpose"]),
                status=str(row["status"]),
                recorded_at=pd.Timestamp(row["recorded_at"]).to_pydatetime(),
                expires_at=None if pd.isna(expires) else pd.Timestamp(expires).to_pydatetime(),
                source=None if pd.isna(row.get("source")) else str(row["source"]),
                evidence=evidence,
                event_id=None if pd.isna(event_id) else str(event_id),
            )
        )
    return events


def _row(event: ConsentEvent) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "purpose": event.purpose,
        "status": event.status,
        # UTC everywhere: SQLite keeps no time zone, so every stored time is UTC.
        "recorded_at": event.recorded_at.astimezone(UTC),
        "expires_at": event.expires_at.astimezone(UTC) if event.expires_at else None,
        "source": event.source,
        "evidence": json.dumps(event.evidence, sort_keys=True) if event.evidence else None,
        "ingested_at": datetime.now(UTC),
    }
