"""Messaging engagement that knows what it cannot see (issue #15).

A business measures a messaging channel by messages read against messages
delivered. But reads are not always visible: Telegram bots and SMS never
see them, and a WhatsApp user can turn read receipts off
(``resolver.channels``). Counting an unseen read as 0 calls an engaged
person unengaged. So, per person (or contact) and channel:

- **reads visible**: the channel reports reads, and the person has not
  hidden them. A person on a channel whose reads can be hidden who shows
  deliveries and replies or clicks but never a single read has hidden them
  (``hidden``); on a channel that never reports reads they are
  ``unobservable``. The read rate is then unknown (``NULL``), not 0.
- **level** in a window (``engaged``, ``unknown``, ``unengaged``):
  a reply (``message_received``: the person wrote) or a click on a message
  (``message_clicked``) is engagement whatever the reads show; otherwise,
  where reads are visible, a read rate of at least ``ENGAGED_READ_RATE`` is
  ``engaged`` and below it ``unengaged``; where they are not, ``unknown``.
  No message delivered and no response in the window: no level (``NULL``).

The rule is written once, as SQL aggregate expressions over the message
events of one group of rows (``engagement_sql``), and used three ways:
``person_features`` groups by person and channel, ``person_contacts`` by
contact, and a segment's ``engagement`` condition by the person it tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from resolver.channels import CHANNELS

__all__ = [
    "CLICK",
    "DELIVERED",
    "ENGAGED_READ_RATE",
    "INBOUND",
    "LEVELS",
    "OPT_IN",
    "OPT_OUT",
    "READ",
    "READS",
    "SENT",
    "EngagementSql",
    "capabilities",
    "engagement_sql",
    "per_channel_sql",
    "timestamp_literal",
]

SENT = "message_sent"
DELIVERED = "message_delivered"
READ = "message_read"
INBOUND = "message_received"
"""A message from the person to the business (a reply, or a conversation they start)."""
CLICK = "message_clicked"
"""The person clicked a link or button in a message of the business."""
OPT_IN = "channel_opt_in"
"""The channel's own opt-in: WhatsApp opt-in, Telegram /start, Viber subscribe."""
OPT_OUT = "channel_opt_out"
"""The channel's own opt-out: Telegram block, Viber unsubscribe, WhatsApp opt-out."""

ENGAGED_READ_RATE = 0.5
"""Where reads are visible, reading at least this share of delivered messages is engaged."""
LEVELS = ("engaged", "unknown", "unengaged")
READS = ("visible", "hidden", "unobservable")
"""Whether the business can see this person's reads on this channel."""


@dataclass(frozen=True, kw_only=True, slots=True)
class EngagementSql:
    """SQL aggregate expressions over one group's message events (see the module)."""

    reads: str
    """``'visible'``, ``'hidden'`` or ``'unobservable'`` (over everything up to the end)."""
    read_rate: str
    """Reads / deliveries in the window, ``NULL`` unless reads are visible."""
    level: str
    """``'engaged'``, ``'unknown'``, ``'unengaged'`` or ``NULL`` in the window."""


def timestamp_literal(moment: datetime) -> str:
    """A UTC instant as a DuckDB ``TIMESTAMPTZ`` literal (built from a datetime, never text)."""
    if moment.tzinfo is None:
        raise ValueError("a window bound needs a time zone")
    return f"TIMESTAMPTZ '{moment.astimezone(UTC).isoformat()}'"


def engagement_sql(
    *,
    type_column: str,
    ts_column: str,
    since: datetime,
    until: datetime,
    observable: str,
    hideable: str,
) -> EngagementSql:
    """The rule as aggregate expressions, for any grouping of message events.

    Args:
        type_column: the event type column (``a.type``).
        ts_column: the event time column.
        since: the window's start (inclusive); ``until`` its end (inclusive). Reads'
            visibility looks at everything up to ``until``.
        observable: an SQL boolean: the channel reports reads (a literal or a column).
        hideable: an SQL boolean: the person can hide reads on the channel.
    """
    start, end = timestamp_literal(since), timestamp_literal(until)
    upto = f"{ts_column} <= {end}"
    window = f"{ts_column} >= {start} AND {upto}"
    responses = f"{type_column} IN ('{INBOUND}', '{CLICK}')"

    def count(condition: str) -> str:
        return f"count(*) FILTER (WHERE {condition})"

    reads_ever = count(f"{type_column} = '{READ}' AND {upto}")
    responded_ever = count(f"{responses} AND {upto}")
    reads = (
        f"(CASE WHEN NOT COALESCE({observable}, FALSE) THEN 'unobservable'"
        f" WHEN COALESCE({hideable}, FALSE) AND {reads_ever} = 0 AND {responded_ever} > 0"
        " THEN 'hidden' ELSE 'visible' END)"
    )
    delivered = count(f"{type_column} = '{DELIVERED}' AND {window}")
    read = count(f"{type_column} = '{READ}' AND {window}")
    responded = count(f"{responses} AND {window}")
    # (LEAST ignores a NULL argument in DuckDB: no delivery must stay no rate, not 1.0)
    rate = f"(CASE WHEN {delivered} > 0 THEN least({read}::DOUBLE / {delivered}, 1.0) END)"
    return EngagementSql(
        reads=reads,
        read_rate=f"(CASE WHEN {reads} = 'visible' THEN {rate} END)",
        level=(
            f"(CASE WHEN {delivered} = 0 AND {responded} = 0 THEN NULL"
            f" WHEN {responded} > 0 THEN 'engaged'"
            f" WHEN {reads} <> 'visible' THEN 'unknown'"
            f" WHEN {rate} >= {ENGAGED_READ_RATE} THEN 'engaged'"
            " ELSE 'unengaged' END)"
        ),
    )


def capabilities() -> pd.DataFrame:
    """The capability table's read facts as a frame to join on: ``channel, observable, hideable``."""
    return pd.DataFrame(
        [(c.name, c.reads_observable, c.reads_hideable) for c in CHANNELS.values()],
        columns=["channel", "observable", "hideable"],
    )


def per_channel_sql(*, since: datetime, until: datetime) -> EngagementSql:
    """The rule over message rows ``m`` grouped with their channel's ``capabilities()`` row ``c``
    (``... FROM m_rows m LEFT JOIN caps c ON c.channel = m.channel GROUP BY ...``)."""
    return engagement_sql(
        type_column="m.type",
        ts_column="m.ts",
        since=since,
        until=until,
        observable="any_value(c.observable)",
        hideable="any_value(c.hideable)",
    )
