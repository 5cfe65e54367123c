"""People and households: who they are, and every way their details get written down.

A chunk's population is made household by household. Each household has a
locale, a home (city, street, postcode) and a dynamic home IP; members are a
head, often a spouse (who may take the other's surname, keep her own, or
double-barrel it; in Israel some couples mix Hebrew and Russian-speaking
backgrounds), children and sometimes flatmates. Each person gets a name from
the heavy-tailed pools, a date of birth, a mobile number (some changed it
during the window), email addresses (some have an old or a work one), and an
activity plan: whether they are a customer, how many duplicate CRM rows the
business made for them, loyalty membership, web sessions, app installs and
messaging channels.

The second half of the module renders a person's fields the way a given
system writes them: names in one of their scripts and spellings, nicknames,
initials, typos; phones in national or international formats; dates of birth
in the country's order; postcodes full, partial or missing; cities in any of
their spellings.
"""

from __future__ import annotations

import bisect
import itertools
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from typing import TypeVar

import numpy as np
import phonenumbers

from api.worlds.demo.world import WORLD_NOW
from api.worlds.harder.ids import permute, permute_int
from api.worlds.harder.names import Name, Short, locale_pools
from api.worlds.harder.noise import FastRandom, case_variant, typo
from api.worlds.harder.places import (
    COUNTRY_OF_LOCALE,
    City,
    Street,
    cities,
    city_weights,
    kind_latin,
    streets,
)

__all__ = [
    "CALLING_CODE",
    "LOCALE_SHARES",
    "Factory",
    "Household",
    "Person",
    "Phone",
    "address_text",
    "city_text",
    "dob_text",
    "first_name_text",
    "last_name_text",
    "mailbox",
    "postcode_text",
    "row_script",
]

#: Share of each locale in the population (the first users are Israeli and Russian-speaking).
LOCALE_SHARES = {"he": 0.34, "ar": 0.08, "ru_il": 0.13, "ru": 0.12, "ua": 0.05, "gb": 0.15, "us": 0.13}  # fmt: skip
_COUNTRY_INDEX = {"IL": 0, "RU": 1, "UA": 2, "GB": 3, "US": 4}
CALLING_CODE = {"IL": "972", "RU": "7", "UA": "380", "GB": "44", "US": "1"}
#: Ages are counted on the world's clock (``api.worlds.demo.WORLD_NOW``).
REFERENCE_DAY = WORLD_NOW.date()

_HOUSEHOLD_SIZES = {
    "he": (0.28, 0.32, 0.18, 0.14, 0.08), "ar": (0.12, 0.20, 0.20, 0.25, 0.23),
    "ru_il": (0.35, 0.35, 0.20, 0.08, 0.02), "ru": (0.35, 0.35, 0.20, 0.08, 0.02),
    "ua": (0.35, 0.35, 0.20, 0.08, 0.02), "gb": (0.33, 0.36, 0.16, 0.11, 0.04),
    "us": (0.33, 0.36, 0.16, 0.11, 0.04),
}  # fmt: skip
#: A married woman takes her husband's surname / double-barrels it (else keeps her own).
_TAKES_NAME = {"he": (0.72, 0.10), "ar": (0.45, 0.0), "ru_il": (0.80, 0.03), "ru": (0.82, 0.02),
               "ua": (0.82, 0.02), "gb": (0.72, 0.06), "us": (0.72, 0.06)}  # fmt: skip
_CHANNELS = {
    "he": (("whatsapp", 0.85), ("telegram", 0.10), ("messenger", 0.05)),
    "ar": (("whatsapp", 0.85), ("messenger", 0.10), ("telegram", 0.05)),
    "ru_il": (("whatsapp", 0.60), ("telegram", 0.35), ("viber", 0.05)),
    "ru": (("telegram", 0.55), ("whatsapp", 0.35), ("viber", 0.10)),
    "ua": (("telegram", 0.45), ("viber", 0.40), ("whatsapp", 0.15)),
    "gb": (("whatsapp", 0.75), ("messenger", 0.25)),
    "us": (("messenger", 0.55), ("whatsapp", 0.45)),
}
_EMAIL_DOMAINS = {
    "he": (("gmail.com", 60), ("walla.co.il", 12), ("hotmail.com", 8), ("yahoo.com", 5),
           ("012.net.il", 3), ("bezeqint.net", 4), ("netvision.net.il", 3), ("outlook.com", 5)),
    "ar": (("gmail.com", 70), ("hotmail.com", 15), ("walla.co.il", 7), ("yahoo.com", 8)),
    "ru_il": (("gmail.com", 60), ("walla.co.il", 6), ("mail.ru", 14), ("yandex.ru", 8),
              ("hotmail.com", 6), ("bezeqint.net", 3), ("012.net.il", 3)),
    "ru": (("mail.ru", 35), ("yandex.ru", 25), ("gmail.com", 25), ("bk.ru", 4), ("inbox.ru", 3),
           ("list.ru", 3), ("rambler.ru", 3), ("ya.ru", 2)),
    "ua": (("gmail.com", 45), ("ukr.net", 30), ("i.ua", 8), ("meta.ua", 4), ("mail.ru", 8),
           ("yandex.ru", 5)),
    "gb": (("gmail.com", 45), ("hotmail.co.uk", 15), ("yahoo.co.uk", 8), ("outlook.com", 10),
           ("btinternet.com", 7), ("sky.com", 5), ("icloud.com", 7), ("live.co.uk", 3)),
    "us": (("gmail.com", 50), ("yahoo.com", 15), ("hotmail.com", 8), ("aol.com", 6),
           ("outlook.com", 8), ("icloud.com", 9), ("comcast.net", 4)),
}  # fmt: skip
#: Old addresses: the same free-mail providers plus the ones people used to have.
_OLD_DOMAINS = {k: (*v, ("hotmail.com", 20), ("yahoo.com", 10)) for k, v in _EMAIL_DOMAINS.items()}
_WORK_DOMAINS = {
    "IL": ("orbit-tech.co.il", "galil-systems.com", "negev-energy.co.il", "shaked-law.co.il",
           "carmel-med.org.il", "tlv-fintech.com", "hadar-insurance.co.il", "gov.il"),
    "RU": ("volga-logistics.ru", "sibtek.ru", "nevaprom.ru", "uralstal.ru", "mosstroy.ru"),
    "UA": ("dnipro-agro.com.ua", "kyivsoft.ua", "lviv-it.com"),
    "GB": ("thames-consulting.co.uk", "northbridge.co.uk", "nhs.net", "pennine-homes.co.uk"),
    "US": ("acme-logistics.com", "lakeshore-health.org", "bluepeak.io", "hudson-partners.com"),
}  # fmt: skip
_HANDLE_WORDS = (
    "sunny", "kotik", "zaika", "dimon", "tiger", "angel", "moon", "star", "boss", "king", "lucky",
    "happy", "dream", "shadow", "rocket", "pixel", "smile", "cool", "sweet", "wolf", "fox",
    "panda", "bunny", "storm", "ocean", "mango", "coffee", "lion", "bear", "kitty",
)  # fmt: skip


