"""Given-name equivalence for the names Tether's users write: Russian, Hebrew, Arabic, Yiddish.

``nicknames`` (used by ``normalize.name_forms``) knows English names only, so a
CRM's "Yosef Cohen" and his own WhatsApp contact "Yossi" looked like two first
names. This module reads ``resolver/data/given_names.csv``: each row puts one
written form of a name (``יוסי``, ``yossi``, ``иосиф``, ``joseph``) into a
*group*, one group per given name. Two names are the same given name when they
share a group. A form can be in several groups: ``sasha`` is short for both
Aleksandr and Aleksandra, so ``sasha`` matches either, while ``aleksandr`` and
``aleksandra`` do not match each other. How the table was built, its sources
and its precision rules are in ``resolver/data/GIVEN_NAMES.md``.

Lookups fold what people type differently for the same name: case, accents on
Latin letters, apostrophes and geresh (``ז'ניה``, ``ז׳ניה``), hyphens and
spaces (``bat sheva``, ``בת-שבע``), Hebrew and Arabic vowel points, ``ё``
written as ``е``, and the Arabic hamza/alef, ``ى``/``ي`` and ``ة``/``ه``
spellings. Nothing else is guessed: a name that is not in the table has no
groups, and transliterating other spellings is the caller's job (anyascii).

Only the standard library is imported; the table is read once, on first use.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Mapping
from functools import cache, lru_cache
from importlib import resources

__all__ = ["name_groups", "same_given_name"]

_DATA = ("data", "given_names.csv")

# Dropped from lookup keys: separators and marks that vary between spellings of one name.
_DROP = frozenset(" \t'`´’‘ʼ׳״\"-‐‑–—־._ـ")
_ARABIC_FOLD = {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"}
_CYRILLIC_FOLD = {"ё": "е"}


def _fold_char(ch: str) -> str:
    if ch in _DROP:
        return ""
    if ch in _CYRILLIC_FOLD:
        return _CYRILLIC_FOLD[ch]
    if ch in _ARABIC_FOLD:
        return _ARABIC_FOLD[ch]
    if unicodedata.category(ch) == "Mn":
        # Hebrew points, Arabic harakat and (after NFD) Latin accents; never a letter.
        return ""
    return ch


@lru_cache(maxsize=100_000)
def _key(name: str) -> str:
    """The lookup key of one written name (see the module docstring for what is folded)."""
    text = unicodedata.normalize("NFKC", name).casefold().strip()
    out: list[str] = []
    for ch in text:
        if "LATIN" in unicodedata.name(ch, ""):
            # Latin only: strip accents (josé -> jose). Cyrillic й and Hebrew letters stay whole.
            out.extend(_fold_char(c) for c in unicodedata.normalize("NFD", ch))
        else:
            out.append(_fold_char(ch))
    return "".join(out)


@cache
def _index() -> Mapping[str, frozenset[str]]:
    """Lookup key -> ids of the groups that have a name with that key (read once)."""
    text = resources.files("resolver").joinpath(*_DATA).read_text(encoding="utf-8")
    groups: dict[str, set[str]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        key = _key(row["name"])
        if key:
            groups.setdefault(key, set()).add(row["group"])
    return {key: frozenset(ids) for key, ids in groups.items()}


def name_groups(*, name: str) -> frozenset[str]:
    """Ids of the given-name groups that ``name`` (one given name, any script) belongs to.

    Empty when the name is not in the table. A short form can belong to several
    groups (``sasha``: Aleksandr and Aleksandra).

    Examples:
        >>> sorted(name_groups(name="sasha"))
        ['aleksandr', 'aleksandra']
        >>> sorted(name_groups(name="Yossi")), sorted(name_groups(name="יוסי"))
        (['yosef'], ['yosef'])
        >>> name_groups(name="kobe")
        frozenset()
    """
    return _index().get(_key(name), frozenset())


def same_given_name(*, a: str, b: str) -> bool:
    """True when the given names ``a`` and ``b`` are forms of the same name (share a group).

    Forms include diminutives, spelling variants, transliterations and the same
    name in another language (Yosef, Joseph, Iosif, Yossi). Names not in the
    table are never the same as anything, not even themselves: comparing the
    raw strings is the caller's business.

    Examples:
        >>> same_given_name(a="Yosef", b="Yossi"), same_given_name(a="יוסף", b="Iosif")
        (True, True)
        >>> same_given_name(a="Aleksandr", b="Шура"), same_given_name(a="Aleksandr", b="Aleksandra")
        (True, False)
        >>> same_given_name(a="misha", b="masha")
        False
    """
    return not name_groups(name=a).isdisjoint(name_groups(name=b))
