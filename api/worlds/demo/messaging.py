"""Messaging contacts: WhatsApp and Viber numbers, Telegram handles, Messenger display names.

Display names are in Latin, Hebrew or Cyrillic script; WhatsApp and Viber
export the international number, often without its "+". Each contact gets
its consent and the messages sent to it.
"""

from __future__ import annotations

from typing import Any

from anyascii import anyascii

from api.worlds.demo import noise
from api.worlds.demo.activity import message_events
from api.worlds.demo.chunk import Chunk
from api.worlds.demo.consents import consent_rows
from api.worlds.demo.people import Person

__all__ = ["contact_row"]


def contact_row(
    c: Chunk, p: Person, *, phone: str | None = None, channel: str | None = None
) -> str:
    """A messaging contact of ``p`` (on ``phone`` and ``channel`` when given); its id."""
    d = c.draws
    contact_id = d.new_id("M")
    r = d.rng.random()
    channel = channel or (
        "whatsapp" if r < 0.4 else "viber" if r < 0.55 else "telegram" if r < 0.8 else "messenger"
    )
    phone = phone or p.phone
    native = p.locale in ("he_IL", "ru_RU") and d.chance(0.6)
    first, last = (p.first_native, p.last_native) if native else (p.first, p.last)
    shape = d.rng.random()
    if shape < 0.6:
        display: str | None = f"{first} {last}"
    elif shape < 0.8:
        display = first
    elif shape < 0.9:
        display = f"{first} {last[:1]}."
    else:
        display = None
    if not native and display:
        display = noise.cased(d, display).strip()
    row: dict[str, Any] = {
        "contact_id": contact_id,
        "channel": channel,
        "phone": None,
        "handle": None,
        "display_name": display,
        "email": None,
        "customer_id": p.customer_ids[0] if p.customer_ids and d.chance(0.1) else None,
    }
    if channel in ("whatsapp", "viber"):
        # WhatsApp and Viber identify users by the international number:
        # exported as digits without "+", sometimes with it.
        row["phone"] = phone.lstrip("+") if d.chance(0.7) else phone
    elif channel == "telegram":
        row["handle"] = "@" + anyascii(p.first).lower() + str(int(d.rng.integers(10, 999)))
        row["phone"] = noise.phone_variant(d, phone) if d.chance(0.3) else None
    else:
        row["display_name"] = display or f"{first} {last}"
        row["email"] = noise.email_variant(d, p.email, typed=True) if d.chance(0.1) else None
    c.add("messaging", row)
    c.label("messaging", contact_id, p.true_id)
    consent_rows(c, subject_type="contact", subject_id=contact_id)
    message_events(c, contact_id=contact_id, channel=channel)
    return contact_id
