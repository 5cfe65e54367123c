"""People: who they are, where they live, and the email and phone each one owns.

People live in households (one home address and home IP, often one
surname). Two people of one world never share an email mailbox or a phone
number by accident: only the labelled hard cases do, on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import Any

import numpy as np
import phonenumbers
from anyascii import anyascii

from api.worlds.demo.draws import Draws
from api.worlds.demo.names import LOCALES, nicknamer, pools
from resolver.normalize import fold_email

__all__ = ["People", "Person"]

_EMAIL_DOMAINS = {
    "GB": ["gmail.com", "hotmail.co.uk", "outlook.com", "yahoo.co.uk", "btinternet.com"],
    "US": ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com"],
    "IL": ["gmail.com", "walla.co.il", "hotmail.com", "012.net.il"],
    "RU": ["gmail.com", "mail.ru", "yandex.ru", "rambler.ru"],
    "DE": ["gmail.com", "web.de", "gmx.de", "t-online.de"],
    "ES": ["gmail.com", "hotmail.es", "yahoo.es", "telefonica.net"],
}
_OFFICE_IPS = ["203.0.113.10", "203.0.113.77", "198.51.100.5"]


@dataclass(slots=True)
class Person:
    """One true person: the truth their records are noisy copies of."""

    true_id: str
    country: str
    locale: str
    first: str
    last: str
    first_native: str
    last_native: str
    gender: str
    dob: date
    street: str
    city: str
    postcode: str
    email: str
    phone: str
    is_customer: bool
    home_ip: str
    office_ip: str | None = None
    customer_ids: list[str] = field(default_factory=list)
    extra_phone_owner: bool = False


@cache
def _mobile_template(region: str) -> tuple[str, int]:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:  # pragma: no cover - every demo region has an example
        raise ValueError(f"no example mobile number for {region}")
    return str(example.national_number), int(example.country_code or 0)


class People:
    """Draws people one by one, filling households and handing out unique emails and phones."""

    def __init__(self, *, draws: Draws, used_emails: set[str], used_phones: set[str]) -> None:
        self.draws = draws
        # Shared by every chunk of one world: two people never share an email
        # or a phone by accident (only the labelled hard cases do, on purpose).
        self.used_emails = used_emails
        self.used_phones = used_phones
        self.household: dict[str, Any] = {}
        self.household_left = 0

    def person(self, index: int, *, overrides: dict[str, Any] | None = None) -> Person:
        """Person number ``index``; with ``overrides``, a hard case's person (no household)."""
        d = self.draws
        overrides = dict(overrides or {})
        weights = np.array([w for _, _, w in LOCALES])
        locale, country, _ = LOCALES[int(d.rng.choice(len(LOCALES), p=weights / weights.sum()))]
        if "locale" in overrides:
            locale = overrides.pop("locale")
            country = next(c for loc, c, _ in LOCALES if loc == locale)
            overrides.pop("country", None)
        pool = pools(locale)
        gender = "F" if d.chance(0.5) else "M"
        first, first_native = d.zipf_pick(
            pool.first_f if gender == "F" else pool.first_m, offset=20.0
        )
        last, last_native = d.zipf_pick(pool.last)
        street, city, postcode = self.address(locale)
        dob = date(1940, 1, 1) + timedelta(days=int(d.rng.integers(0, 365 * 66)))
        person = Person(
            true_id=f"T{index:08d}",
            country=country,
            locale=locale,
            first=first,
            last=last,
            first_native=first_native,
            last_native=last_native,
            gender=gender,
            dob=dob,
            street=street,
            city=city,
            postcode=postcode,
            email="",
            phone="",
            is_customer=d.chance(0.42),
            home_ip=d.ip(),
            office_ip=d.pick(_OFFICE_IPS) if d.chance(0.05) else None,
        )
        if not overrides:
            self._join_household(person)
        for key, value in overrides.items():
            setattr(person, key, value)
        if not person.email:
            person.email = self.unique_email(person)
        if not person.phone:
            person.phone = self.unique_phone(person.country)
        return person

    def _join_household(self, person: Person) -> None:
        """People live in households: one home (address, home IP), often one surname."""
        d = self.draws
        if self.household_left == 0:
            size = int(d.rng.choice([1, 2, 3, 4], p=[0.32, 0.36, 0.16, 0.16]))
            self.household = {
                "names": {person.first},
                "head_first": (person.first, person.first_native, person.gender),
                "locale": person.locale,
                "country": person.country,
                "last": person.last,
                "last_native": person.last_native,
                "street": person.street,
                "city": person.city,
                "postcode": person.postcode,
                "home_ip": person.home_ip,
            }
            self.household_left = size - 1
            return
        self.household_left -= 1
        home = self.household
        pool = pools(home["locale"])
        person.locale, person.country = home["locale"], home["country"]
        head_first, head_native, head_gender = home["head_first"]
        if person.gender == head_gender == "M" and d.chance(0.01):  # Jr. and Sr.
            person.first, person.first_native = head_first, head_native
        else:  # one household, one name pool, and relatives have names of their own
            while True:
                person.first, person.first_native = d.zipf_pick(
                    pool.first_f if person.gender == "F" else pool.first_m, offset=20.0
                )
                if person.first not in home["names"] and not (
                    set(nicknamer().canonicals_of(person.first)) & home["names"]
                ):
                    break
        home["names"].add(person.first)
        if d.chance(0.75):
            person.last, person.last_native = home["last"], home["last_native"]
        person.street, person.city, person.postcode = home["street"], home["city"], home["postcode"]
        person.home_ip = home["home_ip"]

    def address(self, locale: str) -> tuple[str, str, str]:
        """A (street, city, postcode) of ``locale``: big cities hold more people."""
        pool = pools(locale)
        street, postcode = self.draws.pick(pool.streets)
        return street, self.draws.zipf_pick(pool.cities, offset=3.0), postcode

    def unique_email(self, p: Person) -> str:
        """An address made of ``p``'s name whose mailbox nobody else in the world owns."""
        d = self.draws
        first = anyascii(p.first).lower().replace(" ", "")
        last = anyascii(p.last).lower().replace(" ", "")
        domain = d.pick(_EMAIL_DOMAINS[p.country])
        for attempt in range(100):
            style = int(d.rng.integers(5))
            num = str(int(d.rng.integers(1, 9999))) if attempt or style > 2 else ""
            user = [f"{first}.{last}", f"{first}{last}", f"{first[0]}{last}", f"{first}_{last}"][
                style % 4
            ] + num
            if style == 4:
                user = f"{last}.{first}{int(p.dob.year) % 100:02d}"
            email = f"{user}@{domain}"
            # Gmail ignores dots and plus-tags: first.last@ and firstlast@ are one
            # mailbox and cannot belong to two people.
            mailbox = fold_email(email)
            if mailbox not in self.used_emails:
                self.used_emails.add(mailbox)
                return email
        raise AssertionError("could not draw a unique email")  # pragma: no cover

    def unique_phone(self, country: str) -> str:
        """A valid mobile number of ``country`` (E.164) that nobody else in the world owns."""
        template, _code = _mobile_template(country)
        for _ in range(200):
            keep = max(2, len(template) - 7)
            digits = template[:keep] + "".join(
                str(d) for d in self.draws.rng.integers(0, 10, size=len(template) - keep)
            )
            number = phonenumbers.parse(digits, country)
            if phonenumbers.is_valid_number(number):
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                if e164 not in self.used_phones:
                    self.used_phones.add(e164)
                    return e164
        raise AssertionError("could not draw a unique phone")  # pragma: no cover
