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

import unicodedata
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

__all__ = [
    "dobs_compatible",
    "first_names_compatible",
    "generations_compatible",
    "latin_heads",
    "sets_compatible",
]

#: Jaro-Winkler similarity at which two first names are typos of each other
#: (Splink's NameComparison uses 0.92 and 0.88; "itai"/"tali" is 0.83).
NAME_SIMILARITY = 0.88


@lru_cache(maxsize=200_000)
def first_names_compatible(a: str, b: str) -> bool:
    """Normalised first names (any script) that may be the same person's.

    Compatible: equal, one the prefix (or initial) of the other in the same
    script, an initial in one script that can begin the other's name in
    another (``latin_heads``: ``m`` and ``מיכאל``, ``и`` and ``irina``), forms of
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
        >>> first_names_compatible("e", "ארז"), first_names_compatible("и", "irina")
        (True, True)
        >>> first_names_compatible("א", "אסתר"), first_names_compatible("א", "משה")
        (True, False)
        >>> first_names_compatible("a maria", "мария"), first_names_compatible("м анна", "anna")
        (True, True)
    """
    if a == b:
        return True
    across_scripts = is_transliterated(a) or is_transliterated(b)
    if across_scripts and (_is_initial(a) or _is_initial(b)):
        # The initial decides: a lone Hebrew letter transliterates to nothing (א) or to
        # one consonant, and "nothing comparable" below must not make it fit any name.
        if _initial_fits(a, b):
            return True
        if _first_letter(a) and _first_letter(b) and (_is_letter(a) or _is_letter(b)):
            return False
    la, lb = transliterate_name(a), transliterate_name(b)
    if not la or not lb:
        return True  # nothing comparable: no evidence of a conflict
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


#: The Latin letters a name can begin with when written in Latin script, by the
#: letter it begins with in its own script. Hebrew writes no vowels and its
#: letters are read several ways (א and ע carry any vowel: Avraham, Erez, Itai,
#: Ori, Uri; ח is Haim, Chaim or Khaim; ו is Vered or Wolf; י is Yosef, Jacob or
#: Itzhak), and Russian names are transliterated several ways (Евгений: Evgeny,
#: Yevgeny; Юлия: Yulia, Julia, Iuliia; Ксения: Ksenia, Xenia).
_HEADS: dict[str, str] = {
    # Hebrew
    "א": "aeiou", "ע": "aeiou", "ב": "bv", "ג": "gj", "ד": "d", "ה": "he",
    "ו": "vwuo", "ז": "zj", "ח": "hck", "ט": "t", "י": "yjie", "כ": "kch", "ל": "l",
    "מ": "m", "נ": "n", "ס": "s", "פ": "pf", "צ": "tzcs", "ק": "kqcx", "ר": "r",
    "ש": "s", "ת": "t",
    # Cyrillic (Russian and Ukrainian letters)
    "а": "a", "б": "b", "в": "vw", "г": "gh", "ґ": "g", "д": "d", "е": "ey", "ё": "yej",
    "є": "yje", "ж": "zj", "з": "z", "и": "iy", "і": "i", "ї": "yi", "й": "yij",
    "к": "kcx", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s",
    "т": "t", "у": "u", "ф": "fp", "х": "khc", "ц": "tcz", "ч": "ct", "ш": "s",
    "щ": "s", "ы": "yi", "э": "e", "ю": "yjiu", "я": "yji",
    # Arabic
    "ا": "aeiou", "أ": "aeiou", "إ": "aeiou", "آ": "aeiou", "ع": "aeiou",
    "ب": "b", "ت": "t", "ث": "ts", "ج": "jg", "ح": "h", "خ": "kh", "د": "d", "ذ": "dz",
    "ر": "r", "ز": "z", "س": "s", "ش": "s", "ص": "s", "ض": "d", "ط": "t", "ظ": "dz",
    "غ": "g", "ف": "f", "ق": "qkg", "ك": "k", "ل": "l", "م": "m", "ن": "n", "ه": "h",
    "و": "wvuo", "ي": "yi",
}  # fmt: skip


