"""One person's life in the data: every record they leave behind, in the order drawn."""

from __future__ import annotations

from api.worlds.demo.activity import interactions_for
from api.worlds.demo.chunk import Chunk
from api.worlds.demo.messaging import contact_row
from api.worlds.demo.people import Person
from api.worlds.demo.touchpoints import customer_row, device_row, web_activity

__all__ = ["life"]


def life(c: Chunk, p: Person, *, contact: bool | None = None) -> None:
    """Every record ``p`` leaves: CRM rows and interactions, app, web, and maybe a contact.

    ``contact`` forces a messaging contact (True) or none (False); by default
    a bank's messaging channels are used mostly by its customers.
    """
    d = c.draws
    if p.is_customer:
        customer_row(c, p)
        if d.chance(0.04):
            customer_row(c, p, duplicate=True)
        interactions_for(c, p)
    device_id = device_row(c, p) if d.chance(0.45) else None
    web_activity(c, p, device_id=device_id)
    if contact if contact is not None else d.chance(0.65 if p.is_customer else 0.3):
        contact_row(c, p)
