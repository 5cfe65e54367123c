"""Identifiers that name a household, not a person.

Families share one email address and write it so: ``cohenfamily@``,
``thepierces@``, ``semya.ivanovy@``. Such an address is evidence of the
household: on a customer's row, under that customer's name, it belongs to
them as much as any email does, and two customers of one household both
writing it are told apart by their names (``resolver.edges``, a family's
value under first names that disagree). A record that carries the address and
no name (a newsletter sign-up on a web session, an app install that typed it)
says only "someone of this household": when the data shows the address under
one first name only (the other spouse's CRM row has another email, or none),
joining the record to that one person is a guess, wrong whenever the other
member typed it. ``household_email`` tells such addresses by their local part.

What counts (``dunn.family``, ``dunn_family`` and ``dunnfamily`` alike; a family
word is looked for within each part between separators, so ``mustafa.miller``
and ``denise.mia`` do not hold ``famil`` or ``semia``):

* a word for family or household: ``famil-`` (English ``family``, German and
  Dutch ``familie``, French ``famille``, Spanish and Portuguese ``familia``),
  Italian ``famiglia``, English ``household``; Hebrew משפחה transliterated (``mishpacha``, ``mishpaha``,
  ``mishpakha``, Yiddish ``mishpocha``); Russian семья and семейство
  transliterated (``semya``, ``semja``, ``semia``, ``semiya``, ``semeystvo``,
  ``semejstvo``); Arabic عائلة in chat spelling (``3aila``, ``3ayla``: a bare
  ``aila`` is half of Laila and Ayla, names);
* ``the`` + one of the surnames written with the address + ``s`` or ``es``
  (``thepierces``, ``thejoneses``, ``thecohens``): the English way of
  naming a family. Without a surname to match, ``the...s`` is not taken
  (``theodoros`` is a person).

Not taken: ``home`` (``dunn.home`` is as often one person's home address as a
family's, and ``homer`` is a name), a surname with digits (``dunn42``), or a
surname alone: nothing in them says the address is shared.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = ["HOUSEHOLD_WORDS", "household_email"]

#: Words for a family or household as written in email local parts (letters only).
HOUSEHOLD_WORDS: tuple[str, ...] = (
    "famil", "famiglia", "household",
    "mishpacha", "mishpaha", "mishpakha", "mishpocha", "mishpoha",
    "semya", "semja", "semia", "semiya", "semeystvo", "semejstvo",
    "3aila", "3ayla",
)  # fmt: skip

#: Letters (and digits, for ``3aila``) of a local part; everything else is dropped.
_NOT_KEPT = re.compile(r"[^a-z0-9]")
#: What separates the parts of a local part (``dunn.family``, ``semya_ivanovy``).
_SEPARATORS = re.compile(r"[^\w]+|_")
_WORDS = re.compile("|".join(sorted(map(re.escape, HOUSEHOLD_WORDS), key=len, reverse=True)))


def household_email(email: str, surnames: Iterable[str] = ()) -> bool:
    """Whether an email address names a household rather than a person.

    Args:
        email: a normalised (lower-case) address.
        surnames: last names (any form: ``o neil``, ``Pierce``) written with the
            address in the data; they make ``the<surname>s`` a family's address.

    Examples:
        >>> household_email("dunn.family@gmail.com"), household_email("semya_ivanovy@mail.ru")
        (True, True)
        >>> household_email("thepierces@gmail.com", ["pierce"])
        True
        >>> household_email("thepierces@gmail.com"), household_email("theodoros@gmail.com", ["x"])
        (False, False)
        >>> household_email("james.dunn@gmail.com", ["dunn"]), household_email("dunn.home@walla.co.il")
        (False, False)

        A family word is looked for within each part of the address between its
        separators, so a word across two parts of a name does not count:

        >>> household_email("mustafa.miller@gmail.com"), household_email("denise.mia@gmail.com")
        (False, False)
    """
    mailbox = email.rpartition("@")[0]
    local = _letters(mailbox)
    if not local:
        return False
    if any(_WORDS.search(part) for part in _parts(mailbox)):
        return True
    if not (local.startswith("the") and local.endswith("s")):
        return False
    family = local[3:]
    return any(
        family in (name + "s", name + "es") for name in map(_letters, surnames) if len(name) >= 2
    )


def _parts(text: str) -> list[str]:
    """The parts of ``text`` between its separators (``.``, ``_``, ``-``, ``+``, anything
    not a letter or digit), each as ``_letters`` writes it."""
    return [part for part in map(_letters, _SEPARATORS.split(_fold(text))) if part]


def _fold(text: str) -> str:
    """``text`` case-folded and decomposed (an accent apart from its letter)."""
    return unicodedata.normalize("NFKD", str(text).casefold())


def _letters(text: str) -> str:
    """Lower-case ASCII letters and digits of ``text`` (accents dropped)."""
    return _NOT_KEPT.sub("", _fold(text).encode("ascii", "ignore").decode("ascii"))
