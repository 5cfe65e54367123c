"""``/v1/consents``: append consent events, read effective consent, decode TC and GPP strings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.http.deps import ConsentWriteKey, ReadKey, StateDep
from api.http.routes import tether_of
from api.http.schemas import (
    ConsentEventsCreate,
    ConsentStatePublic,
    ConsentWritePublic,
    DecisionPublic,
    DecodePublic,
    DecodeRequest,
    LookupType,
)
from api.lookup import PersonMatch
from api.realtime import RunView
from api.tether.consent import PersonFinder, decode_consent_string
from consent.effective import Decision
from consent.erasure import erasure_subject
from consent.errors import SubjectNotFound
from consent.ledger import ConsentEvent

router = APIRouter(prefix="/v1", tags=["consents"])


@router.post("/consents", response_model=ConsentWritePublic, status_code=201)
def write_consents(
    body: ConsentEventsCreate, state: StateDep, key: ConsentWriteKey
) -> ConsentWritePublic:
    """Append up to 1,000 consent events; an ``event_id`` already stored is skipped (idempotent).

    Events without an ``event_id`` get one derived from their content, so a
    retried request never stores an event twice.
    """
    events = [
        ConsentEvent(
            subject_type=e.subject_type,
            subject_id=e.subject_id,
            purpose=e.purpose,
            status=e.status,
            recorded_at=_aware(e.recorded_at),
            expires_at=_aware(e.expires_at) if e.expires_at else None,
            source=e.source or f"api:{key.key_id}",
            evidence=dict(e.evidence),
            event_id=e.event_id,
        )
        for e in body.events
    ]
    result = state.ledger.append(events)
    state.current.note_news((e.subject_type, e.subject_id) for e in events)
    return ConsentWritePublic(
        received=result.received,
        inserted=result.inserted,
        duplicates=result.duplicates,
        event_ids=[event.id for event in events],
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _public(decisions: dict[str, Decision]) -> dict[str, DecisionPublic]:
    return {
        purpose: DecisionPublic(
            allowed=d.allowed, status=d.status, reason=d.reason, event_ids=list(d.event_ids)
        )
        for purpose, d in decisions.items()
    }


@router.get("/consents/{subject_type}/{subject_id}", response_model=ConsentStatePublic)
def read_consent(
    subject_type: LookupType,
    subject_id: Annotated[str, Path(min_length=1, max_length=256)],
    state: StateDep,
    key: ReadKey,
    as_of: Annotated[
        datetime | None, Query(description="Judge at this time (default: now).")
    ] = None,
) -> ConsentStatePublic:
    """Effective consent of a subject (and of the person it is linked into), or of a person.

    ``subject_type`` ``person`` takes a person id (merged ids followed);
    ``email`` takes the SHA-256 subject id or the address itself.
    """
    moment = _aware(as_of) if as_of else datetime.now(UTC)
    view = state.current.peek() or _maybe_current(state)
    kind, stored = erasure_subject(subject_type=subject_type, subject_id=subject_id)
    if kind == "person" and view is None:
        raise SubjectNotFound("no run is published yet: no person is known", subject_type=kind)
    answer = tether_of(state).consent.show(
        subject_type=kind, subject_id=stored, as_of=moment, find=_in_view(view)
    )
    return ConsentStatePublic(
        subject_type=kind,
        subject_id=stored,
        as_of=moment,
        person_id=answer.person_id,
        run_id=view.run_id if view is not None else None,
        subject=_public(answer.subject) if answer.subject is not None else None,
        person=_public(answer.person) if answer.person is not None else None,
    )


def _in_view(view: RunView | None) -> PersonFinder:
    """Find a subject's person in the run this server holds in memory (merged ids followed)."""

    def find(kind: str, stored: str) -> PersonMatch | None:
        if view is None:
            return None
        if kind == "person":
            resolved = view.resolve(stored)
            person_id = resolved[0] if resolved is not None else None
            if person_id not in view.rows_of:
                person_id = None
        else:
            person_id = view.person_of_subject(kind, stored)
        if person_id is None:
            return None
        return PersonMatch(
            person_id=person_id, run_id=view.run_id, records=view.person_records(person_id)
        )

    return find


def _maybe_current(state: StateDep) -> Any:
    try:
        return state.current.get()
    except Exception:  # noqa: BLE001 - no run yet: a subject's own consent is still answered
        return None


@router.post("/consents/decode", response_model=DecodePublic)
def decode(body: DecodeRequest, state: StateDep, key: ReadKey) -> DecodePublic:
    """Decode an IAB TCF v2 TC string (with the TCF 2.2 rules) or a GPP string, strictly."""
    decoded = decode_consent_string(body.string)
    return DecodePublic(
        kind=decoded.kind,
        decoded=decoded.decoded,
        tcf22_violations=decoded.tcf22_violations,
        warnings=decoded.warnings,
    )
