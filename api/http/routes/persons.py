"""``/v1/persons/{person_id}``: a person of the current run (merged ids followed); erasure."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.errors import NotFound
from api.http.deps import ConsentWriteKey, ReadKey, StateDep
from api.http.routes import tether_of
from api.http.schemas import DecisionPublic, ErasurePublic, PersonPublic, RecordPublic
from api.realtime import RunView

router = APIRouter(prefix="/v1", tags=["persons"])

PersonId = Annotated[
    str,
    Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", examples=["29zp7yxbqy"]),
]


def _current_id(view: RunView, person_id: str) -> str:
    resolved = view.resolve(person_id)
    if resolved is None or resolved[0] not in view.rows_of:
        raise NotFound(
            f"person {person_id} is not in the current run {view.run_id}",
            person_id=person_id,
            run_id=view.run_id,
        )
    return resolved[0]


@router.get("/persons/{person_id}", response_model=PersonPublic)
def get_person(person_id: PersonId, state: StateDep, key: ReadKey) -> PersonPublic:
    """The person's records (ids only), segments and effective consent; merged ids are followed."""
    view = state.current.get()
    current = _current_id(view, person_id)
    records = view.person_records(current)
    consent = view.person_consent(
        current, ledger=state.ledger, policy=state.policy, news=state.current.news
    )
    return PersonPublic(
        person_id=current,
        requested_id=person_id,
        merged=current != person_id,
        run_id=view.run_id,
        records=[
            RecordPublic(
                source=str(r["source"]),
                record_key=str(r["record_key"]),
                kind=str(r["kind"]),
                subject_type=str(r["subject_type"]),
                subject_id=str(r["subject_id"]),
            )
            for r in records.to_dict(orient="records")
        ],
        segments=list(view.segments_of.get(current, ())),
        consent={p: DecisionPublic(**d) for p, d in consent.items()},
    )


@router.delete("/persons/{person_id}", response_model=ErasurePublic, status_code=202)
def erase_person(person_id: PersonId, state: StateDep, key: ConsentWriteKey) -> ErasurePublic:
    """Erase a person: gone from the current run at once, from every kept run, from later runs.

    When the answer arrives, the person is in no preview, export or identify
    answer, and their rows are removed from every kept run's files (exports
    included). Their subjects and identifiers are suppressed from the next
    run on, and the next export of every audience that held them sends them
    in its ``remove`` set. The audit record keeps ids and counts only.
    """
    view = state.current.get()
    current = _current_id(view, person_id)
    receipt = tether_of(state).consent.erase(
        subject_type="person", subject_id=current, requested_by=f"api:{key.key_id}"
    )
    state.current.mark_erased(current)
    return ErasurePublic(**receipt.as_dict())
