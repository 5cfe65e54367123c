"""A seeded, realistic retargeting world: the demo, the tests and the benchmarks share it.

``generate_demo_world(persons=N, seed=S)`` returns the canonical source tables
of SPEC §3 (customers, sessions, devices, contacts, events, interactions,
consents) and a labels table ``source,record_key,true_id``. The same seed
always gives the same world.

What makes it realistic (and hard):

* most touchpoints are web sessions carrying only a cookie id, an IP and a
  user agent; some are logged in, some carry a typed newsletter email, a few
  a checkout form with name, email, phone and postcode;
* people live in households (one home address and home IP, often one
  surname), browse from home, the office or a mobile carrier's NAT address
  shared by thousands, and use one to three browsers whose cookies churn;
* app devices with advertising ids, in-app sessions on the device id;
* messaging contacts: WhatsApp / Viber phone numbers, Telegram handles,
  Messenger display names, in Latin, Hebrew and Cyrillic script;
* CRM customers with some duplicate customer rows (nickname, typo, an old
  email);
* noise: national and international phone formats from six countries,
  nicknames, typos, case and spacing, gmail dots and plus-tags, dates in
  several formats;
* labelled hard cases (``DemoWorld.hard_cases``): a family tablet logged into
  two customer accounts, twins at one address, several people with the same
  common name in one city, a phone number recycled to another person, and
  placeholder email / phone values shared by unrelated customers.

Large worlds are generated in chunks of persons (``iter_demo_world_chunks``)
so that memory stays bounded; ``write_demo_world`` writes them as files.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import phonenumbers
from anyascii import anyascii
from faker import Faker
from nicknames import NickNamer

from resolver.normalize import fold_email

__all__ = [
    "SOURCE_FILES",
    "DemoWorld",
    "demo_config_toml",
    "generate_demo_world",
    "iter_demo_world_chunks",
    "write_demo_world",
]

#: Source name -> (kind, file stem). The demo config maps each to its file.
SOURCE_FILES: dict[str, tuple[str, str]] = {
    "crm": ("customers", "crm"),
    "web": ("sessions", "web_sessions"),
    "app": ("devices", "app_devices"),
    "messaging": ("contacts", "messaging"),
    "events": ("events", "events"),
    "interactions": ("interactions", "interactions"),
    "consents": ("consents", "consents"),
}
LINKED_SOURCES = ("crm", "web", "app", "messaging")

# The world's clock: generated timestamps fall in the 180 days before this.
WORLD_NOW = datetime(2026, 11, 1, tzinfo=UTC)

_LOCALES: list[tuple[str, str, float]] = [
    ("en_GB", "GB", 0.40),
    ("en_US", "US", 0.14),
    ("he_IL", "IL", 0.14),
    ("ru_RU", "RU", 0.10),
    ("de_DE", "DE", 0.11),
    ("es_ES", "ES", 0.11),
]

# Israeli names written both ways: CRMs hold the Latin form, messaging display
# names often the Hebrew one. Hebrew has no vowels, which is what makes it hard.
_HEBREW_FIRST_M = [
    ("david", "דוד"), ("yosef", "יוסף"), ("moshe", "משה"), ("daniel", "דניאל"),
    ("ariel", "אריאל"), ("noam", "נועם"), ("itai", "איתי"), ("omer", "עומר"),
    ("eitan", "איתן"), ("yonatan", "יונתן"), ("avraham", "אברהם"), ("yaakov", "יעקב"),
    ("shlomo", "שלמה"), ("amir", "אמיר"), ("gil", "גיל"), ("ron", "רון"),
    ("uri", "אורי"), ("tomer", "תומר"), ("elad", "אלעד"), ("nadav", "נדב"),
    ("avi", "אבי"), ("eyal", "אייל"), ("guy", "גיא"), ("lior", "ליאור"), ("oren", "אורן"),
    ("yoav", "יואב"), ("ido", "עידו"), ("ofer", "עופר"), ("erez", "ארז"), ("shai", "שי"),
    ("yair", "יאיר"), ("zvi", "צבי"), ("haim", "חיים"), ("yehuda", "יהודה"), ("shimon", "שמעון"),
    ("meir", "מאיר"), ("asaf", "אסף"), ("boaz", "בועז"), ("dor", "דור"), ("ilan", "אילן"),
    ("matan", "מתן"), ("roi", "רועי"), ("yuval", "יובל"), ("nir", "ניר"), ("amit", "עמית"),
]  # fmt: skip
_HEBREW_FIRST_F = [
    ("yael", "יעל"), ("noa", "נועה"), ("tamar", "תמר"), ("shira", "שירה"),
    ("maya", "מאיה"), ("michal", "מיכל"), ("rivka", "רבקה"), ("sarah", "שרה"),
    ("talia", "טליה"), ("hila", "הילה"), ("orly", "אורלי"), ("dana", "דנה"),
    ("adi", "עדי"), ("liat", "ליאת"), ("keren", "קרן"), ("efrat", "אפרת"),
    ("galit", "גלית"), ("ronit", "רונית"), ("inbal", "ענבל"), ("neta", "נטע"),
    ("hadas", "הדס"), ("limor", "לימור"), ("merav", "מירב"), ("osnat", "אסנת"), ("sigal", "סיגל"),
    ("yifat", "יפעת"), ("ayelet", "איילת"), ("chen", "חן"), ("gali", "גלי"), ("hagar", "הגר"),
    ("irit", "עירית"), ("lea", "לאה"), ("miri", "מירי"), ("naama", "נעמה"), ("orit", "אורית"),
    ("sivan", "סיון"), ("tali", "טלי"), ("yarden", "ירדן"), ("zohar", "זוהר"), ("avital", "אביטל"),
    ("rotem", "רותם"), ("shani", "שני"), ("ella", "אלה"), ("noga", "נוגה"), ("moran", "מורן"),
]  # fmt: skip
_HEBREW_LAST = [
    ("cohen", "כהן"), ("levi", "לוי"), ("mizrahi", "מזרחי"), ("peretz", "פרץ"),
    ("biton", "ביטון"), ("dahan", "דהן"), ("avraham", "אברהם"), ("friedman", "פרידמן"),
    ("azoulay", "אזולאי"), ("katz", "כץ"), ("malka", "מלכה"), ("amar", "עמר"),
    ("ohana", "אוחנה"), ("gabay", "גבאי"), ("shapiro", "שפירא"), ("segal", "סגל"),
    ("ben david", "בן דוד"), ("golan", "גולן"), ("hadad", "חדד"), ("weiss", "וייס"),
    ("rosen", "רוזן"), ("shalom", "שלום"), ("alon", "אלון"), ("tal", "טל"),
    ("sasson", "ששון"), ("barak", "ברק"), ("nahum", "נחום"), ("vaknin", "וקנין"),
    ("amsalem", "אמסלם"), ("ashkenazi", "אשכנזי"), ("baruch", "ברוך"), ("ben ami", "בן עמי"),
    ("ben haim", "בן חיים"), ("berger", "ברגר"), ("dayan", "דיין"), ("eliyahu", "אליהו"),
    ("elkayam", "אלקיים"), ("gold", "גולד"), ("goldberg", "גולדברג"), ("halevi", "הלוי"),
    ("israeli", "ישראלי"), ("kaplan", "קפלן"), ("klein", "קליין"), ("marciano", "מרציאנו"),
    ("mor", "מור"), ("moyal", "מויאל"), ("navon", "נבון"), ("ofir", "אופיר"), ("rubin", "רובין"),
    ("sabag", "סבג"), ("shitrit", "שטרית"), ("tzur", "צור"), ("zaken", "זקן"), ("harel", "הראל"),
    ("carmi", "כרמי"), ("elbaz", "אלבז"), ("turgeman", "תורגמן"), ("hazan", "חזן"),
    ("avitan", "אביטן"), ("yaakobi", "יעקבי"), ("levin", "לוין"), ("fisher", "פישר"),
]  # fmt: skip

_EMAIL_DOMAINS = {
    "GB": ["gmail.com", "hotmail.co.uk", "outlook.com", "yahoo.co.uk", "btinternet.com"],
    "US": ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com"],
    "IL": ["gmail.com", "walla.co.il", "hotmail.com", "012.net.il"],
    "RU": ["gmail.com", "mail.ru", "yandex.ru", "rambler.ru"],
    "DE": ["gmail.com", "web.de", "gmx.de", "t-online.de"],
    "ES": ["gmail.com", "hotmail.es", "yahoo.es", "telefonica.net"],
}
_CATEGORIES = ["mortgage", "savings", "cards", "loans", "insurance", "investments", "pensions"]
_PURPOSES = [
    "identity_linking",
    "analytics",
    "personalisation",
    "ad_targeting",
    "messaging_marketing",
]
# Browser user agents: platform x browser x version, as a site's logs show them.
_USER_AGENTS = [
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
_PLACEHOLDER_EMAIL = "noemail@example.com"
_PLACEHOLDER_PHONE = "+44 20 7946 0000"
_OFFICE_IPS = ["203.0.113.10", "203.0.113.77", "198.51.100.5"]

Format = Literal["csv", "parquet"]


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoWorld:
    """One generated world: canonical source tables plus ground truth."""

    tables: dict[str, pd.DataFrame]
    """Source name (``crm``, ``web``, ...) -> canonical table."""
    labels: pd.DataFrame
    """``source, record_key, true_id`` for every linked record."""
    hard_cases: dict[str, list[str]] = field(default_factory=dict)
    """Hard case name -> the true ids that must stay distinct persons."""

    @property
    def touchpoint_count(self) -> int:
        """Records that take part in linking (customers, sessions, devices, contacts)."""
        return sum(len(self.tables[s]) for s in LINKED_SOURCES)


@dataclass(slots=True)
class _Person:
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


@dataclass(frozen=True, slots=True)
class _Pools:
    first_m: list[tuple[str, str]]
    first_f: list[tuple[str, str]]
    last: list[tuple[str, str]]
    cities: list[str]
    streets: list[tuple[str, str]]
    """(street address, postcode) pairs."""


# The commonest names and the biggest city first: real frequencies are Zipf-like
# and the "same common name in one city" hard case must be common for real.
_COMMON_FIRST = {"en_GB": "james", "en_US": "michael"}
_COMMON_LAST = {"en_GB": "smith", "en_US": "johnson"}
_BIGGEST_CITY = {"en_GB": "London", "en_US": "New York"}


@cache
def _pools(locale: str) -> _Pools:
    """Name and address pools for a locale, built once from Faker (seeded).

    Pools are shuffled with a fixed seed; ``_zipf_pick`` then gives the first
    entries the largest shares, as real name and city frequencies have.
    """
    fake = Faker(locale)
    fake.seed_instance(20261101)
    shuffle = np.random.default_rng(7).permutation
    if locale == "he_IL":
        first_m, first_f, last = list(_HEBREW_FIRST_M), list(_HEBREW_FIRST_F), list(_HEBREW_LAST)
    else:

        def native_pool(fn: Any, n: int) -> list[tuple[str, str]]:
            seen: dict[str, str] = {}
            for _ in range(n * 6):
                native = fn().strip()
                latin = anyascii(native).lower()
                if latin.isascii() and latin.replace(" ", "").replace("-", "").isalpha():
                    seen.setdefault(latin, native)
                if len(seen) >= n:
                    break
            return sorted(seen.items())

        first_m = native_pool(fake.first_name_male, 300)
        first_f = native_pool(fake.first_name_female, 300)
        last = native_pool(fake.last_name, 1500)
    first_m = [first_m[i] for i in shuffle(len(first_m))]
    first_f = [first_f[i] for i in shuffle(len(first_f))]
    last = [last[i] for i in shuffle(len(last))]
    if locale in _COMMON_FIRST:
        name = _COMMON_FIRST[locale]
        first_m = [(name, name.title())] + [x for x in first_m if x[0] != name]
        surname = _COMMON_LAST[locale]
        last = [(surname, surname.title())] + [x for x in last if x[0] != surname]
    cities: list[str] = []
    for _ in range(2000):
        city = fake.city()
        city = anyascii(city) if locale in ("he_IL", "ru_RU") else city
        city = city.removeprefix("g. ").removeprefix("k. ").removeprefix("d. ")
        if city not in cities:
            cities.append(city)
        if len(cities) >= 100:
            break
    if locale in _BIGGEST_CITY:
        cities = [_BIGGEST_CITY[locale]] + [c for c in cities if c != _BIGGEST_CITY[locale]]
    streets: list[tuple[str, str]] = []
    for _ in range(4000):
        street = fake.street_address().replace("\n", " ")
        if locale in ("he_IL", "ru_RU"):
            street = anyascii(street)
        streets.append((street, fake.postcode()))
    return _Pools(first_m=first_m, first_f=first_f, last=last, cities=cities, streets=streets)


@cache
def _zipf_weights(n: int, offset: float) -> np.ndarray:
    weights: np.ndarray = 1.0 / (np.arange(n) + offset)
    normalised: np.ndarray = weights / weights.sum()
    return normalised


@cache
def _mobile_template(region: str) -> tuple[str, int]:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:  # pragma: no cover - every demo region has an example
        raise ValueError(f"no example mobile number for {region}")
    return str(example.national_number), int(example.country_code or 0)


_NICKNAMER = NickNamer()


class _Gen:
    """Generates one chunk of persons and their records."""

    def __init__(
        self,
        *,
        seed: int,
        chunk: int,
        first_person: int,
        used_emails: set[str],
        used_phones: set[str],
    ) -> None:
        self.rng = np.random.default_rng([seed, chunk])
        self.chunk = chunk
        self.first_person = first_person
        self.rows: dict[str, list[dict[str, Any]]] = {s: [] for s in SOURCE_FILES}
        self.labels: list[tuple[str, str, str]] = []
        self.hard_cases: dict[str, list[str]] = {}
        # Shared by every chunk of one world: two people never share an email
        # or a phone by accident (only the labelled hard cases do, on purpose).
        self.used_emails = used_emails
        self.used_phones = used_phones
        self.household: dict[str, Any] = {}
        self.household_left = 0
        self.counters: dict[str, int] = {}

    # -- small random helpers ------------------------------------------------
    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def pick(self, items: list[Any]) -> Any:
        return items[int(self.rng.integers(len(items)))]

    def new_id(self, prefix: str) -> str:
        n = self.counters.get(prefix, 0) + 1
        self.counters[prefix] = n
        return f"{prefix}{self.chunk:03d}{n:07d}"

    def uuid(self) -> str:
        raw = self.rng.bytes(16).hex()
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"

    def timestamp(self, *, days_back: int = 180) -> datetime:
        seconds = int(self.rng.integers(days_back * 86400))
        return WORLD_NOW - timedelta(seconds=seconds)

    def carrier_ip(self, country: str) -> str:
        """A mobile carrier's NAT address: thousands of people share a few of them."""
        digest = hashlib.sha256(f"{country}{int(self.rng.integers(60))}".encode()).digest()
        return f"100.{64 + digest[0] % 64}.{digest[1]}.{digest[2]}"

    def ip(self) -> str:
        a, b, c, d = (int(x) for x in self.rng.integers(1, 255, size=4))
        return f"{a % 223 + 1}.{b}.{c}.{d}"

    # -- persons ------------------------------------------------------------------
    def person(self, index: int, *, overrides: dict[str, Any] | None = None) -> _Person:
        overrides = dict(overrides or {})
        weights = np.array([w for _, _, w in _LOCALES])
        locale, country, _ = _LOCALES[
            int(self.rng.choice(len(_LOCALES), p=weights / weights.sum()))
        ]
        if "locale" in overrides:
            locale = overrides.pop("locale")
            country = next(c for loc, c, _ in _LOCALES if loc == locale)
            overrides.pop("country", None)
        pools = _pools(locale)
        gender = "F" if self.chance(0.5) else "M"
        first, first_native = self._zipf_pick(
            pools.first_f if gender == "F" else pools.first_m, offset=20.0
        )
        last, last_native = self._zipf_pick(pools.last)
        street, city, postcode = self.address(locale)
        dob = date(1940, 1, 1) + timedelta(days=int(self.rng.integers(0, 365 * 66)))
        person = _Person(
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
            is_customer=self.chance(0.42),
            home_ip=self.ip(),
            office_ip=self.pick(_OFFICE_IPS) if self.chance(0.05) else None,
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

    def _join_household(self, person: _Person) -> None:
        """People live in households: one home (address, home IP), often one surname."""
        if self.household_left == 0:
            size = int(self.rng.choice([1, 2, 3, 4], p=[0.32, 0.36, 0.16, 0.16]))
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
        pools = _pools(home["locale"])
        person.locale, person.country = home["locale"], home["country"]
        head_first, head_native, head_gender = home["head_first"]
        if person.gender == head_gender == "M" and self.chance(0.01):  # Jr. and Sr.
            person.first, person.first_native = head_first, head_native
        else:  # one household, one name pool, and relatives have names of their own
            while True:
                person.first, person.first_native = self._zipf_pick(
                    pools.first_f if person.gender == "F" else pools.first_m, offset=20.0
                )
                if person.first not in home["names"] and not (
                    set(_NICKNAMER.canonicals_of(person.first)) & home["names"]
                ):
                    break
        home["names"].add(person.first)
        if self.chance(0.75):
            person.last, person.last_native = home["last"], home["last_native"]
        person.street, person.city, person.postcode = home["street"], home["city"], home["postcode"]
        person.home_ip = home["home_ip"]

    def _zipf_pick(self, pool: list[Any], *, offset: float = 10.0) -> Any:
        # Zipf-like: weight 1/(rank+offset). Surnames (offset 10): the commonest
        # is ~2 % of people (Smith in the UK is ~1 %); cities (offset 3): the
        # biggest holds ~12 % (London: 13 % of the UK).
        return pool[int(self.rng.choice(len(pool), p=_zipf_weights(len(pool), offset)))]

    def address(self, locale: str) -> tuple[str, str, str]:
        pools = _pools(locale)
        street, postcode = self.pick(pools.streets)
        return street, self._zipf_pick(pools.cities, offset=3.0), postcode

    def unique_email(self, p: _Person) -> str:
        first = anyascii(p.first).lower().replace(" ", "")
        last = anyascii(p.last).lower().replace(" ", "")
        domain = self.pick(_EMAIL_DOMAINS[p.country])
        for attempt in range(100):
            style = int(self.rng.integers(5))
            num = str(int(self.rng.integers(1, 9999))) if attempt or style > 2 else ""
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
        template, _code = _mobile_template(country)
        for _ in range(200):
            keep = max(2, len(template) - 7)
            digits = template[:keep] + "".join(
                str(d) for d in self.rng.integers(0, 10, size=len(template) - keep)
            )
            number = phonenumbers.parse(digits, country)
            if phonenumbers.is_valid_number(number):
                e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                if e164 not in self.used_phones:
                    self.used_phones.add(e164)
                    return e164
        raise AssertionError("could not draw a unique phone")  # pragma: no cover

    # -- noise ------------------------------------------------------------------------
    def typo(self, text: str) -> str:
        if len(text) < 3:
            return text
        i = int(self.rng.integers(1, len(text) - 1))
        op = int(self.rng.integers(3))
        if op == 0:  # swap
            return text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :]
        if op == 1:  # drop
            return text[:i] + text[i + 1 :]
        return text[:i] + str(self.pick(list(string.ascii_lowercase))) + text[i + 1 :]

    def cased(self, text: str) -> str:
        r = self.rng.random()
        if r < 0.6:
            return text.title()
        if r < 0.75:
            return text.upper()
        if r < 0.9:
            return text.lower()
        return f"  {text.title()} "

    def first_name_variant(self, p: _Person) -> str:
        name = p.first
        if p.locale in ("en_GB", "en_US") and self.chance(0.12):
            nicks = sorted(_NICKNAMER.nicknames_of(name))
            if nicks:
                name = self.pick(nicks)
        if self.chance(0.06):
            name = self.typo(name)
        return self.cased(name)

    def last_name_variant(self, p: _Person) -> str:
        name = self.typo(p.last) if self.chance(0.05) else p.last
        return self.cased(name)

    def email_variant(self, email: str, *, typed: bool) -> str:
        local, _, domain = email.partition("@")
        if domain == "gmail.com" and typed:
            r = self.rng.random()
            if r < 0.15:
                local = f"{local}+{self.pick(['news', 'shop', 'bank', 'promo'])}"
            elif r < 0.3 and "." not in local and len(local) > 3:
                cut = int(self.rng.integers(1, len(local) - 1))
                local = f"{local[:cut]}.{local[cut:]}"
        out = f"{local}@{domain}"
        r = self.rng.random()
        if r < 0.15:
            out = out.upper() if self.chance(0.3) else out[:1].upper() + out[1:]
        elif r < 0.25:
            out = f" {out} "
        return out

    def phone_variant(self, e164: str) -> str:
        number = phonenumbers.parse(e164, None)
        r = self.rng.random()
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

    def dob_variant(self, dob: date, country: str) -> str:
        r = self.rng.random()
        if r < 0.45:
            return dob.isoformat()
        if r < 0.75:
            return dob.strftime("%m/%d/%Y" if country == "US" else "%d/%m/%Y")
        if r < 0.85:
            return dob.strftime("%d.%m.%Y")
        return dob.strftime("%d %b %Y")

    def postcode_variant(self, postcode: str) -> str:
        r = self.rng.random()
        if r < 0.2:
            return postcode.replace(" ", "")
        if r < 0.3:
            return postcode.lower()
        return postcode

    # -- records -------------------------------------------------------------------------
    def label(self, source: str, key: str, true_id: str) -> None:
        self.labels.append((source, key, true_id))

    def customer_row(self, p: _Person, *, duplicate: bool = False) -> str:
        customer_id = self.new_id("C")
        p.customer_ids.append(customer_id)
        email = p.email
        phone: str | None = p.phone
        first = self.first_name_variant(p) if duplicate else self.cased(p.first)
        if duplicate:
            if self.chance(0.5):
                email = self.email_variant(p.email, typed=True)
            elif self.chance(0.6):
                email = self.unique_email(p)  # an older address
            if self.chance(0.4):
                phone = None
        if self.chance(0.12) and not duplicate:
            phone = None
        true_dob = p.dob
        if duplicate and self.chance(0.15):  # a typed date of birth with a slip
            true_dob = _dob_slip(p.dob, self.rng)
        dob: str | None = self.dob_variant(true_dob, p.country) if not self.chance(0.08) else None
        street, city, postcode = p.street, p.city, p.postcode
        if duplicate and self.chance(0.3):  # the duplicate holds an old address
            street, city, postcode = self.address(p.locale)
        self.rows["crm"].append(
            {
                "customer_id": customer_id,
                "email": self.email_variant(email, typed=False),
                "phone": self.phone_variant(phone) if phone else None,
                "first_name": (("Mr " if p.gender == "M" else "Mrs ") + first)
                if self.chance(0.05)
                else first,
                "last_name": self.cased(p.last),
                "date_of_birth": dob,
                "gender": p.gender,
                "address": street,
                "city": city,
                "postcode": self.postcode_variant(postcode),
                "country": p.country,
                "created_at": (WORLD_NOW - timedelta(days=int(self.rng.integers(30, 3000)))),
            }
        )
        self.label("crm", customer_id, p.true_id)
        return customer_id

    def session_row(
        self,
        p: _Person,
        *,
        true_id: str,
        cookie_id: str | None,
        device_id: str | None,
        user_agent: str,
        login: str | None,
        form: Literal["none", "newsletter", "checkout"],
    ) -> str:
        session_id = self.new_id("S")
        ip = p.home_ip
        if p.office_ip and self.chance(0.35):
            ip = p.office_ip
        elif self.chance(0.3):
            ip = self.carrier_ip(p.country)
        row: dict[str, Any] = {
            "session_id": session_id,
            "started_at": self.timestamp(),
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
            "gpc": self.chance(0.04),
        }
        if form == "newsletter":
            email = self.typo(p.email) if self.chance(0.02) else p.email
            row["email"] = self.email_variant(email, typed=True)
        elif form == "checkout":
            row["first_name"] = self.first_name_variant(p)
            row["last_name"] = self.last_name_variant(p)
            row["email"] = self.email_variant(p.email, typed=True) if self.chance(0.7) else None
            row["phone"] = self.phone_variant(p.phone) if self.chance(0.5) else None
            street, city, postcode = p.street, p.city, p.postcode
            if self.chance(0.1):  # moved house since the CRM row was written
                street, city, postcode = self.address(p.locale)
            row["postcode"] = self.postcode_variant(postcode)
            row["city"] = city
            row["country"] = p.country
        self.rows["web"].append(row)
        self.label("web", session_id, true_id)
        self.events_for("cookie" if cookie_id else "device", cookie_id or device_id or "", row)
        return session_id

    def events_for(self, subject_type: str, subject_id: str, session: dict[str, Any]) -> None:
        interest = self.pick(_CATEGORIES)
        for i in range(int(self.rng.integers(1, 4))):
            category = interest if self.chance(0.7) else self.pick(_CATEGORIES)
            self.rows["events"].append(
                {
                    "subject_type": subject_type,
                    "subject_id": subject_id,
                    "ts": session["started_at"] + timedelta(seconds=30 * i),
                    "event_type": "page_view",
                    "category": category,
                    "url": f"https://bank.example/{category}/{int(self.rng.integers(1, 40))}",
                    "value": None,
                    "channel": "web",
                }
            )

    def consent_rows(self, subject_type: str, subject_id: str) -> None:
        r = self.rng.random()
        if r < 0.08:
            return  # never answered the banner: purpose defaults apply
        linking = "granted" if r < 0.82 else "denied"
        when = self.timestamp(days_back=200)
        for purpose in _PURPOSES:
            status = linking
            if purpose != "identity_linking" and linking == "granted" and self.chance(0.15):
                status = "denied"
            self.rows["consents"].append(
                {
                    "subject_type": subject_type,
                    "subject_id": subject_id,
                    "purpose": purpose,
                    "status": status,
                    "recorded_at": when,
                    "source": "cmp",
                    "evidence": "banner-v3",
                    "expires_at": when + timedelta(days=395),
                    "event_id": self.new_id("E"),
                }
            )
        if linking == "granted" and self.chance(0.05):
            self.rows["consents"].append(
                {
                    "subject_type": subject_type,
                    "subject_id": subject_id,
                    "purpose": "ad_targeting",
                    "status": "withdrawn",
                    "recorded_at": when + timedelta(days=int(self.rng.integers(1, 60))),
                    "source": "preference_centre",
                    "evidence": "prefs-v1",
                    "expires_at": None,
                    "event_id": self.new_id("E"),
                }
            )

    def web_activity(self, p: _Person, *, device_id: str | None) -> None:
        # A person uses one to three browsers; each browser holds one to four
        # cookies over time (cookies cleared, or capped at 7 days by Safari's
        # ITP), all with the browser's user agent.
        n_browsers = 1 + min(int(self.rng.geometric(0.6)) - 1, 2)
        for _ in range(n_browsers):
            user_agent = self.pick(_USER_AGENTS)
            logs_in = bool(p.customer_ids) and self.chance(0.5)
            for _ in range(1 + min(int(self.rng.geometric(0.6)) - 1, 3)):
                self.cookie_sessions(p, user_agent=user_agent, logs_in=logs_in)
        if device_id:
            for _ in range(int(self.rng.poisson(1.5))):
                self.session_row(
                    p,
                    true_id=p.true_id,
                    cookie_id=None,
                    device_id=device_id,
                    user_agent="TetherBankApp/5.2",
                    login=p.customer_ids[0] if p.customer_ids and self.chance(0.3) else None,
                    form="newsletter" if self.chance(0.03) else "none",
                )

    def cookie_sessions(self, p: _Person, *, user_agent: str, logs_in: bool) -> None:
        cookie_id = self.uuid()
        self.consent_rows("cookie", cookie_id)
        n_sessions = 1 + int(self.rng.poisson(3.0))
        # Most cookies identify themselves at least once (a login, a newsletter
        # sign-up, a checkout, or a click-through from a campaign email
        # carrying the address); about 15 % never do.
        identifying = int(self.rng.integers(n_sessions)) if self.chance(0.85) else -1
        for k in range(n_sessions):
            login = p.customer_ids[0] if logs_in and self.chance(0.45) else None
            form = self._form()
            if k == identifying and login is None and form == "none":
                if p.customer_ids and self.chance(0.5):
                    login = p.customer_ids[0]
                else:
                    form = "checkout" if self.chance(0.25) else "newsletter"
            self.session_row(
                p,
                true_id=p.true_id,
                cookie_id=cookie_id,
                device_id=None,
                user_agent=user_agent,
                login=login,
                form=form,
            )

    def _form(self) -> Literal["none", "newsletter", "checkout"]:
        r = self.rng.random()
        if r < 0.07:
            return "newsletter"
        if r < 0.10:
            return "checkout"
        return "none"

    def device_row(self, p: _Person) -> str:
        device_id = self.uuid()
        platform = "ios" if self.chance(0.45) else "android"
        first_seen = self.timestamp(days_back=400)
        self.rows["app"].append(
            {
                "device_id": device_id,
                "first_seen": first_seen,
                "last_seen": min(
                    WORLD_NOW, first_seen + timedelta(days=int(self.rng.integers(1, 300)))
                ),
                "ad_id": self.uuid().upper() if platform == "ios" else self.uuid(),
                "platform": platform,
                "ip": p.home_ip,
                "customer_id": p.customer_ids[0] if p.customer_ids and self.chance(0.6) else None,
                "email": self.email_variant(p.email, typed=True) if self.chance(0.15) else None,
                "phone": self.phone_variant(p.phone) if self.chance(0.1) else None,
            }
        )
        self.label("app", device_id, p.true_id)
        self.consent_rows("device", device_id)
        return device_id

    def contact_row(
        self, p: _Person, *, phone: str | None = None, channel: str | None = None
    ) -> str:
        contact_id = self.new_id("M")
        r = self.rng.random()
        channel = channel or (
            "whatsapp"
            if r < 0.4
            else "viber"
            if r < 0.55
            else "telegram"
            if r < 0.8
            else "messenger"
        )
        phone = phone or p.phone
        native = p.locale in ("he_IL", "ru_RU") and self.chance(0.6)
        first, last = (p.first_native, p.last_native) if native else (p.first, p.last)
        shape = self.rng.random()
        if shape < 0.6:
            display: str | None = f"{first} {last}"
        elif shape < 0.8:
            display = first
        elif shape < 0.9:
            display = f"{first} {last[:1]}."
        else:
            display = None
        if not native and display:
            display = self.cased(display).strip()
        row: dict[str, Any] = {
            "contact_id": contact_id,
            "channel": channel,
            "phone": None,
            "handle": None,
            "display_name": display,
            "email": None,
            "customer_id": p.customer_ids[0] if p.customer_ids and self.chance(0.1) else None,
        }
        if channel in ("whatsapp", "viber"):
            # WhatsApp and Viber identify users by the international number:
            # exported as digits without "+", sometimes with it.
            row["phone"] = phone.lstrip("+") if self.chance(0.7) else phone
        elif channel == "telegram":
            row["handle"] = "@" + anyascii(p.first).lower() + str(int(self.rng.integers(10, 999)))
            row["phone"] = self.phone_variant(phone) if self.chance(0.3) else None
        else:
            row["display_name"] = display or f"{first} {last}"
            row["email"] = self.email_variant(p.email, typed=True) if self.chance(0.1) else None
        self.rows["messaging"].append(row)
        self.label("messaging", contact_id, p.true_id)
        self.consent_rows("contact", contact_id)
        sent = int(self.rng.integers(0, 12))
        read_rate = float(self.rng.beta(2, 2))
        for _ in range(sent):
            ts = self.timestamp(days_back=60)
            for event_type, keep in (
                ("message_sent", True),
                ("message_delivered", self.chance(0.95)),
                ("message_read", self.chance(read_rate)),
            ):
                if not keep:
                    break
                self.rows["events"].append(
                    {
                        "subject_type": "contact",
                        "subject_id": contact_id,
                        "ts": ts,
                        "event_type": event_type,
                        "category": None,
                        "url": None,
                        "value": None,
                        "channel": channel,
                    }
                )
        return contact_id

    def interactions_for(self, p: _Person) -> None:
        for _ in range(int(self.rng.poisson(1.2))):
            kind = self.pick(["advisor_meeting", "call", "purchase", "call"])
            self.rows["interactions"].append(
                {
                    "customer_id": self.pick(p.customer_ids),
                    "ts": self.timestamp(days_back=180),
                    "kind": kind,
                    "outcome": self.pick(["completed", "no_show", "follow_up"])
                    if kind != "purchase"
                    else "completed",
                    "value": round(float(self.rng.gamma(2, 400)), 2)
                    if kind == "purchase"
                    else None,
                }
            )

    def life(self, p: _Person, *, contact: bool | None = None) -> None:
        """Every record one person leaves behind."""
        if p.is_customer:
            self.customer_row(p)
            if self.chance(0.04):
                self.customer_row(p, duplicate=True)
            self.interactions_for(p)
        device_id = self.device_row(p) if self.chance(0.45) else None
        self.web_activity(p, device_id=device_id)
        # A bank's messaging channels are used mostly by its customers.
        if contact if contact is not None else self.chance(0.65 if p.is_customer else 0.3):
            self.contact_row(p)

    # -- hard cases ----------------------------------------------------------------------
    def hard_cases_block(self, next_index: int) -> int:
        """Adds the labelled hard cases; returns the next free person index."""
        i = next_index
        # 1. A family tablet: two customers log into their own accounts on one device.
        a = self.person(i, overrides={"is_customer": True, "locale": "en_GB"})
        b = self.person(
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
        household = f"H{self.chunk:03d}0001"
        for p in (a, b):
            self.life(p)
        tablet = self.uuid()
        self.rows["app"].append(
            {
                "device_id": tablet,
                "first_seen": self.timestamp(days_back=300),
                "last_seen": WORLD_NOW,
                "ad_id": self.uuid(),
                "platform": "android",
                "ip": a.home_ip,
                "customer_id": None,
                "email": None,
                "phone": None,
            }
        )
        self.label("app", tablet, household)
        for owner, n in ((a, 4), (b, 3), (None, 5)):
            for _ in range(n):
                self.session_row(
                    owner or a,
                    true_id=owner.true_id if owner else household,
                    cookie_id=None,
                    device_id=tablet,
                    user_agent="TetherBankApp/5.2 (tablet)",
                    login=owner.customer_ids[0] if owner else None,
                    form="none",
                )
        self.hard_cases["family_tablet"] = [a.true_id, b.true_id, household]
        i += 2

        # 2. Twins at one address: same surname, birthday and home; own emails and phones.
        t1 = self.person(i, overrides={"is_customer": True, "locale": "en_GB"})
        t2 = self.person(
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
            self.life(p, contact=True)
            # both fill in a checkout form: name, postcode, city agree
            for _ in range(2):
                self.session_row(
                    p,
                    true_id=p.true_id,
                    cookie_id=self.uuid(),
                    device_id=None,
                    user_agent=self.pick(_USER_AGENTS),
                    login=None,
                    form="checkout",
                )
        self.hard_cases["twins"] = [t1.true_id, t2.true_id]
        i += 2

        # 3. Five people with the same common name in one city.
        common = []
        for k in range(5):
            p = self.person(
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
            self.life(p, contact=True)
            self.session_row(
                p,
                true_id=p.true_id,
                cookie_id=self.uuid(),
                device_id=None,
                user_agent=self.pick(_USER_AGENTS),
                login=None,
                form="checkout",
            )
            common.append(p.true_id)
        self.hard_cases["same_name_same_city"] = common
        i += 5

        # 4. A phone number recycled: the old owner's CRM row still has it.
        new_owner = self.person(i, overrides={"is_customer": True})
        old_owner = self.person(
            i + 1,
            overrides={"is_customer": True, "locale": new_owner.locale},
        )
        self.life(new_owner, contact=False)
        self.life(old_owner, contact=False)
        recycled = new_owner.phone
        self.rows["crm"].append(
            {
                "customer_id": self.new_id("C"),
                "email": old_owner.email,
                "phone": self.phone_variant(recycled),
                "first_name": old_owner.first.title(),
                "last_name": old_owner.last.title(),
                "date_of_birth": old_owner.dob.isoformat(),
                "gender": old_owner.gender,
                "address": old_owner.street,
                "city": old_owner.city,
                "postcode": old_owner.postcode,
                "country": old_owner.country,
                "created_at": WORLD_NOW - timedelta(days=2900),
            }
        )
        self.label("crm", self.rows["crm"][-1]["customer_id"], old_owner.true_id)
        self.contact_row(new_owner, phone=recycled, channel="whatsapp")
        self.hard_cases["recycled_phone"] = [new_owner.true_id, old_owner.true_id]
        i += 2

        # 5. Placeholder email and phone typed by unrelated customers.
        placeholders = []
        for k in range(6):
            p = self.person(i + k, overrides={"is_customer": True, "locale": "en_GB"})
            p.email = _PLACEHOLDER_EMAIL if k % 2 == 0 else p.email
            p.phone = _placeholder_e164() if k % 2 == 1 else p.phone
            self.life(p, contact=False)
            placeholders.append(p.true_id)
        self.hard_cases["placeholder_identifiers"] = placeholders
        i += 6
        return i

    def frames(self) -> DemoWorld:
        tables = {
            name: pd.DataFrame(rows, columns=_COLUMNS[name]) for name, rows in self.rows.items()
        }
        labels = pd.DataFrame(self.labels, columns=["source", "record_key", "true_id"])
        return DemoWorld(tables=tables, labels=labels, hard_cases=self.hard_cases)


def _dob_slip(dob: date, rng: np.random.Generator) -> date:
    """A date of birth typed with a slip: day and month swapped, or a digit off."""
    if rng.random() < 0.5 and dob.day <= 12 and dob.day != dob.month:
        return dob.replace(month=dob.day, day=dob.month)
    try:
        return dob.replace(day=dob.day + 1 if dob.day < 28 else dob.day - 1)
    except ValueError:  # pragma: no cover - replace() stays in range above
        return dob


@lru_cache(maxsize=1)
def _placeholder_e164() -> str:
    return phonenumbers.format_number(
        phonenumbers.parse(_PLACEHOLDER_PHONE, "GB"), phonenumbers.PhoneNumberFormat.E164
    )


_COLUMNS: dict[str, list[str]] = {
    "crm": [
        "customer_id", "email", "phone", "first_name", "last_name", "date_of_birth", "gender",
        "address", "city", "postcode", "country", "created_at",
    ],
    "web": [
        "session_id", "started_at", "cookie_id", "device_id", "ip", "user_agent", "customer_id",
        "email", "phone", "first_name", "last_name", "postcode", "city", "country", "gpc",
    ],
    "app": [
        "device_id", "first_seen", "last_seen", "ad_id", "platform", "ip", "customer_id", "email",
        "phone",
    ],
    "messaging": ["contact_id", "channel", "phone", "handle", "display_name", "email", "customer_id"],
    "events": ["subject_type", "subject_id", "ts", "event_type", "category", "url", "value", "channel"],
    "interactions": ["customer_id", "ts", "kind", "outcome", "value"],
    "consents": [
        "subject_type", "subject_id", "purpose", "status", "recorded_at", "source", "evidence",
        "expires_at", "event_id",
    ],
}  # fmt: skip


def iter_demo_world_chunks(
    *, persons: int, seed: int, chunk_persons: int = 50_000
) -> Iterator[DemoWorld]:
    """Generate the world in chunks of persons; each chunk is independent and seeded.

    The hard cases are in the first chunk. Ids are unique across chunks.
    """
    if persons < 1:
        raise ValueError("persons must be at least 1")
    start = 0
    chunk = 0
    used_emails: set[str] = set()
    used_phones: set[str] = set()
    while start < persons:
        size = min(chunk_persons, persons - start)
        gen = _Gen(
            seed=seed,
            chunk=chunk,
            first_person=start,
            used_emails=used_emails,
            used_phones=used_phones,
        )
        index = start
        if chunk == 0 and persons >= 20:
            index = gen.hard_cases_block(index)
        while index < start + size:
            gen.life(gen.person(index))
            index += 1
        yield gen.frames()
        start += size
        chunk += 1


def generate_demo_world(*, persons: int = 2000, seed: int = 42) -> DemoWorld:
    """Generate a whole demo world in memory.

    Examples:
        >>> world = generate_demo_world(persons=50, seed=1)
        >>> sorted(world.tables)[:3]
        ['app', 'consents', 'crm']
    """
    chunks = list(iter_demo_world_chunks(persons=persons, seed=seed, chunk_persons=max(persons, 1)))
    (world,) = chunks
    return world


def write_demo_world(
    directory: Path,
    *,
    persons: int = 2000,
    seed: int = 42,
    fmt: Format = "csv",
    chunk_persons: int = 50_000,
    activity: bool = True,
) -> dict[str, Any]:
    """Write the world's sources, labels and hard cases into ``directory``.

    A world that fits one chunk is written as one file per source; larger
    worlds as a directory of part files per source (ingest reads both).
    With ``activity=False`` the events, interactions and consents are not
    written (benchmarks of linking do not need them).

    Returns a summary: rows per source, touchpoints, hard cases.
    """
    directory.mkdir(parents=True, exist_ok=True)
    chunked = persons > chunk_persons
    sources = [s for s in SOURCE_FILES if activity or s in LINKED_SOURCES]
    counts = dict.fromkeys([*sources, "labels"], 0)
    hard_cases: dict[str, list[str]] = {}
    for number, world in enumerate(
        iter_demo_world_chunks(persons=persons, seed=seed, chunk_persons=chunk_persons)
    ):
        hard_cases.update(world.hard_cases)
        for source in sources:
            frame = world.tables[source]
            _write(frame, directory, SOURCE_FILES[source][1], fmt, number if chunked else None)
            counts[source] += len(frame)
        _write(world.labels, directory, "labels", "csv", number if chunked else None)
        counts["labels"] += len(world.labels)
    if chunked:
        _concat_labels(directory)
    (directory / "hard_cases.csv").write_text(
        "case,true_id\n"
        + "".join(f"{case},{tid}\n" for case, ids in sorted(hard_cases.items()) for tid in ids)
    )
    return {
        "rows": counts,
        "touchpoints": sum(counts[s] for s in LINKED_SOURCES),
        "hard_cases": hard_cases,
        "fingerprint": _fingerprint(directory),
    }


def _write(frame: pd.DataFrame, directory: Path, stem: str, fmt: str, part: int | None) -> None:
    if part is None:
        path = directory / f"{stem}.{fmt}"
    else:
        (directory / stem).mkdir(exist_ok=True)
        path = directory / stem / f"part-{part:05d}.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


def _concat_labels(directory: Path) -> None:
    parts = sorted((directory / "labels").glob("part-*.csv"))
    with (directory / "labels.csv").open("w") as out:
        for n, part in enumerate(parts):
            lines = part.read_text().splitlines(keepends=True)
            out.writelines(lines if n == 0 else lines[1:])
            part.unlink()
    (directory / "labels").rmdir()


def _fingerprint(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.name != "tether.toml":
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def demo_config_toml(
    *, data_dir: str, fmt: Format = "csv", chunked: bool = False, activity: bool = True
) -> str:
    """The ``tether.toml`` that reads a written demo world (paths relative to it).

    With ``activity=False`` only the linked sources are configured, as
    ``write_demo_world(activity=False)`` writes only those. Such a world has
    no consent records, so its config allows linking by default (resolver
    benchmarks measure linking, not the consent gate).
    """
    lines = [
        "# Tether configuration for the generated demo world.",
        "# Each [sources.NAME] is one input; NAME is the `source` downstream.",
        "",
    ]
    for name, (kind, stem) in SOURCE_FILES.items():
        if not activity and name not in LINKED_SOURCES:
            continue
        path = f"{data_dir}/{stem}" + ("" if chunked else f".{fmt}")
        lines += [f"[sources.{name}]", f'kind = "{kind}"', f'path = "{path}"', ""]
    lines += [
        "[linking]",
        "threshold = 0.9          # match probability at which records cluster",
        'default_region = "GB"    # for phone numbers written without a country code',
        "",
    ]
    if not activity:
        lines += [
            "[consent.defaults]",
            "identity_linking = true  # no consent source here: link every record",
            "",
        ]
    return "\n".join(lines)
