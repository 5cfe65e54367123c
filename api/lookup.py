"""Finding a person in the current run: by subject, by person id (following merges).

Shared by the CLI (``tether consent show``, ``tether erase``) and the HTTP
API. Reads the current run's Parquet files; nothing here writes.

``erased_in_run`` is the one place a run's readers learn who was erased
after the run started (its ingest dropped everyone erased before): segment
previews, sizes and overlaps, exports (of the current run and of a run in
progress) and real-time identify all leave those persons out through it
(``without_erased`` for the tables segments and exports read).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import Engine

from api.workspace import Workspace
from consent.effective import (
    Decision,
    email_subject_id,
    person_consent,
    person_subjects,
    subject_consent,
    subject_states,
)
from consent.erasure import ErasedSince, ErasureStore, erasure_subject
from consent.errors import SubjectNotFound
from consent.ledger import Ledger
from consent.purposes import ConsentPolicy
from resolver.person_ids import resolve_person_id

if TYPE_CHECKING:
    from api.exports import RunTables

__all__ = [
    "PersonMatch",
    "consent_of_person",
    "consent_of_subject",
    "erased_among",
    "erased_in_run",
    "find_person",
    "run_started",
    "run_subjects",
    "without_erased",
]


def run_started(run_id: str) -> datetime:
    """A run id starts with its UTC start time (``Workspace.new_run_id``); epoch if not."""
    try:
        return datetime.strptime(run_id[:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromtimestamp(0, UTC)


def run_subjects(run_dir: Path) -> pd.DataFrame:
    """``person_id, subject_type, subject_id`` of every person of a run (``person_subjects``)."""
    graph = pd.read_parquet(
        run_dir / "identity_graph.parquet",
        columns=["person_id", "subject_type", "subject_id", "customer_id"],
    )
    touch = pd.read_parquet(run_dir / "touchpoints.parquet", columns=["email"])
    return person_subjects(records=graph.assign(email=touch["email"].to_numpy()))


def erased_among(subjects: pd.DataFrame, erased: ErasedSince) -> frozenset[str]:
    """The persons of ``subjects`` (``run_subjects`` rows) that ``erased`` reaches.

    A person is erased when one of their subjects was suppressed by the
    erasure, or when the erasure named their person id (returned whether or
    not the run still holds them): every record linked into them goes,
    including records that joined them after the erasure.
    """
    if not erased:
        return frozenset()
    if subjects.empty:
        return erased.person_ids
    keys = subjects["subject_type"].astype(str) + ":" + subjects["subject_id"].astype(str)
    hit = keys.isin(erased.subjects).to_numpy()
    # the erased ids themselves too: a run already redacted no longer names them
    found = subjects.loc[hit, "person_id"].astype(str).unique().tolist()
    return frozenset(found) | erased.person_ids


_cache_lock = threading.Lock()
_erased_cache: dict[tuple[str, frozenset[str]], frozenset[str]] = {}


def erased_in_run(*, store: Engine, run_dir: Path, run_id: str) -> frozenset[str]:
    """Persons of the run at ``run_dir`` erased at or after the run started (by any process).

    One small query when nobody was erased since (the usual case); otherwise
    the run's subjects are read once per set of erasures and the answer kept.
    """
    erased = ErasureStore(store).since(run_started(run_id))
    if not erased:
        return frozenset()
    key = (str(run_dir), erased.erasure_ids)
    with _cache_lock:
        known = _erased_cache.get(key)
    if known is not None:
        return known
    persons = erased_among(run_subjects(run_dir), erased)
    with _cache_lock:
        if len(_erased_cache) >= 32:
            _erased_cache.clear()
        _erased_cache[key] = persons
    return persons


def without_erased(tables: RunTables, *, store: Engine) -> RunTables:
    """``tables`` without the persons erased since their run started (``erased_in_run``).

    Segment membership, sizes, previews and exports all read these tables, so
    an erased person is in none of them from the moment the erasure is stored,
    in the current run and in a run being written.
    """
    erased = erased_in_run(store=store, run_dir=tables.run_dir, run_id=tables.run_id)
    if not erased:
        return tables

    def keep(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[~frame["person_id"].astype(str).isin(erased)].reset_index(drop=True)

    return replace(
        tables,
        features=keep(tables.features),
        activity=keep(tables.activity),
        identifiers=keep(tables.identifiers),
        consent=keep(tables.consent),
        contacts=keep(tables.contacts),
        actions=keep(tables.actions),
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class PersonMatch:
    """A subject resolved to a person of the current run, with the person's records."""

    person_id: str
    run_id: str
    records: pd.DataFrame
    """The person's touchpoints (graph columns plus normalised identifiers)."""