T = TypeVar("T")


@cache
def _cumulative(weights: tuple[float, ...]) -> tuple[float, ...]:
    """Cumulative weights (cached per weight tuple)."""
    return tuple(itertools.accumulate(weights))


def pick(rnd: random.Random, items: Sequence[T], weights: tuple[float, ...]) -> T:
    """One of ``items`` drawn by ``weights`` (cumulative sums cached: this runs millions of times)."""
    cum = _cumulative(weights)
    return items[bisect.bisect_right(cum, rnd.random() * cum[-1])]


@cache
def _split(options: tuple[tuple[str, float], ...]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Names and weights of ``(name, weight)`` options (cached)."""
    return tuple(o for o, _ in options), tuple(w for _, w in options)


@cache
def _cities(country: str) -> tuple[City, ...]:
    """``places.cities`` cached (it is called for every household)."""
    return cities(country)


@cache
def _city_weights(locale: str) -> tuple[float, ...]:
    """``places.city_weights`` as a cached tuple."""
    return tuple(city_weights(locale).tolist())


@dataclass(frozen=True, slots=True)
class Phone:
    """A telephone number: country and national significant number (no trunk prefix)."""

    country: str
    national: str
    mobile: bool = True

    @property
    def e164(self) -> str:
        """``+972541234567``."""
        return f"+{CALLING_CODE[self.country]}{self.national}"

    @property
    def intl_digits(self) -> str:
        """``972541234567`` (WhatsApp and Viber ids)."""
        return f"{CALLING_CODE[self.country]}{self.national}"

    def written(self, rnd: random.Random, *, style: str) -> str:
        """The number as a person or a system writes it (``style``: national, form, e164)."""
        if style == "e164":
            return self.e164
        formats = _phone_formats(self)
        if style == "national":
            return formats[0] if rnd.random() < 0.55 else rnd.choice(formats[:4])
        return rnd.choice(formats)


def _phone_formats(phone: Phone) -> list[str]:
    """Ways to write ``phone``: the country's usual national forms first, then international ones."""
    n = phone.national
    if phone.country == "IL":
        if phone.mobile:
            a, b = n[:2], n[2:]
            return [f"0{a}-{b}", f"0{a}{b}", f"0{a}-{b[:3]}-{b[3:]}", f"0{a} {b[:3]} {b[3:]}",
                    f"+972 {a}-{b[:3]}-{b[3:]}", f"+972{n}", f"+972-{a}-{b}", f"({'0' + a}) {b}",
                    f"{n}", f"+972 (0){a} {b[:3]} {b[3:]}", f"972{n}"]  # fmt: skip
        a, b = n[:1], n[1:]
        return [f"0{a}-{b}", f"0{a}{b}", f"0{a}-{b[:3]}-{b[3:]}", f"+972 {a}-{b}", f"+972{n}"]
    if phone.country == "RU":
        a, b = n[:3], n[3:]
        pretty = f"{b[:3]}-{b[3:5]}-{b[5:]}"
        return [f"8 ({a}) {pretty}", f"+7 ({a}) {pretty}", f"8{n}", f"+7{n}", f"8-{a}-{pretty}",
                f"7 {a} {b[:3]} {b[3:]}", f"+7 {a} {b[:3]} {b[3:5]} {b[5:]}", f"8 {a} {b}"]  # fmt: skip
    if phone.country == "UA":
        a, b = n[:2], n[2:]
        return [f"0{a} {b[:3]} {b[3:5]} {b[5:]}", f"+380 {a} {b[:3]} {b[3:5]} {b[5:]}",
                f"0{a}{b}", f"(0{a}) {b[:3]}-{b[3:5]}-{b[5:]}", f"+380{n}", f"380{n}"]  # fmt: skip
    if phone.country == "GB":
        if phone.mobile:
            a, b = n[:4], n[4:]
            return [f"0{a} {b}", f"0{n}", f"+44 {a} {b}", f"+44{n}", f"+44 (0){a} {b}",
                    f"0{a}-{b[:3]}-{b[3:]}", f"44{n}"]  # fmt: skip
        if n.startswith("20"):
            return [f"020 {n[2:6]} {n[6:]}", f"0{n}", f"+44 20 {n[2:6]} {n[6:]}", f"(020) {n[2:6]} {n[6:]}"]  # fmt: skip
        return [f"0{n[:4]} {n[4:]}", f"0{n}", f"+44 {n[:4]} {n[4:]}", f"(0{n[:4]}) {n[4:]}"]
    a, b, c = n[:3], n[3:6], n[6:]
    return [f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"{a}{b}{c}", f"+1 {a} {b} {c}",
            f"1-{a}-{b}-{c}", f"+1{n}", f"{a} {b} {c}"]  # fmt: skip


_RU_MOBILE = ("901", "903", "905", "906", "909", "910", "911", "912", "913", "915", "916", "917",
              "919", "920", "921", "925", "926", "929", "950", "951", "952", "953", "960", "961",
              "962", "964", "965", "967", "977", "980", "981", "985", "987", "999")  # fmt: skip
_UA_MOBILE = ("50", "63", "66", "67", "68", "73", "93", "95", "96", "97", "98", "99")
_PHONE_SALT = {"IL": 11, "RU": 12, "UA": 13, "GB": 14, "US": 15}
#: Country -> (candidate leading digits, digits that follow) of mobile numbers.
_MOBILE_PLAN = {
    "IL": (tuple(f"5{a}{d}{e}" for a in "023458" for d in "0123456789" for e in "0123456789"), 5),
    "RU": (_RU_MOBILE, 7),
    "UA": (_UA_MOBILE, 7),
    "GB": (tuple(f"7{a}{b}{c}" for a in "45789" for b in "0123456789" for c in "0123456789"), 6),
}


@cache
def _lead_is_valid(country: str, lead: str, rest: int) -> bool:
    """Whether every number starting with ``lead`` is valid in the numbering plan.

    Numbering plans leave blocks unallocated (Israeli 055 and 058 are only
    partly in use, London has no 020 2xxx), and a number in such a block is
    rejected as invalid by any phone library. A lead is kept only when random
    completions are all valid (checked with ``phonenumbers``, Google's
    metadata), so generated numbers are realistic and parseable.
    """
    rnd = random.Random(f"{country}{lead}")
    code = CALLING_CODE[country]
    samples = (f"+{code}{lead}{rnd.randrange(10**rest):0{rest}d}" for _ in range(6))
    return all(phonenumbers.is_valid_number(phonenumbers.parse(n)) for n in samples)


@cache
def _valid_leads(country: str, candidates: tuple[str, ...], rest: int) -> tuple[str, ...]:
    """The candidate leads that are valid in the numbering plan (cached)."""
    return tuple(lead for lead in candidates if _lead_is_valid(country, lead, rest))


def _number(country: str, candidates: tuple[str, ...], rest: int, serial: int, salt: int) -> str:
    """The ``serial``-th number of the plan, through a keyed bijection (no two serials collide)."""
    leads = _valid_leads(country, candidates, rest)
    space = len(leads) * 10**rest
    lead, sub = divmod(permute_int(serial % space, space, salt), 10**rest)
    return f"{leads[lead]}{sub:0{rest}d}"


def _numbers(
    country: str, candidates: tuple[str, ...], rest: int, serials: list[int], salt: int
) -> list[str]:
    """``_number`` for many serials at once (the same numbers, computed with numpy)."""
    leads = _valid_leads(country, candidates, rest)
    space = len(leads) * 10**rest
    values = permute(np.array(serials, dtype=np.int64) % space, space, salt).tolist()
    return [f"{leads[v // 10**rest]}{v % 10**rest:0{rest}d}" for v in values]


def _mobile_plan(country: str, city: City | None) -> tuple[tuple[str, ...], int]:
    """Candidate leads and trailing digits of mobile numbers (US: the city's area codes)."""
    if country == "US":
        areas = city.area_codes if city is not None else ("212",)
        return tuple(f"{area}{d}" for area in areas for d in "23456789"), 6
    return _MOBILE_PLAN[country]


def mobile_number(country: str, serial: int, rnd: random.Random, city: City | None = None) -> Phone:
    """A valid mobile number, unique for each ``serial`` within its country (and US city)."""
    del rnd  # the number is a function of the serial alone
    candidates, rest = _mobile_plan(country, city)
    return Phone(country, _number(country, candidates, rest, serial, _PHONE_SALT[country]))


def landline_number(country: str, serial: int, city: City) -> Phone | None:
    """A home landline in the city's area code (IL, GB, RU big cities), unique per ``serial``."""
    salt = _PHONE_SALT[country] + 100
    area = city.area_codes[0].lstrip("0")
    if country == "IL":
        return Phone(
            "IL", _number("IL", tuple(f"{area}{d}" for d in "23456789"), 6, serial, salt), False
        )
    if country == "GB":
        rest = 10 - len(area) - 1
        return Phone(
            "GB", _number("GB", tuple(f"{area}{d}" for d in "2345678"), rest, serial, salt), False
        )
    if country == "RU" and len(area) == 3:
        return Phone(
            "RU", _number("RU", tuple(f"{area}{d}" for d in "2345678"), 6, serial, salt), False
        )
    return None


@dataclass(slots=True)
class Household:
    """People at one address: they share the home, the home IP and often a surname."""

    hid: int
    locale: str
    country: str
    city_index: int
    street_index: int
    number: int
    flat: int
    postcode: str
    ip_period: float
    """Days between dynamic home IP changes."""
    ip_phase: float
    landline: Phone | None = None

    @property
    def city(self) -> City:
        """The household's city."""
        return _cities(self.country)[self.city_index]


@dataclass(slots=True)
class Person:
    """One real person: identity, contact details and activity plan."""

    gid: int
    locale: str
    country: str
    female: bool
    first: Name
    last: Name
    dob: date
    household: Household
    last2: Name | None = None
    """Second part of a double-barrelled surname (Cohen-Levi)."""
    maiden: Name | None = None
    """Surname before marriage; old records may still carry it."""
    suffix: str = ""
    """``Jr`` / ``Sr`` for a father and son of the same name."""
    surname_ref: tuple[str, int] = ("", -1)
    """(pool locale, index) of the current surname."""
    previous: Household | None = None
    """The address before a move during or just before the window."""
    spelling: tuple[int, int] = (0, 0)
    """The person's own Latin spelling of their first and last name (indices)."""
    nickname: int = -1
    """Index of the diminutive the person goes by, -1 if none."""
    email: str | None = None
    old_email: str | None = None
    work_email: str | None = None
    phone: Phone | None = None
    old_phone: Phone | None = None
    """A number the person gave up during the window."""
    foreign_phone: Phone | None = None
    customer: bool = False
    crm_duplicates: int = 0
    loyalty: bool = False
    online: bool = False
    """Logs in on the web site / app."""
    sessions: int = 0
    """Planned web sessions (the bank web regime scales them by ``online``; see ``sources``)."""
    browsers: int = 1
    devices: int = 0
    channels: tuple[str, ...] = ()
    office: int = -1
    interests: tuple[int, int] = (0, 1)
    roles: set[str] = field(default_factory=set)
    """Hard-case roles (``twin``, ``placeholder_email``, ...) that change how records are made."""
    overrides: dict[str, str] = field(default_factory=dict)
    """Field values forced on the person's primary CRM row (placeholders)."""

    true_id: str = ""
    """``P`` and the global person index (set from ``gid``)."""

    def __post_init__(self) -> None:
        """Derive the true id from the global index."""
        self.true_id = f"P{self.gid:08d}"


class Factory:
    """Makes households and people for one chunk (seeded), keeping emails unique across chunks."""

    def __init__(self, *, seed: int, chunk: int, used_emails: set[str]) -> None:
        """Seed the chunk's generators; ``used_emails`` (the addresses handed out, and their
        inboxes: ``claim_email``) is shared by all chunks of a world."""
        self.rng = np.random.default_rng([seed, chunk, 7])
        self.rnd: random.Random = FastRandom(seed * 1_000_003 + chunk * 7919 + 1)
        self.chunk = chunk
        self.used_emails = used_emails
        self._draws: dict[tuple[str, str], list[int]] = {}
        self._pending: list[tuple[Person, str, str, int, City | None]] | None = None
        """Mobile numbers to compute in one batch (during ``population``), else ``None``."""

    # -- drawing -----------------------------------------------------------------------------

    def _draw(self, locale: str, kind: str) -> int:
        """A name index from the locale's pool (drawn in batches: numpy per value is slow)."""
        key = (locale, kind)
        buffer = self._draws.get(key)
        if not buffer:
            pools = locale_pools(locale)
            pool = {"male": pools.male, "female": pools.female, "surname": pools.surnames}[kind]
            buffer = pool.draw(self.rng, 4096).tolist()[::-1]
            self._draws[key] = buffer
        return buffer.pop()

    def _age(self, lo: int = 18, hi: int = 88) -> int:
        """An adult age, skewed young like a customer base (gamma tail to the 80s)."""
        return int(min(hi, max(lo, lo + self.rnd.gammavariate(2.4, 9.5))))

    def _dob(self, age: int) -> date:
        """A date of birth for someone ``age`` years old on the reference day."""
        return REFERENCE_DAY - timedelta(days=age * 365 + self.rnd.randrange(365))

    def _spelling(self, name: Name) -> int:
        """The index of the Latin spelling a person uses (the common one most often)."""
        n = len(name.latin)
        weights = [0.62, 0.2, 0.09, 0.05, 0.03, *([0.01] * max(0, n - 5))][:n]
        return pick(self.rnd, range(n), tuple(weights))

    # -- households --------------------------------------------------------------------------

    def household(self, hid: int, locale: str, *, city_index: int | None = None) -> Household:
        """A new home for ``locale`` in a city drawn by population (or the given one)."""
        country = COUNTRY_OF_LOCALE[locale]
        rnd = self.rnd
        if city_index is None:
            city_index = pick(self.rnd, range(len(_cities(country))), _city_weights(locale))
        city = _cities(country)[city_index]
        street = (
            -1 if city.no_streets and rnd.random() < 0.85 else rnd.randrange(len(streets(country)))
        )
        flat = (
            0
            if rnd.random() < (0.45 if country in ("GB", "US") else 0.15)
            else rnd.randrange(1, 60)
        )
        home = Household(
            hid=hid,
            locale=locale,
            country=country,
            city_index=city_index,
            street_index=street,
            number=rnd.randrange(1, 180) if street >= 0 else rnd.randrange(100, 9999),
            flat=flat,
            postcode=_postcode(country, city, rnd),
            ip_period=rnd.choice((14.0, 30.0, 60.0, 120.0, 400.0, 400.0, 400.0)),
            ip_phase=rnd.random() * 400.0,
        )
        if rnd.random() < {"IL": 0.25, "GB": 0.35, "RU": 0.3}.get(country, 0.0):
            home.landline = landline_number(country, hid, city)
        return home

    def moved_from(self, home: Household) -> Household:
        """The previous address of a household that moved (often within the same city)."""
        same_city = self.rnd.random() < 0.6
        old = self.household(
            home.hid + 1, home.locale, city_index=home.city_index if same_city else None
        )
        old.landline = None
        return old

    # -- people ------------------------------------------------------------------------------

    def person(
        self,
        gid: int,
        locale: str,
        home: Household,
        *,
        female: bool,
        age: int,
        first: int | None = None,
        surname: tuple[str, int] | None = None,
    ) -> Person:
        """A person with a fresh name (or the given ones), contact details and a plan."""
        pools = locale_pools(locale)
        first_index = (
            first if first is not None else self._draw(locale, "female" if female else "male")
        )
        first_name = (pools.female if female else pools.male).names[first_index]
        s_locale, s_index = (
            surname if surname is not None else (locale, self._draw(locale, "surname"))
        )
        last = locale_pools(s_locale).surnames.form(s_index, female=female)
        p = Person(
            gid=gid,
            locale=locale,
            country=home.country,
            female=female,
            first=first_name,
            last=last,
            dob=self._dob(age),
            household=home,
            surname_ref=(s_locale, s_index),
        )
        p.spelling = (self._spelling(first_name), self._spelling(last))
        if first_name.short and self.rnd.random() < 0.55:
            p.nickname = self.rnd.randrange(len(first_name.short))
        self.contact_details(p)
        self.plan(p, age)
        return p

    def contact_details(self, p: Person) -> None:
        """Mobile number (some changed it), emails (some have an old or a work one)."""
        rnd = self.rnd
        city = p.household.city
        self.number_for(p, "phone", p.country, p.gid * 4, city)
        if rnd.random() < 0.12:
            self.number_for(p, "old_phone", p.country, p.gid * 4 + 1, city)
        if p.locale == "ru_il" and rnd.random() < 0.08:
            self.number_for(p, "foreign_phone", "RU", p.gid * 4 + 2, None)
        if rnd.random() < 0.94:
            p.email = self.unique_email(p, fresh=True)
        if rnd.random() < 0.18:
            p.old_email = self.unique_email(p, fresh=False)
        if rnd.random() < 0.12:
            p.work_email = self.work_email(p)

    def number_for(
        self, p: Person, attribute: str, country: str, serial: int, city: City | None
    ) -> None:
        """Give ``p`` a mobile number now, or queue it for the batch of ``population``."""
        if self._pending is not None:
            self._pending.append((p, attribute, country, serial, city))
        else:
            setattr(p, attribute, mobile_number(country, serial, self.rnd, city))

    def assign_numbers(self) -> None:
        """Compute the queued mobile numbers, grouped by numbering plan (numpy, not per number)."""
        groups: dict[tuple[str, tuple[str, ...], int], list[tuple[Person, str, int]]] = {}
        for p, attribute, country, serial, city in self._pending or ():
            candidates, rest = _mobile_plan(country, city)
            groups.setdefault((country, candidates, rest), []).append((p, attribute, serial))
        for (country, candidates, rest), items in groups.items():
            numbers = _numbers(
                country, candidates, rest, [s for _, _, s in items], _PHONE_SALT[country]
            )
            for (p, attribute, _), number in zip(items, numbers, strict=True):
                setattr(p, attribute, Phone(country, number))
        self._pending = None

    def plan(self, p: Person, age: int) -> None:
        """What the person does in the window: customer, duplicates, sessions, apps, messaging."""
        rnd = self.rnd
        p.customer = rnd.random() < (0.74 if age >= 21 else 0.35)
        if p.customer and rnd.random() < 0.13:
            p.crm_duplicates = pick(rnd, (1, 2, 3, 4, 5), (60, 22, 10, 5, 3))
        p.loyalty = rnd.random() < (0.34 if p.customer else 0.12)
        p.online = p.customer and rnd.random() < 0.62
        if rnd.random() < 0.9:
            p.sessions = max(1, min(400, round(self.rng_lognormal(1.84, 1.0))))
        p.browsers = pick(rnd, (1, 2, 3), (45, 40, 15))
        p.devices = pick(rnd, (0, 1, 2, 3), (52, 38, 8, 2))
        if rnd.random() < 0.7:
            names, weights = _split(_CHANNELS[p.locale])
            chosen = [pick(rnd, names, weights)]
            if rnd.random() < 0.2:
                chosen.append(pick(rnd, names, weights))
            p.channels = tuple(dict.fromkeys(chosen))
        if 22 <= age <= 67 and rnd.random() < 0.55:
            p.office = self.office(p)
        p.interests = (rnd.randrange(7), rnd.randrange(7))

    def rng_lognormal(self, mu: float, sigma: float) -> float:
        """A log-normal draw (heavy-tailed activity counts)."""
        return float(self.rnd.lognormvariate(mu, sigma))

    def office(self, p: Person) -> int:
        """An employer's office in the person's city: a few huge ones, many small ones."""
        k = int(min(4095, self.rnd.paretovariate(0.9)) - 1)
        return (p.household.city_index * 4096 + k) * 8 + _COUNTRY_INDEX[p.country]

    # -- emails ------------------------------------------------------------------------------

    def _latin_parts(self, p: Person) -> tuple[str, str, str]:
        """ASCII first name, surname and nickname for email local parts."""
        first = _ascii(p.first.latin[p.spelling[0]])
        last = _ascii(p.last.latin[min(p.spelling[1], len(p.last.latin) - 1)])
        short = _ascii(p.first.short[p.nickname].latin[0]) if p.nickname >= 0 else first
        return first or "user", last or "mail", short or first or "user"

    def unique_email(self, p: Person, *, fresh: bool) -> str:
        """A personal address no one else has (patterns as people really pick them)."""
        rnd = self.rnd
        first, last, short = self._latin_parts(p)
        yy = f"{p.dob.year % 100:02d}"
        pattern = pick(rnd, range(13), (16, 10, 9, 8, 6, 4, 5, 5, 4, 4, 10, 6, 3))
        if pattern == 0:
            local = f"{first}.{last}"
        elif pattern == 1:
            local = f"{first}{last}"
        elif pattern == 2:
            local = f"{first[0]}{last}"
        elif pattern == 3:
            local = f"{first}.{last}{yy}"
        elif pattern == 4:
            local = f"{first}{p.dob.year}"
        elif pattern == 5:
            local = f"{last}.{first}"
        elif pattern == 6:
            local = f"{first}_{last}"
        elif pattern == 7:
            local = f"{short}{last[0]}{yy}"
        elif pattern == 8:
            local = f"{short}_{yy}"
        elif pattern == 9:
            local = f"{last}{first[0]}"
        elif pattern == 10:
            local = f"{rnd.choice(_HANDLE_WORDS)}{rnd.randrange(1, 999)}"
        elif pattern == 11:
            local = f"{short}.{last}"
        else:
            local = f"{rnd.choice(_HANDLE_WORDS)}_{short}"
        names, weights = _split(_EMAIL_DOMAINS[p.locale] if fresh else _OLD_DOMAINS[p.locale])
        domain = pick(rnd, names, weights)
        email = f"{local}@{domain}"
        tries = 0
        while not self.claim_email(email):
            tries += 1
            if email not in self.used_emails:
                # Free as spelled, but its inbox is someone else's (another spelling of it at
                # Gmail): a number of this person's, drawn from nothing, so that the rest of
                # the world is drawn as before this check.
                email = f"{local}{p.gid}@{domain}"
                continue
            suffix = str(rnd.randrange(1, 99)) if tries < 4 else str(p.gid)
            email = (
                f"{local}{suffix}@{domain}" if tries < 6 else f"{local}.{p.gid}.{tries}@{domain}"
            )
        return email

    def work_email(self, p: Person) -> str:
        """A work address at one of the country's employers (unique)."""
        first, last, _ = self._latin_parts(p)
        domain = self.rnd.choice(_WORK_DOMAINS[p.country])
        local = self.rnd.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}{last[0]}"))
        email = f"{local}@{domain}"
        n = 1
        while not self.claim_email(email):
            n += 1
            email = f"{local}{n}@{domain}"
        return email

    def claim_email(self, email: str) -> bool:
        """Reserve ``email``'s mailbox for one person; ``False`` when someone has it already.

        Uniqueness is the mailbox's, not the spelling's: at Gmail
        ``michael.smith@`` and ``michaelsmith@`` are one inbox, which Gmail
        never gives to two people.
        """
        box = _INBOX + mailbox(email)
        if email in self.used_emails or box in self.used_emails:
            return False
        self.used_emails.update((email, box))
        return True

    # -- population --------------------------------------------------------------------------

    def population(self, first_gid: int, count: int) -> list[Person]:
        """``count`` people in households, global indices from ``first_gid``."""
        people: list[Person] = []
        locales = tuple(LOCALE_SHARES)
        shares = tuple(LOCALE_SHARES.values())
        gid = first_gid
        end = first_gid + count
        self._pending = []
        while gid < end:
            locale = pick(self.rnd, locales, shares)
            size = pick(self.rnd, (1, 2, 3, 4, 5), _HOUSEHOLD_SIZES[locale])
            members = self.family(gid, locale, min(size, end - gid))
            people.extend(members)
            gid += len(members)
        self.assign_numbers()
        return people

    def family(self, gid: int, locale: str, size: int) -> list[Person]:
        """One household of ``size`` people starting at global index ``gid``."""
        rnd = self.rnd
        home = self.household(gid, locale)
        old_home = self.moved_from(home) if rnd.random() < 0.09 else None
        head_age = self._age(22)
        members = (
            self.couple(gid, locale, home, head_age) if size >= 2 and rnd.random() < 0.75 else []
        )
        if not members:
            members = [self.person(gid, locale, home, female=rnd.random() < 0.5, age=head_age)]
        # Children carry the father's surname (the head's own when there is no couple).
        father = next((m for m in members if not m.female), members[0])
        family_name = self.surname_of(father)
        child_locale = "he" if len({m.locale for m in members}) > 1 else locale
        for k in range(len(members), size):
            role = rnd.random()
            if head_age >= 40 and role < 0.85:
                age = max(16, head_age - rnd.randrange(20, 36))
                members.append(self.person(gid + k, child_locale, home, female=rnd.random() < 0.5,
                                           age=age, surname=family_name))  # fmt: skip
            elif role < 0.92:  # a sibling of the head
                members.append(self.person(gid + k, locale, home, female=rnd.random() < 0.5,
                                           age=max(18, head_age + rnd.randrange(-8, 9)),
                                           surname=family_name))  # fmt: skip
            else:  # a flatmate: same address and IP, unrelated
                members.append(self.person(gid + k, locale, home, female=rnd.random() < 0.5,
                                           age=max(18, head_age + rnd.randrange(-5, 6))))  # fmt: skip
        if old_home is not None:
            for m in members:
                m.previous = old_home
        return members

    @staticmethod
    def surname_of(p: Person) -> tuple[str, int]:
        """(pool locale, index) of ``p``'s current surname, for children and twins."""
        return p.surname_ref

    def couple(self, gid: int, locale: str, home: Household, head_age: int) -> list[Person]:
        """A married couple; in Israel sometimes of two communities (Elena Cohen, Yossi Ivanov)."""
        rnd = self.rnd
        other = locale
        if home.country == "IL" and locale in ("he", "ru_il") and rnd.random() < 0.08:
            other = "ru_il" if locale == "he" else "he"
        head_female = rnd.random() < 0.5
        wife_locale, husband_locale = (locale, other) if head_female else (other, locale)
        husband_name = (husband_locale, self._draw(husband_locale, "surname"))
        wife_name = (wife_locale, self._draw(wife_locale, "surname"))
        spouse_age = max(18, head_age + int(rnd.gauss(0, 4)))
        wife_age, husband_age = (head_age, spouse_age) if head_female else (spouse_age, head_age)
        wife = self.person(gid if head_female else gid + 1, wife_locale, home, female=True,
                           age=wife_age, surname=wife_name)  # fmt: skip
        husband = self.person(gid + 1 if head_female else gid, husband_locale, home, female=False,
                              age=husband_age, surname=husband_name)  # fmt: skip
        self.marry(wife, husband_name, wife_name)
        return [wife, husband] if head_female else [husband, wife]

    def marry(
        self, wife: Person, husband_surname: tuple[str, int], maiden: tuple[str, int]
    ) -> None:
        """The wife takes, double-barrels or keeps her surname, as people of her locale do."""
        take, double = _TAKES_NAME[wife.locale]
        r = self.rnd.random()
        married = locale_pools(husband_surname[0]).surnames.form(husband_surname[1], female=True)
        own = locale_pools(maiden[0]).surnames.form(maiden[1], female=True)
        if married.key == own.key:
            return
        if r < take:
            wife.last, wife.maiden, wife.surname_ref = married, own, husband_surname
        elif r < take + double:
            wife.last, wife.last2, wife.maiden = married, own, own
            wife.surname_ref = husband_surname
        wife.spelling = (wife.spelling[0], self._spelling(wife.last))


