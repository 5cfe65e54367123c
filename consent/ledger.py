"""The consent ledger: append-only, idempotent on ``event_id``, evidence kept.

Events are never updated or deleted in place (an erasure is an event too).
Appending an event whose ``event_id`` is already stored with the same
content is a *duplicate* and stores nothing, so imports and API retries are
safe; the same id with different content (a withdrawal sent with the id of
an earlier grant) is a *conflict*: refused, counted and named, never stored
and never taken for a duplicate. What an event says is fingerprinted in
``content_hash`` (``content_hash_of``), so telling the two apart is one
primary-key lookup. An event without an id gets a deterministic one, a hash
of what it says, so re-importing a file without ids is idempotent as well.

Events are checked where they enter (``ConsentEvent`` for one event,
``prepare_frame`` for a table of them), and each refusal names its field:

- ``subject_type`` and ``status`` from their fixed sets, ``purpose`` one of
  the default policy's purposes (``consent.purposes.PURPOSES``);
- ``recorded_at`` and ``expires_at`` are instants: a time zone is required
  (``2026-01-01T10:00:00`` is refused, ``...Z`` or ``...+02:00`` is not), an
  epoch number is not a timestamp, and once in UTC they lie between
  1970-01-01 and 2200-12-31; ``expires_at`` is not before ``recorded_at``;
- an ``email`` subject is stored as the SHA-256 of the normalised address
  (``consent.effective.email_subject_id``), so the ledger never holds a clear
  address and a consent given for an address finds the person who has it;
  a 64-hex digest is taken as already hashed;
- ``evidence`` is a declared set of fields (``EVIDENCE_KEYS``: where and how
  the consent was collected, never who gave it), stored as JSON text. Plain
  text (not a JSON object) is read as the ``form`` it was collected on.

Large appends take the bulk path (``Ledger.append_frame``): the rows are
checked and fingerprinted column by column (the SHA-256s of a large append by
DuckDB, on every core), then written set-based in one
transaction per batch: PostgreSQL copies them into a temporary table
(``COPY``) and inserts what is new with ``ON CONFLICT DO NOTHING``; SQLite
looks the batch's ids up through a temporary table and inserts the new rows
with one ``executemany``. When the ledger holds at most a few times as many
events as the append (a nightly import, a rerun of the same sources), its
ids and fingerprints are read once instead: the ids found there are
duplicates or conflicts on the spot, and the rest are inserted unchecked, in
one transaction (SQLite ``executemany``, PostgreSQL one ``COPY`` straight into
the ledger); an id another writer stored after that read makes the database
refuse the rows (rolled back), which then take the checked path. When those
new rows are many (``_REBUILD_MIN``) and outnumber the ledger (a first
import), the secondary indexes (subject, ingested_at) are dropped in that
transaction and built again after the rows, as they were defined: building an
index costs a fraction of updating it row by row; SQLite sorts for those
builds in temporary files, not in memory (1.1 GiB less at 11.5 M events, and
faster). Readers are not held up on SQLite (WAL: they read the last commit,
its indexes included); on PostgreSQL
the table is locked for the length of such an import, so readers of the ledger
wait for it. SQLite stores are created with 16 KiB pages (``api.storage``): a first
import of 1 M events took 7.4 s instead of 9.3 on 4 KiB pages. ``Ledger.events``
reads back in bulk (PostgreSQL: ``COPY ... TO STDOUT`` parsed by Arrow).

Measured and not taken (bench/RESULTS.md, "Ledger throughput"): a clustered
SQLite ledger (``WITHOUT ROWID``) wrote a first import no faster (its rows are
large for a clustered B-tree, and the secondary indexes then carry the id
instead of a rowid); SQLite rows sorted by id or by the subject index's key
before ``executemany`` (the primary key or the index build gains less than
ordering the rows and reading their values from scattered memory costs; at
11.5 M events, sorted ids saved 27 s of inserts and cost 14 s more in the
index build, which sorts by subject);
fewer values bound per row (the batch's ``ingested_at`` as a literal, coded
low-cardinality columns, multi-row ``VALUES``); SQLite's multi-threaded sort
for the rebuilt indexes (it needs ``temp_store=FILE`` and a page cache as small
as each sorted run, which spills and re-reads the import's own pages); a larger
page cache while writing; a cheaper fingerprint than SHA-256 (the per-row cost
was the Python call, not the hash, and a non-cryptographic one would let
crafted content pass as a duplicate).

The ledger takes an SQLAlchemy ``Engine``; which database (SQLite in the
workspace, PostgreSQL in production) is the caller's business.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Index,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
)

from consent.errors import ConsentEventInvalid
from consent.purposes import PURPOSES
from resolver.frames import join_parts
from resolver.normalize import normalize_email
from resolver.shared_text import arrow_array
from resolver.vocabulary import CONSENT_STATUSES, SUBJECT_TYPES

__all__ = [
    "EVENT_COLUMNS",
    "JUDGING_COLUMNS",
    "EVIDENCE_KEYS",
    "SUBJECT_TYPES",
    "AppendResult",
    "ConsentEvent",
    "Ledger",
    "PreparedEvents",
    "combine_prepared",
    "consent_events",
    "content_hash_of",
    "event_id_for",
    "events_after_append",
    "events_from_frame",
    "metadata",
    "new_event_mask",
    "prepare_frame",
    "prepare_slices",
    "stored_utc",
]

_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
EVIDENCE_KEYS: frozenset[str] = frozenset(
    {
        "source",
        "form",
        "cmp_id",
        "cmp_version",
        "tc_string",
        "gpp_string",
        "ip_hash",
        "collected_at",
        "user_agent_hash",
    }
)
"""What evidence may say: where and how the consent was collected, never who gave it."""

metadata = MetaData()

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
# Column widths of the table: longer values are refused before the database sees them.
_WIDTH = {"subject_id": 256, "event_id": 128, "source": 64}
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")

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
    Column("content_hash", String(64), nullable=False),
    Index("ix_consent_events_subject", "subject_type", "subject_id", "purpose", "recorded_at"),
    Index("ix_consent_events_ingested", "ingested_at"),
)

EVENT_COLUMNS: tuple[str, ...] = (
    "event_id",
    "subject_type",
    "subject_id",
    "purpose",
    "status",
    "recorded_at",
    "expires_at",
    "source",
    "evidence",
    "ingested_at",
)
"""What ``Ledger.events`` returns by default (the stored fingerprint is the ledger's own)."""
JUDGING_COLUMNS: tuple[str, ...] = (
    "event_id",
    "subject_type",
    "subject_id",
    "purpose",
    "status",
    "recorded_at",
    "expires_at",
    "source",
)
"""What judging consent reads (``consent.effective.subject_states``): no evidence."""
_TIME_COLUMNS = ("recorded_at", "expires_at", "ingested_at")
# The rows the write path works on: every stored column but ingested_at (one per batch),
# times as UTC text in SQLAlchemy's SQLite form (which is also the fingerprint's form).
_PREPARED = (
    "event_id",
    "subject_type",
    "subject_id",
    "purpose",
    "status",
    "recorded_at",
    "expires_at",
    "source",
    "evidence",
    "content_hash",
)
_FINGERPRINTED = (
    "subject_type",
    "subject_id",
    "purpose",
    "status",
    "recorded_at",
    "expires_at",
    "source",
)
"""What ``content_hash_of`` fingerprints, in its order."""
_OPTIONAL = frozenset(column.name for column in consent_events.columns if column.nullable)
"""The ledger's nullable columns (expires_at, source, evidence)."""
_STAMP = "%Y-%m-%d %H:%M:%S.%f"
_SMALL = 2000
"""Appends of at most this many rows skip PostgreSQL's temporary table (the API's case)."""
_SCAN_RATIO = 4
"""A large append reads the ledger's ids and fingerprints in one scan (instead of looking its
ids up one by one) when the ledger holds at most this many times as many events."""
_REBUILD_MIN = 50_000
"""An append of at least this many new events into a ledger holding no more events than it
brings drops the ledger's secondary indexes and builds them again after its rows, in the
same transaction: building an index from sorted rows costs a fraction of updating it row by
row (1 M events written into SQLite: 11.2 CPU seconds with the secondary indexes, 4.7
without, 2.5 to build them after; bench/RESULTS.md, "Ledger throughput")."""
_VECTOR_HASH_MIN = 250_000
"""From this many rows on, fingerprints are hashed by DuckDB (``_sha256_hex``), which hashes
row groups of 122,880 rows on separate cores: per million rows about the 0.85 CPU seconds of
a ``hashlib`` call per row, in 0.5 s instead of 0.85 on two cores; below two row groups it
runs on one core and gains nothing."""
_CHUNK = 200_000
"""Rows handed to the database at a time (one ``executemany``, one CSV block of a ``COPY``)."""


def stored_utc(moment: datetime) -> datetime:
    """A time read back from the store, as UTC: SQLite hands back naive datetimes, and every
    time Tether stores is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --- checks on one value ------------------------------------------------------------------


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _instant(value: object, name: str) -> tuple[datetime | None, str | None]:
    """``value`` as a UTC datetime, or the reason it is not an instant."""
    if _missing(value):
        return None, None
    if isinstance(value, bool | int | float | np.integer | np.floating):
        return None, (
            f"{name}: a number (epoch) is not a timestamp; write ISO 8601 with a time zone, "
            "e.g. 2026-01-01T10:00:00Z"
        )
    if isinstance(value, np.datetime64):
        return None, f"{name}: needs a time zone (e.g. 2026-01-01T10:00:00Z or +02:00)"
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None, f"{name}: not an ISO 8601 timestamp"
    elif isinstance(value, datetime):
        moment = value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
    elif isinstance(value, date):
        return None, f"{name}: a date is not an instant; give a time and a time zone"
    else:
        return None, f"{name}: not a timestamp"
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None, f"{name}: needs a time zone (e.g. 2026-01-01T10:00:00Z or +02:00)"
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        return None, f"{name}: must lie between 1970-01-01 and 2200-12-31 in UTC"
    return utc, None


def _email_subject(value: str) -> tuple[str | None, str | None]:
    """An ``email`` subject id as stored: the SHA-256 of the normalised address."""
    if _HEX64.fullmatch(value):
        return value.lower(), None
    email = normalize_email(value)
    if email is None:
        return None, "subject_id: an email subject is an email address or its SHA-256 (64 hex)"
    from consent.effective import email_subject_id

    return email_subject_id(email), None


def _evidence(value: object) -> tuple[dict[str, Any] | None, str | None]:
    """Evidence as the declared fields, or why not. Plain text is the form it came from."""
    if _missing(value):
        return None, None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None, None
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        value = parsed if isinstance(parsed, dict) else {"form": text}
    if not isinstance(value, Mapping):
        return None, "evidence: must be an object of declared fields"
    unknown = sorted(str(k) for k in value if k not in EVIDENCE_KEYS)
    if unknown:
        # a key is the sender's text (it may be an email): named only if it looks like a name
        named = [k for k in unknown if _FIELD_NAME.fullmatch(k)]
        shown = ", ".join(named) + (
            f" and {len(unknown) - len(named)} more" if len(named) < len(unknown) else ""
        )
        return None, (
            f"evidence: unknown field(s) {shown}; allowed: {', '.join(sorted(EVIDENCE_KEYS))}"
        )
    nested = sorted(
        str(k) for k, v in value.items() if not (v is None or isinstance(v, str | int | float))
    )
    if nested:
        return None, f"evidence: field(s) {', '.join(nested)} must be text or numbers"
    return (dict(value) or None), None


def _evidence_text(evidence: Mapping[str, Any] | None) -> str | None:
    return json.dumps(dict(evidence), sort_keys=True) if evidence else None


def _too_long(name: str, value: str | None) -> str | None:
    if value is not None and len(value) > _WIDTH[name]:
        return f"{name}: longer than {_WIDTH[name]} characters"
    return None


# --- the event ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class ConsentEvent:
    """One recorded consent decision of one subject for one purpose.

    Checked and normalised when made (see the module docstring): the times
    become UTC datetimes (ISO 8601 text with a zone is accepted too), an
    email subject becomes its hash, evidence the declared fields; anything
    else raises ``ConsentEventInvalid`` naming the fields.
    """

    subject_type: str
    subject_id: str
    purpose: str
    status: str
    recorded_at: datetime
    expires_at: datetime | None = None
    source: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    """The declared ``EVIDENCE_KEYS``: form or CMP version, TC string, IP hash... never
    personal data."""
    event_id: str | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        subject_id = self.subject_id
        if self.subject_type not in SUBJECT_TYPES:
            problems.append(f"subject_type: must be one of {', '.join(sorted(SUBJECT_TYPES))}")
        if self.status not in CONSENT_STATUSES:
            problems.append(f"status: must be one of {', '.join(sorted(CONSENT_STATUSES))}")
        if not isinstance(subject_id, str) or not subject_id.strip():
            problems.append("subject_id: empty")
        elif self.subject_type == "email":
            hashed, problem = _email_subject(subject_id)
            problems += [problem] if problem else []
            subject_id = hashed or subject_id
        if self.purpose not in PURPOSES:
            problems.append(f"purpose: unknown purpose; known purposes: {', '.join(PURPOSES)}")
        recorded, problem = _instant(self.recorded_at, "recorded_at")
        if problem or recorded is None:
            problems.append(problem or "recorded_at: missing")
        expires, problem = _instant(self.expires_at, "expires_at")
        problems += [problem] if problem else []
        if recorded is not None and expires is not None and expires < recorded:
            problems.append("expires_at: before recorded_at")
        source = self.source if isinstance(self.source, str) and self.source.strip() else None
        event_id = self.event_id if isinstance(self.event_id, str) and self.event_id else None
        evidence, problem = _evidence(self.evidence)
        problems += [problem] if problem else []
        for name, value in (("subject_id", subject_id), ("source", source), ("event_id", event_id)):
            long = _too_long(name, value) if isinstance(value, str) else None
            problems += [long] if long else []
        if problems:
            raise ConsentEventInvalid(
                f"consent event {event_id or '(no id)'}: " + "; ".join(problems),
                event_id=event_id,
                field=problems[0].split(":", 1)[0],
                fields=sorted({p.split(":", 1)[0] for p in problems}),
                problems=problems,
            )
        object.__setattr__(self, "subject_id", subject_id)
        object.__setattr__(self, "recorded_at", recorded)
        object.__setattr__(self, "expires_at", expires)
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "evidence", evidence or {})
        object.__setattr__(self, "event_id", event_id)

    @property
    def id(self) -> str:
        """``event_id`` when given, else a hash of what the event says."""
        return self.event_id or event_id_for(self)

    @property
    def content_hash(self) -> str:
        """The fingerprint of what the event decides (``content_hash_of``)."""
        return content_hash_of(
            subject_type=self.subject_type,
            subject_id=self.subject_id,
            purpose=self.purpose,
            status=self.status,
            recorded_at=self.recorded_at,
            expires_at=self.expires_at,
            source=self.source,
        )


def _content_id(
    subject_type: str,
    subject_id: str,
    purpose: str,
    status: str,
    recorded_at: datetime,
    expires_at: datetime | None,
    source: str | None,
) -> str:
    canonical = json.dumps(
        [
            subject_type,
            subject_id,
            purpose,
            status,
            recorded_at.astimezone(UTC).isoformat(),
            expires_at.astimezone(UTC).isoformat() if expires_at else None,
            source,
        ]
    )
    return "ce_" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def event_id_for(event: ConsentEvent) -> str:
    """A deterministic id from the event's content (for sources without ids)."""
    return _content_id(
        event.subject_type,
        event.subject_id,
        event.purpose,
        event.status,
        event.recorded_at,
        event.expires_at,
        event.source,
    )


def _stamp(moment: datetime) -> str:
    """A time as the ledger writes it: UTC, microseconds (SQLAlchemy's SQLite form)."""
    return moment.astimezone(UTC).strftime(_STAMP)


def _fingerprint(
    subject_type: str,
    subject_id: str,
    purpose: str,
    status: str,
    recorded: str,
    expires: str | None,
    source: str | None,
) -> str:
    text = f"{subject_type}\x1f{subject_id}\x1f{purpose}\x1f{status}\x1f{recorded}\x1f{expires or ''}\x1f{source or ''}"
    return hashlib.sha256(text.encode()).hexdigest()


def content_hash_of(
    *,
    subject_type: str,
    subject_id: str,
    purpose: str,
    status: str,
    recorded_at: datetime,
    expires_at: datetime | None,
    source: str | None,
) -> str:
    """SHA-256 (hex) of what an event decides: subject, purpose, status, times, source.

    Evidence is not part of it: it says how the decision was collected, not
    what was decided (and its shape changed once, in migration 0006). Times
    count to the microsecond, in UTC.
    """
    return _fingerprint(
        subject_type,
        subject_id,
        purpose,
        status,
        _stamp(recorded_at),
        _stamp(expires_at) if expires_at is not None else None,
        source,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class AppendResult:
    """What an append did: ``received = inserted + duplicates + conflicts + invalid + withheld``.

    A duplicate is an id already stored (or met earlier in the same append)
    with the same content: idempotent, nothing stored. A conflict is an id
    already stored (or met earlier) with different content: refused, not
    stored, its id in ``conflict_ids``. ``invalid`` rows were refused by the
    checks (``append_frame(..., on_invalid="skip")``), counted per reason.
    """

    received: int
    inserted: int
    duplicates: int
    conflicts: int = 0
    conflict_ids: tuple[str, ...] = ()
    invalid: int = 0
    invalid_reasons: Mapping[str, int] = field(default_factory=dict)
    withheld: int = 0
    """Events not stored because their append was refused as a whole (``all_or_nothing``)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PreparedEvents:
    """Checked rows ready to write (``prepare_frame``), and what was refused."""

    rows: pd.DataFrame
    invalid: int = 0
    invalid_reasons: Mapping[str, int] = field(default_factory=dict)
    refused: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"position": pd.Series(dtype="int64"),
                                              "reason": pd.Series(dtype=object)})
    )  # fmt: skip
    """The invalid rows: ``position`` (0-based, in the table given) and ``reason``."""

    @property
    def positions(self) -> np.ndarray:
        """Per row of ``rows``, its position in the table given (refused rows left out)."""
        total = len(self.rows) + len(self.refused)
        keep = np.ones(total, dtype=bool)
        keep[self.refused["position"].to_numpy(dtype=np.int64)] = False
        return np.flatnonzero(keep)


def combine_prepared(parts: Sequence[PreparedEvents]) -> PreparedEvents:
    """Several checked tables as one append, in order: appending it stores what appending
    ``parts`` one after the other would (the first row of an id wins, a later one is a
    duplicate or a conflict), in one transaction. ``refused`` positions count on from the
    end of the table before.

    The counts can differ in one case: a stored id met in two of the tables is counted
    against the append's first row of it, as within one table, where appending the tables
    in turn counts each against the stored event (a duplicate there can be a conflict
    here, or the reverse). What is stored, and so what is judged, is the same.
    """
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return PreparedEvents(rows=pd.DataFrame({c: pd.Series(dtype=object) for c in _PREPARED}))
    reasons: Counter[str] = Counter()
    for part in parts:
        reasons.update(part.invalid_reasons)
    return PreparedEvents(
        rows=pd.concat([p.rows for p in parts], ignore_index=True),
        invalid=sum(p.invalid for p in parts),
        invalid_reasons=dict(reasons),
        refused=_refused_of(parts),
    )


def _refused_of(parts: Sequence[PreparedEvents]) -> pd.DataFrame:
    """The refused rows of tables checked in turn, as one table's: each part's positions
    count on from the end of the table before."""
    offsets = np.cumsum([0] + [len(p.rows) + len(p.refused) for p in parts[:-1]])
    return pd.concat(
        [
            p.refused.assign(position=p.refused["position"].to_numpy(np.int64) + int(at))
            for p, at in zip(parts, offsets, strict=True)
        ],
        ignore_index=True,
    )


# --- checks on a table of events ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Coded:
    """A text column as codes into its distinct values (stripped; empty = missing): the
    checks run once per distinct value, which is what makes them cheap on millions of rows."""

    codes: np.ndarray
    """Per row, the index into ``values``; -1 (the last entry of ``table``) when missing."""
    values: list[str | None]

    @classmethod
    def of(cls, frame: pd.DataFrame, name: str) -> _Coded:
        if name not in frame.columns:
            return cls(codes=np.full(len(frame), -1, dtype=np.int64), values=[])
        codes, uniques = pd.factorize(frame[name].astype(object), use_na_sentinel=True)
        values = [(u if isinstance(u, str) else str(u)).strip() or None for u in uniques.tolist()]
        return cls(codes=np.asarray(codes, dtype=np.int64), values=values)

    def column(self) -> np.ndarray:
        table = np.array([*self.values, None], dtype=object)
        column: np.ndarray = table[self.codes]
        return column

    def longer_than(self, width: int) -> np.ndarray:
        """Per row, whether the value has more than ``width`` characters."""
        lengths = np.fromiter(
            map(len, [v or "" for v in self.values]), dtype=np.int64, count=len(self.values)
        )
        per_value = np.append(lengths > width, False)
        flags: np.ndarray = per_value[self.codes]
        return flags

    def rows(self, test: Any) -> np.ndarray:
        """Per row, ``test(value)`` (``value`` None when missing)."""
        per_value = np.array([bool(test(v)) for v in [*self.values, None]], dtype=bool)
        flags: np.ndarray = per_value[self.codes]
        return flags

    def text(self, keep: np.ndarray) -> tuple[np.ndarray, pa.Array]:
        """The ``keep`` rows as objects and as Arrow text (``_text_column``)."""
        return _text_column(self.values, self.codes[keep])


_EDGE = 0x20
"""A text that Python's ``str.strip`` might change starts or ends with a byte up to this one
(in ASCII text: the whitespace and the control characters)."""


def _plain_ascii(arrow: pa.StringArray) -> bool:
    """Whether every text of ``arrow`` is ASCII, not empty, and starts and ends with a byte
    above ``_EDGE`` (so ``str.strip`` leaves it as it is). Read from Arrow's buffers with
    numpy (each text's first and last byte): a regular expression per text cost about ten
    times as much on a million ids."""
    present = len(arrow) - arrow.null_count
    if present == 0:
        return True
    offsets = np.frombuffer(arrow.buffers()[1], dtype=np.int32)[
        arrow.offset : arrow.offset + len(arrow) + 1
    ]
    valid = (
        np.ones(len(arrow), dtype=bool)
        if arrow.null_count == 0
        else arrow.is_valid().to_numpy(zero_copy_only=False)
    )
    starts, ends = offsets[:-1][valid], offsets[1:][valid]
    if (ends <= starts).any():
        return False  # an empty text
    data = np.frombuffer(arrow.buffers()[2], dtype=np.uint8)
    if data[offsets[0] : offsets[-1]].max(initial=0) >= 0x80:
        # a byte of a non-ASCII character (a null's slot may hold bytes too: then declined)
        return False
    return bool((data[starts] > _EDGE).all() and (data[ends - 1] > _EDGE).all())


@dataclass(frozen=True, slots=True)
class _Plain:
    """A column of (nearly) distinct texts with nothing to strip, kept as given: the ids.

    ``_Coded`` would factorize a million distinct ids and strip each; here the
    texts are checked in Arrow, and ``of`` declines (None) whatever it cannot
    vouch for, so the result is always ``_Coded``'s.
    """

    objects: np.ndarray
    arrow: pa.Array

    @classmethod
    def of(cls, frame: pd.DataFrame, name: str) -> _Plain | None:
        if name not in frame.columns:
            return None
        objects = frame[name].to_numpy(dtype=object, copy=True)
        if pd.api.types.infer_dtype(objects, skipna=True) != "string":
            return None  # numbers, bytes or other objects: _Coded makes text of them
        try:
            arrow = pa.array(objects, type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
        if arrow.null_count == len(arrow) or not _plain_ascii(arrow):
            return None
        if arrow.null_count:
            objects[arrow.is_null().to_numpy(zero_copy_only=False)] = None
        return cls(objects=objects, arrow=arrow)

    def longer_than(self, width: int) -> np.ndarray:
        flags: np.ndarray = pc.fill_null(
            pc.greater(pc.utf8_length(self.arrow), width), False
        ).to_numpy(zero_copy_only=False)
        return flags

    def column(self) -> np.ndarray:
        return self.objects

    def text(self, keep: np.ndarray) -> tuple[np.ndarray, pa.Array]:
        objects: np.ndarray = self.objects[keep]
        return objects, self.arrow.filter(pa.array(keep))


def _map_unique(values: pd.Series, fn: Any) -> tuple[pd.Series, pd.Series]:
    """``fn`` (value -> (result, problem)) applied once per distinct non-missing value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    answers = [fn(u) for u in uniques]
    results = np.array([a[0] for a in answers] + [None], dtype=object)
    problems = np.array([a[1] for a in answers] + [None], dtype=object)
    index = np.where(codes < 0, len(uniques), codes)
    return (
        pd.Series(results[index], index=values.index, dtype=object),
        pd.Series(problems[index], index=values.index, dtype=object),
    )


def _time_column(frame: pd.DataFrame, name: str) -> tuple[pd.Series, pd.Series]:
    """Column ``name`` as UTC timestamps (NaT when missing or refused) and per-row problems."""
    n = len(frame)
    no_problem = pd.Series(np.full(n, None, dtype=object), index=frame.index)
    if name not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]"), no_problem
    column = frame[name]
    present = column.notna()
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        utc = column.dt.tz_convert(UTC)
        problems = no_problem
    elif pd.api.types.is_datetime64_dtype(column.dtype):
        problems = no_problem.mask(
            present, f"{name}: needs a time zone (e.g. 2026-01-01T10:00:00Z or +02:00)"
        )
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]"), problems
    elif pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        problems = no_problem.mask(
            present,
            f"{name}: a number (epoch) is not a timestamp; write ISO 8601 with a time zone, "
            "e.g. 2026-01-01T10:00:00Z",
        )
        return pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]"), problems
    else:
        moments, problems = _map_unique(column.astype(object), lambda v: _instant(v, name))
        utc = pd.to_datetime(moments, utc=True)
        return utc, problems
    outside = present & ((utc < EARLIEST) | (utc > LATEST)).fillna(False)
    if outside.any():
        problems = problems.mask(
            outside, f"{name}: must lie between 1970-01-01 and 2200-12-31 in UTC"
        )
        utc = utc.mask(outside)
    return utc, problems