def find_person(*, workspace: Workspace, subject_type: str, subject_id: str) -> PersonMatch | None:
    """The current person of a subject (or person id); ``None`` if the run has none.

    ``subject_type`` is a consent subject type (``customer``, ``cookie``,
    ``device``, ``contact``, ``email``: an email may be given in clear) or
    ``person`` (a person id, merged ids followed).
    """
    run_id = workspace.current_run_id()
    if run_id is None:
        workspace.current_dir()  # raises NoCurrentRunError with its message
        return None
    run_dir = workspace.current_dir()
    graph = pd.read_parquet(run_dir / "identity_graph.parquet")
    kind, key = erasure_subject(subject_type=subject_type, subject_id=subject_id)
    person_id: str | None = None
    if kind == "person":
        registry = workspace.read_current("person_registry")
        resolved = resolve_person_id(registry, key) if registry is not None else None
        person_id = resolved[0] if resolved and (graph["person_id"] == resolved[0]).any() else None
    else:
        hit = (graph["subject_type"] == kind) & (graph["subject_id"].astype(str) == key)
        if kind == "customer":
            hit |= graph["customer_id"].astype(str) == key
        if kind == "email":
            touch = pd.read_parquet(run_dir / "touchpoints.parquet", columns=["email"])
            hashes = {e: email_subject_id(e) for e in touch["email"].dropna().unique()}
            hit |= (touch["email"].map(hashes) == key).to_numpy()
        if hit.any():
            person_id = str(graph.loc[hit, "person_id"].iloc[0])
    if person_id is None:
        return None
    mask = (graph["person_id"] == person_id).to_numpy()
    touch = pd.read_parquet(run_dir / "touchpoints.parquet")
    records = touch.loc[mask].assign(person_id=person_id).reset_index(drop=True)
    return PersonMatch(person_id=person_id, run_id=run_id, records=records)


def consent_of_subject(
    *, ledger: Ledger, subject_type: str, subject_id: str, as_of: datetime, policy: ConsentPolicy
) -> dict[str, Decision]:
    """Effective consent of one subject, straight from the ledger."""
    kind, key = erasure_subject(subject_type=subject_type, subject_id=subject_id)
    if kind == "person":
        raise SubjectNotFound("a person is not a consent subject", subject_type=kind)
    events = ledger.events(subject_type=kind, subject_ids=[key], as_of=as_of)
    return subject_consent(events, subject_type=kind, subject_id=key, as_of=as_of, policy=policy)


def consent_of_person(
    *, ledger: Ledger, match: PersonMatch, as_of: datetime, policy: ConsentPolicy
) -> dict[str, Decision]:
    """Effective consent of a person across every subject linked into it."""
    subjects = person_subjects(records=match.records)
    parts = [
        ledger.events(subject_type=str(kind), subject_ids=group["subject_id"].tolist(), as_of=as_of)
        for kind, group in subjects.groupby("subject_type")
    ]
    found = [p for p in parts if len(p)]
    events = pd.concat(found, ignore_index=True) if found else parts[0]
    table = person_consent(
        subjects=subjects, states=subject_states(events, as_of=as_of), as_of=as_of, policy=policy
    )
    return {
        str(row["purpose"]): Decision(
            purpose=str(row["purpose"]),
            allowed=bool(row["allowed"]),
            status=str(row["status"]),
            reason=str(row["reason"]),
            event_ids=tuple(row["event_ids"]),
            as_of=as_of,
        )
        for row in table.to_dict(orient="records")
    }
