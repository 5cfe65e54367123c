"""The segment rule language: selection on a hand-made feature table, and refusals that name the rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from audiences.errors import SegmentInvalid
from audiences.segments import (
    EXAMPLES,
    compile_segment,
    evaluate_segment,
    load_segments,
    parse_segment,
)

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def ago(days: float) -> pd.Timestamp:
    return pd.Timestamp(NOW - timedelta(days=days))


FEATURES = pd.DataFrame(
    {
        "person_id": ["a", "b", "c", "d"],
        "is_customer": [True, True, False, True],
        "age": pd.array([30, 55, None, 41], dtype="Int64"),
        "country": ["GB", "DE", "GB", None],
        "msg_read_rate_whatsapp": [0.9, 0.2, None, 0.5],
        "last_seen": [ago(1), ago(40), ago(2), ago(100)],
    }
)
ACTIVITY = pd.DataFrame(
    [
        ("a", ago(3), "event", "page_view", "mortgage", "web", None),
        ("a", ago(200), "interaction", "advisor_meeting", None, None, "completed"),
        ("b", ago(6), "event", "page_view", "mortgage", "web", None),
        ("b", ago(10), "interaction", "advisor_meeting", None, None, "not_signed"),
        ("c", ago(1), "event", "page_view", "mortgage", "web", None),
        ("d", ago(8), "event", "page_view", "mortgage", "web", None),
        ("a", ago(5), "event", "message_delivered", None, "whatsapp", None),
        ("a", ago(5), "event", "message_read", None, "whatsapp", None),
        ("b", ago(5), "event", "message_delivered", None, "whatsapp", None),
        ("b", ago(4), "event", "message_delivered", None, "whatsapp", None),
        ("b", ago(4), "event", "message_read", None, "whatsapp", None),
        ("d", ago(50), "event", "message_delivered", None, "whatsapp", None),
        ("d", ago(50), "event", "message_read", None, "whatsapp", None),
    ],
    columns=["person_id", "ts", "source_kind", "type", "category", "channel", "outcome"],
)


def select(rule: dict[str, object]) -> list[str]:
    segment = parse_segment({"name": "s", "rule": rule})
    return evaluate_segment(segment, features=FEATURES, activity=ACTIVITY, as_of=NOW).tolist()


MORTGAGE_7D = {"event": {"type": "page_view", "category": "mortgage", "within_days": 7}}
ADVISOR_90D = {"interaction": {"kind": "advisor_meeting", "within_days": 90}}

SELECTIONS = [
    ("event in a window", MORTGAGE_7D, ["a", "b", "c"]),
    ("a longer window", {"event": {**MORTGAGE_7D["event"], "within_days": 30}}, ["a", "b", "c", "d"]),
    ("min_count", {"event": {**MORTGAGE_7D["event"], "min_count": 2}}, []),
    ("interaction window", ADVISOR_90D, ["b"]),
    ("all + not", {"all": [MORTGAGE_7D, {"feature": "is_customer", "equals": True}, {"not": ADVISOR_90D}]}, ["a"]),
    ("the advisors' call list", {"all": [MORTGAGE_7D, ADVISOR_90D]}, ["b"]),
    ("any", {"any": [ADVISOR_90D, {"feature": "country", "equals": "GB"}]}, ["a", "b", "c"]),
    ("numbers", {"feature": "age", "gte": 41}, ["b", "d"]),
    ("missing numbers never match", {"feature": "age", "lt": 100}, ["a", "b", "d"]),
    ("not of a missing value is not a match either way", {"not": {"feature": "age", "lt": 40}}, ["b", "c", "d"]),
    ("in", {"feature": "country", "in": ["DE", "FR"]}, ["b"]),
    ("is_null", {"feature": "country", "is_null": True}, ["d"]),
    ("time feature window", {"feature": "last_seen", "within_days": 30}, ["a", "c"]),
    ("engagement in 30 days", {"engagement": {"channel": "whatsapp", "within_days": 30, "gte": 0.5}}, ["a", "b"]),
    ("engagement, stricter", {"engagement": {"channel": "whatsapp", "within_days": 30, "gt": 0.5}}, ["a"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "expected"), [c[1:] for c in SELECTIONS], ids=[c[0] for c in SELECTIONS]
)
def test_selection(rule: dict[str, object], expected: list[str]) -> None:
    assert select(rule) == expected


REFUSALS = [
    ({"feature": "agee", "gt": 3}, r"rule: unknown feature 'agee'"),
    ({"feature": "age", "gt": "3"}, r"rule: gt '3': the feature is number"),
    ({"feature": "is_customer", "gt": 1}, r"is true/false: use equals"),
    ({"feature": "country", "gt": 1}, r"the feature is text"),
    ({"feature": "last_seen", "equals": 3}, r"last_seen is a time: use within_days"),
    ({"feature": "age", "within_days": 3}, r"within_days needs a time feature"),
    ({"feature": "age", "gt": 1, "lt": 5}, r"exactly one of"),
    ({"all": [MORTGAGE_7D, {"event": {"type": "page_view", "within_days": 0}}]}, r"rule\.all\[1\]\.event: within_days must be"),
    ({"all": [{"not": {"event": {"type": "x", "within_days": "7"}}}]}, r"rule\.all\[0\]\.not\.event: within_days"),
    ({"event": {"category": "mortgage", "within_days": 7}}, r"rule\.event: type is required"),
    ({"event": {"type": "page_view", "within_days": 7, "colour": "red"}}, r"unknown key\(s\) colour"),
    ({"any": []}, r"rule\.any: a non-empty list"),
    ({"engagement": {"channel": "whatsapp", "within_days": 30, "gte": 2}}, r"read rate from 0 to 1"),
    ({"frobnicate": 1}, r"unknown condition frobnicate"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "message"), REFUSALS, ids=[m for _, m in REFUSALS])
def test_refusals_name_the_rule(rule: dict[str, object], message: str) -> None:
    with pytest.raises(SegmentInvalid, match=message):
        select(rule)


def test_definition_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad Name\nrule: {feature: age, gt: 1}\n")
    with pytest.raises(SegmentInvalid, match=r"bad\.yaml: name must be"):
        load_segments(tmp_path)
    bad.write_text("name: ok\nrule: {feature: age, gt: 1}\nholdout: 1.5\n")
    with pytest.raises(SegmentInvalid, match="holdout must be a share"):
        load_segments(tmp_path)
    bad.write_text("name: ok\nrule: [unclosed\n")
    with pytest.raises(SegmentInvalid, match="cannot read the segment"):
        load_segments(tmp_path)


def test_user_text_is_bound_never_spliced() -> None:
    hostile = "GB' OR 1=1 --"
    segment = parse_segment({"name": "s", "rule": {"feature": "country", "equals": hostile}})
    compiled = compile_segment(segment, features=FEATURES, as_of=NOW)
    assert hostile not in compiled.sql and "GB" not in compiled.sql
    assert hostile in compiled.params
    assert select({"feature": "country", "equals": hostile}) == []
    with pytest.raises(SegmentInvalid, match="unknown feature"):
        select({"feature": 'country" OR 1=1 --', "equals": "x"})


def test_the_shipped_examples_compile_on_real_features() -> None:
    examples = load_segments(EXAMPLES)
    assert set(examples) == {
        "mortgage_readers_for_ads",
        "mortgage_readers_advisor_calls",
        "engaged_whatsapp_readers",
    }
    features = FEATURES.assign(**{"is_customer": [True, True, True, True]})
    got = {
        name: evaluate_segment(s, features=features, activity=ACTIVITY, as_of=NOW).tolist()
        for name, s in examples.items()
    }
    assert got == {
        "mortgage_readers_for_ads": ["a", "b", "c"],  # b's call goes first: actions
        "mortgage_readers_advisor_calls": ["b"],
        "engaged_whatsapp_readers": ["a", "b"],
    }