#: How ``Factory.used_emails`` holds an inbox (``mailbox``), beside the addresses as spelled.
_INBOX = "inbox:"
#: Domains whose mailboxes ignore dots and a ``+tag`` in the local part (one inbox).
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def mailbox(email: str) -> str:
    """The inbox an address delivers to: Gmail ignores dots and a ``+tag``.

    Examples:
        >>> mailbox("Michael.Smith+news@googlemail.com"), mailbox("m.smith@walla.co.il")
        ('michaelsmith@gmail.com', 'm.smith@walla.co.il')
    """
    local, _, domain = email.lower().rpartition("@")
    folded = _DOTLESS_DOMAINS.get(domain)
    if folded is None:
        return email.lower()
    return f"{local.split('+', 1)[0].replace('.', '')}@{folded}"


def _ascii(text: str) -> str:
    """Lower-case ASCII letters and digits only (for email local parts)."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


_GB_INWARD = "ABDEFGHJLNPQRSTUWXYZ"


def _postcode(country: str, city: City, rnd: random.Random) -> str:
    """A full postcode in the city's range, in the country's format."""
    prefix = rnd.choice(city.postcode_prefixes)
    if country == "IL":
        return prefix + f"{rnd.randrange(10**5):05d}"
    if country == "RU":
        return prefix + f"{rnd.randrange(1000):03d}"
    if country == "UA":
        return prefix + f"{rnd.randrange(1000):03d}"
    if country == "GB":
        return f"{prefix} {rnd.randrange(1, 10)}{rnd.choice(_GB_INWARD)}{rnd.choice(_GB_INWARD)}"
    return prefix + f"{rnd.randrange(100):02d}"


# --- rendering --------------------------------------------------------------------------------

#: Context -> locale -> (script, weight): how a system writes names of people of a locale.
_SCRIPT_MIX: dict[str, dict[str, tuple[tuple[str, float], ...]]] = {
    "crm": {"he": (("native", 0.45), ("latin", 0.55)),
            "ar": (("hebrew", 0.45), ("latin", 0.40), ("arabic", 0.15)),
            "ru_il": (("hebrew", 0.25), ("latin", 0.55), ("native", 0.20)),
            "ru": (("native", 0.65), ("latin", 0.35)),
            "ua": (("native", 0.45), ("alt", 0.15), ("latin", 0.40))},
    "loyalty": {"he": (("latin", 0.8), ("native", 0.2)), "ar": (("latin", 0.85), ("hebrew", 0.15)),
                "ru_il": (("latin", 0.85), ("hebrew", 0.15)), "ru": (("latin", 0.6), ("native", 0.4)),
                "ua": (("latin", 0.6), ("native", 0.4))},
    "form": {"he": (("native", 0.55), ("latin", 0.45)),
             "ar": (("hebrew", 0.3), ("arabic", 0.3), ("latin", 0.4)),
             "ru_il": (("native", 0.35), ("latin", 0.45), ("hebrew", 0.2)),
             "ru": (("native", 0.75), ("latin", 0.25)),
             "ua": (("native", 0.6), ("alt", 0.15), ("latin", 0.25))},
    "display": {"he": (("native", 0.6), ("latin", 0.4)),
                "ar": (("arabic", 0.45), ("hebrew", 0.15), ("latin", 0.4)),
                "ru_il": (("native", 0.55), ("latin", 0.35), ("hebrew", 0.1)),
                "ru": (("native", 0.8), ("latin", 0.2)),
                "ua": (("native", 0.7), ("alt", 0.1), ("latin", 0.2))},
}  # fmt: skip


def row_script(p: Person, context: str, rnd: random.Random) -> str:
    """The script one record of ``context`` writes this person's name in."""
    options = _SCRIPT_MIX[context].get(p.locale)
    if options is None:
        return "latin"
    names, weights = _split(options)
    return pick(rnd, names, weights)


