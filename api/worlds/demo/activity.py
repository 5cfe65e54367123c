"""Activity: page views of web sessions, messages sent to contacts, and customers' interactions.

These are the rows segments select on (``events``, ``interactions``); none
of them takes part in linking.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.worlds.demo.chunk import Chunk
from api.worlds.demo.people import Person

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


def message_events(c: Chunk, *, contact_id: str, channel: str) -> None:
    """Messages sent to a contact in the last 60 days: sent, then delivered, then read."""
    d = c.draws
    sent = int(d.rng.integers(0, 12))
    read_rate = float(d.rng.beta(2, 2))
    for _ in range(sent):
        ts = d.timestamp(days_back=60)
        for event_type, keep in (
            ("message_sent", True),
            ("message_delivered", d.chance(0.95)),
            ("message_read", d.chance(read_rate)),
        ):
            if not keep:
                break
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
                "outcome": d.pick(["completed", "no_show", "follow_up"])
                if kind != "purchase"
                else "completed",
                "value": round(float(d.rng.gamma(2, 400)), 2) if kind == "purchase" else None,
            },
        )
