"""Typing noise as it really occurs: neighbouring keys, dropped and doubled letters, case.

People mistype names on forms, call-centre agents mishear them, legacy
systems upper-case everything and keyboards in Israel and Russia switch
layouts. These helpers apply one such slip to a value; the record builders
decide how often.
"""

from __future__ import annotations

import random

__all__ = ["FastRandom", "case_variant", "email_typo", "spacing", "typo"]


class FastRandom(random.Random):
    """``random.Random`` with a cheaper ``randrange`` / ``choice`` (millions of calls per chunk).

    Drawing an index as ``int(random() * n)`` instead of rejection sampling on
    random bits has a bias below 2**-40 for the small ``n`` used here, and is
    several times faster. Sequences stay deterministic for a given seed.
    """

    def _randbelow(self, n: int) -> int:
        """An index below ``n`` from one uniform draw."""
        return int(self.random() * n)


_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
_NEIGHBOURS: dict[str, str] = {}
for _r, _row in enumerate(_ROWS):
    for _c, _ch in enumerate(_row):
        near = [_row[j] for j in (_c - 1, _c + 1) if 0 <= j < len(_row)]
        for _other in (_r - 1, _r + 1):
            if 0 <= _other < len(_ROWS):
                near += [_ROWS[_other][j] for j in (_c, _c + 1) if j < len(_ROWS[_other])]
        _NEIGHBOURS[_ch] = "".join(near)

# Letters people confuse in Hebrew (similar shapes or sounds) and in Cyrillic (е/ё, и/й, ш/щ).
_CONFUSABLE = {
    "ה": "ח", "ח": "ה", "ו": "י", "י": "ו", "ס": "ש", "ש": "ס", "ט": "ת", "ת": "ט", "כ": "ק",
    "ק": "כ", "א": "ע", "ע": "א", "ё": "е", "е": "ё", "и": "й", "й": "и", "ш": "щ", "щ": "ш",
    "ь": "ъ", "ы": "и",
}  # fmt: skip


def typo(text: str, rnd: random.Random) -> str:
    """``text`` with one realistic slip: a neighbouring key, a dropped, doubled or swapped letter.

    Examples:
        >>> typo("Cohen", random.Random(4)) != "Cohen"
        True
    """
    if len(text) < 3:
        return text
    i = rnd.randrange(1, len(text))
    ch = text[i]
    kind = rnd.random()
    if kind < 0.35:
        lower = ch.lower()
        if lower in _NEIGHBOURS:
            sub = rnd.choice(_NEIGHBOURS[lower])
            return text[:i] + (sub.upper() if ch.isupper() else sub) + text[i + 1 :]
        if lower in _CONFUSABLE:
            return text[:i] + _CONFUSABLE[lower] + text[i + 1 :]
        return text[:i] + text[i + 1 :]
    if kind < 0.6:
        return text[:i] + text[i + 1 :]
    if kind < 0.8:
        return text[:i] + ch + text[i:]
    if i + 1 < len(text):
        return text[:i] + text[i + 1] + ch + text[i + 2 :]
    return text[:i] + text[i - 1] + text[i + 1 :]


def case_variant(text: str, rnd: random.Random) -> str:
    """Upper case (legacy systems), lower case (web forms) or as typed."""
    r = rnd.random()
    if r < 0.5:
        return text.upper()
    if r < 0.85:
        return text.lower()
    return text.title()


def spacing(text: str, rnd: random.Random) -> str:
    """Stray whitespace around or inside a value."""
    r = rnd.random()
    if r < 0.4:
        return f" {text}"
    if r < 0.8:
        return f"{text} "
    return text.replace(" ", "  ", 1) if " " in text else f"{text}  "


_DOMAIN_TYPOS = {
    "gmail.com": ("gmial.com", "gmail.co", "gamil.com", "gmail.con", "gmai.com"),
    "hotmail.com": ("hotmial.com", "hotmail.co", "hotmal.com"),
    "yahoo.com": ("yaho.com", "yahoo.co"),
    "walla.co.il": ("walla.com", "wala.co.il"),
    "mail.ru": ("mail.ry", "maill.ru"),
    "yandex.ru": ("yandex.com", "yandx.ru"),
    "outlook.com": ("outlok.com",),
}


def email_typo(email: str, rnd: random.Random) -> str:
    """An email as mistyped on a form: a domain slip or a letter slip in the local part."""
    local, _, domain = email.partition("@")
    if domain in _DOMAIN_TYPOS and rnd.random() < 0.6:
        return f"{local}@{rnd.choice(_DOMAIN_TYPOS[domain])}"
    return f"{typo(local, rnd)}@{domain}"