def _in_script(name: Name | Short, script: str, spelling: int, rnd: random.Random) -> str:
    """The name in the requested script, or a Latin spelling (mostly the person's own)."""
    if script == "native" and name.native:
        return name.native
    if script == "hebrew" and name.hebrew:
        return name.hebrew
    if script == "arabic" and isinstance(name, Name) and name.arabic:
        return name.arabic
    if script == "alt" and isinstance(name, Name) and name.alt_native:
        return name.alt_native
    if script == "alt" and name.native:
        return name.native
    latin = name.latin
    if rnd.random() < 0.78:
        return latin[min(spelling, len(latin) - 1)]
    return rnd.choice(latin)


def first_name_text(
    p: Person,
    rnd: random.Random,
    *,
    script: str,
    nickname: float = 0.0,
    initial: float = 0.0,
    typos: float = 0.0,
) -> str:
    """The first name as one record writes it: a spelling, maybe the nickname, an initial, a typo."""
    if p.nickname >= 0 and rnd.random() < nickname:
        text = _in_script(p.first.short[p.nickname], script, 0, rnd)
    else:
        text = _in_script(p.first, script, p.spelling[0], rnd)
    if rnd.random() < initial:
        return text[0] + ("." if rnd.random() < 0.6 else "")
    if rnd.random() < typos:
        text = typo(text, rnd)
    return text


