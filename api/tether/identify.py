"""``tether.identify``: who is behind a cookie, a device, a customer id or person fields?

Exact identifiers first (an index of the current run), then the trained
model on the person fields, never for a visitor whose cookie or device has
no ``identity_linking`` consent now (SPEC §5): such a visitor is not linked
to a known person. An erased person is never answered. ``POST /v1/identify``
answers an exact hit on its event loop and hands everything else to
``Identify.__call__``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from api.lookup import consent_of_subject
from api.realtime import CurrentRun, RunView
from audiences.actions import assign_actions
from consent.ledger import Ledger
from consent.purposes import ConsentPolicy
from resolver.errors import InputError
from resolver.identify import PERSON_FIELDS, IdentifyMatch

__all__ = ["Identified", "Identify", "answer", "exact_match"]

#: Query fields of anonymous subjects, and their consent subject type.
ANONYMOUS = (("cookie_id", "cookie"), ("device_id", "device"))


@dataclass(frozen=True, kw_only=True, slots=True)
class Identified:
    """The person behind a query, their segments and what they may be used for."""

    run_id: str
    person_id: str | None
    match_probability: float
    method: str
    """``exact:<identifier>``, ``model`` or ``none``."""
    candidates: int = 0
    segments: list[str] = field(default_factory=list)
    may_target: bool = False
    """Effective ``ad_targeting`` consent."""
    consent: dict[str, bool] = field(default_factory=dict)
    reason: str | None = None
    """Why no person was answered."""
    action: str | None = None
    """The next best action for this visitor now (``audiences.actions``): the
    highest-priority segment they are in whose purposes their consent allows."""
    action_segment: str | None = None
    """The segment that decided ``action``."""


def _unerased(view: RunView, match: IdentifyMatch) -> IdentifyMatch:
    if match.person_id is not None and match.person_id in view.erased:
        return IdentifyMatch(person_id=None, match_probability=0.0, method="none")
    return match


def exact_match(view: RunView, query: Mapping[str, Any]) -> IdentifyMatch:
    """The exact-identifier answer from the run's index (no model, no store): microseconds."""
    return _unerased(view, view.index.identify(dict(query), use_model=False))


def answer(
    view: RunView, match: IdentifyMatch, *, consent: Mapping[str, Mapping[str, Any]] | None
) -> Identified:
    """The answer for ``match``; ``consent`` is the person's (purpose -> decision fields)."""
    if match.person_id is None:
        return Identified(
            run_id=view.run_id,
            person_id=None,
            match_probability=match.match_probability,
            method=match.method,
            candidates=match.candidates,
            reason=(
                "ambiguous identifier(s): " + ", ".join(match.ambiguous)
                if match.ambiguous and match.method == "none"
                else "no person matches well enough"
            ),
        )
    allowed = {purpose: bool(d["allowed"]) for purpose, d in (consent or {}).items()}
    segments = list(view.segments_of.get(match.person_id, ()))
    chosen = assign_actions(
        members={
            name: pd.Series([match.person_id]) for name in segments if name in view.definitions
        },
        segments=view.definitions,
        consent=pd.DataFrame(
            {
                "person_id": match.person_id,
                "purpose": list(allowed),
                "allowed": list(allowed.values()),
            },
            columns=["person_id", "purpose", "allowed"],
        ),
    )
    return Identified(
        run_id=view.run_id,
        person_id=match.person_id,
        match_probability=match.match_probability,
        method=match.method,
        candidates=match.candidates,
        segments=segments,
        may_target=allowed.get("ad_targeting", False),
        consent=allowed,
        action=str(chosen["action"].iloc[0]) if len(chosen) else None,
        action_segment=str(chosen["segment"].iloc[0]) if len(chosen) else None,
    )


class Identify:
    """Real-time identity on the current run (loaded once, reloaded when a new run is published)."""

    def __init__(self, *, current: CurrentRun, ledger: Ledger, policy: ConsentPolicy) -> None:
        self._current = current
        self._ledger = ledger
        self._policy = policy

    @property
    def news(self) -> Collection[tuple[str, str]]:
        """Subjects with consent events the served run has not judged."""
        return self._current.news

    def may_link(self, *, subject_type: str, subject_id: str) -> bool:
        """The subject's effective ``identity_linking`` now (a policy without it: allowed)."""
        decisions = consent_of_subject(
            ledger=self._ledger,
            subject_type=subject_type,
            subject_id=subject_id,
            as_of=datetime.now(UTC),
            policy=self._policy,
        )
        decision = decisions.get("identity_linking")
        return decision is None or decision.allowed

    def __call__(self, **query: str) -> Identified:
        """Identify ``query`` (``cookie_id=``, ``email=``, ``first_name=``...; SPEC §3 names).

        Examples:
            ``tether.identify(cookie_id="ck_4f1a9c")`` or
            ``tether.identify(first_name="Jane", last_name="Doe", postcode="SW1A 1AA")``.
        """
        query = {k: v for k, v in query.items() if v is not None}
        if not query:
            raise InputError("send at least one identifier or person field", fields=[])
        view = self._current.get()
        match = exact_match(view, query)
        if match.person_id is None and any(query.get(f) for f in PERSON_FIELDS):
            refused = [
                subject_type
                for name, subject_type in ANONYMOUS
                if query.get(name)
                and not self.may_link(subject_type=subject_type, subject_id=str(query[name]))
            ]
            if refused:
                return Identified(
                    run_id=view.run_id,
                    person_id=None,
                    match_probability=match.match_probability,
                    method=match.method,
                    candidates=match.candidates,
                    reason=f"the {refused[0]} has no identity_linking consent: it is not linked",
                )
            match = _unerased(view, view.index.identify(query))
        if match.person_id is None:
            return answer(view, match, consent=None)
        consent = view.person_consent(
            match.person_id, ledger=self._ledger, policy=self._policy, news=self._current.news
        )
        return answer(view, match, consent=consent)
