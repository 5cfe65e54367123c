"""Touchpoints: CRM customer rows, web sessions and app devices of one person.

Most touchpoints are web sessions carrying only a cookie id, an IP and a
user agent; some are logged in, some carry a typed newsletter email, a few a
checkout form with name, email, phone and postcode. People browse from home,
the office or a mobile carrier's NAT address shared by thousands, and use
one to three browsers whose cookies churn. App devices carry advertising
ids; in-app sessions carry the device id. CRM customers have some duplicate
rows (nickname, typo, an old email or address).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from api.worlds.demo import noise
from api.worlds.demo.activity import page_views
from api.worlds.demo.chunk import Chunk
from api.worlds.demo.consents import consent_rows
from api.worlds.demo.people import Person
from api.worlds.demo.world import WORLD_NOW

__all__ = [
    "USER_AGENTS",
    "Form",
    "cookie_sessions",
    "customer_row",
    "device_row",
    "session_row",
    "web_activity",
]

#: Browser user agents: platform x browser x version, as a site's logs show them.
USER_AGENTS = [
    template.format(v=version)
    for template in (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/{v}.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/{v}.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Chrome/{v}.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15 Version/{v}",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148 CriOS/{v}.0",
        "Mozilla/5.0 (Linux; Android 15; Pixel 8) Chrome/{v}.0 Mobile",
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) Chrome/{v}.0 Mobile",
        "Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
    )
    for version in ("127", "128", "129", "130", "131")
]

#: What a web session's visitor typed: nothing, a newsletter email, or a checkout form.
Form = Literal["none", "newsletter", "checkout"]


def customer_row(c: Chunk, p: Person, *, duplicate: bool = False) -> str:
    """A CRM row of ``p`` (a ``duplicate`` one has a nickname, an older email or address)."""
    d = c.draws
    customer_id = d.new_id("C")
    p.customer_ids.append(customer_id)
    email = p.email
    phone: str | None = p.phone
    first = noise.first_name_variant(d, p) if duplicate else noise.cased(d, p.first)
    if duplicate:
        if d.chance(0.5):
            email = noise.email_variant(d, p.email, typed=True)
        elif d.chance(0.6):
            email = c.people.unique_email(p)  # an older address
        if d.chance(0.4):
            phone = None
    if d.chance(0.12) and not duplicate:
        phone = None
    true_dob = p.dob
    if duplicate and d.chance(0.15):  # a typed date of birth with a slip
        true_dob = noise.dob_slip(p.dob, d.rng)
    dob: str | None = noise.dob_variant(d, true_dob, p.country) if not d.chance(0.08) else None
    street, city, postcode = p.street, p.city, p.postcode
    if duplicate and d.chance(0.3):  # the duplicate holds an old address
        street, city, postcode = c.people.address(p.locale)
    c.add(
        "crm",
        {
            "customer_id": customer_id,
            "email": noise.email_variant(d, email, typed=False),
            "phone": noise.phone_variant(d, phone) if phone else None,
            "first_name": (("Mr " if p.gender == "M" else "Mrs ") + first)
            if d.chance(0.05)
            else first,
            "last_name": noise.cased(d, p.last),
            "date_of_birth": dob,
            "gender": p.gender,
            "address": street,
            "city": city,
            "postcode": noise.postcode_variant(d, postcode),
            "country": p.country,
            "created_at": (WORLD_NOW - timedelta(days=int(d.rng.integers(30, 3000)))),
        },
    )
    c.label("crm", customer_id, p.true_id)
    return customer_id


def session_row(
    c: Chunk,
    p: Person,
    *,
    true_id: str,
    cookie_id: str | None,
    device_id: str | None,
    user_agent: str,
    login: str | None,
    form: Form,
) -> str:
    """One web or in-app session of ``p`` (labelled ``true_id``), with its page views."""
    d = c.draws
    session_id = d.new_id("S")
    ip = p.home_ip
    if p.office_ip and d.chance(0.35):
        ip = p.office_ip
    elif d.chance(0.3):
        ip = d.carrier_ip(p.country)
    row: dict[str, Any] = {
        "session_id": session_id,
        "started_at": d.timestamp(),
        "cookie_id": cookie_id,
        "device_id": device_id,
        "ip": ip,
        "user_agent": user_agent,
        "customer_id": login,
        "email": None,
        "phone": None,
        "first_name": None,
        "last_name": None,
        "postcode": None,
        "city": None,
        "country": None,
        "gpc": d.chance(0.04),
    }
    if form == "newsletter":
        email = noise.typo(d, p.email) if d.chance(0.02) else p.email
        row["email"] = noise.email_variant(d, email, typed=True)
    elif form == "checkout":
        row["first_name"] = noise.first_name_variant(d, p)
        row["last_name"] = noise.last_name_variant(d, p)
        row["email"] = noise.email_variant(d, p.email, typed=True) if d.chance(0.7) else None
        row["phone"] = noise.phone_variant(d, p.phone) if d.chance(0.5) else None
        street, city, postcode = p.street, p.city, p.postcode
        if d.chance(0.1):  # moved house since the CRM row was written
            street, city, postcode = c.people.address(p.locale)
        row["postcode"] = noise.postcode_variant(d, postcode)
        row["city"] = city
        row["country"] = p.country
    c.add("web", row)
    c.label("web", session_id, true_id)
    page_views(
        c,
        subject_type="cookie" if cookie_id else "device",
        subject_id=cookie_id or device_id or "",
        session=row,
    )
    return session_id


def web_activity(c: Chunk, p: Person, *, device_id: str | None) -> None:
    """Every web session of ``p``: browsers, their cookies, and in-app sessions on the device.

    A person uses one to three browsers; each browser holds one to four
    cookies over time (cookies cleared, or capped at 7 days by Safari's ITP),
    all with the browser's user agent.
    """
    d = c.draws
    n_browsers = 1 + min(int(d.rng.geometric(0.6)) - 1, 2)
    for _ in range(n_browsers):
        user_agent = d.pick(USER_AGENTS)
        logs_in = bool(p.customer_ids) and d.chance(0.5)
        for _ in range(1 + min(int(d.rng.geometric(0.6)) - 1, 3)):
            cookie_sessions(c, p, user_agent=user_agent, logs_in=logs_in)
    if device_id:
        for _ in range(int(d.rng.poisson(1.5))):
            session_row(
                c,
                p,
                true_id=p.true_id,
                cookie_id=None,
                device_id=device_id,
                user_agent="TetherBankApp/5.2",
                login=p.customer_ids[0] if p.customer_ids and d.chance(0.3) else None,
                form="newsletter" if d.chance(0.03) else "none",
            )


def cookie_sessions(c: Chunk, p: Person, *, user_agent: str, logs_in: bool) -> None:
    """One cookie's consent and sessions.

    Most cookies identify themselves at least once (a login, a newsletter
    sign-up, a checkout, or a click-through from a campaign email carrying the
    address); about 15 % never do.
    """
    d = c.draws
    cookie_id = d.uuid()
    consent_rows(c, subject_type="cookie", subject_id=cookie_id)
    n_sessions = 1 + int(d.rng.poisson(3.0))
    identifying = int(d.rng.integers(n_sessions)) if d.chance(0.85) else -1
    for k in range(n_sessions):
        login = p.customer_ids[0] if logs_in and d.chance(0.45) else None
        form = _form(c)
        if k == identifying and login is None and form == "none":
            if p.customer_ids and d.chance(0.5):
                login = p.customer_ids[0]
            else:
                form = "checkout" if d.chance(0.25) else "newsletter"
        session_row(
            c,
            p,
            true_id=p.true_id,
            cookie_id=cookie_id,
            device_id=None,
            user_agent=user_agent,
            login=login,
            form=form,
        )


def _form(c: Chunk) -> Form:
    r = c.draws.rng.random()
    if r < 0.07:
        return "newsletter"
    if r < 0.10:
        return "checkout"
    return "none"


def device_row(c: Chunk, p: Person) -> str:
    """An app install of ``p``, with its advertising id and consent."""
    d = c.draws
    device_id = d.uuid()
    platform = "ios" if d.chance(0.45) else "android"
    first_seen = d.timestamp(days_back=400)
    c.add(
        "app",
        {
            "device_id": device_id,
            "first_seen": first_seen,
            "last_seen": min(WORLD_NOW, first_seen + timedelta(days=int(d.rng.integers(1, 300)))),
            "ad_id": d.uuid().upper() if platform == "ios" else d.uuid(),
            "platform": platform,
            "ip": p.home_ip,
            "customer_id": p.customer_ids[0] if p.customer_ids and d.chance(0.6) else None,
            "email": noise.email_variant(d, p.email, typed=True) if d.chance(0.15) else None,
            "phone": noise.phone_variant(d, p.phone) if d.chance(0.1) else None,
        },
    )
    c.label("app", device_id, p.true_id)
    consent_rows(c, subject_type="device", subject_id=device_id)
    return device_id