def last_name_text(
    p: Person, rnd: random.Random, *, script: str, maiden: float = 0.0, typos: float = 0.0
) -> str:
    """The surname as one record writes it (maiden name on old records, double-barrelled, Jr)."""
    name = p.maiden if p.maiden is not None and rnd.random() < maiden else p.last
    text = _in_script(name, script, p.spelling[1], rnd)
    if p.last2 is not None and name is p.last and rnd.random() < 0.6:
        sep = rnd.choice(("-", " ", "-"))
        text = f"{text}{sep}{_in_script(p.last2, script, 0, rnd)}"
    if rnd.random() < typos:
        text = typo(text, rnd)
    if p.suffix and script == "latin" and rnd.random() < 0.5:
        text = f"{text} {p.suffix}" + ("." if rnd.random() < 0.5 else "")
    return text


def style_case(text: str, rnd: random.Random, probability: float) -> str:
    """Upper / lower case some values (legacy systems, sloppy typing)."""
    return case_variant(text, rnd) if rnd.random() < probability else text


def dob_text(dob: date, country: str, rnd: random.Random, *, iso: float = 0.25) -> str:
    """A date of birth in the country's order (US month first), ISO, or a day/month slip."""
    if rnd.random() < iso:
        return dob.isoformat()
    day, month = dob.day, dob.month
    if rnd.random() < 0.015 and day <= 12:
        day, month = month, day  # typed the wrong way round
    if country == "US":
        return f"{month:02d}/{day:02d}/{dob.year}"
    if country in ("RU", "UA") and rnd.random() < 0.12:
        return f"{day:02d}.{month:02d}.{dob.year}"
    if rnd.random() < 0.1:
        return f"{day}/{month}/{dob.year}"
    return f"{day:02d}/{month:02d}/{dob.year}"


