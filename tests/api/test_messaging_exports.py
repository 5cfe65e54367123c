"""Messaging outreach destinations, end to end (issue #15).

On the published demo world: ``tether segments export`` and ``POST
/v1/exports`` write, per reachable contact, the channel, the contact id,
the address the channel sends to and the service window; only persons with
``messaging_marketing`` consent, only contacts the channel's rule allows,
the others counted by reason.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.worlds.demo import WORLD_NOW
from tests.api.conftest import Headers
from tests.clirunner import tether_in_process

SEGMENT = """\
name: messaged_recently
description: Anyone we messaged on any channel in the last 60 days
destinations: [whatsapp, telegram, viber, messenger]
rule:
  any:
    - event: {type: message_delivered, channel: whatsapp, within_days: 60}
    - event: {type: message_delivered, channel: telegram, within_days: 60}
    - event: {type: message_delivered, channel: viber, within_days: 60}
    - event: {type: message_delivered, channel: messenger, within_days: 60}
"""


@pytest.fixture
def config(api_home: Path) -> Path:
    segments = api_home / "demo" / "segments"
    (segments / "messaged_recently.yaml").write_text(SEGMENT)
    config = api_home / "demo" / "tether.toml"
    assert 'template = "tether_demo_offer"' in config.read_text(), "the demo names a template"
    return config


def contacts(home: Path) -> pd.DataFrame:
    return pd.read_parquet((home / "current").resolve() / "person_contacts.parquet")


@pytest.mark.parametrize("channel", ["whatsapp", "telegram", "viber"])
def test_each_channel_writes_only_the_contacts_its_rule_allows(
    api_home: Path, config: Path, channel: str
) -> None:
    ran = tether_in_process(
        "segments", "export", "messaged_recently", "-c", str(config), "-d", channel,
        "--json", home=api_home,
    )  # fmt: skip
    (export,) = json.loads(ran.stdout)["exports"]
    directory = Path(export["directory"])
    manifest = json.loads((directory / "manifest.json").read_text())
    rows = pd.read_parquet(directory / "members.parquet")
    assert manifest["channel"] == channel and manifest["purposes"] == ["messaging_marketing"]
    assert len(rows) > 0, "the demo world has reachable contacts on every channel"
    assert (rows["channel"] == channel).all()

    known = contacts(api_home).set_index(["channel", "contact_id"])
    written = known.loc[[(channel, c) for c in rows["contact_id"]]]
    assert not written["opted_out"].any(), "no blocked, unsubscribed or opted-out contact"
    assert (written["person_id"].to_numpy() == rows["person_id"].to_numpy()).all()
    if channel == "whatsapp":
        assert written["opted_in"].all(), "WhatsApp writes only to opted-in contacts"
        assert rows["address"].str.fullmatch(r"\+\d{8,15}").all(), "E.164"
    else:
        assert (rows["address"] == rows["contact_id"]).all(), "the channel's own user id"
    if channel in ("telegram", "viber"):  # started the bot / subscribed, or wrote to it
        assert (written["opted_in"] | written["last_inbound_at"].notna()).all()

    # the window: open exactly when the person wrote in the last 24 hours (WhatsApp,
    # Messenger), and until 24 hours after that message
    last = written["last_inbound_at"].reset_index(drop=True)
    if channel in ("whatsapp", "messenger"):
        moment = pd.Timestamp(manifest["as_of"])  # the export's time: now, by default
        expect_open = (last > moment - timedelta(hours=24)).fillna(False)
        assert rows["window_open"].tolist() == expect_open.tolist()
        opened = rows[rows["window_open"]]
        until = pd.to_datetime(opened["window_until"], utc=True).reset_index(drop=True)
        assert (
            until.tolist()
            == (last[expect_open] + timedelta(hours=24)).reset_index(drop=True).tolist()
        )
    else:
        assert not rows["window_open"].any(), f"{channel} has no service window"

    # the others are counted by reason, and the consent gate applies as for ads
    assert set(manifest["excluded"]) <= {"no_address", "opted_out", "not_opted_in", "window_closed"}
    assert sum(manifest["excluded"].values()) > 0, "the demo world has contacts a rule refuses"
    consent = pd.read_parquet((api_home / "current").resolve() / "person_consent.parquet")
    allowed = consent[(consent["purpose"] == "messaging_marketing") & consent["allowed"]]
    assert set(rows["person_id"]) <= set(allowed["person_id"])
    payloads = [
        json.loads(line) for line in (directory / "payload_add.jsonl").read_text().splitlines()
    ]
    assert len(payloads) == len(rows)
    if channel == "whatsapp":
        assert {p["to"] for p in payloads} == {a.lstrip("+") for a in rows["address"]}


def test_messenger_now_has_no_open_window_and_says_so(api_home: Path, config: Path) -> None:
    """Exported a month after the world's last message, every Messenger window is closed:
    marketing is no message tag, so nobody may be written to, and the export says so."""
    ran = tether_in_process(
        "segments", "export", "messaged_recently", "-c", str(config), "-d", "messenger",
        home=api_home, check=False,
    )  # fmt: skip
    assert ran.returncode == 2 and "audience_too_small" in ran.stderr
    assert "0 persons messenger can take" in ran.stderr and "Traceback" not in ran.stderr


def test_the_window_is_open_for_a_day_after_the_persons_last_message(
    api_home: Path, config: Path
) -> None:
    """Exported at the world's time, some contacts wrote in the last day: free-form now."""
    from api import Tether

    with Tether.open(api_home, config=config) as tether:
        segment = tether.segments.get("messaged_recently")
        done = tether.exports.create(segment=segment, destination="whatsapp", as_of=WORLD_NOW)
        messenger = tether.exports.create(segment=segment, destination="messenger", as_of=WORLD_NOW)
    window_only = pd.read_parquet(messenger.result.directory / "members.parquet")
    assert len(window_only) and window_only["window_open"].all(), "Messenger: the window only"
    rows = pd.read_parquet(done.result.directory / "members.parquet")
    known = contacts(api_home).set_index(["channel", "contact_id"])
    last = pd.Series(
        pd.to_datetime(
            known.loc[[("whatsapp", c) for c in rows["contact_id"]], "last_inbound_at"], utc=True
        ).to_numpy()
    )
    opened = (last > pd.Timestamp(WORLD_NOW) - timedelta(hours=24)).fillna(False).to_numpy()
    assert opened.any(), "the demo world has people who wrote in the last day"
    assert rows["window_open"].tolist() == opened.tolist()
    until = pd.to_datetime(rows.loc[opened, "window_until"], utc=True).to_numpy()
    assert (until == (last[opened] + timedelta(hours=24)).to_numpy()).all()
    assert set(rows.loc[opened, "message_kind"]) == {"free_form"}
    assert set(rows.loc[~opened, "message_kind"]) == {"template"}, "outside it: a template"
    bodies = (done.result.directory / "payload_add.jsonl").read_text().splitlines()
    templates = [json.loads(b).get("template") for b in bodies]
    assert templates == [
        None if is_open else {"name": "tether_demo_offer", "language": {"code": "en"}}
        for is_open in opened
    ]


def test_a_messaging_export_over_http_has_deltas_and_a_manifest(
    client: TestClient, api_home: Path, config: Path, headers: Headers
) -> None:
    write = headers("export")
    request = {"segment": "messaged_recently", "destination": "telegram"}
    created = client.post("/v1/exports", json=request, headers=write)
    assert created.status_code == 201, created.text
    export = created.json()
    assert export["counts"]["exported"] > 0
    assert export["counts"]["added"] == export["counts"]["exported"], "the first export adds all"
    upload = client.get(
        f"/v1/exports/{export['export_id']}/files/upload.csv", headers=write
    ).text.splitlines()
    assert upload[0] == (
        "person_id,channel,contact_id,address,window_open,window_until,message_kind,engagement"
    )
    assert len(upload) == export["counts"]["exported"] + 1