def _initial_fits(a: str, b: str) -> bool:
    """Whether first names ``a`` and ``b``, one of them an initial, not both Latin, may agree.

    In one script the initial is the name's first letter (``м``, ``михаил``);
    across scripts it is the name's first sound, whatever letter each script
    spells it with (``m``, ``מיכאל``; ``и``, ``irina``; ``e``, ``ארז``).
    """
    fa, fb = _first_letter(a), _first_letter(b)
    if not fa or not fb:
        return False  # nothing to compare: the other rules decide
    if _script(fa) == _script(fb):
        return fa == fb
    return not latin_heads(a).isdisjoint(latin_heads(b))


def _first_letter(name: str) -> str:
    """The first letter of a normalised name without its accents or marks (й -> и, é -> e)."""
    first = name.strip()[:1].lower()
    return unicodedata.normalize("NFD", first)[:1] if first.isalpha() else ""


def _script(letter: str) -> str:
    """The Unicode script word of a letter's name: LATIN, CYRILLIC, HEBREW, ARABIC..."""
    return unicodedata.name(letter, "").split(" ", 1)[0]


def _is_letter(name: str) -> bool:
    """Whether a normalised first name is one letter and nothing else (``א``, not ``a maria``)."""
    stripped = name.strip()
    return len(stripped) == 1 and stripped.isalpha()


def _is_initial(name: str) -> bool:
    """Whether a normalised first name starts with a lone letter (``m``, ``и j``, ``מ``)."""
    first = name.split(" ", 1)[0]
    return len(first) == 1 and first.isalpha()


@lru_cache(maxsize=200_000)
def latin_heads(name: str) -> frozenset[str]:
    """The Latin letters a normalised first name (any script) can begin with in Latin script.

    A Latin name begins with its own first letter (accents dropped). A Hebrew,
    Cyrillic or Arabic name begins with any letter its first letter is
    transliterated as (``_HEADS``; other scripts: the first letter of the
    ``anyascii`` transliteration). An initial is compatible with a name
    written in another script when their heads share a letter.

    Examples:
        >>> sorted(latin_heads("מיכאל")), sorted(latin_heads("אירינה")), sorted(latin_heads("юлия"))
        (['m'], ['a', 'e', 'i', 'o', 'u'], ['i', 'j', 'u', 'y'])
        >>> sorted(latin_heads("José"))
        ['j']
    """
    first = name.strip()[:1].lower()
    if not first:
        return frozenset()
    heads = _HEADS.get(first)
    if heads is not None:
        return frozenset(heads)
    latin = transliterate_name(first)
    return frozenset(latin[:1])


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


def generations_compatible(left: Iterable[str], right: Iterable[str]) -> bool:
    """Whether two sets of generational suffixes (``sr``, ``jr``, ``ii``...) may be one person's.

    A person is written with one generation, or with none: ``Sr`` and ``Jr`` are
    two people, a father and his son of one name. ``Jr`` and ``II`` both say
    "the second of the name" and may be one person's.

    Examples:
        >>> generations_compatible({"sr"}, {"jr"}), generations_compatible({"jr"}, {"ii", "sr"})
        (False, True)
    """
    right_set = {_SAME_GENERATION.get(g, g) for g in right}
    return any(_SAME_GENERATION.get(g, g) in right_set for g in left)


#: Suffixes that say the same generation.
_SAME_GENERATION = {"ii": "jr"}


def sets_compatible(left: Iterable[str], right: Iterable[str], *, kind: str) -> bool:
    """True unless *every* pair across the two sets is incompatible."""
    check = first_names_compatible if kind == "first_name" else dobs_compatible
    right_list = list(right)
    return any(check(a, b) for a in left for b in right_list)