#: Context -> country -> (full, coarse) probabilities; the rest is missing.
_POSTCODE_MIX = {
    "crm": {"IL": (0.30, 0.05), "GB": (0.55, 0.20), "US": (0.70, 0.10), "RU": (0.55, 0.0), "UA": (0.40, 0.0)},
    "loyalty": {"IL": (0.15, 0.05), "GB": (0.45, 0.25), "US": (0.60, 0.05), "RU": (0.35, 0.0), "UA": (0.25, 0.0)},
    "form": {"IL": (0.15, 0.03), "GB": (0.40, 0.35), "US": (0.75, 0.05), "RU": (0.30, 0.0), "UA": (0.25, 0.0)},
}  # fmt: skip


def postcode_text(home: Household, rnd: random.Random, context: str) -> str | None:
    """The postcode as written: full, coarse (UK outward code, old 5-digit Israeli) or missing."""
    full, coarse = _POSTCODE_MIX[context][home.country]
    r = rnd.random()
    code = home.postcode
    if r < full:
        if home.country == "GB":
            return rnd.choice((code, code, code.replace(" ", ""), code.lower()))
        if home.country == "US" and rnd.random() < 0.12:
            return f"{code}-{rnd.randrange(10_000):04d}"  # ZIP+4
        return code
    if r < full + coarse:
        if home.country == "GB":
            return code.split(" ")[0]  # outward code only (SW1A)
        if home.country == "IL":
            return code[:5]  # the old five-digit code
        return code
    return None


