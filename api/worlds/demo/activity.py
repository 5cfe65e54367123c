"""Activity: page views of web sessions, messages sent to contacts, and customers' interactions.

These are the rows segments select on (``events``, ``interactions``); none
of them takes part in linking.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from api.worlds.demo.chunk import Chunk
from api.worlds.demo.people import Person
from api.worlds.demo.world import WORLD_NOW

__all__ = ["CATEGORIES", "interactions_for", "message_events", "page_views"]

#: Product categories of the bank's pages.
CATEGORIES = ["mortgage", "savings", "cards", "loans", "insurance", "investments", "pensions"]


def page_views(c: Chunk, *, subject_type: str, subject_id: str, session: dict[str, Any]) -> None:
    """One to three page views in ``session``, most in one category of interest."""
    d = c.draws
    interest = d.pick(CATEGORIES)
    for i in range(int(d.rng.integers(1, 4))):
        category = interest if d.chance(0.7) else d.pick(CATEGORIES)
        c.add(
            "events",
            {
                "subject_type": subject_type,
                "subject_id": subject_id,
                "ts": session["started_at"] + timedelta(seconds=30 * i),
                "event_type": "page_view",
                "category": category,
                "url": f"https://bank.example/{category}/{int(d.rng.integers(1, 40))}",
                "value": None,
                "channel": "web",
            },
        )


#: Share of a channel's contacts who turned read receipts off (where a user can).
RECEIPTS_OFF = {"whatsapp": 0.25, "viber": 0.1, "messenger": 0.05}
#: Share of contacts who gave the channel's own opt-in (WhatsApp opt-in, Telegram
#: /start, Viber subscribe); Messenger needs none (the person writes first).
OPTED_IN = {"whatsapp": 0.75, "telegram": 0.95, "viber": 0.85, "messenger": 0.2}


def message_events(c: Chunk, *, contact_id: str, channel: str) -> None:
    """Messages to and from a contact in the last 60 days, as the channel reports them.

    The business sends; the platform reports delivered and (where it can)
    read: Telegram bots never see reads, and a share of WhatsApp, Viber and
    Messenger users turned receipts off, so their reads never arrive (issue
    #15). The person replies to some messages and clicks some links, and may
    write on their own in the last days (which opens a service window). Each
    contact has the channel's own opt-in (and sometimes a later opt-out).

    The sent, delivered and read draws come from the chunk's generator in the
    order they always did, so every linked source stays byte-identical; the
    rest is drawn from a generator of the contact's own.
    """
    d = c.draws
    own = np.random.default_rng(int.from_bytes(hashlib.sha256(contact_id.encode()).digest()[:8]))
    sent = int(d.rng.integers(0, 12))
    read_rate = float(d.rng.beta(2, 2))
    receipts_off = bool(own.random() < RECEIPTS_OFF.get(channel, 0.0))
    reads_seen = channel != "telegram" and not receipts_off
    reply_rate = 0.4 * read_rate
    for _ in range(sent):
        ts = d.timestamp(days_back=60)
        delivered, opened = d.chance(0.95), d.chance(read_rate)  # both drawn, as ever
        read = delivered and opened
        _message(c, contact_id, channel, "message_sent", ts)
        if not delivered:
            continue
        _message(c, contact_id, channel, "message_delivered", ts + timedelta(seconds=5))
        if read and reads_seen:
            _message(c, contact_id, channel, "message_read", ts + timedelta(minutes=20))
        if read and own.random() < reply_rate:
            answer = ts + timedelta(minutes=int(own.integers(21, 600)))
            _message(c, contact_id, channel, "message_received", answer)
        if read and own.random() < 0.1:
            _message(c, contact_id, channel, "message_clicked", ts + timedelta(minutes=25))
    if own.random() < 0.15:  # wrote to the business in the last two days
        when = WORLD_NOW - timedelta(seconds=int(own.integers(1, 2 * 86400)))
        _message(c, contact_id, channel, "message_received", when)
    if own.random() < OPTED_IN.get(channel, 0.0):
        start = WORLD_NOW - timedelta(days=int(own.integers(61, 400)))
        _message(c, contact_id, channel, "channel_opt_in", start)
        if own.random() < 0.06:  # blocked the bot, unsubscribed, opted out
            stop = WORLD_NOW - timedelta(days=int(own.integers(1, 60)))
            _message(c, contact_id, channel, "channel_opt_out", stop)


def _message(c: Chunk, contact_id: str, channel: str, event_type: str, ts: datetime) -> None:
    c.add(
        "events",
        {
            "subject_type": "contact",
            "subject_id": contact_id,
            "ts": ts,
            "event_type": event_type,
            "category": None,
            "url": None,
            "value": None,
            "channel": channel,
        },
    )


#: Outcomes of a meeting with an advisor: a mortgage signed, not signed, or no show.
OUTCOMES = {"advisor_meeting": ["signed", "not_signed", "no_show"]}


def interactions_for(c: Chunk, p: Person) -> None:
    """A customer's meetings, calls and purchases with the bank."""
    d = c.draws
    for _ in range(int(d.rng.poisson(1.2))):
        kind = d.pick(["advisor_meeting", "call", "purchase", "call"])
        c.add(
            "interactions",
            {
                "customer_id": d.pick(p.customer_ids),
                "ts": d.timestamp(days_back=180),
                "kind": kind,
                # one draw whatever the kind (the generator's order is the world's bytes)
                "outcome": d.pick(OUTCOMES.get(kind, ["completed", "no_show", "follow_up"]))
                if kind != "purchase"
                else "completed",
                "value": round(float(d.rng.gamma(2, 400)), 2) if kind == "purchase" else None,
            },
        )
