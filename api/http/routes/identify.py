"""``POST /v1/identify``: the person behind a cookie, device, customer id or person fields."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.http.deps import ReadKey, StateDep
from api.http.schemas import IdentifyRequest, IdentifyResponse
from api.tether.identify import Identified, Identify, answer, exact_match
from resolver.errors import InputError
from resolver.identify import PERSON_FIELDS

router = APIRouter(prefix="/v1", tags=["identify"])


def _public(identified: Identified) -> IdentifyResponse:
    return IdentifyResponse(**asdict(identified))


@router.post("/identify", response_model=IdentifyResponse)
async def identify(body: IdentifyRequest, state: StateDep, key: ReadKey) -> IdentifyResponse:
    """Exact identifiers first (an index of the current run), then the trained Splink model.

    The model is used only for person fields, and not at all when the
    request's cookie or device has no ``identity_linking`` consent: such a
    visitor is never linked to a known person (SPEC §5).
    """
    # Async: an exact answer is microseconds of work, answered on the event loop (a
    # thread-pool hop would cost more, and queue behind the GIL under load); anything
    # that reads the store or runs the model is ``Identify`` on a worker thread.
    query = body.model_dump(exclude_none=True)
    if not query:
        raise InputError("send at least one identifier or person field", fields=[])
    loaded = state.current.peek()
    view = loaded if loaded is not None else await run_in_threadpool(state.current.get)
    match = exact_match(view, query)
    if match.person_id is None and not any(query.get(f) for f in PERSON_FIELDS):
        return _public(answer(view, match, consent=None))
    if match.person_id is not None and not view.has_news(match.person_id, news=state.current.news):
        # the run's judgement, from memory
        consent = view.person_consent(match.person_id, ledger=state.ledger, policy=state.policy)
        return _public(answer(view, match, consent=consent))
    identify_now = Identify(current=state.current, ledger=state.ledger, policy=state.policy)
    return _public(await run_in_threadpool(lambda: identify_now(**query)))