def city_text(home: Household, rnd: random.Random, *, script: str) -> str:
    """The city in one of its spellings (native script when the record is written natively)."""
    city = home.city
    if script != "latin" and city.native and rnd.random() < 0.85:
        natives = city.native
        if script == "hebrew" or home.country == "IL":
            natives = tuple(n for n in natives if _is_hebrew(n)) or natives
        elif script == "arabic":
            natives = tuple(n for n in natives if _is_arabic(n)) or natives
        else:
            natives = tuple(n for n in natives if _is_cyrillic(n)) or natives
        return natives[0] if rnd.random() < 0.6 else rnd.choice(natives)
    latin = city.latin
    text = latin[0] if rnd.random() < 0.55 else rnd.choice(latin)
    if home.country == "US" and rnd.random() < 0.2:
        text = f"{text}, {city.state}"
    return text


def _is_hebrew(text: str) -> bool:
    """Whether ``text`` has Hebrew letters."""
    return any("\u0590" <= ch <= "\u05ff" for ch in text)


def _is_arabic(text: str) -> bool:
    """Whether ``text`` has Arabic letters."""
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def _is_cyrillic(text: str) -> bool:
    """Whether ``text`` has Cyrillic letters."""
    return any("\u0400" <= ch <= "\u04ff" for ch in text)


