"""Can two values belong to one person? The rules behind the ``conflict`` guard.

A person has one date of birth and one first name, written many ways:
nicknames (Bill, William), typos, transliterations (David, דוד), initials.
Two values are *compatible* when one of those variations explains them.
A cluster whose first names, or whose dates of birth, are wholly
incompatible with another's is not merged with it (``resolver.cluster``);
the same rules veto shared-email and shared-phone edges (``resolver.edges``).
"""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from resolver.normalize import name_forms, name_skeleton

__all__ = ["dobs_compatible", "first_names_compatible", "mark_script", "sets_compatible"]

#: Jaro-Winkler similarity at which two first names are typos of each other
#: (Splink's NameComparison uses 0.92 and 0.88; "itai"/"tali" is 0.83).
NAME_SIMILARITY = 0.88
#: Prefix of a first name transliterated from another script (see ``mark_script``).
TRANSLITERATED = "~"


def mark_script(latin: str, *, transliterated: bool) -> str:
    """The form the guard compares: Latin name, prefixed when it came from another script."""
    return f"{TRANSLITERATED}{latin}" if transliterated else latin


def first_names_compatible(a: str, b: str) -> bool:
    """First names (as ``mark_script`` gives them) that may be the same person's.

    A shared consonant skeleton counts only when one side was transliterated.

    Examples:
        >>> first_names_compatible("bill", "william"), first_names_compatible("david", "~dvd")
        (True, True)
        >>> first_names_compatible("barbara", "carly"), first_names_compatible("jens uwe", "jonas")
        (False, False)
    """
    across_scripts = a.startswith(TRANSLITERATED) or b.startswith(TRANSLITERATED)
    a, b = a.lstrip(TRANSLITERATED), b.lstrip(TRANSLITERATED)
    if a == b or a.startswith(b) or b.startswith(a):
        return True
    if JaroWinkler.similarity(a, b) >= NAME_SIMILARITY:
        return True
    ska, skb = name_skeleton(a), name_skeleton(b)
    if across_scripts and ska and ska == skb and (len(ska) >= 2 or a[:1] == b[:1]):
        return True
    return bool(set(name_forms(a)) & set(name_forms(b)))


def dobs_compatible(a: str, b: str) -> bool:
    """ISO dates of birth that may be the same person's: equal, one typo, day/month swapped.

    Examples:
        >>> dobs_compatible("1980-03-04", "1980-04-03"), dobs_compatible("1980-03-04", "1980-03-05")
        (True, True)
        >>> dobs_compatible("1941-03-13", "1967-12-07")
        False
    """
    if a == b or DamerauLevenshtein.distance(a, b) <= 1:
        return True
    return a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]


def sets_compatible(left: Iterable[str], right: Iterable[str], *, kind: str) -> bool:
    """True unless *every* pair across the two sets is incompatible."""
    check = first_names_compatible if kind == "first_name" else dobs_compatible
    right_list = list(right)
    return any(check(a, b) for a in left for b in right_list)
