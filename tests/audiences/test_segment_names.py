"""Segments that name an unknown destination or channel are refused when they load (issues #12,
#15): a typo (`gogle`, `whatsap`) used to select nobody, silently."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from audiences.errors import SegmentInvalid
from audiences.segments import compile_segment, parse_segment

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
FEATURES = pd.DataFrame({"person_id": pd.Series(dtype="string")})


def segment(rule: dict[str, object], **extra: object) -> dict[str, object]:
    return {"name": "lapsed", "rule": rule, **extra}


def test_an_unknown_destination_is_refused_with_the_closest_name() -> None:
    with pytest.raises(SegmentInvalid, match="unknown destination `gogle_customer_match`") as e:
        parse_segment(
            segment(
                {"event": {"type": "page_view", "within_days": 7}},
                destinations=["gogle_customer_match"],
            ),
            source="lapsed.yaml",
        )
    assert "did you mean `google_customer_match`?" in e.value.message


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"engagement": {"channel": "whatsap", "within_days": 30, "gte": 0.5}},
         "did you mean `whatsapp`?"),
        ({"engagement": {"channel": "email", "within_days": 30, "gte": 0.5}},
         "`email` is not a messaging channel"),
        ({"event": {"type": "message_read", "channel": "telegramm", "within_days": 30}},
         "did you mean `telegram`?"),
    ],
)  # fmt: skip
def test_an_unknown_channel_is_refused(rule: dict[str, object], message: str) -> None:
    parsed = parse_segment(segment(rule), source="lapsed.yaml")
    with pytest.raises(SegmentInvalid) as raised:
        compile_segment(parsed, features=FEATURES, as_of=AS_OF)
    assert message in raised.value.message
    assert "segment `lapsed`" in raised.value.message


@pytest.mark.parametrize(
    "rule",
    [
        {"engagement": {"channel": "WhatsApp", "within_days": 30, "gte": 0.5}},
        {"event": {"type": "page_view", "channel": "web", "within_days": 30}},
        {"event": {"type": "message_read", "channel": "viber", "within_days": 30}},
    ],
)
def test_known_channels_in_any_case_compile(rule: dict[str, object]) -> None:
    compile_segment(parse_segment(segment(rule), source="ok.yaml"), features=FEATURES, as_of=AS_OF)
