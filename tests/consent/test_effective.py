"""Effective consent, rule by rule (SPEC §5), as tables of events and expected answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from consent.effective import (
    email_subject_id,
    linking_allowed,
    person_consent,
    person_subjects,
    subject_consent,
    subject_states,
)
from consent.errors import ConsentPolicyInvalid
from consent.ledger import ConsentEvent, Ledger
from consent.purposes import ConsentPolicy
from consent.signals import events_from_gpc

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def t(day: int) -> datetime:
    return T0 + timedelta(days=day)


def ev(
    subject: str,
    purpose: str,
    status: str,
    day: int,
    *,
    expires: int | None = None,
    event_id: str | None = None,
    source: str = "cmp",
) -> dict[str, object]:
    subject_type, subject_id = subject.split(":", 1)
    return {
        "event_id": event_id or f"{subject}/{purpose}/{status}/{day}",
        "subject_type": subject_type,
        "subject_id": subject_id,
        "purpose": purpose,
        "status": status,
        "recorded_at": pd.Timestamp(t(day)),
        "expires_at": pd.Timestamp(t(expires)) if expires is not None else pd.NaT,
        "source": source,
    }


def frame(*events: dict[str, object]) -> pd.DataFrame:
    columns = [
        "event_id",
        "subject_type",
        "subject_id",
        "purpose",
        "status",
        "recorded_at",
        "expires_at",
        "source",
    ]
    return pd.DataFrame(list(events), columns=columns)


# --- one subject ---------------------------------------------------------------------------

SUBJECT_CASES = [
    # (rule, events, as_of day, purpose, allowed, status)
    ("no event: ad_targeting defaults to deny", [], 10, "ad_targeting", False, "default"),
    ("no event: identity_linking defaults to deny", [], 10, "identity_linking", False, "default"),
    (
        "no event: messaging_marketing defaults to deny",
        [],
        10,
        "messaging_marketing",
        False,
        "default",
    ),
    ("no event: analytics defaults to allow", [], 10, "analytics", True, "default"),
    (
        "latest wins: grant then deny",
        [ev("cookie:c", "ad_targeting", "granted", 1), ev("cookie:c", "ad_targeting", "denied", 2)],
        10,
        "ad_targeting",
        False,
        "denied",
    ),
    (
        "latest wins: deny then grant",
        [ev("cookie:c", "ad_targeting", "denied", 1), ev("cookie:c", "ad_targeting", "granted", 2)],
        10,
        "ad_targeting",
        True,
        "granted",
    ),
    (
        "time travel: before the denial the grant stood",
        [ev("cookie:c", "ad_targeting", "granted", 1), ev("cookie:c", "ad_targeting", "denied", 5)],
        3,
        "ad_targeting",
        True,
        "granted",
    ),
    (
        "time travel: before any event the default applies",
        [ev("cookie:c", "ad_targeting", "granted", 5)],
        3,
        "ad_targeting",
        False,
        "default",
    ),
    (
        "expiry: a lapsed grant falls back to the default (deny)",
        [ev("cookie:c", "ad_targeting", "granted", 1, expires=5)],
        6,
        "ad_targeting",
        False,
        "expired",
    ),
    (
        "expiry: at the expiry instant the grant has lapsed",
        [ev("cookie:c", "ad_targeting", "granted", 1, expires=5)],
        5,
        "ad_targeting",
        False,
        "expired",
    ),
    (
        "expiry: before it expires the grant holds",
        [ev("cookie:c", "ad_targeting", "granted", 1, expires=5)],
        4,
        "ad_targeting",
        True,
        "granted",
    ),
    (
        "expiry: a lapsed grant of a default-allow purpose falls back to allow",
        [ev("cookie:c", "analytics", "granted", 1, expires=5)],
        6,
        "analytics",
        True,
        "expired",
    ),
    (
        "a denial never lapses",
        [ev("cookie:c", "analytics", "denied", 1, expires=2)],
        6,
        "analytics",
        False,
        "denied",
    ),
    (
        "same instant: the more restrictive answer wins",
        [
            ev("cookie:c", "ad_targeting", "granted", 1, event_id="z"),
            ev("cookie:c", "ad_targeting", "withdrawn", 1, event_id="a"),
        ],
        6,
        "ad_targeting",
        False,
        "withdrawn",
    ),
    (
        "GPC is sticky: a later banner grant on the browser does not undo it",
        [
            ev("cookie:c", "ad_targeting", "denied", 1, source="gpc"),
            ev("cookie:c", "ad_targeting", "granted", 2),
        ],
        6,
        "ad_targeting",
        False,
        "denied",
    ),
    (
        "a banner denial is not sticky: a later grant wins",
        [
            ev("cookie:c", "ad_targeting", "denied", 1),
            ev("cookie:c", "ad_targeting", "granted", 2),
        ],
        6,
        "ad_targeting",
        True,
        "granted",
    ),
    (
        "another subject's events do not count",
        [ev("cookie:other", "ad_targeting", "granted", 1)],
        6,
        "ad_targeting",
        False,
        "default",
    ),
    (
        "another purpose's events do not count",
        [ev("cookie:c", "analytics", "granted", 1)],
        6,
        "ad_targeting",
        False,
        "default",
    ),
]


@pytest.mark.parametrize(
    ("events", "day", "purpose", "allowed", "status"),
    [case[1:] for case in SUBJECT_CASES],
    ids=[case[0] for case in SUBJECT_CASES],
)
def test_subject_rules(
    events: list[dict[str, object]], day: int, purpose: str, allowed: bool, status: str
) -> None:
    answers = subject_consent(frame(*events), subject_type="cookie", subject_id="c", as_of=t(day))
    answer = answers[purpose]
    assert (answer.allowed, answer.status) == (allowed, status), answer.reason
    relevant = {
        e["event_id"]
        for e in events
        if e["subject_id"] == "c"
        and e["purpose"] == purpose
        and pd.Timestamp(str(e["recorded_at"])) <= t(day)
    }
    assert set(answer.event_ids) <= relevant
    if status not in ("default",):
        assert answer.event_ids, "a decision from events names the event that made it"


def test_policy_defaults_are_configurable() -> None:
    policy = ConsentPolicy(defaults={"analytics": False, "ad_targeting": True}, tcf={})
    answers = subject_consent(
        frame(), subject_type="cookie", subject_id="c", as_of=t(1), policy=policy
    )
    assert {p: a.allowed for p, a in answers.items()} == {"analytics": False, "ad_targeting": True}


# --- one person ----------------------------------------------------------------------------

PERSON = [
    ("P", "customer", "C1"),
    ("P", "cookie", "k1"),
    ("P", "cookie", "k2"),
    ("P", "device", "d1"),
]

PERSON_CASES = [
    # (rule, events, as_of day, allowed, status, justifying event ids)
    ("nobody answered: default deny", [], 10, False, "default", set()),
    (
        "an unanswered subject does not veto a grant",
        [ev("customer:C1", "ad_targeting", "granted", 1)],
        10,
        True,
        "granted",
        {"customer:C1/ad_targeting/granted/1"},
    ),
    (
        "most restrictive: one linked denial blocks",
        [
            ev("cookie:k1", "ad_targeting", "granted", 1),
            ev("device:d1", "ad_targeting", "denied", 2),
        ],
        10,
        False,
        "denied",
        {"device:d1/ad_targeting/denied/2"},
    ),
    (
        "most restrictive: an earlier anonymous denial blocks an anonymous grant",
        [
            ev("device:d1", "ad_targeting", "denied", 1),
            ev("cookie:k1", "ad_targeting", "granted", 2),
        ],
        10,
        False,
        "denied",
        {"device:d1/ad_targeting/denied/1"},
    ),
    (
        "the customer's later explicit grant overrides an earlier denial",
        [
            ev("cookie:k1", "ad_targeting", "denied", 1),
            ev("customer:C1", "ad_targeting", "granted", 2),
        ],
        10,
        True,
        "granted",
        {"customer:C1/ad_targeting/granted/2"},
    ),
    (
        "the customer's grant overrides an earlier withdrawal too",
        [
            ev("cookie:k1", "ad_targeting", "granted", 1),
            ev("cookie:k1", "ad_targeting", "withdrawn", 2),
            ev("customer:C1", "ad_targeting", "granted", 3),
        ],
        10,
        True,
        "granted",
        {"customer:C1/ad_targeting/granted/3"},
    ),
    (
        "a withdrawal on a linked subject after the customer's grant blocks",
        [
            ev("customer:C1", "ad_targeting", "granted", 1),
            ev("cookie:k2", "ad_targeting", "withdrawn", 2),
        ],
        10,
        False,
        "withdrawn",
        {"cookie:k2/ad_targeting/withdrawn/2"},
    ),
    (
        "a withdrawal after a grant on another linked subject blocks",
        [
            ev("cookie:k1", "ad_targeting", "granted", 1),
            ev("device:d1", "ad_targeting", "withdrawn", 3),
        ],
        10,
        False,
        "withdrawn",
        {"device:d1/ad_targeting/withdrawn/3"},
    ),
    (
        "time travel: before the withdrawal the person was targetable",
        [
            ev("cookie:k1", "ad_targeting", "granted", 1),
            ev("device:d1", "ad_targeting", "withdrawn", 3),
        ],
        2,
        True,
        "granted",
        {"cookie:k1/ad_targeting/granted/1"},
    ),
    (
        "a denial after the customer's grant still blocks",
        [
            ev("customer:C1", "ad_targeting", "granted", 1),
            ev("cookie:k1", "ad_targeting", "denied", 2),
        ],
        10,
        False,
        "denied",
        {"cookie:k1/ad_targeting/denied/2"},
    ),
    (
        "an anonymous later grant does not override the customer's denial",
        [
            ev("customer:C1", "ad_targeting", "denied", 1),
            ev("cookie:k1", "ad_targeting", "granted", 2),
        ],
        10,
        False,
        "denied",
        {"customer:C1/ad_targeting/denied/1"},
    ),
    (
        "an expired customer grant overrides nothing",
        [
            ev("cookie:k1", "ad_targeting", "denied", 1),
            ev("customer:C1", "ad_targeting", "granted", 2, expires=5),
        ],
        10,
        False,
        "denied",
        {"cookie:k1/ad_targeting/denied/1"},
    ),
    (
        "every grant expired: the default applies",
        [ev("cookie:k1", "ad_targeting", "granted", 1, expires=5)],
        10,
        False,
        "expired",
        {"cookie:k1/ad_targeting/granted/1"},
    ),
    (
        "a live grant stands beside a lapsed one",
        [
            ev("cookie:k1", "ad_targeting", "granted", 1, expires=5),
            ev("cookie:k2", "ad_targeting", "granted", 2),
        ],
        10,
        True,
        "granted",
        {"cookie:k2/ad_targeting/granted/2"},
    ),
    (
        "the customer's later explicit grant lifts a GPC opt-out on a linked browser",
        [
            ev("cookie:k1", "ad_targeting", "denied", 1, source="gpc"),
            ev("cookie:k1", "ad_targeting", "granted", 2),
            ev("customer:C1", "ad_targeting", "granted", 3),
        ],
        10,
        True,
        "granted",
        {"customer:C1/ad_targeting/granted/3"},
    ),
    (
        "a subject outside the person does not count",
        [
            ev("cookie:stranger", "ad_targeting", "denied", 2),
            ev("cookie:k1", "ad_targeting", "granted", 1),
        ],
        10,
        True,
        "granted",
        {"cookie:k1/ad_targeting/granted/1"},
    ),
]


@pytest.mark.parametrize(
    ("events", "day", "allowed", "status", "ids"),
    [case[1:] for case in PERSON_CASES],
    ids=[case[0] for case in PERSON_CASES],
)
def test_person_rules(
    events: list[dict[str, object]], day: int, allowed: bool, status: str, ids: set[str]
) -> None:
    subjects = pd.DataFrame(PERSON, columns=["person_id", "subject_type", "subject_id"])
    table = person_consent(
        subjects=subjects, states=subject_states(frame(*events), as_of=t(day)), as_of=t(day)
    )
    row = table[table["purpose"] == "ad_targeting"].iloc[0]
    assert (bool(row["allowed"]), row["status"]) == (allowed, status), row["reason"]
    assert set(row["event_ids"]) == ids
    assert len(table) == 5, "one row per purpose of the policy"


def test_gpc_on_a_cookie_follows_the_login_to_the_customer() -> None:
    """California: GPC applies to every profile associated with the browser."""
    gpc = events_from_gpc(subject_type="cookie", subject_id="k1", recorded_at=t(3), key="S9")
    events = frame(
        ev("customer:C1", "ad_targeting", "granted", 1),
        ev("customer:C1", "analytics", "granted", 1),
        *[
            {
                "event_id": e.id,
                "subject_type": e.subject_type,
                "subject_id": e.subject_id,
                "purpose": e.purpose,
                "status": e.status,
                "recorded_at": pd.Timestamp(e.recorded_at),
                "expires_at": pd.NaT,
            }
            for e in gpc
        ],
    )
    subjects = pd.DataFrame(PERSON, columns=["person_id", "subject_type", "subject_id"])
    table = person_consent(
        subjects=subjects, states=subject_states(events, as_of=t(9)), as_of=t(9)
    ).set_index("purpose")
    assert not table.loc["ad_targeting", "allowed"]
    assert table.loc["ad_targeting", "event_ids"] == [gpc[0].id]
    assert table.loc["analytics", "allowed"], "GPC opts out of sale and sharing only"


def test_email_subject_joins_the_person_by_hash() -> None:
    records = pd.DataFrame(
        {
            "person_id": ["P", "P"],
            "subject_type": ["customer", "cookie"],
            "subject_id": ["C1", "k1"],
            "customer_id": ["C1", None],
            "email": ["jane@example.com", None],
        }
    )
    subjects = person_subjects(records=records)
    hashed = email_subject_id("jane@example.com")
    assert ("P", "email", hashed) in set(map(tuple, subjects.to_numpy().tolist()))
    events = frame(
        ev("customer:C1", "messaging_marketing", "granted", 1),
        ev(f"email:{hashed}", "messaging_marketing", "withdrawn", 2),
    )
    table = person_consent(
        subjects=subjects, states=subject_states(events, as_of=t(5)), as_of=t(5)
    ).set_index("purpose")
    assert table.loc["messaging_marketing", "status"] == "withdrawn"


def test_linking_gate_per_record() -> None:
    records = pd.DataFrame(
        {
            "kind": ["customers", "sessions", "sessions", "devices", "contacts"],
            "subject_type": ["customer", "cookie", "cookie", "device", "contact"],
            "subject_id": ["C1", "yes", "no", "silent", "later-no"],
        }
    )
    events = frame(
        ev("customer:C1", "identity_linking", "denied", 1),
        ev("cookie:yes", "identity_linking", "granted", 1),
        ev("cookie:no", "identity_linking", "denied", 1),
        ev("contact:later-no", "identity_linking", "granted", 1),
        ev("contact:later-no", "identity_linking", "withdrawn", 4),
    )
    flags = linking_allowed(records=records, states=subject_states(events, as_of=t(5)))
    # customers are known: the gate never applies to them
    assert flags.tolist() == [True, True, False, False, False]
    back_then = linking_allowed(records=records, states=subject_states(events, as_of=t(2)))
    assert back_then.tolist() == [True, True, False, False, True]
    assert isinstance(flags, np.ndarray)


def test_policy_refuses_unknown_purposes() -> None:
    with pytest.raises(ConsentPolicyInvalid, match="unknown purpose.*identity_linking"):
        ConsentPolicy(defaults={"analytics": True})


def test_as_of_through_the_ledger(ledger: Ledger) -> None:
    """Time travel on stored events: the ledger keeps history, effective consent reads it."""
    ledger.append(
        [
            ConsentEvent(
                subject_type="cookie",
                subject_id="c",
                purpose="ad_targeting",
                status=status,
                recorded_at=t(day),
                event_id=f"e{day}",
            )
            for status, day in (("granted", 1), ("withdrawn", 5), ("granted", 9))
        ]
    )
    stored = ledger.events()
    answers = {
        day: subject_consent(stored, subject_type="cookie", subject_id="c", as_of=t(day))[
            "ad_targeting"
        ]
        for day in (0, 2, 6, 10)
    }
    assert [answers[d].status for d in (0, 2, 6, 10)] == [
        "default",
        "granted",
        "withdrawn",
        "granted",
    ]
    assert answers[6].event_ids == ("e5",)
