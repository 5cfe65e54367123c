"""Can two values belong to one person? The rules behind the ``conflict`` guard.

A person has one date of birth and one first name, written many ways:
nicknames and diminutives (Bill, William; Sasha, Aleksandr; Yossi, Yosef),
typos, transliterations (David, דוד; Дмитрий, Dmitry), initials. Two values
are *compatible* when one of those variations explains them. A cluster whose
first names, or whose dates of birth, are wholly incompatible with another's
is not merged with it (``resolver.cluster``); the same rules veto
shared-email and shared-phone edges (``resolver.edges``).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from resolver.normalize import (
    GROUP_PREFIX,
    is_transliterated,
    name_forms,
    name_skeleton,
    transliterate_name,
)

__all__ = ["dobs_compatible", "first_names_compatible", "sets_compatible"]

#: Jaro-Winkler similarity at which two first names are typos of each other
#: (Splink's NameComparison uses 0.92 and 0.88; "itai"/"tali" is 0.83).
NAME_SIMILARITY = 0.88


@lru_cache(maxsize=200_000)
def first_names_compatible(a: str, b: str) -> bool:
    """Normalised first names (any script) that may be the same person's.

    Compatible: equal, one the prefix (or initial) of the other in the same
    script, forms of
    one name (nicknames, diminutives, spelling variants:
    ``resolver.normalize.name_forms``), a typo (Jaro-Winkler of the Latin
    forms >= 0.88) unless both are known names of different groups (Misha
    and Masha are two names, not a typo), or, when one side is written in
    another script, the same consonant skeleton.

    Examples:
        >>> first_names_compatible("bill", "william"), first_names_compatible("david", "דוד")
        (True, True)
        >>> first_names_compatible("barbara", "carly"), first_names_compatible("jens uwe", "jonas")
        (False, False)
        >>> first_names_compatible("r", "robert"), first_names_compatible("r", "ארז")
        (True, False)
    """
    if a == b:
        return True
    la, lb = transliterate_name(a), transliterate_name(b)
    if not la or not lb:
        return True  # nothing comparable: no evidence of a conflict
    across_scripts = is_transliterated(a) or is_transliterated(b)
    if la == lb:
        return True
    # An initial or a shortened name, within one script only: Hebrew drops
    # vowels, so "ארז" (Erez) transliterates to "rz", which an "R." is not.
    if not across_scripts and (la.startswith(lb) or lb.startswith(la)):
        return True
    forms_a, forms_b = set(name_forms(a)), set(name_forms(b))
    if forms_a & forms_b:
        return True
    groups_a = {f for f in forms_a if f.startswith(GROUP_PREFIX)}
    groups_b = {f for f in forms_b if f.startswith(GROUP_PREFIX)}
    if groups_a and groups_b:
        return False  # two known, different names (misha, masha): not a typo of each other
    if JaroWinkler.similarity(la, lb) >= NAME_SIMILARITY:
        return True
    ska, skb = name_skeleton(la), name_skeleton(lb)
    return bool(across_scripts and ska and ska == skb and (len(ska) >= 2 or la[:1] == lb[:1]))


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