def address_text(home: Household, rnd: random.Random, *, script: str) -> str:
    """The street address in the country's (and script's) usual form."""
    country = home.country
    n, flat = home.number, home.flat
    if home.street_index < 0:  # Arab towns: P.O. boxes and neighbourhoods
        if script in ("hebrew", "native"):
            return rnd.choice((f"ת.ד. {n}", f'ת"ד {n}', f"שכונה {n % 12 + 1}"))
        if script == "arabic":
            return f"ص.ب. {n}"
        return rnd.choice((f"P.O. Box {n}", f"POB {n}", f"PO Box {n}"))
    street: Street = streets(country)[home.street_index]
    if country == "IL":
        if script in ("hebrew", "native", "arabic"):
            base = rnd.choice(
                (f"{street.native} {n}", f"רח' {street.native} {n}", f"רחוב {street.native} {n}")
            )
            return (
                f"{base}/{flat}"
                if flat and rnd.random() < 0.5
                else (f"{base} דירה {flat}" if flat else base)
            )
        base = rnd.choice(
            (f"{street.latin} St {n}", f"{n} {street.latin} St.", f"{street.latin} {n}")
        )
        return (
            f"{base}, Apt {flat}"
            if flat and rnd.random() < 0.6
            else (f"{base}/{flat}" if flat else base)
        )
    if country in ("RU", "UA"):
        if script != "latin":
            flat_part = f", кв. {flat}" if flat else ""
            house = "д." if country == "RU" else "буд."
            return rnd.choice((f"{street.kind} {street.native}, {house} {n}{flat_part}",
                               f"{street.native} {n}" + (f"-{flat}" if flat else "")))  # fmt: skip
        flat_part = f", kv. {flat}" if flat else ""
        return rnd.choice((f"{kind_latin(street.kind)} {street.latin}, d. {n}{flat_part}",
                           f"{street.latin} st. {n}" + (f" apt {flat}" if flat else "")))  # fmt: skip
    if country == "GB":
        return f"Flat {flat}, {n} {street.latin}" if flat else f"{n} {street.latin}"
    apt = rnd.choice((f" Apt {flat}", f" #{flat}", f" Apt. {flat}B")) if flat else ""
    return f"{n} {street.latin}{apt}"
