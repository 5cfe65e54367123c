"""Labelled hard cases: different people that look alike and must never be merged.

Each case is a list of true ids that must end up in distinct persons:

* ``family_tablet``: one tablet, logged into the owner's account and, in
  other sessions, into the spouse's own account.
* ``twins``: same surname, date of birth, address and home IP; different
  first names.
* ``same_name_same_city``: the locale's most common full name (Yosef Cohen,
  Aleksandr Ivanov, Mohammed Agbaria, James Smith, ...) carried by several
  people in its biggest city, two of them born the same year.
* ``recycled_phone``: a number given up by one person and reassigned to
  another; the old owner's CRM row and WhatsApp contact still carry it.
* ``placeholder_identifiers``: unrelated customers whose CRM rows carry the
  same placeholder email (noemail@...) or phone (000...), because the form
  demanded one.
* ``father_son_same_name``: John Smith Sr and Jr at one address, a
  generation apart.
* ``shared_family_email``: spouses with one family email address, each a
  customer in their own right.

The people are made with the ordinary machinery (so they have normal web,
app and messaging lives), then given the attributes that make them hard.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from api.worlds.harder.names import locale_pools
from api.worlds.harder.people import Factory, Person, mobile_number, pick
from api.worlds.harder.places import city_weights
from api.worlds.harder.sources import PLACEHOLDER_EMAILS, PLACEHOLDER_PHONES

__all__ = ["HARD_CASES", "HardCases", "hard_case_people", "instances_for"]

HARD_CASES = (
    "family_tablet",
    "twins",
    "same_name_same_city",
    "recycled_phone",
    "placeholder_identifiers",
    "father_son_same_name",
    "shared_family_email",
)
#: People one instance of every case needs (the sum over the cases above).
PEOPLE_PER_ROUND = 2 + 2 + 3 + 2 + 3 + 2 + 2


@dataclass(slots=True)
class HardCases:
    """The hard-case people of the first chunk and what the source builders must know."""

    people: list[Person] = field(default_factory=list)
    cases: dict[str, list[str]] = field(default_factory=dict)
    shared_devices: list[tuple[Person, Person]] = field(default_factory=list)
    """(tablet owner, the other parent who logs in on it)."""


def instances_for(persons: int, chunk_size: int) -> int:
    """How many instances of each case a world of ``persons`` gets (5 at 3000 persons)."""
    if persons < 60:
        return 0
    wanted = max(2, min(40, round(persons / 600)))
    return min(wanted, chunk_size // (3 * PEOPLE_PER_ROUND))


def hard_case_people(factory: Factory, *, first_gid: int, instances: int) -> HardCases:
    """``instances`` of every hard case, people numbered from ``first_gid``."""
    out = HardCases(cases={case: [] for case in HARD_CASES})
    maker = _Maker(factory, first_gid, out)
    for i in range(instances):
        maker.family_tablet(("he", "ru_il", "gb", "us", "ar", "ru")[i % 6])
        maker.twins(("he", "ru", "ar", "gb", "us", "ru_il")[i % 6])
        maker.same_name_same_city(("he", "ru", "gb", "ar", "us", "ru_il")[i % 6])
        maker.recycled_phone(("he", "gb", "ru_il", "us", "ru")[i % 5])
        maker.placeholders(i)
        maker.father_son(("us", "gb", "us", "ar", "gb", "he")[i % 6])
        maker.shared_email(("he", "ru_il", "gb", "us", "ru")[i % 5])
    return out


class _Maker:
    """Makes the people of each case with the factory, numbering them from ``first_gid``."""

    def __init__(self, factory: Factory, first_gid: int, out: HardCases) -> None:
        """Keep the factory, the next free person index and the result being built."""
        self.f = factory
        self.gid = first_gid
        self.out = out

    def take(self, n: int = 1) -> int:
        """Reserve ``n`` consecutive global person indices."""
        gid = self.gid
        self.gid += n
        return gid

    def add(self, case: str, *people: Person) -> None:
        """Record ``people`` as one instance of ``case`` (all of them customers)."""
        for p in people:
            p.customer = True
            p.roles.add(case)
        self.out.people.extend(people)
        self.out.cases[case].extend(p.true_id for p in people)

    def age(self, lo: int, hi: int) -> int:
        """An age in ``lo..hi`` years."""
        return lo + self.f.rnd.randrange(hi - lo + 1)

    def couple(self, locale: str) -> list[Person]:
        """A married couple at a new home (one household, one surname unless she kept hers)."""
        gid = self.take(2)
        home = self.f.household(gid, locale)
        return self.f.couple(gid, locale, home, self.age(28, 60))

    def family_tablet(self, locale: str) -> None:
        """Spouses, both online customers; the first owns the tablet, the second logs in on it."""
        owner, other = self.couple(locale)
        owner.online = other.online = True
        self.out.shared_devices.append((owner, other))
        self.add("family_tablet", owner, other)

    def twins(self, locale: str) -> None:
        """Twins: one surname, date of birth, home and IP; two different first names."""
        gid = self.take(2)
        home = self.f.household(gid, locale)
        age = self.age(19, 45)
        first = self.f.person(gid, locale, home, female=self.f.rnd.random() < 0.5, age=age)
        female = first.female if self.f.rnd.random() < 0.5 else not first.female
        second = self.f.person(
            gid + 1, locale, home, female=female, age=age, surname=first.surname_ref
        )
        while second.first.key == first.first.key:
            second = self.f.person(
                gid + 1, locale, home, female=female, age=age, surname=first.surname_ref
            )
        second.dob = first.dob
        self.add("twins", first, second)

    def same_name_same_city(self, locale: str) -> None:
        """The commonest male name of the locale, three times in its biggest city."""
        weights = city_weights(locale)
        city = int(weights.argmax())
        people: list[Person] = []
        for k in range(3):
            gid = self.take()
            home = self.f.household(gid, locale, city_index=city)
            p = self.f.person(gid, locale, home, female=False, age=self.age(22, 70), first=0,
                              surname=(locale, 0))  # fmt: skip
            if k == 1:
                p.dob = p.dob.replace(year=people[0].dob.year)  # born the same year as the first
            people.append(p)
        self.add("same_name_same_city", *people)

    def recycled_phone(self, locale: str) -> None:
        """A's old number now belongs to B; A's CRM row and WhatsApp contact still carry it."""
        gid_a = self.take()
        a = self.f.person(
            gid_a, locale, self.f.household(gid_a, locale), female=False, age=self.age(30, 70)
        )
        gid_b = self.take()
        b = self.f.person(
            gid_b, locale, self.f.household(gid_b, locale), female=True, age=self.age(20, 40)
        )
        number = mobile_number(a.country, a.gid * 4 + 1, self.f.rnd, a.household.city)
        a.old_phone = number
        a.roles.add("recycled_old")
        a.overrides["phone"] = number.written(self.f.rnd, style="national")
        a.channels = tuple(dict.fromkeys(("whatsapp", *a.channels)))
        b.phone = number
        b.channels = tuple(dict.fromkeys(("whatsapp", *b.channels)))
        self.add("recycled_phone", a, b)

    def placeholders(self, i: int) -> None:
        """Three strangers whose primary CRM rows share one placeholder email or phone."""
        use_email = i % 2 == 0
        value = (
            PLACEHOLDER_EMAILS[i // 2 % len(PLACEHOLDER_EMAILS)]
            if use_email
            else PLACEHOLDER_PHONES[i // 2 % len(PLACEHOLDER_PHONES)]
        )
        people: list[Person] = []
        for locale in (("he", "ru_il", "gb"), ("ar", "us", "he"), ("ru", "he", "ru_il"))[i % 3]:
            gid = self.take()
            p = self.f.person(gid, locale, self.f.household(gid, locale), female=self.f.rnd.random() < 0.5,
                              age=self.age(20, 80))  # fmt: skip
            p.overrides["email" if use_email else "phone"] = value
            people.append(p)
        self.add("placeholder_identifiers", *people)

    def father_son(self, locale: str) -> None:
        """John Smith Sr and Jr: same name and address, a generation apart."""
        gid = self.take(2)
        home = self.f.household(gid, locale)
        father_age = self.age(52, 78)
        father = self.f.person(gid, locale, home, female=False, age=father_age)
        son = self.f.person(gid + 1, locale, home, female=False, age=father_age - self.age(22, 34),
                            first=self.first_index(father), surname=father.surname_ref)  # fmt: skip
        son.spelling = father.spelling
        father.suffix, son.suffix = "Sr", "Jr"
        self.add("father_son_same_name", father, son)

    def first_index(self, p: Person) -> int:
        """Index of ``p``'s first name in the male forename pool of their locale."""
        pool = locale_pools(p.locale).male
        return next(i for i, name in enumerate(pool.names) if name is p.first)

    def shared_email(self, locale: str) -> None:
        """Spouses who share one family address (cohenfamily@...), each a customer."""
        first, second = self.couple(locale)
        rnd = self.f.rnd
        husband = first if not first.female else second
        last = "".join(ch for ch in husband.last.latin[0].lower() if ch.isalnum())
        domain = pick(rnd, ("gmail.com", "walla.co.il", "yahoo.com", "mail.ru"), (6, 2, 1, 1))
        local = pick(
            rnd,
            (f"{last}family", f"the{last}s", f"{last}.home", f"{last}{rnd.randrange(10, 99)}"),
            (3, 2, 3, 2),
        )
        email = f"{local}@{domain}"
        while not self.f.claim_email(email):
            email = f"{local}{rnd.randrange(2, 99)}@{domain}"
        first.email = second.email = email
        self.add("shared_family_email", first, second)
