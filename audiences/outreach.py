"""Who a messaging channel lets the business reach, and how (issue #15).

A messaging destination (``whatsapp``, ``telegram``, ``viber``,
``messenger``) sends to contacts, not to hashed identifiers. Its rows come
from ``person_contacts`` (``audiences.contacts``): one per reachable contact
of an exported person on the destination's channel, with the address the
channel uses and whether the service window is open, and until when,
counted from the person's last message. A contact the channel's rule
forbids reaching is excluded and counted by reason (``EXCLUSIONS``); the
rule per channel is the capability table's ``business_initiated``
(``resolver.channels``, ``docs/messaging.md``):

- ``template_to_opted_in`` (WhatsApp): the contact gave the channel's
  opt-in (``channel_opt_in``, not later withdrawn); outside the window only
  an approved template may be sent (``message_kind``);
- ``user_started_bot`` (Telegram): the person started the bot (an opt-in
  event, or any message they sent it) and has not blocked it since;
- ``subscribed`` (Viber): subscribed (an opt-in event, or a message they
  sent, which subscribes them) and not unsubscribed;
- ``tagged_after_window`` (Messenger): inside the window only. Outside it
  only tagged or utility messages are allowed, and marketing is neither (a
  marketing-messages opt-in gives a notification token Tether does not
  hold), so a closed window is excluded.

The consent gate (``messaging_marketing``), holdout, deltas and the
manifest are the export machinery's, as for ad destinations.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from resolver.channels import CHANNELS

__all__ = ["EXCLUSIONS", "OUTREACH_COLUMNS", "outreach_rows"]

EXCLUSIONS = ("no_address", "opted_out", "not_opted_in", "window_closed")
"""Why a contact of an exported person is not written: no address the channel sends to;
opted out (blocked, unsubscribed); never opted in where the channel needs it; outside
the service window where only the window allows marketing."""

OUTREACH_COLUMNS = (
    "person_id",
    "channel",
    "contact_id",
    "address",
    "window_open",
    "window_until",
    "message_kind",
    "engagement",
)


def outreach_rows(
    contacts: pd.DataFrame, *, channel: str, as_of: datetime
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The reachable contacts of ``contacts`` on ``channel``, and the others counted by reason.

    ``contacts`` is ``person_contacts`` restricted to the persons being
    exported. Rows are sorted by person and contact id; ``window_until`` is
    an ISO UTC instant or empty; ``message_kind`` says what may be sent now
    (``free_form`` inside a window, ``template`` for WhatsApp outside it,
    ``bot_message`` for Telegram and Viber bots). A naive ``as_of`` is taken as UTC.
    """
    capability = CHANNELS[channel]
    mine = contacts[contacts["channel"] == channel].reset_index(drop=True)
    stamp = pd.Timestamp(as_of)
    moment = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    last = pd.to_datetime(mine["last_inbound_at"], utc=True)
    hours = capability.service_window_hours
    until = last + timedelta(hours=hours) if hours else pd.Series(pd.NaT, index=mine.index)
    window_open = (
        (until > moment).fillna(False).to_numpy(dtype=bool)
        if hours
        else np.zeros(len(mine), dtype=bool)
    )
    opted_in = mine["opted_in"].to_numpy(dtype=bool)
    opted_out = mine["opted_out"].to_numpy(dtype=bool)
    wrote = last.notna().to_numpy()
    rule = capability.business_initiated
    if rule == "template_to_opted_in":
        allowed, missing = opted_in, "not_opted_in"
    elif rule in ("user_started_bot", "subscribed"):
        allowed, missing = opted_in | wrote, "not_opted_in"
    elif rule == "tagged_after_window":
        allowed, missing = window_open, "window_closed"
    else:  # SMS (opted_in): the regulatory consent is the ledger's messaging_marketing
        allowed, missing = np.ones(len(mine), dtype=bool), "not_opted_in"
    no_address = mine["address"].isna().to_numpy()
    reasons = np.select(
        [no_address, opted_out, ~allowed], ["no_address", "opted_out", missing], default=""
    )
    excluded = {
        reason: int((reasons == reason).sum()) for reason in EXCLUSIONS if (reasons == reason).any()
    }
    keep = reasons == ""
    kinds = np.where(
        window_open,
        "free_form",
        "template"
        if rule == "template_to_opted_in"
        else "bot_message"
        if rule in ("user_started_bot", "subscribed")
        else "opted_in_marketing",
    )
    rows = pd.DataFrame(
        {
            "person_id": mine["person_id"].astype(str),
            "channel": channel,
            "contact_id": mine["contact_id"].astype(str),
            "address": mine["address"].astype(object),
            "window_open": window_open,
            "window_until": [
                t.isoformat() if window and t is not pd.NaT else None
                for t, window in zip(until, window_open, strict=True)
            ],
            "message_kind": kinds,
            "engagement": mine["engagement"].astype(object),
        }
    )[keep]
    rows = rows.sort_values(["person_id", "contact_id"], kind="stable").reset_index(drop=True)
    return rows[list(OUTREACH_COLUMNS)], excluded
