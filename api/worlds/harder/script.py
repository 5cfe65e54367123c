"""Writing one name in other scripts, the way people and clerks really do it.

A Russian speaker's name reaches a CRM through several hands: a passport
office (ICAO 9303 since 2013: Iuliia, Dmitrii), an older passport or a
Western form (Yulia, Dmitry, Alexander), a French-style Soviet document
(Iouri, Serguei), or an Israeli clerk who first wrote it in Hebrew. Each
hand has its own table, so one person legitimately has several Latin
spellings. These functions implement those tables; ``cyrillic_latin_forms``
returns every form a name is plausibly written in, most common first.

Hebrew has no written vowels, so Hebrew-to-Latin is not algorithmic: the
name pools list their Latin spellings by hand. The other direction,
Cyrillic to Hebrew (what an Israeli clerk writes for a new immigrant), is
rule-based here: vowels become matres lectionis, final letters get their
final forms.
"""

from __future__ import annotations

__all__ = [
    "cyrillic_hebrew",
    "cyrillic_latin",
    "cyrillic_latin_forms",
    "ukrainian_latin",
]

_VOWELS = set("аеёиоуыэюяіїєАЕЁИОУЫЭЮЯІЇЄ")
_SOFT = set("ьъ")

# Letters every scheme agrees on.
_COMMON = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "з": "z", "и": "i", "к": "k", "л": "l",
    "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f",
    "ы": "y", "э": "e", "ж": "zh", "ч": "ch", "ш": "sh", "щ": "shch", "х": "kh", "ц": "ts",
    "ь": "", "ъ": "", "й": "y", "е": "e", "ё": "e", "ю": "yu", "я": "ya",
}  # fmt: skip

#: Scheme name -> letter overrides of the common table.
_SCHEMES: dict[str, dict[str, str]] = {
    # Informal English-language usage (Dmitry, Yury, Natalya, Semyon, Fyodor).
    "popular": {"ё": "yo"},
    # ICAO 9303 (Russian passports since 2013): Iuliia, Dmitrii, Sergei.
    "icao": {"й": "i", "ю": "iu", "я": "ia", "ъ": "ie"},
    # BGN/PCGN without the apostrophes: Dmitriy, Yuriy, Vasilyev.
    "bgn": {"ё": "yo"},
    # What Israeli clerks and many emigrants write: Mihail, Iosif, Evgeni.
    "loose": {"х": "h", "ц": "tz", "й": "i", "ё": "io"},
    # French-style Soviet passports: Serguei, Iouri, Kouznetsov, Alexandre-ish.
    "french": {"у": "ou", "ш": "ch", "ж": "j", "ч": "tch", "й": "i", "ю": "iou", "я": "ia",
               "х": "kh", "ё": "io", "щ": "chtch"},
}  # fmt: skip


def cyrillic_latin(text: str, scheme: str = "popular") -> str:
    """Romanise Russian Cyrillic ``text`` with one of the real-world schemes.

    Examples:
        >>> cyrillic_latin("Дмитрий"), cyrillic_latin("Дмитрий", "icao")
        ('Dmitry', 'Dmitrii')
        >>> cyrillic_latin("Наталья"), cyrillic_latin("Юлия", "icao")
        ('Natalya', 'Iuliia')
        >>> cyrillic_latin("Сергей", "french"), cyrillic_latin("Семён")
        ('Serguei', 'Semyon')
    """
    table = {**_COMMON, **_SCHEMES[scheme]}
    out: list[str] = []
    lower = text.lower()
    for i, ch in enumerate(lower):
        prev = lower[i - 1] if i else " "
        nxt = lower[i + 1] if i + 1 < len(lower) else " "
        word_start = not prev.isalpha()
        word_end = not nxt.isalpha()
        piece = table.get(ch, ch)
        if (
            ch in "ея"
            and scheme in ("popular", "bgn")
            and (word_start or prev in _VOWELS or prev in _SOFT)
        ):
            # Yelena / Vasilyev / Natalya: iotated after a vowel, a soft sign or at word start.
            piece = "ye" if ch == "е" else "ya"
            if ch == "е" and word_start and scheme == "popular":
                piece = "e"  # Elena, Evgeny are the usual English forms
        if ch == "е" and scheme == "french" and word_start:
            piece = "ie"
        if ch == "й" and prev == "и" and word_end:
            # -ий endings: Dmitry (popular), Dmitriy (BGN), Dmitrii (ICAO), Dmitri (loose).
            piece = {"popular": "", "bgn": "y", "icao": "i", "loose": "", "french": ""}[scheme]
            if scheme == "popular":
                out[-1] = "y"
        if ch == "г" and scheme == "french" and nxt in "еиэ":
            piece = "gu"
        if ch == "с" and scheme == "french" and prev in _VOWELS and nxt in _VOWELS:
            piece = "ss"
        if ch == "к" and nxt == "с" and scheme == "popular" and not word_start:
            piece = "x"
        if ch == "с" and prev == "к" and scheme == "popular" and not word_start and i >= 2:
            piece = ""
        out.append(piece)
    latin = "".join(out)
    return _titled(latin, text)


