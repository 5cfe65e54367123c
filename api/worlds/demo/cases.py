"""Labelled hard cases: people who look like one person but are not, in the first chunk.

A family tablet logged into two customer accounts, twins at one address,
several people with the same common name in one city, a phone number
recycled to another person, and placeholder email / phone values shared by
unrelated customers. ``DemoWorld.hard_cases`` names the true ids of each;
they must stay distinct persons.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

import phonenumbers

from api.worlds.demo import noise
from api.worlds.demo.chunk import Chunk
from api.worlds.demo.life import life
from api.worlds.demo.messaging import contact_row
from api.worlds.demo.touchpoints import USER_AGENTS, session_row
from api.worlds.demo.world import WORLD_NOW

__all__ = ["PLACEHOLDER_EMAIL", "PLACEHOLDER_PHONE", "hard_cases_block"]

PLACEHOLDER_EMAIL = "noemail@example.com"
PLACEHOLDER_PHONE = "+44 20 7946 0000"


@lru_cache(maxsize=1)
def _placeholder_e164() -> str:
    return phonenumbers.format_number(
        phonenumbers.parse(PLACEHOLDER_PHONE, "GB"), phonenumbers.PhoneNumberFormat.E164
    )


def hard_cases_block(c: Chunk, next_index: int) -> int:
    """Adds the labelled hard cases from person ``next_index``; returns the next free index."""
    d = c.draws
    people = c.people
    i = next_index
    # 1. A family tablet: two customers log into their own accounts on one device.
    a = people.person(i, overrides={"is_customer": True, "locale": "en_GB"})
    b = people.person(
        i + 1,
        overrides={
            "is_customer": True,
            "last": a.last,
            "last_native": a.last_native,
            "street": a.street,
            "city": a.city,
            "postcode": a.postcode,
            "home_ip": a.home_ip,
            "locale": a.locale,
        },
    )
    household = f"H{d.chunk:03d}0001"
    for p in (a, b):
        life(c, p)
    tablet = d.uuid()
    c.add(
        "app",
        {
            "device_id": tablet,
            "first_seen": d.timestamp(days_back=300),
            "last_seen": WORLD_NOW,
            "ad_id": d.uuid(),
            "platform": "android",
            "ip": a.home_ip,
            "customer_id": None,
            "email": None,
            "phone": None,
        },
    )
    c.label("app", tablet, household)
    for owner, n in ((a, 4), (b, 3), (None, 5)):
        for _ in range(n):
            session_row(
                c,
                owner or a,
                true_id=owner.true_id if owner else household,
                cookie_id=None,
                device_id=tablet,
                user_agent="TetherBankApp/5.2 (tablet)",
                login=owner.customer_ids[0] if owner else None,
                form="none",
            )
    c.hard_cases["family_tablet"] = [a.true_id, b.true_id, household]
    i += 2

    # 2. Twins at one address: same surname, birthday and home; own emails and phones.
    t1 = people.person(i, overrides={"is_customer": True, "locale": "en_GB"})
    t2 = people.person(
        i + 1,
        overrides={
            "is_customer": True,
            "last": t1.last,
            "last_native": t1.last_native,
            "dob": t1.dob,
            "street": t1.street,
            "city": t1.city,
            "postcode": t1.postcode,
            "home_ip": t1.home_ip,
            "locale": t1.locale,
            "gender": t1.gender,
        },
    )
    if t2.first == t1.first:
        t2.first = "oliver" if t1.first != "oliver" else "harry"
    for p in (t1, t2):
        life(c, p, contact=True)
        # both fill in a checkout form: name, postcode, city agree
        for _ in range(2):
            session_row(
                c,
                p,
                true_id=p.true_id,
                cookie_id=d.uuid(),
                device_id=None,
                user_agent=d.pick(USER_AGENTS),
                login=None,
                form="checkout",
            )
    c.hard_cases["twins"] = [t1.true_id, t2.true_id]
    i += 2

    # 3. Five people with the same common name in one city.
    common = []
    for k in range(5):
        p = people.person(
            i + k,
            overrides={
                "is_customer": k < 3,
                "locale": "en_GB",
                "first": "james",
                "first_native": "James",
                "last": "smith",
                "last_native": "Smith",
                "gender": "M",
                "city": "London",
            },
        )
        life(c, p, contact=True)
        session_row(
            c,
            p,
            true_id=p.true_id,
            cookie_id=d.uuid(),
            device_id=None,
            user_agent=d.pick(USER_AGENTS),
            login=None,
            form="checkout",
        )
        common.append(p.true_id)
    c.hard_cases["same_name_same_city"] = common
    i += 5

    # 4. A phone number recycled: the old owner's CRM row still has it.
    new_owner = people.person(i, overrides={"is_customer": True})
    old_owner = people.person(
        i + 1,
        overrides={"is_customer": True, "locale": new_owner.locale},
    )
    life(c, new_owner, contact=False)
    life(c, old_owner, contact=False)
    recycled = new_owner.phone
    customer_id = d.new_id("C")
    c.add(
        "crm",
        {
            "customer_id": customer_id,
            "email": old_owner.email,
            "phone": noise.phone_variant(d, recycled),
            "first_name": old_owner.first.title(),
            "last_name": old_owner.last.title(),
            "date_of_birth": old_owner.dob.isoformat(),
            "gender": old_owner.gender,
            "address": old_owner.street,
            "city": old_owner.city,
            "postcode": old_owner.postcode,
            "country": old_owner.country,
            "created_at": WORLD_NOW - timedelta(days=2900),
        },
    )
    c.label("crm", customer_id, old_owner.true_id)
    contact_row(c, new_owner, phone=recycled, channel="whatsapp")
    c.hard_cases["recycled_phone"] = [new_owner.true_id, old_owner.true_id]
    i += 2

    # 5. Placeholder email and phone typed by unrelated customers.
    placeholders = []
    for k in range(6):
        p = people.person(i + k, overrides={"is_customer": True, "locale": "en_GB"})
        p.email = PLACEHOLDER_EMAIL if k % 2 == 0 else p.email
        p.phone = _placeholder_e164() if k % 2 == 1 else p.phone
        life(c, p, contact=False)
        placeholders.append(p.true_id)
    c.hard_cases["placeholder_identifiers"] = placeholders
    i += 6
    return i
