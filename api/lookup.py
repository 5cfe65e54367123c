"""Finding a person in the current run: by subject, by person id (following merges).

Shared by the CLI (``tether consent show``, ``tether erase``) and, later, the
HTTP API. Reads the current run's Parquet files; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from api.workspace import Workspace
from consent.effective import (
    Decision,
    email_subject_id,
    person_consent,
    person_subjects,
    subject_consent,
    subject_states,
)
from consent.erasure import erasure_subject
from consent.errors import SubjectNotFound
from consent.ledger import Ledger
from consent.purposes import ConsentPolicy
from resolver.person_ids import resolve_person_id

__all__ = ["PersonMatch", "consent_of_person", "consent_of_subject", "find_person"]


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
