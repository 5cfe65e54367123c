"""One next best action per person, and exports that follow it (issue #15)."""

from __future__ import annotations

import pandas as pd

from audiences.actions import assign_actions, suppressed
from audiences.segments import parse_segment

CALL = parse_segment(
    {"name": "a_call", "rule": {"feature": "x", "equals": 1}, "action": "advisor_call",
     "priority": 50, "topic": "mortgage"}
)  # fmt: skip
ADS = parse_segment(
    {"name": "b_ads", "rule": {"feature": "x", "equals": 1}, "action": "ad", "priority": 50,
     "topic": "mortgage"}
)  # fmt: skip
STOP = parse_segment(
    {"name": "stop", "rule": {"feature": "x", "equals": 1}, "action": "suppress", "priority": 900}
)  # fmt: skip
SEGMENTS = {s.name: s for s in (CALL, ADS, STOP)}


def consent(person: str, *purposes: str) -> pd.DataFrame:
    every = ("personalisation", "ad_targeting", "messaging_marketing")
    return pd.DataFrame(
        {"person_id": person, "purpose": list(every), "allowed": [p in purposes for p in every]}
    )


def act(members: dict[str, list[str]], table: pd.DataFrame) -> pd.DataFrame:
    return assign_actions(
        members={k: pd.Series(v) for k, v in members.items()}, segments=SEGMENTS, consent=table
    ).set_index("person_id")


def test_a_tie_goes_to_the_name_and_suppression_follows_the_same_order() -> None:
    table = consent("p", "personalisation", "ad_targeting")
    actions = act({"a_call": ["p"], "b_ads": ["p"]}, table)
    assert actions.loc["p", "action"] == "advisor_call"
    chosen = actions.reset_index()
    assert suppressed(members=pd.Series(["p"]), segment=ADS, actions=chosen).tolist() == [True]
    assert suppressed(members=pd.Series(["p"]), segment=CALL, actions=chosen).tolist() == [False]


def test_without_consent_for_the_call_the_person_keeps_the_ad() -> None:
    chosen = act({"a_call": ["p"], "b_ads": ["p"]}, consent("p", "ad_targeting")).reset_index()
    assert chosen["action"].tolist() == ["ad"]
    assert suppressed(members=pd.Series(["p"]), segment=ADS, actions=chosen).tolist() == [False]


def test_without_any_consent_there_is_no_action() -> None:
    assert act({"a_call": ["p"], "b_ads": ["p"]}, consent("p")).empty


def test_suppress_keeps_a_person_out_of_every_other_export() -> None:
    table = pd.concat([consent("p", "ad_targeting"), consent("q", "ad_targeting")])
    chosen = act({"b_ads": ["p", "q"], "stop": ["p"]}, table).reset_index()
    assert dict(zip(chosen["person_id"], chosen["action"], strict=True)) == {
        "p": "suppress",
        "q": "ad",
    }
    assert suppressed(members=pd.Series(["p", "q"]), segment=ADS, actions=chosen).tolist() == [
        True,
        False,
    ]