def _stamp_codes(moments: pd.Series) -> tuple[list[str | None], np.ndarray]:
    """UTC timestamps as the ledger's text (``_stamp``), formatted once per distinct time:
    the distinct texts and, per row, the index of its text (-1 when missing)."""
    codes, uniques = pd.factorize(moments, use_na_sentinel=True)
    if len(uniques):
        naive = pd.DatetimeIndex(uniques).tz_convert(UTC).tz_localize(None)
        text = np.datetime_as_string(naive.to_numpy("datetime64[us]"), unit="us")
        # "2026-01-01T10:00:00.000000": the "T" (the 11th of 26 characters of 4 bytes)
        # becomes a space in place, not by a string operation per value
        text.view(np.uint32).reshape(len(text), -1)[:, 10] = ord(" ")
        formatted: list[str | None] = text.tolist()
    else:
        formatted = []
    return formatted, np.asarray(codes, dtype=np.int64)


def _text_column(values: list[str | None], codes: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """A column given as its distinct texts and per-row indexes into them (-1: missing), as
    Python objects (shared per distinct text) and as Arrow text (copied by index, not
    converted row by row)."""
    index = np.where(codes < 0, len(values), codes)
    table = [*values, None]
    objects: np.ndarray = np.array(table, dtype=object)[index]
    return objects, pa.array(table, type=pa.string()).take(pa.array(index))


PREPARE_ROWS = 1_000_000
"""Rows ``prepare_frame`` checks at a time: each row is checked alone, and the working
columns of 11 M consent rows checked at once (codes, Arrow copies for the fingerprints)
were about 2.6 GiB of a 10 M-touchpoint run's consent step (issue #14)."""


def prepare_frame(
    frame: pd.DataFrame, *, on_invalid: Literal["raise", "skip"] = "raise"
) -> PreparedEvents:
    """Check and normalise consent rows (the ``consents`` columns of SPEC §3) column-wise.

    Timestamps may be time zone aware datetimes or ISO 8601 text with a zone;
    ``evidence`` a mapping, JSON object text, or plain text (the form). Rows
    that break a rule raise ``ConsentEventInvalid`` (row numbers and fields
    named, values never) or, with ``on_invalid="skip"``, are left out and
    counted per reason. ``PREPARE_ROWS`` rows at a time; the result is the same. The
    texts of one per row (``event_id``, ``subject_id``, ``recorded_at``,
    ``content_hash``) are Arrow text (``pd.ArrowDtype(pa.string())``), the others
    Python objects shared per distinct value.
    """
    if len(frame) <= PREPARE_ROWS:
        _require_columns(frame)
        return _prepare(frame, on_invalid=on_invalid)
    return prepare_slices(
        (frame.iloc[start : start + PREPARE_ROWS] for start in range(0, len(frame), PREPARE_ROWS)),
        on_invalid=on_invalid,
    )


def prepare_slices(
    slices: Iterable[pd.DataFrame], *, on_invalid: Literal["raise", "skip"] = "raise"
) -> PreparedEvents:
    """``prepare_frame`` of one table given as consecutive slices (a Parquet file read a batch
    at a time): each slice is checked before the next is read, so that the caller never
    holds the whole table, and positions and row numbers count on across the slices."""
    parts: list[PreparedEvents] = []
    for part in slices:
        _require_columns(part)
        parts.append(_prepare(part, on_invalid="skip"))
        pa.default_memory_pool().release_unused()  # the slice's Arrow copies
    if not parts:
        return PreparedEvents(rows=pd.DataFrame({c: pd.Series(dtype=object) for c in _PREPARED}))
    refused = _refused_of(parts)
    problem = refused["reason"].to_numpy(dtype=object)
    reasons = {str(k): int(v) for k, v in Counter(problem).most_common()}
    if len(refused) and on_invalid == "raise":
        raise _invalid_events(refused["position"].to_numpy(np.int64), problem, reasons)
    rows = join_parts([p.rows for p in parts])  # each column leaves the slices as joined
    return PreparedEvents(rows=rows, invalid=len(refused), invalid_reasons=reasons, refused=refused)


def _require_columns(frame: pd.DataFrame) -> None:
    """Refuse a table of consent events that lacks a required column."""
    required = ("subject_type", "subject_id", "purpose", "status", "recorded_at")
    absent = [c for c in required if c not in frame.columns]
    if absent:
        raise ConsentEventInvalid(
            f"consent events: missing column(s) {', '.join(absent)}", fields=absent
        )


def _invalid_events(
    positions: np.ndarray, problem: np.ndarray, reasons: Mapping[str, int]
) -> ConsentEventInvalid:
    """The error for invalid rows: ``positions`` (0-based) and each one's ``problem``."""
    shown = "; ".join(
        f"row {i + 1}: {why}" for i, why in zip(positions[:5], problem[:5], strict=True)
    )
    more = f" (and {len(positions) - 5} more)" if len(positions) > 5 else ""
    return ConsentEventInvalid(
        f"{len(positions)} invalid consent event(s): {shown}{more}",
        field=str(problem[0]).split(":", 1)[0],
        fields=sorted({str(p).split(":", 1)[0] for p in reasons}),
        rows=[int(i) + 1 for i in positions[:100]],
        problems=list(reasons),
    )


def _prepare(frame: pd.DataFrame, *, on_invalid: Literal["raise", "skip"]) -> PreparedEvents:
    """``prepare_frame`` of rows checked at once."""
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        frame = frame.reset_index(drop=True)
    n = len(frame)
    problem = np.full(n, None, dtype=object)

    def fail(mask: np.ndarray, why: str | np.ndarray) -> None:
        where = np.asarray(mask, dtype=bool) & (problem == None)  # noqa: E711 (element-wise)
        if where.any():
            problem[where] = why[where] if isinstance(why, np.ndarray) else why

    subject_type = _Coded.of(frame, "subject_type")
    fail(
        subject_type.rows(lambda v: v not in SUBJECT_TYPES),
        f"subject_type: must be one of {', '.join(sorted(SUBJECT_TYPES))}",
    )
    status = _Coded.of(frame, "status")
    fail(
        status.rows(lambda v: v not in CONSENT_STATUSES),
        f"status: must be one of {', '.join(sorted(CONSENT_STATUSES))}",
    )
    purpose = _Coded.of(frame, "purpose")
    fail(
        purpose.rows(lambda v: v not in PURPOSES),
        f"purpose: unknown purpose; known purposes: {', '.join(PURPOSES)}",
    )
    sid = _Coded.of(frame, "subject_id")
    source = _Coded.of(frame, "source")
    event_id = _Plain.of(frame, "event_id") or _Coded.of(frame, "event_id")
    fail(sid.rows(lambda v: v is None), "subject_id: empty")
    for name, values in (("subject_id", sid), ("source", source), ("event_id", event_id)):
        width = _WIDTH[name]
        fail(values.longer_than(width), f"{name}: longer than {width} characters")
    subject_id = sid.column()
    email = (subject_type.column() == "email") & (subject_id != None)  # noqa: E711
    if email.any():
        # an email subject becomes the hash of its normalised address, once per address
        hashed = np.full(len(sid.values) + 1, None, dtype=object)
        refused = np.full(len(sid.values) + 1, None, dtype=object)
        for code in np.unique(sid.codes[email]).tolist():
            hashed[code], refused[code] = _email_subject(str(sid.values[code]))
        subject_id[email] = hashed[sid.codes[email]]
        reasons_here = np.full(n, None, dtype=object)
        reasons_here[email] = refused[sid.codes[email]]
        fail(reasons_here != None, reasons_here)  # noqa: E711
    recorded, recorded_why = _time_column(frame, "recorded_at")
    fail(recorded_why.notna().to_numpy(), recorded_why.to_numpy())
    fail(recorded.isna().to_numpy(), "recorded_at: missing")
    expires, expires_why = _time_column(frame, "expires_at")
    fail(expires_why.notna().to_numpy(), expires_why.to_numpy())
    fail((expires < recorded).fillna(False).to_numpy(dtype=bool), "expires_at: before recorded_at")
    evidence = np.full(n, None, dtype=object)
    if "evidence" in frame.columns and frame["evidence"].notna().any():
        given = frame["evidence"].notna().to_numpy()
        raw = frame["evidence"][given].astype(object)
        # mappings (unhashable) are compared as their canonical JSON text
        raw = raw.map(
            lambda v: json.dumps(dict(v), sort_keys=True) if isinstance(v, Mapping) else v
        )
        shapes, reasons_given = _map_unique(raw, _evidence)
        evidence[given] = shapes.map(_evidence_text, na_action="ignore").to_numpy()
        reasons_here = np.full(n, None, dtype=object)
        reasons_here[given] = reasons_given.to_numpy()
        fail(reasons_here != None, reasons_here)  # noqa: E711
    invalid = problem != None  # noqa: E711
    reasons: dict[str, int] = {}
    if invalid.any():
        reasons = {str(k): int(v) for k, v in Counter(problem[invalid]).most_common()}
        if on_invalid == "raise":
            bad_rows = np.flatnonzero(invalid)
            raise _invalid_events(bad_rows, problem[bad_rows], reasons)
    keep = ~invalid
    # each text column as objects for the rows and as Arrow text for the fingerprints
    texts = {
        name: c.text(keep)
        for name, c in (
            ("event_id", event_id),
            ("subject_type", subject_type),
            ("purpose", purpose),
            ("status", status),
            ("source", source),
        )
    }
    if email.any():  # hashed per row: converted as it is
        kept_subjects = subject_id[keep]
        texts["subject_id"] = (kept_subjects, pa.array(kept_subjects, type=pa.string()))
    else:
        texts["subject_id"] = sid.text(keep)
    texts["recorded_at"] = _text_column(*_stamp_codes(recorded[keep]))
    texts["expires_at"] = _text_column(*_stamp_codes(expires[keep]))
    rows = pd.DataFrame(
        {name: texts[name][0] for name in _PREPARED[:-2]} | {"evidence": evidence[keep]}
    )
    no_id = rows["event_id"].isna().to_numpy()
    if no_id.any():
        kept_recorded = recorded[keep].reset_index(drop=True)
        kept_expires = expires[keep].reset_index(drop=True)
        ids = rows["event_id"].to_numpy(dtype=object)
        for i in np.flatnonzero(no_id).tolist():
            row = rows.iloc[i]
            ids[i] = _content_id(
                str(row["subject_type"]),
                str(row["subject_id"]),
                str(row["purpose"]),
                str(row["status"]),
                kept_recorded[i].to_pydatetime(),
                None if pd.isna(kept_expires[i]) else kept_expires[i].to_pydatetime(),
                None if row["source"] is None else str(row["source"]),
            )
        rows["event_id"] = ids
    rows["content_hash"] = _arrow_column(
        _fingerprint_array([texts[name][1] for name in _FINGERPRINTED])
    )
    # the columns with a text per row, as Arrow text: as Python objects, 11 M rows' ids,
    # subjects, times and fingerprints were about 2 GiB of the consent step at 10 M
    # touchpoints (issue #14); the others share one object per distinct text
    rows["event_id"] = _arrow_column(pa.array(rows["event_id"].to_numpy(object), pa.string()))
    for name in ("subject_id", "recorded_at"):
        rows[name] = _arrow_column(texts[name][1])
    where = np.flatnonzero(invalid)
    return PreparedEvents(
        rows=rows,
        invalid=int(invalid.sum()),
        invalid_reasons=reasons,
        refused=pd.DataFrame({"position": where.astype(np.int64), "reason": problem[where]}),
    )


def new_event_mask(
    ids: pa.Array | pa.ChunkedArray, *, stored_ids: pa.Array | pa.ChunkedArray | None
) -> np.ndarray:
    """Per row of an append's ``ids``, whether the append inserts it: the first row of each
    id that ``stored_ids`` (the ledger's, as read) lacks. A later row of an id is a duplicate
    or a conflict, as a stored id is (``Ledger._append``)."""
    # duplicates found by Arrow (no Python object per id)
    keep: np.ndarray = ~pd.Series(_arrow_column(ids)).duplicated(keep="first").to_numpy()
    if stored_ids is not None and len(stored_ids):
        if isinstance(stored_ids, pa.ChunkedArray):  # a value set is one array
            stored_ids = stored_ids.combine_chunks()
        keep &= ~pc.is_in(ids, value_set=stored_ids).to_numpy(zero_copy_only=False)
    return keep


def events_after_append(
    *, stored: pd.DataFrame, prepared: Sequence[PreparedEvents]
) -> pd.DataFrame:
    """The ledger's events as they read (``Ledger.events(columns=JUDGING_COLUMNS,
    ordered=False, arrow_text=True)``) once ``prepared`` is appended, in its order, to the
    ledger that ``stored`` (``Ledger.snapshot``) is a snapshot of, without waiting for the
    write nor reading it back.

    An append keeps the first row of each id and refuses a stored id (a duplicate when it
    says the same, a conflict when not): so the new events are the first row of each id
    not in ``stored``. Row order differs from a read; judging does not depend on it.
    """
    columns = list(JUDGING_COLUMNS)
    parts = [stored[columns]] if len(stored) else []
    seen = _arrow_text(stored["event_id"]) if len(stored) else None
    for batch in prepared:
        rows = batch.rows
        if not len(rows):
            continue
        ids = _arrow_text(rows["event_id"])
        new = new_event_mask(ids, stored_ids=seen)
        seen = ids if seen is None else pa.chunked_array([*_chunks(seen), *_chunks(ids)])
        if not new.any():
            continue
        # every row new (a first import): the columns as they are, Arrow text not copied
        where = None if new.all() else pa.array(np.flatnonzero(new))
        texts = {c: _arrow_text(rows[c]) for c in columns}
        table = pa.table(
            texts if where is None else {c: text.take(where) for c, text in texts.items()}
        )
        frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
        for name in ("recorded_at", "expires_at"):  # as ``events`` parses the stored text
            frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601", cache=False)
        parts.append(frame)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _fingerprints(rows: pd.DataFrame) -> list[str]:
    """``_fingerprint`` of every row, the text joined by Arrow and hashed in one loop."""
    if rows.empty:
        return []
    digests: list[str] = _fingerprint_array(
        [_arrow_text(rows[c]) for c in _FINGERPRINTED]
    ).to_pylist()
    return digests


def _fingerprint_array(parts: list[pa.Array]) -> pa.Array:
    """``_fingerprint`` of every row of the ``_FINGERPRINTED`` columns, given as Arrow text,
    as Arrow text."""
    if not parts or len(parts[0]) == 0:
        return pa.array([], type=pa.string())
    joined = pc.binary_join_element_wise(
        *parts, "\x1f", null_handling="replace", null_replacement=""
    )
    if len(joined) >= _VECTOR_HASH_MIN:
        return _sha256_hex(joined)
    sha256 = hashlib.sha256
    return pa.array(
        [sha256(text).hexdigest() for text in joined.cast(pa.binary()).to_pylist()],
        type=pa.string(),
    )


def _chunks(values: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return values.chunks if isinstance(values, pa.ChunkedArray) else [values]


def _arrow_column(values: pa.Array | pa.ChunkedArray) -> pd.arrays.ArrowExtensionArray:
    """Arrow text as a pandas column without a copy (``pd.ArrowDtype(pa.string())``)."""
    return pd.arrays.ArrowExtensionArray(values)


def _arrow_text(column: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A text column as Arrow text: its own buffers when Arrow-backed (prepared rows), else
    converted from its Python objects."""
    if isinstance(column.dtype, pd.ArrowDtype) and column.dtype.pyarrow_dtype == pa.string():
        return arrow_array(column)
    return pa.array(column.to_numpy(dtype=object), type=pa.string())


def _pylist(column: pd.Series) -> list[Any]:
    """A column's values as Python objects, ``None`` where missing, whatever its backing
    (what the database drivers bind)."""
    if isinstance(column.dtype, pd.ArrowDtype):
        values: list[Any] = arrow_array(column).to_pylist()
        return values
    return column.tolist()


def _objects(column: pd.Series) -> np.ndarray:
    """A column's values as a numpy array of Python objects, ``None`` where missing."""
    if isinstance(column.dtype, pd.ArrowDtype):
        values: np.ndarray = arrow_array(column).to_numpy()
        return values
    objects: np.ndarray = column.to_numpy(dtype=object)
    return objects


_duckdb: Any = None
"""An in-memory DuckDB database for ``_sha256_hex``, opened on first use (25 ms); each call
works on its own cursor of it, so threads do not share one."""
_duckdb_lock = threading.Lock()


def _sha256_hex(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The SHA-256 (hex) of each text's UTF-8 bytes, computed by DuckDB a vector at a time
    on every core, in the order given: the digests ``hashlib.sha256(text.encode())`` gives
    (a test holds the two to each other), without a Python call per row."""
    global _duckdb
    import duckdb  # imported here: a ledger that never takes a large append never needs it

    with _duckdb_lock:
        if _duckdb is None:
            _duckdb = duckdb.connect()
        cursor = _duckdb.cursor()
    try:
        hashed = (
            cursor.from_arrow(pa.table({"text": texts}))
            .select("sha256(text) AS digest")
            .to_arrow_table()
        )
    finally:
        cursor.close()
    return hashed.column("digest").combine_chunks().cast(pa.string())


def _prepared_from_events(events: Sequence[ConsentEvent]) -> pd.DataFrame:
    rows = pd.DataFrame(
        [
            (
                e.id,
                e.subject_type,
                e.subject_id,
                e.purpose,
                e.status,
                _stamp(e.recorded_at),
                _stamp(e.expires_at) if e.expires_at is not None else None,
                e.source,
                _evidence_text(e.evidence),
            )
            for e in events
        ],
        columns=list(_PREPARED[:-1]),
        dtype=object,
    )
    rows["content_hash"] = _fingerprints(rows) if len(rows) else []
    return rows


def _known_ids(rows: pd.DataFrame, stored: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``rows`` whose ids are not in ``stored`` (``event_id, content_hash`` of the ledger), and
    the ids stored with another fingerprint (conflicts); the rest are duplicates."""
    if stored.empty:  # a first import: nothing to look up
        return rows, []
    where = pd.Index(_objects(stored["event_id"])).get_indexer(pd.Index(_objects(rows["event_id"])))
    there = where >= 0
    if not there.any():
        return rows, []
    hashes = _objects(stored["content_hash"])[where[there]]
    ids = _objects(rows["event_id"])[there]
    differs = hashes != _objects(rows["content_hash"])[there]
    return rows.loc[~there].reset_index(drop=True), ids[differs].tolist()


class _Once:
    """A callback called at most once, however often this is called (none: a no-op)."""

    def __init__(self, callback: Callable[[], None] | None) -> None:
        self._callback = callback

    def __call__(self) -> None:
        callback, self._callback = self._callback, None
        if callback is not None:
            callback()


@contextmanager
def _sqlite_transaction(db: Any, *, sorts_in_files: bool = False) -> Iterator[Any]:
    """A cursor inside ``BEGIN IMMEDIATE`` (the write lock from the start), committed at the
    end unless the body ended the transaction itself; a larger page cache meanwhile.

    ``sorts_in_files``: the transaction builds indexes over many rows, and SQLite's sorter
    writes its sorted runs to temporary files (the page cache of the operating system)
    instead of memory (the store's ``temp_store=MEMORY``): rebuilding the ledger's indexes
    over 11.5 M events then held 0.5 GiB instead of 1.6 and took 36 s instead of 44
    (``bench/RESULTS.md``). SQLite refuses to change this inside a transaction, so it is set
    before ``BEGIN`` and put back after the end.
    """
    isolation = db.isolation_level
    db.isolation_level = None  # we say when the transaction begins and ends
    cursor = db.cursor()
    (cache,) = cursor.execute("PRAGMA cache_size").fetchone()
    (temp_store,) = cursor.execute("PRAGMA temp_store").fetchone()
    try:
        cursor.execute("PRAGMA cache_size = -262144")  # 256 MiB while writing
        if sorts_in_files:
            cursor.execute("PRAGMA temp_store = FILE")
        cursor.execute("BEGIN IMMEDIATE")
        yield cursor
        if db.in_transaction:
            cursor.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            cursor.execute("ROLLBACK")
        raise
    finally:
        cursor.execute(f"PRAGMA cache_size = {int(cache)}")
        if sorts_in_files:
            cursor.execute(f"PRAGMA temp_store = {int(temp_store)}")
        cursor.close()
        db.isolation_level = isolation


@contextmanager
def _postgresql_transaction(engine: Engine) -> Iterator[tuple[Any, Any]]:
    """``(connection, cursor)`` of psycopg in one transaction on a pooled connection:
    committed when the body returns (a body that rolled back commits nothing), rolled back
    and re-raised when it raises; the connection goes back to the pool either way. Times
    are read and written as UTC text."""
    raw = engine.raw_connection()
    try:
        db: Any = raw.driver_connection
        try:
            with db.cursor() as cursor:
                cursor.execute("SET LOCAL TimeZone = 'UTC'")
                yield db, cursor
            db.commit()
        except BaseException:
            db.rollback()
            raise
    finally:
        raw.close()


def _insert_rows_sqlite(cursor: Any, rows: pd.DataFrame, ingested: str) -> None:
    # An optional column missing from every row (evidence, usually) is left to its
    # default, NULL, instead of being bound row by row: binding None costs sqlite3 an
    # adapter lookup per value, more than binding a text.
    given = [c for c in _PREPARED[:-1] if c not in _OPTIONAL or rows[c].notna().any()]
    columns = [*given, "ingested_at", "content_hash"]
    values = [_pylist(rows[c]) for c in given]
    values += [[ingested] * len(rows), _pylist(rows["content_hash"])]
    cursor.executemany(
        f"INSERT INTO main.consent_events ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' * len(columns))})",
        zip(*values, strict=True),
    )


def _arrow_rows(rows: pd.DataFrame, ingested: str) -> pa.Table:
    """Prepared rows as text columns in the ledger's order (``ingested_at`` added)."""
    columns = {c: _arrow_text(rows[c]) for c in _PREPARED}
    columns["ingested_at"] = pa.repeat(pa.scalar(ingested, pa.string()), len(rows))
    order = [*_PREPARED[:-1], "ingested_at", "content_hash"]
    return pa.table({c: columns[c] for c in order})


def _csv_of(table: pa.Table) -> io.BytesIO:
    """A table of text columns as the CSV ``COPY`` reads (every value quoted, so an empty
    text stays text and only a missing one is NULL)."""
    buffer = io.BytesIO()
    pacsv.write_csv(
        table,
        buffer,
        write_options=pacsv.WriteOptions(include_header=False, quoting_style="all_valid"),
    )
    return buffer


def _csv(rows: pd.DataFrame, ingested: str) -> io.BytesIO:
    """Prepared rows as the CSV ``COPY`` reads, in the ledger's column order."""
    return _csv_of(_arrow_rows(rows, ingested))


def _drop_indexes_sqlite(cursor: Any) -> list[str]:
    """Drop the ledger's secondary indexes (not the primary key, nor any unique index),
    returning the statements that make them again, as they were written."""
    found = cursor.execute(
        "SELECT name, sql FROM main.sqlite_master WHERE type = 'index' "
        "AND tbl_name = 'consent_events' AND sql IS NOT NULL"
    ).fetchall()
    kept = [
        (n, str(q)) for n, q in found if not str(q).lstrip().upper().startswith("CREATE UNIQUE")
    ]
    for name, _ in kept:
        quoted = str(name).replace('"', '""')
        cursor.execute(f'DROP INDEX main."{quoted}"')
    return [q for _, q in kept]


def _drop_indexes_postgresql(cursor: Any) -> list[str]:
    """``_drop_indexes_sqlite`` on PostgreSQL: indexes neither unique nor behind a
    constraint, recreated from ``pg_get_indexdef``. The table is locked first (dropping an
    index locks it anyway), so the definitions read are not being dropped by another
    writer's rebuild meanwhile."""
    cursor.execute("LOCK TABLE consent_events IN ACCESS EXCLUSIVE MODE")
    cursor.execute(
        "SELECT format('%I.%I', n.nspname, c.relname), pg_get_indexdef(i.indexrelid) "
        "FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid "
        "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE i.indrelid = 'consent_events'::regclass AND NOT i.indisunique "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid) "
        "ORDER BY c.relname"
    )
    kept = [(str(n), str(q)) for n, q in cursor.fetchall()]
    for name, _ in kept:
        cursor.execute(f"DROP INDEX {name}")  # quoted by format('%I.%I')
    return [q for _, q in kept]


def _copy_buffer(copy: Any, buffer: io.BytesIO) -> None:
    view = buffer.getbuffer()
    try:
        for start in range(0, len(view), 1 << 20):
            copy.write(view[start : start + (1 << 20)])
    finally:
        del view


def events_from_frame(frame: pd.DataFrame) -> list[ConsentEvent]:
    """Consent events from ``consents`` rows (``resolver.ingest_sources``), one object each.

    The checks of ``prepare_frame`` apply (``ConsentEventInvalid`` names the
    row and field). For many rows, ``Ledger.append_frame`` is the fast path.
    """
    rows = prepare_frame(frame).rows
    return [
        ConsentEvent(
            subject_type=r["subject_type"],
            subject_id=r["subject_id"],
            purpose=r["purpose"],
            status=r["status"],
            recorded_at=_from_stamp(r["recorded_at"]),
            expires_at=_from_stamp(r["expires_at"]) if r["expires_at"] else None,
            source=r["source"],
            evidence=json.loads(r["evidence"]) if r["evidence"] else {},
            event_id=r["event_id"],
        )
        for r in rows.to_dict(orient="records")
    ]


def _arrow_frame(cursor: Any, names: list[str], *, block: int = 100_000) -> pd.DataFrame:
    """A DBAPI cursor's rows as a frame of Arrow strings (``None`` stays missing), read
    ``block`` rows at a time so that only one block is ever Python objects."""
    parts: list[pa.Table] = []
    while rows := cursor.fetchmany(block):
        columns = list(zip(*rows, strict=True))
        del rows
        parts.append(  # times as the driver gives them (text or datetime), parsed by the caller
            pa.table(
                {
                    n: pa.array(c) if n in _TIME_COLUMNS else pa.array(c, type=pa.string())
                    for n, c in zip(names, columns, strict=True)
                }
            )
        )
        del columns
    if not parts:
        return pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    table = pa.concat_tables(parts, promote_options="permissive")  # a block of null times
    frame: pd.DataFrame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    return frame


def _from_stamp(text: str) -> datetime:
    return datetime.strptime(text, _STAMP).replace(tzinfo=UTC)


# --- the ledger ---------------------------------------------------------------------------


class Ledger:
    """The append-only consent ledger on an SQLAlchemy engine."""

    JUDGING_COLUMNS = JUDGING_COLUMNS
    """The columns judging consent reads (``events(columns=...)``)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    def append(
        self,
        events: Iterable[ConsentEvent],
        *,
        batch_size: int = 100_000,
        all_or_nothing: bool = False,
    ) -> AppendResult:
        """Store events not stored yet; see ``AppendResult`` for what is skipped and why.

        With ``all_or_nothing`` (the HTTP API: a request that conflicts is
        refused as a whole), one conflict stores none of the events: they are
        counted in ``withheld``, and the append is one transaction.
        """
        return self._append(
            _prepared_from_events(list(events)),
            batch_size=batch_size,
            all_or_nothing=all_or_nothing,
        )

    def append_frame(
        self,
        frame: pd.DataFrame,
        *,
        on_invalid: Literal["raise", "skip"] = "raise",
        batch_size: int = 100_000,
    ) -> AppendResult:
        """Append a table of consent rows (``prepare_frame``): the bulk path.

        With ``on_invalid="raise"`` (the default) one invalid row refuses the
        whole table before anything is written; with ``"skip"`` the invalid
        rows are counted in ``invalid``/``invalid_reasons`` and the rest stored.
        """
        return self.append_prepared(
            prepare_frame(frame, on_invalid=on_invalid), batch_size=batch_size
        )

    def append_prepared(
        self,
        prepared: PreparedEvents,
        *,
        batch_size: int = 100_000,
        stored: pd.DataFrame | None = None,
        rows_written: Callable[[], None] | None = None,
    ) -> AppendResult:
        """Append rows already checked by ``prepare_frame`` (its refused rows are counted).

        For a caller that needs to know which rows were refused and why
        (``PreparedEvents.refused``), e.g. to quarantine them with their row number.
        ``stored``: ``event_id, content_hash`` of the whole ledger as the caller read it just
        before (``snapshot``), so that the append does not read them again; an event stored
        since is still caught by the write path (a conflict, or a duplicate).

        ``rows_written``: called once, as soon as every row is handed to the database and
        only the index builds and the commit are left (or when the append ends sooner). A
        caller working beside a large append in another thread waits for it before its
        own Python work: SQLite binds each row holding the interpreter's lock, so the two
        would slow each other down, while the index builds and the commit run without it
        (``bench/RESULTS.md``, the consent step at 10 M).
        """
        result = self._append(
            prepared.rows, batch_size=batch_size, stored=stored, rows_written=rows_written
        )
        return AppendResult(
            received=result.received + prepared.invalid,
            inserted=result.inserted,
            duplicates=result.duplicates,
            conflicts=result.conflicts,
            conflict_ids=result.conflict_ids,
            invalid=prepared.invalid,
            invalid_reasons=dict(prepared.invalid_reasons),
        )

    def _append(
        self,
        rows: pd.DataFrame,
        *,
        batch_size: int,
        all_or_nothing: bool = False,
        stored: pd.DataFrame | None = None,
        rows_written: Callable[[], None] | None = None,
    ) -> AppendResult:
        written = _Once(rows_written)
        try:
            return self._append_rows(
                rows,
                batch_size=batch_size,
                all_or_nothing=all_or_nothing,
                stored=stored,
                rows_written=written,
            )
        finally:
            written()

    def _append_rows(
        self,
        rows: pd.DataFrame,
        *,
        batch_size: int,
        all_or_nothing: bool,
        stored: pd.DataFrame | None,
        rows_written: Callable[[], None],
    ) -> AppendResult:
        received = len(rows)
        if not received:  # nothing to write: no transaction, no write lock
            return AppendResult(received=0, inserted=0, duplicates=0)
        # The same id twice in one append: the first one counts, a later one is a
        # duplicate when it says the same, else a conflict.
        again = rows["event_id"].duplicated(keep="first").to_numpy()
        conflicts: list[str] = []
        if again.any():
            first_hash = rows.loc[~again].set_index("event_id")["content_hash"]
            later = rows.loc[again]
            later_ids = _objects(later["event_id"])
            differs = pd.Series(later_ids).map(first_hash).to_numpy(object) != _objects(
                later["content_hash"]
            )
            conflicts += later_ids[differs].tolist()
            rows = rows.loc[~again].reset_index(drop=True)
        inserted = 0
        ingested = _stamp(datetime.now(UTC))
        write: Callable[..., tuple[int, list[str]]] = (
            self._write_postgresql if self._dialect == "postgresql" else self._write_sqlite
        )
        if all_or_nothing:
            if not conflicts:
                inserted, conflicts = write(rows, ingested, all_or_nothing=True)
            if conflicts:
                return AppendResult(
                    received=received,
                    inserted=0,
                    duplicates=0,
                    conflicts=len(conflicts),
                    conflict_ids=tuple(dict.fromkeys(conflicts)),
                    withheld=received - len(conflicts),
                )
        else:
            if stored is None:
                stored = self._stored_fingerprints(len(rows))
            if stored is not None:
                # ids stored at the snapshot are decided here, once; the rest are new unless
                # another writer stores one meanwhile, which the write path then checks
                rows, clashing = _known_ids(rows, stored)
                conflicts += clashing
                # the new rows outnumber the ledger: its indexes are built again after them
                rebuild = len(rows) >= _REBUILD_MIN and len(stored) <= len(rows)
                insert = (
                    self._insert_new_sqlite
                    if self._dialect == "sqlite"
                    else self._insert_new_postgresql
                )
                new, clashing = insert(  # one transaction
                    rows, ingested, rebuild=rebuild, rows_written=rows_written
                )
                return AppendResult(
                    received=received,
                    inserted=new,
                    duplicates=received - new - len(conflicts) - len(clashing),
                    conflicts=len(conflicts) + len(clashing),
                    conflict_ids=tuple(dict.fromkeys(conflicts + clashing)),
                )
            for start in range(0, len(rows), batch_size):
                new, clashing = write(rows.iloc[start : start + batch_size], ingested)
                inserted += new
                conflicts += clashing
        return AppendResult(
            received=received,
            inserted=inserted,
            duplicates=received - inserted - len(conflicts),
            conflicts=len(conflicts),
            conflict_ids=tuple(dict.fromkeys(conflicts)),
        )

    def _stored_fingerprints(self, incoming: int) -> pd.DataFrame | None:
        """``event_id, content_hash`` of the whole ledger (one consistent read), when reading
        it costs less than looking the ``incoming`` ids up one by one (a nightly import of a
        ledger's worth of events, a rerun of the same sources); else None.

        Stored events never change, so an id found here is decided on the spot: a
        duplicate when its fingerprint is the same, else a conflict.
        """
        if incoming <= _SMALL:
            return None
        with self._engine.connect() as connection:
            if self._dialect == "sqlite":
                # rowids only grow in an append-only table: the largest is about its size
                size = connection.exec_driver_sql("SELECT max(rowid) FROM consent_events")
            else:
                size = connection.exec_driver_sql(
                    "SELECT CASE WHEN reltuples >= 0 THEN reltuples::bigint "
                    "ELSE (SELECT count(*) FROM consent_events) END "
                    "FROM pg_class WHERE oid = 'consent_events'::regclass"
                )
            stored = size.scalar()
        if stored is not None and stored > _SCAN_RATIO * incoming:
            return None
        return self.events(columns=["event_id", "content_hash"], ordered=False)

    def _insert_new_sqlite(
        self,
        rows: pd.DataFrame,
        ingested: str,
        *,
        rebuild: bool = False,
        rows_written: Callable[[], None] = lambda: None,
    ) -> tuple[int, list[str]]:
        """Rows whose ids were not stored at the snapshot (``_stored_fingerprints``), inserted
        as they are in one transaction; with ``rebuild`` the secondary indexes are dropped
        first and built again after the rows (``_REBUILD_MIN``; readers keep reading the
        last committed ledger, indexes included, meanwhile). When an id was stored meanwhile
        (the primary key refuses it), the transaction is rolled back (indexes included) and
        the rows take the checked path.

        The rows keep their order: sorting them by id first made the primary key's
        B-tree grow at its end, but then every row's values were read from scattered
        memory, which cost more than the ordered inserts saved.
        """
        raw = self._engine.raw_connection()
        try:
            db: Any = raw.driver_connection
            with _sqlite_transaction(db, sorts_in_files=rebuild) as cursor:
                indexes = _drop_indexes_sqlite(cursor) if rebuild else []
                try:
                    for start in range(0, len(rows), _CHUNK):
                        _insert_rows_sqlite(cursor, rows.iloc[start : start + _CHUNK], ingested)
                except sqlite3.IntegrityError:
                    cursor.execute("ROLLBACK")
                    refused = True
                else:
                    rows_written()
                    for definition in indexes:
                        cursor.execute(definition)
                    refused = False
        finally:
            raw.close()
        if refused:
            return self._checked(self._write_sqlite, rows, ingested)
        return len(rows), []

    def _checked(
        self, write: Callable[..., tuple[int, list[str]]], rows: pd.DataFrame, ingested: str
    ) -> tuple[int, list[str]]:
        """``rows`` through the checked path (``write``), 100,000 at a time."""
        inserted, clashing = 0, []
        for start in range(0, len(rows), 100_000):
            new, clash = write(rows.iloc[start : start + 100_000], ingested)
            inserted += new
            clashing += clash
        return inserted, clashing

    def _insert_new_postgresql(
        self,
        rows: pd.DataFrame,
        ingested: str,
        *,
        rebuild: bool = False,
        rows_written: Callable[[], None] = lambda: None,
    ) -> tuple[int, list[str]]:
        """The PostgreSQL form of ``_insert_new_sqlite``: one ``COPY`` straight into the
        ledger, in id order (``COLLATE "C"``, as every write here locks ids); an id stored
        meanwhile (unique violation, or a deadlock with a writer of the same ids) rolls
        back, and the rows take the checked path. With ``rebuild`` the secondary indexes
        are dropped and built again after the rows, in the same transaction: PostgreSQL
        locks the table for that (readers of the ledger wait for the import), which is why
        it is done only when the import outnumbers the ledger (``_REBUILD_MIN``)."""
        from psycopg import errors

        if len(rows) <= _SMALL:
            return self._write_postgresql_small(rows, ingested, all_or_nothing=False)
        # in id order, converted to CSV a chunk at a time. The rows are made one Arrow table
        # first (text as large strings, one chunk a column): a gather from a column of many
        # chunks (the slices ``prepare_slices`` stacks) joins them all again on every call.
        table = _arrow_rows(rows, ingested)
        table = table.cast(
            pa.schema([pa.field(f.name, pa.large_string()) for f in table.schema])
        ).combine_chunks()
        order = pc.sort_indices(table.column("event_id"))
        columns = ", ".join([*_PREPARED[:-1], "ingested_at", "content_hash"])
        try:
            with _postgresql_transaction(self._engine) as (_db, cursor):
                indexes = _drop_indexes_postgresql(cursor) if rebuild else []
                with cursor.copy(
                    f"COPY consent_events ({columns}) FROM STDIN (FORMAT csv)"
                ) as copy:
                    for start in range(0, len(order), _CHUNK):
                        chunk = table.take(order.slice(start, _CHUNK))
                        _copy_buffer(copy, _csv_of(chunk))
                rows_written()
                del table
                if indexes:
                    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
                    for definition in indexes:
                        cursor.execute(definition)
        except (errors.UniqueViolation, errors.DeadlockDetected):
            return self._checked(self._write_postgresql_copy_open, rows, ingested)
        return len(rows), []

    def _write_postgresql_copy_open(
        self, rows: pd.DataFrame, ingested: str
    ) -> tuple[int, list[str]]:
        return self._write_postgresql_copy(rows, ingested, all_or_nothing=False)

    @property
    def _dialect(self) -> str:
        name = self._engine.dialect.name
        if name not in ("postgresql", "sqlite"):  # pragma: no cover
            raise ConsentEventInvalid(f"unsupported database dialect {name}")
        return name

    def _write_sqlite(
        self, rows: pd.DataFrame, ingested: str, *, all_or_nothing: bool = False
    ) -> tuple[int, list[str]]:
        """One ``BEGIN IMMEDIATE`` transaction: look the ids up through a temporary table,
        insert the rows not stored yet with one ``executemany``."""
        raw = self._engine.raw_connection()
        try:
            db: Any = raw.driver_connection
            with _sqlite_transaction(db) as cursor:
                cursor.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS consent_incoming "
                    "(event_id TEXT NOT NULL, content_hash TEXT NOT NULL)"
                )
                cursor.executemany(
                    "INSERT INTO temp.consent_incoming VALUES (?, ?)",
                    zip(_pylist(rows["event_id"]), _pylist(rows["content_hash"]), strict=True),
                )
                stored = cursor.execute(
                    "SELECT i.event_id, c.content_hash = i.content_hash "
                    "FROM temp.consent_incoming AS i "
                    "JOIN main.consent_events AS c ON c.event_id = i.event_id"
                ).fetchall()
                cursor.execute("DELETE FROM temp.consent_incoming")
                clashing = [event_id for event_id, same in stored if not same]
                if all_or_nothing and clashing:
                    cursor.execute("ROLLBACK")
                    return 0, clashing
                known = {event_id for event_id, _ in stored}
                new = rows.loc[~rows["event_id"].isin(known)] if known else rows
                _insert_rows_sqlite(cursor, new, ingested)
        finally:
            raw.close()
        return len(new), clashing

    def _write_postgresql(
        self, rows: pd.DataFrame, ingested: str, *, all_or_nothing: bool = False
    ) -> tuple[int, list[str]]:
        if len(rows) <= _SMALL:
            return self._write_postgresql_small(rows, ingested, all_or_nothing=all_or_nothing)
        return self._write_postgresql_copy(rows, ingested, all_or_nothing=all_or_nothing)

    def _write_postgresql_small(
        self, rows: pd.DataFrame, ingested: str, *, all_or_nothing: bool
    ) -> tuple[int, list[str]]:
        """An API-sized append: the rows as arrays (``unnest``), no temporary table; the same
        two statements as the bulk path."""
        columns = [*_PREPARED[:-1], "ingested_at", "content_hash"]
        times = {"recorded_at", "expires_at", "ingested_at"}
        selected = ", ".join(f"({c} || '+00')::timestamptz" if c in times else c for c in columns)
        arrays = [_pylist(rows[c]) for c in _PREPARED[:-1]]
        arrays += [[ingested] * len(rows), _pylist(rows["content_hash"])]
        unnest = ", ".join(["%s::text[]"] * len(columns))
        with _postgresql_transaction(self._engine) as (db, cursor):
            cursor.execute(
                f"INSERT INTO consent_events ({', '.join(columns)}) "
                f"SELECT {selected} FROM unnest({unnest}) AS t({', '.join(columns)}) "
                'ORDER BY event_id COLLATE "C" ON CONFLICT (event_id) DO NOTHING',
                arrays,
            )
            inserted = cursor.rowcount
            cursor.execute(
                "SELECT c.event_id FROM consent_events AS c "
                "JOIN unnest(%s::text[], %s::text[]) AS i(event_id, content_hash) "
                "ON c.event_id = i.event_id WHERE c.content_hash <> i.content_hash",
                [_pylist(rows["event_id"]), _pylist(rows["content_hash"])],
            )
            clashing = [r[0] for r in cursor.fetchall()]
            if all_or_nothing and clashing:
                db.rollback()
                return 0, clashing
        return int(inserted), clashing

    def _write_postgresql_copy(
        self, rows: pd.DataFrame, ingested: str, *, all_or_nothing: bool
    ) -> tuple[int, list[str]]:
        """``COPY`` into a temporary table, ``INSERT ... ON CONFLICT DO NOTHING`` from it, then
        name the ids whose stored fingerprint differs (concurrent writers included: an id
        another transaction is inserting waits for it, so its row is seen)."""
        buffer = _csv(rows, ingested)
        listed = ", ".join([*_PREPARED[:-1], "ingested_at", "content_hash"])
        with _postgresql_transaction(self._engine) as (db, cursor):
            # sorts and hashes of a batch in memory, not in temporary files
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute(
                "CREATE TEMP TABLE consent_incoming "
                "(LIKE consent_events INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            with cursor.copy(f"COPY consent_incoming ({listed}) FROM STDIN (FORMAT csv)") as copy:
                _copy_buffer(copy, buffer)
            # Only ids not stored yet are sorted and inserted (a rerun inserts
            # nothing); in id order, so the primary key grows in order and
            # concurrent writers of the same ids lock them in one order (no
            # deadlock). ON CONFLICT covers ids another writer stores meanwhile.
            cursor.execute(
                f"INSERT INTO consent_events ({listed}) SELECT {listed} "
                "FROM consent_incoming AS i WHERE NOT EXISTS "
                "(SELECT 1 FROM consent_events AS c WHERE c.event_id = i.event_id) "
                'ORDER BY event_id COLLATE "C" ON CONFLICT (event_id) DO NOTHING'
            )
            inserted = cursor.rowcount
            clashing = []
            if inserted < len(rows):  # some ids were there: which of them differ?
                cursor.execute(
                    "SELECT i.event_id FROM consent_incoming AS i "
                    "JOIN consent_events AS c ON c.event_id = i.event_id "
                    "WHERE c.content_hash <> i.content_hash"
                )
                clashing = [r[0] for r in cursor.fetchall()]
            if all_or_nothing and clashing:
                db.rollback()
                return 0, clashing
        return int(inserted), clashing

    def content_hashes(self, event_ids: Sequence[str]) -> dict[str, str]:
        """The stored fingerprint of each of ``event_ids`` that is in the ledger."""
        out: dict[str, str] = {}
        ids = list(dict.fromkeys(event_ids))
        with self._engine.connect() as connection:
            for start in range(0, len(ids), 1000):
                rows = connection.execute(
                    select(consent_events.c.event_id, consent_events.c.content_hash).where(
                        consent_events.c.event_id.in_(ids[start : start + 1000])
                    )
                ).all()
                out.update({str(r[0]): str(r[1]) for r in rows})
        return out

    def snapshot(self) -> pd.DataFrame:
        """The whole ledger as judging reads it (``JUDGING_COLUMNS``) with each event's
        ``content_hash``, in one consistent read, text as Arrow strings.

        The nightly reads it once, before appending its own events: the append checks its
        ids against it (``append_prepared(stored=...)``) and ``events_after_append`` judges
        from it and the new rows while they are being written.
        """
        return self.events(
            columns=[*JUDGING_COLUMNS, "content_hash"], ordered=False, arrow_text=True
        )

    def events(
        self,
        *,
        subject_type: str | None = None,
        subject_ids: Sequence[str] | None = None,
        as_of: datetime | None = None,
        columns: Sequence[str] | None = None,
        ordered: bool = True,
        arrow_text: bool = False,
    ) -> pd.DataFrame:
        """Events (optionally of some subjects, recorded at or before ``as_of``).

        ``columns`` (default ``EVENT_COLUMNS``) says which are read: judging
        needs ``event_id, subject_type, subject_id, purpose, status,
        recorded_at, expires_at, source``, not the evidence. With ``ordered``
        the rows come oldest first (then by id); without, in storage order,
        which spares the database a sort of the whole ledger.

        With ``arrow_text`` the text columns are Arrow strings (``string[pyarrow]``), read
        in blocks, instead of a Python ``str`` per value: the nightly reads the whole
        ledger to judge it, and a million events then take about 0.15 GiB instead of
        0.8 GiB (``bench/RESULTS.md``, issue #14).
        """
        names = list(columns) if columns is not None else list(EVENT_COLUMNS)
        unknown = sorted(set(names) - {c.name for c in consent_events.columns})
        if unknown:
            raise ConsentEventInvalid(
                f"unknown ledger column(s) {', '.join(unknown)}", fields=unknown
            )
        if self._dialect == "postgresql" and subject_ids is None:
            frame = self._copy_out(
                names, subject_type=subject_type, as_of=as_of, ordered=ordered, arrow=arrow_text
            )
        else:
            query = select(*[consent_events.c[n] for n in names])
            if subject_type is not None:
                query = query.where(consent_events.c.subject_type == subject_type)
            if subject_ids is not None:
                query = query.where(consent_events.c.subject_id.in_(list(subject_ids)))
            if as_of is not None:
                query = query.where(consent_events.c.recorded_at <= as_of.astimezone(UTC))
            if ordered:
                query = query.order_by(consent_events.c.recorded_at, consent_events.c.event_id)
            with self._engine.connect() as connection:
                result = connection.execute(query)
                # the DBAPI rows as they are: the times are parsed below, a column at a time
                if arrow_text and result.cursor is not None:
                    frame = _arrow_frame(result.cursor, names)
                else:
                    rows = result.cursor.fetchall() if result.cursor is not None else []
                    frame = pd.DataFrame.from_records(rows, columns=names)
            if frame.empty:
                return frame
            for name in _TIME_COLUMNS:
                if name in frame.columns:
                    frame[name] = pd.to_datetime(
                        frame[name], utc=True, format="ISO8601", cache=False
                    )
        return frame

    def _copy_out(
        self,
        names: list[str],
        *,
        subject_type: str | None,
        as_of: datetime | None,
        ordered: bool,
        arrow: bool = False,
    ) -> pd.DataFrame:
        """The whole (or one subject type's) ledger through ``COPY ... TO STDOUT``, read by
        Arrow; times travel as integer microseconds since the epoch. ``arrow``: text stays
        Arrow strings."""
        selected = [
            f"(extract(epoch from {n}) * 1000000)::bigint AS {n}" if n in _TIME_COLUMNS else n
            for n in names
        ]
        where: list[str] = []
        params: list[object] = []
        if subject_type is not None:
            where.append("subject_type = %s")
            params.append(subject_type)
        if as_of is not None:
            where.append("recorded_at <= %s")
            params.append(as_of.astimezone(UTC))
        sql = f"SELECT {', '.join(selected)} FROM consent_events"
        sql += f" WHERE {' AND '.join(where)}" if where else ""
        sql += " ORDER BY recorded_at, event_id" if ordered else ""
        buffer = io.BytesIO()
        raw = self._engine.raw_connection()
        try:
            db: Any = raw.driver_connection
            with db.cursor() as cursor:
                if ordered:
                    cursor.execute("SET LOCAL work_mem = '256MB'")  # the sort in memory
                with cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params or None) as copy:
                    for block in copy:
                        buffer.write(block)
            db.rollback()
        finally:
            raw.close()
        types = {n: pa.int64() if n in _TIME_COLUMNS else pa.string() for n in names}
        if buffer.tell() == 0:
            return pd.DataFrame({n: pd.Series(dtype=object) for n in names})
        table = pacsv.read_csv(
            io.BytesIO(buffer.getbuffer()),
            read_options=pacsv.ReadOptions(column_names=names),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                null_values=[""],
            ),
        )
        arrays = {}
        for n in names:
            column = table.column(n)
            if n in _TIME_COLUMNS:
                column = column.cast(pa.timestamp("us", tz="UTC"))
            arrays[n] = column
        mapper = {pa.string(): pd.StringDtype("pyarrow")}.get if arrow else None
        frame: pd.DataFrame = pa.table(arrays).to_pandas(types_mapper=mapper)
        for n in _TIME_COLUMNS:
            if n in frame.columns:
                frame[n] = frame[n].astype("datetime64[ns, UTC]")
        return frame

    def count(self) -> int:
        with self._engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(consent_events)).scalar_one()
            )
