"""Names and places: per-locale pools of first names, surnames, cities and streets.

The pools are drawn once per locale from Faker (seeded, so the same every
time) and shuffled with a fixed seed; ``Draws.zipf_pick`` then gives the first
entries the largest shares, as real name and city frequencies have. Israeli
names are listed here, written both ways: CRMs hold the Latin form,
messaging display names often the Hebrew one. Hebrew has no vowels, which is
what makes it hard. Faker is imported on first use, not with the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from anyascii import anyascii
from nicknames import NickNamer

__all__ = ["LOCALES", "Pools", "nicknamer", "pools"]

#: (Faker locale, country, share of people).
LOCALES: list[tuple[str, str, float]] = [
    ("en_GB", "GB", 0.40),
    ("en_US", "US", 0.14),
    ("he_IL", "IL", 0.14),
    ("ru_RU", "RU", 0.10),
    ("de_DE", "DE", 0.11),
    ("es_ES", "ES", 0.11),
]

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

# The commonest names and the biggest city first: real frequencies are Zipf-like
# and the "same common name in one city" hard case must be common for real.
_COMMON_FIRST = {"en_GB": "james", "en_US": "michael"}
_COMMON_LAST = {"en_GB": "smith", "en_US": "johnson"}
_BIGGEST_CITY = {"en_GB": "London", "en_US": "New York"}


@dataclass(frozen=True, slots=True)
class Pools:
    """A locale's names (Latin form, native form), cities and streets."""

    first_m: list[tuple[str, str]]
    first_f: list[tuple[str, str]]
    last: list[tuple[str, str]]
    cities: list[str]
    streets: list[tuple[str, str]]
    """(street address, postcode) pairs."""


@cache
def pools(locale: str) -> Pools:
    """Name and address pools for a locale, built once from Faker (seeded).

    Pools are shuffled with a fixed seed; ``Draws.zipf_pick`` then gives the
    first entries the largest shares, as real name and city frequencies have.
    """
    from faker import Faker

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
    return Pools(first_m=first_m, first_f=first_f, last=last, cities=cities, streets=streets)


@cache
def nicknamer() -> NickNamer:
    """The nickname table (Bill for William), loaded once on first use."""
    return NickNamer()
