"""Noise: how one true value is typed in many ways across sources.

Nicknames, typos, case and spacing, gmail dots and plus-tags, national and
international phone formats, dates in several formats. Each function takes
the chunk's ``Draws`` first and draws from it in a fixed order.
"""

from __future__ import annotations

import string
from datetime import date

import numpy as np
import phonenumbers

from api.worlds.demo.draws import Draws
from api.worlds.demo.names import nicknamer
from api.worlds.demo.people import Person

__all__ = [
    "cased",
    "dob_slip",
    "dob_variant",
    "email_variant",
    "first_name_variant",
    "last_name_variant",
    "phone_variant",
    "postcode_variant",
    "typo",
]


def typo(d: Draws, text: str) -> str:
    """``text`` with one slip: two letters swapped, one dropped or one replaced."""
    if len(text) < 3:
        return text
    i = int(d.rng.integers(1, len(text) - 1))
    op = int(d.rng.integers(3))
    if op == 0:  # swap
        return text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :]
    if op == 1:  # drop
        return text[:i] + text[i + 1 :]
    return text[:i] + str(d.pick(list(string.ascii_lowercase))) + text[i + 1 :]


def cased(d: Draws, text: str) -> str:
    """``text`` in title, upper or lower case, or padded with spaces."""
    r = d.rng.random()
    if r < 0.6:
        return text.title()
    if r < 0.75:
        return text.upper()
    if r < 0.9:
        return text.lower()
    return f"  {text.title()} "


def first_name_variant(d: Draws, p: Person) -> str:
    """``p``'s first name as typed on a form: sometimes a nickname or a typo."""
    name = p.first
    if p.locale in ("en_GB", "en_US") and d.chance(0.12):
        nicks = sorted(nicknamer().nicknames_of(name))
        if nicks:
            name = d.pick(nicks)
    if d.chance(0.06):
        name = typo(d, name)
    return cased(d, name)


def last_name_variant(d: Draws, p: Person) -> str:
    """``p``'s surname as typed on a form: sometimes with a typo."""
    name = typo(d, p.last) if d.chance(0.05) else p.last
    return cased(d, name)


def email_variant(d: Draws, email: str, *, typed: bool) -> str:
    """``email`` as a source holds it; ``typed`` by the person, it may carry gmail tricks."""
    local, _, domain = email.partition("@")
    if domain == "gmail.com" and typed:
        r = d.rng.random()
        if r < 0.15:
            local = f"{local}+{d.pick(['news', 'shop', 'bank', 'promo'])}"
        elif r < 0.3 and "." not in local and len(local) > 3:
            cut = int(d.rng.integers(1, len(local) - 1))
            local = f"{local[:cut]}.{local[cut:]}"
    out = f"{local}@{domain}"
    r = d.rng.random()
    if r < 0.15:
        out = out.upper() if d.chance(0.3) else out[:1].upper() + out[1:]
    elif r < 0.25:
        out = f" {out} "
    return out


def phone_variant(d: Draws, e164: str) -> str:
    """``e164`` written nationally, internationally, with 00 or dashes, or as is."""
    number = phonenumbers.parse(e164, None)
    r = d.rng.random()
    if r < 0.3:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    if r < 0.55:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    if r < 0.65:
        return "00" + e164[1:]
    if r < 0.75:
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        return national.replace(" ", "-")
    return e164


def dob_variant(d: Draws, dob: date, country: str) -> str:
    """A date of birth in ISO, the country's slashed order, dotted or with a month name."""
    r = d.rng.random()
    if r < 0.45:
        return dob.isoformat()
    if r < 0.75:
        return dob.strftime("%m/%d/%Y" if country == "US" else "%d/%m/%Y")
    if r < 0.85:
        return dob.strftime("%d.%m.%Y")
    return dob.strftime("%d %b %Y")


def postcode_variant(d: Draws, postcode: str) -> str:
    """``postcode`` without its space, in lower case, or as is."""
    r = d.rng.random()
    if r < 0.2:
        return postcode.replace(" ", "")
    if r < 0.3:
        return postcode.lower()
    return postcode


def dob_slip(dob: date, rng: np.random.Generator) -> date:
    """A date of birth typed with a slip: day and month swapped, or a digit off."""
    if rng.random() < 0.5 and dob.day <= 12 and dob.day != dob.month:
        return dob.replace(month=dob.day, day=dob.month)
    try:
        return dob.replace(day=dob.day + 1 if dob.day < 28 else dob.day - 1)
    except ValueError:  # pragma: no cover - replace() stays in range above
        return dob
