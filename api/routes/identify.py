"""``POST /v1/identify``: the person behind a cookie, device, customer id or person fields."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.deps import ReadKey, StateDep
from api.lookup import consent_of_subject
from api.realtime import RunView
from api.schemas import IdentifyRequest, IdentifyResponse
from resolver.errors import InputError
from resolver.identify import PERSON_FIELDS, IdentifyMatch

router = APIRouter(prefix="/v1", tags=["identify"])

_ANONYMOUS = (("cookie_id", "cookie"), ("device_id", "device"))


@router.post("/identify", response_model=IdentifyResponse)
async def identify(body: IdentifyRequest, state: StateDep, key: ReadKey) -> IdentifyResponse:
    """Exact identifiers first (an index of the current run), then the trained Splink model.

    The model is used only for person fields, and not at all when the
    request's cookie or device has no ``identity_linking`` consent: such a
    visitor is never linked to a known person (SPEC §5).
    """
    # Async: an exact lookup is microseconds of work, answered on the event loop
    # (a thread-pool hop would cost more, and queue behind the GIL under load);
    # anything that reads the store or runs the model goes to a worker thread.
    query = body.model_dump(exclude_none=True)
    if not query:
        raise InputError("send at least one identifier or person field", fields=[])
    loaded = state.current.peek()
    view = loaded if loaded is not None else await run_in_threadpool(state.current.get)
    match = _unerased(view, view.index.identify(query, use_model=False))
    reason = None
    if match.person_id is None and any(query.get(f) for f in PERSON_FIELDS):
        refused = [
            subject_type
            for field, subject_type in _ANONYMOUS
            if query.get(field)
            and not await run_in_threadpool(_may_link, state, subject_type, str(query[field]))
        ]
        if refused:
            reason = f"the {refused[0]} has no identity_linking consent: it is not linked"
        else:
            match = _unerased(view, await run_in_threadpool(view.index.identify, query))
    if match.person_id is None:
        if reason is None:
            reason = (
                "ambiguous identifier(s): " + ", ".join(match.ambiguous)
                if match.ambiguous and match.method == "none"
                else "no person matches well enough"
            )
        return IdentifyResponse(
            run_id=view.run_id,
            person_id=None,
            match_probability=match.match_probability,
            method=match.method,
            candidates=match.candidates,
            segments=[],
            may_target=False,
            consent={},
            reason=reason,
        )
    person_id = match.person_id
    if view.has_news(person_id, news=state.current.news):
        consent = await run_in_threadpool(
            lambda: view.person_consent(
                person_id, ledger=state.ledger, policy=state.policy, news=state.current.news
            )
        )
    else:  # the run's judgement, from memory
        consent = view.person_consent(person_id, ledger=state.ledger, policy=state.policy)
    allowed = {purpose: bool(d["allowed"]) for purpose, d in consent.items()}
    return IdentifyResponse(
        run_id=view.run_id,
        person_id=match.person_id,
        match_probability=match.match_probability,
        method=match.method,
        candidates=match.candidates,
        segments=list(view.segments_of.get(match.person_id, ())),
        may_target=allowed.get("ad_targeting", False),
        consent=allowed,
    )


def _may_link(state: StateDep, subject_type: str, subject_id: str) -> bool:
    """The subject's effective ``identity_linking`` now (a policy without it: allowed)."""
    decisions = consent_of_subject(
        ledger=state.ledger,
        subject_type=subject_type,
        subject_id=subject_id,
        as_of=datetime.now(UTC),
        policy=state.policy,
    )
    decision = decisions.get("identity_linking")
    return decision is None or decision.allowed


def _unerased(view: RunView, match: IdentifyMatch) -> IdentifyMatch:
    """An erased person is never answered (erasures since the run included)."""
    if match.person_id is not None and match.person_id in view.erased:
        return IdentifyMatch(person_id=None, match_probability=0.0, method="none")
    return match