def _titled(latin: str, original: str) -> str:
    """Capitalise each word of ``latin`` where ``original`` had a capital."""
    if original.isupper() and len(original) > 1:
        return latin.upper()
    words = latin.split(" ")
    return " ".join("-".join(p[:1].upper() + p[1:] for p in w.split("-")) for w in words)


_UK_TABLE = {
    **_COMMON,
    "г": "h", "ґ": "g", "е": "e", "є": "ie", "и": "y", "і": "i", "ї": "i", "й": "i", "ю": "iu",
    "я": "ia", "'": "", "’": "",
}  # fmt: skip
_UK_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}


def ukrainian_latin(text: str) -> str:
    """Romanise Ukrainian Cyrillic with the official 2010 table (Oleksandr, Yurii).

    Examples:
        >>> ukrainian_latin("Олександр"), ukrainian_latin("Юрій"), ukrainian_latin("Згурський")
        ('Oleksandr', 'Yurii', 'Zghurskyi')
    """
    out: list[str] = []
    lower = text.lower()
    for i, ch in enumerate(lower):
        prev = lower[i - 1] if i else " "
        piece = _UK_TABLE.get(ch, ch)
        if not prev.isalpha() and ch in _UK_INITIAL:
            piece = _UK_INITIAL[ch]
        if ch == "г" and prev == "з":
            piece = "gh"
        out.append(piece)
    return _titled("".join(out), text)


def cyrillic_latin_forms(text: str, *, ukrainian: bool = False) -> tuple[str, ...]:
    """Every distinct Latin form of a Cyrillic name, the most common first.

    Examples:
        >>> cyrillic_latin_forms("Юрий")
        ('Yury', 'Iurii', 'Yuriy', 'Yuri', 'Iouri')
        >>> cyrillic_latin_forms("Сергій", ukrainian=True)
        ('Serhii', 'Serhiy')
    """
    forms: list[str] = []
    if ukrainian:
        official = ukrainian_latin(text)
        # The official table, and the informal -iy / -ya forms people type themselves.
        informal = official.replace("ii", "iy").replace("ia", "ya").replace("iu", "yu")
        return tuple(dict.fromkeys([official, informal]))
    for scheme in ("popular", "icao", "bgn", "loose", "french"):
        form = cyrillic_latin(text, scheme)
        if form not in forms:
            forms.append(form)
    return tuple(forms)


_HEB = {
    "б": "ב", "в": "ב", "г": "ג", "д": "ד", "ж": "ז'", "з": "ז", "й": "י", "к": "ק", "л": "ל",
    "м": "מ", "н": "נ", "п": "פ", "р": "ר", "с": "ס", "т": "ט", "ф": "פ", "х": "ח", "ц": "צ",
    "ч": "צ'", "ш": "ש", "щ": "ש", "ґ": "ג",
}  # fmt: skip
_HEB_FINAL = {"מ": "ם", "נ": "ן", "פ": "ף", "צ": "ץ", "כ": "ך"}


def cyrillic_hebrew(text: str) -> str:
    """Write a Cyrillic name in Hebrew letters as an Israeli clerk would.

    Examples:
        >>> cyrillic_hebrew("Александр"), cyrillic_hebrew("Иванова"), cyrillic_hebrew("Ольга")
        ('אלכסנדר', 'איבנובה', 'אולגה')
    """
    words = []
    for word in text.lower().split():
        out: list[str] = []
        for i, ch in enumerate(word):
            start = i == 0
            end = i == len(word) - 1
            nxt = word[i + 1] if not end else ""
            if ch == "-":
                out.append("-")
            elif ch in "аэ":
                out.append("א" if start else ("ה" if end else ""))
            elif ch in "оу":
                out.append("או" if start else "ו")
            elif ch in "иіыї":
                out.append("אי" if start else "י")
            elif ch in "еє":
                out.append("י" if start else ("ה" if end else ""))
            elif ch == "ё":
                out.append("יו")
            elif ch == "ю":
                out.append("יו")
            elif ch == "я":
                out.append("יה" if end else "יא")
            elif ch in "ьъ'":
                continue
            elif ch == "к" and nxt == "с":
                out.append("כ")
            elif ch == "в" and start:
                out.append("ו")
            elif ch in _HEB:
                if out and out[-1] == _HEB[ch]:
                    continue  # doubled consonants are written once
                out.append(_HEB[ch])
            else:
                out.append(ch)
        joined = "".join(out)
        if joined and joined[-1] in _HEB_FINAL:
            joined = joined[:-1] + _HEB_FINAL[joined[-1]]
        words.append(joined)
    return " ".join(words)
