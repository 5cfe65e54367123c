"""Who each messaging channel lets the business reach, contact by contact (issue #15)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from audiences.contacts import build_person_contacts
from audiences.destinations import destination
from audiences.errors import AudienceError
from audiences.export import ExportPlan, write_export
from audiences.outreach import outreach_rows

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def contact(
    person: str, channel: str, cid: str, *, opted_in: bool = False, opted_out: bool = False,
    wrote_hours_ago: float | None = None, address: str | None = "addr",
) -> dict[str, object]:  # fmt: skip
    wrote = None if wrote_hours_ago is None else NOW - timedelta(hours=wrote_hours_ago)
    return {
        "person_id": person, "channel": channel, "contact_id": cid, "address": address,
        "opted_in": opted_in, "opted_out": opted_out,
        "last_inbound_at": pd.Timestamp(wrote) if wrote else pd.NaT,
        "reads": "visible", "engagement": None,
    }  # fmt: skip


def reach(channel: str, *rows: dict[str, object]) -> tuple[list[str], dict[str, int]]:
    frame = pd.DataFrame(list(rows))
    frame["last_inbound_at"] = pd.to_datetime(frame["last_inbound_at"], utc=True)
    out, excluded = outreach_rows(frame, channel=channel, as_of=NOW)
    return out["contact_id"].tolist(), excluded


def test_whatsapp_needs_the_opt_in_and_opens_a_day_after_the_persons_message() -> None:
    got, excluded = reach(
        "whatsapp",
        contact("p1", "whatsapp", "w1", opted_in=True, wrote_hours_ago=3),
        contact("p2", "whatsapp", "w2", opted_in=True),
        contact("p3", "whatsapp", "w3", wrote_hours_ago=1),  # wrote, never opted in
        contact("p4", "whatsapp", "w4", opted_in=True, opted_out=True),
        contact("p5", "whatsapp", "w5", opted_in=True, address=None),
    )
    assert got == ["w1", "w2"]
    assert excluded == {"not_opted_in": 1, "opted_out": 1, "no_address": 1}
    frame = pd.DataFrame([contact("p1", "whatsapp", "w1", opted_in=True, wrote_hours_ago=3)])
    rows, _ = outreach_rows(frame, channel="whatsapp", as_of=NOW)
    assert rows["window_open"].tolist() == [True]
    assert rows["window_until"].tolist() == [(NOW + timedelta(hours=21)).isoformat()]
    assert rows["message_kind"].tolist() == ["free_form"]


def test_bots_reach_who_started_them_and_messenger_only_inside_the_window() -> None:
    got, excluded = reach(
        "telegram",
        contact("p1", "telegram", "t1", opted_in=True),
        contact("p2", "telegram", "t2", wrote_hours_ago=400),  # wrote to the bot: started it
        contact("p3", "telegram", "t3"),
    )
    assert got == ["t1", "t2"] and excluded == {"not_opted_in": 1}
    got, excluded = reach(
        "messenger",
        contact("p1", "messenger", "m1", wrote_hours_ago=5),
        contact("p2", "messenger", "m2", opted_in=True, wrote_hours_ago=30),
    )
    assert got == ["m1"] and excluded == {"window_closed": 1}


def test_a_naive_time_is_utc() -> None:
    frame = pd.DataFrame([contact("p1", "whatsapp", "w1", opted_in=True, wrote_hours_ago=3)])
    rows, _ = outreach_rows(frame, channel="whatsapp", as_of=NOW.replace(tzinfo=None))
    assert rows["window_open"].tolist() == [True]


def test_a_message_after_a_block_restarts_a_bot_but_not_whatsapp() -> None:
    touch = pd.DataFrame(
        {
            "kind": ["contacts"] * 2, "channel": ["telegram", "whatsapp"],
            "subject_id": ["t1", "w1"], "phone": [None, "+972501234567"], "email": [None, None],
        }
    )  # fmt: skip
    events = pd.DataFrame(
        [
            ("contact", cid, NOW - timedelta(days=days), kind, channel)
            for cid, channel in (("t1", "telegram"), ("w1", "whatsapp"))
            for days, kind in ((30, "channel_opt_in"), (20, "channel_opt_out"), (10, "message_received"))
        ],
        columns=["subject_type", "subject_id", "ts", "event_type", "channel"],
    )  # fmt: skip
    got = build_person_contacts(
        person=pd.Series(["p1", "p2"]), touchpoints=touch, events=events, as_of=NOW
    ).set_index("contact_id")
    assert not got.loc["t1", "opted_out"], "writing to the bot again unblocks it"
    assert got.loc["w1", "opted_out"], "a WhatsApp opt-out stands until a new opt-in"
    assert got.loc["w1", "address"] == "+972501234567" and got.loc["t1", "address"] == "t1"
    assert got.loc["t1", "last_inbound_at"] == pd.Timestamp(NOW - timedelta(days=10))


def _plan(rows: list[dict[str, object]]) -> ExportPlan:
    frame, _ = outreach_rows(pd.DataFrame(rows), channel="telegram", as_of=NOW)
    return ExportPlan(
        segment="s", destination="telegram", members=len(frame), held_out=0,
        refused_consent=0, unmatchable=0, rows=frame, lineage={},
    )  # fmt: skip


def test_a_messaging_delta_is_by_contact(tmp_path: Path) -> None:
    """The same person on a new contact: the new one is added, the old one removed."""
    dest = destination("telegram")
    plan = _plan([contact("p1", "telegram", "t_new", opted_in=True)])
    previous = pd.DataFrame({"person_id": ["p1"], "contact_id": ["t_old"]})
    result = write_export(
        plan=plan, destination=dest, run_id="r2", export_id="e2", previous=previous,
        directory=tmp_path / "x", holdout=0.0, as_of=NOW,
    )  # fmt: skip
    assert result.counts["added"] == 1 and result.counts["removed"] == 1
    removed = pd.read_csv(result.directory / "remove.csv", dtype=str)
    assert removed.to_dict("records") == [{"person_id": "p1", "contact_id": "t_old"}]


def test_whatsapp_bodies_need_an_approved_template_outside_the_window(tmp_path: Path) -> None:
    frame, _ = outreach_rows(
        pd.DataFrame([contact("p1", "whatsapp", "w1", opted_in=True, address="+972501234567")]),
        channel="whatsapp",
        as_of=NOW,
    )
    plan = ExportPlan(
        segment="s", destination="whatsapp", members=1, held_out=0, refused_consent=0,
        unmatchable=0, rows=frame, lineage={},
    )  # fmt: skip
    with pytest.raises(AudienceError, match="template"):
        write_export(
            plan=plan, destination=destination("whatsapp"), run_id="r", export_id="e",
            previous=None, directory=tmp_path / "w", holdout=0.0, as_of=NOW,
        )  # fmt: skip
    done = write_export(
        plan=plan, destination=destination("whatsapp", extra={"template": "offer", "language": "he"}),
        run_id="r", export_id="e", previous=None, directory=tmp_path / "w", holdout=0.0, as_of=NOW,
    )  # fmt: skip
    body = (done.directory / "payload_add.jsonl").read_text()
    assert '"to": "972501234567"' in body and '"name": "offer"' in body
