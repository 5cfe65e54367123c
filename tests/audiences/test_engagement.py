"""Engagement that knows what it cannot see: unknown reads are not 0 (issue #15).

On a hand-made activity table, then on the demo world, which models
WhatsApp users with read receipts off, Telegram bots that never see reads,
replies and clicks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from api.workspace import Workspace
from api.worlds.demo import WORLD_NOW
from audiences.errors import SegmentInvalid
from audiences.segments import EXAMPLES, evaluate_segment, load_segments, parse_segment

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def ago(days: float) -> pd.Timestamp:
    return pd.Timestamp(NOW - timedelta(days=days))


def messages(person: str, channel: str, **counts: int) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for kind, n in counts.items():
        rows += [
            (person, ago(3 + i), "event", f"message_{kind}", None, channel, None) for i in range(n)
        ]
    return rows


ACTIVITY = pd.DataFrame(
    messages("receipts_off_replier", "whatsapp", delivered=4, received=1)
    + messages("reader", "whatsapp", delivered=4, read=3)
    + messages("ignorer", "whatsapp", delivered=4)
    + messages("clicker", "whatsapp", delivered=4, clicked=1)
    + messages("bot_silent", "telegram", delivered=3)
    + messages("bot_replier", "telegram", delivered=2, received=1),
    columns=["person_id", "ts", "source_kind", "type", "category", "channel", "outcome"],
)
FEATURES = pd.DataFrame({"person_id": sorted(set(ACTIVITY["person_id"]))})


def select(engagement: dict[str, object]) -> set[str]:
    segment = parse_segment({"name": "s", "rule": {"engagement": engagement}})
    return set(evaluate_segment(segment, features=FEATURES, activity=ACTIVITY, as_of=NOW))


def test_a_receipts_off_replier_is_engaged_and_has_no_read_rate() -> None:
    wa = {"channel": "whatsapp", "within_days": 30}
    assert select({**wa, "level": "engaged"}) == {"receipts_off_replier", "reader", "clicker"}
    assert select({**wa, "level": "unengaged"}) == {"ignorer"}
    # unknown is not 0: a low read rate selects only the person whose reads are visible
    # (a click without a single read receipt is a user with receipts off, too)
    assert select({**wa, "lte": 0.1}) == {"ignorer"}
    assert select({**wa, "gte": 0.5}) == {"reader"}


def test_telegram_reads_are_unobservable_so_engagement_rests_on_replies() -> None:
    tg = {"channel": "telegram", "within_days": 30}
    assert select({**tg, "level": "unknown"}) == {"bot_silent"}
    assert select({**tg, "level": ["engaged", "unknown"]}) == {"bot_silent", "bot_replier"}
    assert select({**tg, "gte": 0.0}) == set(), "no read rate where reads are never seen"


def test_windows_apply_to_the_level() -> None:
    assert select({"channel": "whatsapp", "within_days": 1, "level": "engaged"}) == set()


@pytest.mark.parametrize("level", ["busy", [], ["engaged", "bored"]])
def test_an_unknown_level_is_refused(level: object) -> None:
    with pytest.raises(SegmentInvalid, match="level"):
        select({"channel": "whatsapp", "within_days": 30, "level": level})


def test_on_the_demo_world_receipts_off_repliers_are_unknown_not_zero_and_engaged(
    api_world: Path,
) -> None:
    ws = Workspace.open(api_world)
    features = ws.read_current("person_features")
    activity = ws.read_current("person_activity")
    assert features is not None and activity is not None
    hidden = features[features["msg_reads_whatsapp"] == "hidden"]
    assert len(hidden) >= 5, "the demo world has WhatsApp users with read receipts off"
    assert (hidden["msg_replies_whatsapp"] + hidden["msg_clicks_whatsapp"] > 0).all()
    assert hidden["msg_read_rate_whatsapp"].isna().all(), "unknown, not 0"
    assert (hidden["msg_read_whatsapp"] == 0).all()
    visible = features[features["msg_reads_whatsapp"] == "visible"]
    assert visible["msg_read_rate_whatsapp"].notna().any()
    telegram = features[features["msg_delivered_telegram"] > 0]
    assert len(telegram) and (telegram["msg_reads_telegram"] == "unobservable").all()
    assert telegram["msg_read_rate_telegram"].isna().all()
    assert set(features["msg_engagement_telegram"].dropna()) <= {"engaged", "unknown"}

    engaged = load_segments(EXAMPLES)["engaged_whatsapp_readers"]
    members = set(evaluate_segment(engaged, features=features, activity=activity, as_of=WORLD_NOW))
    recent = hidden[hidden["msg_engagement_whatsapp"] == "engaged"]["person_id"]
    assert len(recent), "some receipts-off repliers replied in the last 30 days"
    assert set(recent) <= members, "replies reach the engaged segment without a read"
    by_level = features.set_index("person_id")["msg_engagement_whatsapp"]
    assert members == set(by_level[by_level == "engaged"].index), (
        "the segment and the feature apply the one rule"
    )
