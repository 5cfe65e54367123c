"""Normalisers for the fields Tether links on.

Each function takes one raw value and returns the normalised value, or ``None``
when the value is empty or unusable. They never raise on bad input: a value
that cannot be normalised is simply absent, and ingest counts it.

Two rules from SPEC §4 shape this module:

* gmail dot and plus folding is a *comparison feature* (``fold_email``): the
  stored email is never altered by it;
* names keep their own script in ``normalize_name``; a Latin transliteration
  (``transliterate_name``) exists only for comparison.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache
from typing import Literal, get_args

import phonenumbers
from anyascii import anyascii
from nicknames import NickNamer

__all__ = [
    "DATE_ORDERS",
    "DateOrder",
    "MONTH_FIRST_COUNTRIES",
    "fold_email",
    "is_transliterated",
    "canonical_form",
    "name_forms",
    "name_skeleton",
    "normalize_address",
    "normalize_date",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "normalize_postcode",
    "name_generation",
    "phone_region",
    "region_date_order",
    "transliterate_name",
]

# A pragmatic syntax check (RFC 5322 "dot-atom" local part, LDH domain labels
# with a TLD of two letters or more). Deliverability is not our business.
_EMAIL_RE = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def normalize_email(raw: object) -> str | None:
    """Trim, lower-case and validate an email address.

    Examples:
        >>> normalize_email("  John.Smith+news@Gmail.com ")
        'john.smith+news@gmail.com'
        >>> normalize_email("not-an-email") is None
        True
    """
    if not isinstance(raw, str):
        return None
    value = unicodedata.normalize("NFKC", raw).strip().lower()
    if value.startswith("mailto:"):
        value = value[len("mailto:") :]
    if len(value) > 254 or not _EMAIL_RE.match(value):
        return None
    return value


def fold_email(email: str) -> str:
    """Fold a normalised gmail address to its mailbox: no dots, no ``+tag``.

    Gmail ignores dots in the local part and delivers ``user+tag`` to ``user``;
    ``googlemail.com`` is the same service. Other providers are left as they
    are. Used only to *compare* addresses (SPEC §4).

    Examples:
        >>> fold_email("john.smith+news@googlemail.com")
        'johnsmith@gmail.com'
        >>> fold_email("john.smith+news@example.com")
        'john.smith+news@example.com'
    """
    local, _, domain = email.rpartition("@")
    if domain not in _GMAIL_DOMAINS:
        return email
    local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@gmail.com"


def phone_region(country: object, default_region: str) -> str:
    """The region used to read a national phone number: the row's country if valid."""
    if isinstance(country, str):
        code = country.strip().upper()
        if len(code) == 2 and code.isalpha():
            return code
    return default_region


def normalize_phone(raw: object, *, region: str) -> str | None:
    """Parse a phone number to E.164, reading national formats in ``region``.

    Numbers written with ``+`` or ``00`` carry their own country code; the
    region only matters for national formats. Invalid numbers give ``None``.

    Examples:
        >>> normalize_phone("07911 123456", region="GB")
        '+447911123456'
        >>> normalize_phone("0044 7911-123-456", region="US")
        '+447911123456'
    """
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if raw != raw:  # NaN
            return None
        raw = str(int(raw))
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if not text or sum(ch.isdigit() for ch in text) < 6:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_TITLES = frozenset(
    {
        "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "lady", "lord",
        "rev", "madam", "mme", "mlle", "herr", "frau", "sr", "sra", "srta", "don", "dona",
        "jr", "snr", "jnr", "ii", "iii", "iv", "phd", "md", "esq",
    }
)  # fmt: skip
_NON_NAME = re.compile(r"[^\w\s'-]+", re.UNICODE)
_HEBREW_GERESH = re.compile("([\u05d0-\u05ea])['`\u00b4\u2018\u2019\u02bc\u05f3]")
_SPACES = re.compile(r"\s+")


#: Generational suffixes (what ``normalize_name`` drops as titles) and what each says.
_GENERATIONS = {
    "jr": "jr", "jnr": "jr", "junior": "jr", "sr": "sr", "snr": "sr", "senior": "sr",
    "ii": "ii", "iii": "iii", "iv": "iv",
}  # fmt: skip


def name_generation(raw: object) -> str | None:
    """The generational suffix a name is written with: ``sr``, ``jr``, ``ii``, ``iii``, ``iv``.

    John Smith Sr and John Smith Jr are two people of one name, usually at one
    address: the suffix is the one field that tells them apart where both are
    written. Only after the name (``Sr. Garcia`` is a señor, not a senior).

    Examples:
        >>> name_generation("Walcombe Sr"), name_generation("DUNN JR."), name_generation("Smith")
        ('sr', 'jr', None)
        >>> name_generation("Sr. Garcia"), name_generation("Henry Ford II")
        (None, 'ii')
    """
    if not isinstance(raw, str):
        return None
    text = _NON_NAME.sub(" ", unicodedata.normalize("NFKC", raw).casefold()).replace("_", " ")
    tokens = _SPACES.split(text.strip())
    found = {_GENERATIONS[t] for t in tokens[1:] if t in _GENERATIONS}
    return found.pop() if len(found) == 1 else None


def normalize_name(raw: object) -> str | None:
    """Normalise a person name: NFKC, case-fold, strip titles and punctuation.

    The script is kept (a Hebrew name stays Hebrew); apostrophes and hyphens
    inside names become spaces so that ``O'Neil`` and ``ONeil`` differ only by
    a space, which the comparison tolerates.

    Examples:
        >>> normalize_name("  Dr. JOHN  O'Neil, Jr ")
        'john o neil'
        >>> normalize_name("Дмитрий")
        'дмитрий'
        >>> normalize_name("ז׳ניה") == normalize_name("ז'ניה") == "זניה"
        True
    """
    if not isinstance(raw, str):
        return None
    text = unicodedata.normalize("NFKC", raw).casefold()
    # A geresh (or an apostrophe typed for one) after a Hebrew letter is part of it
    # (ז׳ is zh: ז׳ניה is Zhenya, ג׳ורג׳ George), not a break between two names.
    text = _HEBREW_GERESH.sub(r"\1", text)
    text = _NON_NAME.sub(" ", text).replace("_", " ")
    text = text.replace("'", " ").replace("-", " ")
    tokens = [t for t in _SPACES.split(text) if t and t not in _TITLES and not t.isdigit()]
    return " ".join(tokens) or None


# What an address says around its numbers. Street types (USPS Publication 28's
# commonest suffixes, and the Russian, Ukrainian, Hebrew and Arabic ones) name the kind
# of street, not which: dropped unless nothing else names it ("5 Court Road"). Unit
# labels say the next number is a flat; house labels that it is a house or a box.
_STREET_LABELS = frozenset(
    {
        "st", "street", "str", "ave", "avenue", "av", "rd", "road", "dr", "drive", "ln",
        "lane", "blvd", "boulevard", "ct", "court", "pl", "place", "sq", "square", "hwy",
        "highway", "pkwy", "parkway", "ter", "terrace", "cres", "crescent", "way",
        "ул", "улица", "пр", "проспект", "пер", "переулок", "бульвар", "ш", "шоссе", "пл",
        "площадь", "вул", "вулиця", "ul", "ulitsa", "prospekt", "per", "pereulok", "bulvar",
        "shosse", "vul", "vulitsya", "רח", "רחוב", "שד", "שדרות", "شارع",
    }
)  # fmt: skip
_UNIT_LABELS = frozenset(
    {
        "apt", "apartment", "flat", "unit", "ste", "suite", "fl", "floor",
        "кв", "квартира", "kv", "kvartira", "דירה", "דיר",
    }
)  # fmt: skip
_HOUSE_LABELS = frozenset(
    {"no", "nr", "bldg", "д", "дом", "d", "dom", "буд", "bud", "корп", "korp", "к", "стр",
     "строение", "bx", "pobox", "box", "pob", "תד", "صب"}
)  # fmt: skip
_FRACTIONS = re.compile("[\u00bc-\u00be\u2150-\u215e]")
_BOX = re.compile(r"\bp\W{0,2}o\W{0,2}box\b|\bpob\b|ת\W?ד(?!\w)|ص\W?ب(?!\w)")
_IN_WORD_MARK = re.compile(r"(?<=[^\W\d_])['`\u00b4\u2018\u2019\u02bc\u05f3\u05f4\"](?=[^\W\d_])")
_FLAT_AFTER = re.compile(r"(\d)\s*[/\\-]\s*(?=\d)")
_ORDINAL = re.compile(r"^\d+(st|nd|rd|th)$")
_ADDRESS_BREAKS = re.compile(r"[^\w]+|_", re.UNICODE)


def normalize_address(raw: object) -> str | None:
    """Comparable form of a street address: its words in Latin letters, its house, then its flat.

    House, flat and box numbers are what tell neighbours apart, so they are
    kept, each in its role: a number after a unit label (Apt, Flat, кв.,
    דירה), after ``/`` or ``-`` following a number (``12/5``, ``5-12``), or a
    lone letter after a unit label is the flat; other numbers are the house
    (or P.O. box). The labels and punctuation around them are dropped, and
    house and flat numbers are each put in order, because each country writes
    them in its own place ("12 Dizengoff St., Apt 5", "Dizengoff 12/5", "Flat
    5, 12 North Road"). Words are transliterated like names
    (``transliterate_name``), vowel points and in-word apostrophes or geresh
    dropped first; an ordinal (5th) is a word; a lone letter after a number is
    its suffix (12 B is 12b).

    Examples:
        >>> normalize_address("98 HaShikma St., Apt 41")
        'hashikma 98 41'
        >>> normalize_address("HaShikma 98/41")
        'hashikma 98 41'
        >>> normalize_address("ул. Профсоюзная, д. 5, кв. 12")
        'profsoyuznaya 5 12'
        >>> normalize_address('ת"ד 563') == normalize_address("P.O. Box 563") == "563"
        True
        >>> normalize_address("5 Main St, Apt 12") != normalize_address("12 Main St, Apt 5")
        True
        >>> normalize_address("5 Court Road")
        'court road 5'
    """
    if not isinstance(raw, str):
        return None
    text = _FRACTIONS.sub(lambda m: " " + m.group(0), raw)
    text = unicodedata.normalize("NFKD", text).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _IN_WORD_MARK.sub("", text)
    text = _BOX.sub(" pobox ", text.replace("#", " apt "))
    text = _FLAT_AFTER.sub(r"\1 apt ", text)
    words: list[str] = []
    labels: list[str] = []
    houses: list[str] = []
    flats: list[str] = []
    flat_next = after_number = False
    for token in _ADDRESS_BREAKS.split(text):
        if not token:
            continue
        ordinal = _ORDINAL.match(token) is not None
        number = not ordinal and any(ch.isdigit() for ch in token)
        if len(token) == 1 and token.isalpha() and (flat_next or after_number):
            letter = anyascii(token).lower()
            if flat_next:
                flats.append(letter)  # Apt D
            else:
                (flats or houses)[-1] += letter  # 12 B: a number's letter (the flat's if any)
            flat_next = after_number = False
            continue
        if token in _UNIT_LABELS:
            flat_next, after_number = True, False
            continue
        if token in _HOUSE_LABELS:
            flat_next = after_number = False
            continue
        if number:
            (flats if flat_next else houses).append(anyascii(token).lower())
            flat_next, after_number = False, True
            continue
        after_number = False
        if token in _STREET_LABELS:
            labels.append(transliterate_name(token))
            continue
        latin = anyascii(token).lower() if ordinal else transliterate_name(token)
        if latin:
            words.append(latin)
    if not [w for w in words if w != "the"]:
        words += [label for label in labels if label]
    houses.sort(key=lambda n: (len(n), n))
    flats.sort(key=lambda n: (len(n), n))
    return " ".join(words + houses + flats) or None


@lru_cache(maxsize=200_000)
def transliterate_name(name: str) -> str:
    """Latin transliteration of a normalised name, for comparison only.

    Uses ``anyascii`` (table-driven, covers Hebrew and Cyrillic among others).
    Hebrew is written without vowels, so ``דוד`` becomes ``dvd``;
    ``name_skeleton`` makes that comparable with ``david``.

    Examples:
        >>> transliterate_name("дмитрий")
        'dmitriy'
        >>> transliterate_name("josé")
        'jose'
    """
    latin = anyascii(name).lower()
    latin = re.sub(r"[^a-z ]+", "", latin)
    return _SPACES.sub(" ", latin).strip()


def is_transliterated(name: str) -> bool:
    """True when a normalised name has letters of a non-Latin script (Hebrew, Cyrillic...).

    Only such names need the consonant skeleton to be compared: between two
    names written in Latin script, a shared skeleton (``jens uwe``, ``jonas``:
    ``jns``) is no evidence at all.

    Examples:
        >>> is_transliterated("דוד"), is_transliterated("josé")
        (True, False)
    """
    return any(
        ch.isalpha() and not ch.isascii() and not unicodedata.name(ch, "").startswith("LATIN")
        for ch in name
    )


_DIGRAPHS = (("ph", "f"), ("kh", "k"), ("ch", "k"), ("sh", "s"), ("ck", "k"), ("c", "k"),
             ("q", "k"), ("w", "v"), ("z", "s"))  # fmt: skip
_SKELETON_DROP = re.compile(r"[^a-z]|[aeiouyv]")
_REPEATS = re.compile(r"(.)\1+")


def name_skeleton(latin: str) -> str:
    """Phonetic consonant skeleton of a Latin name, to compare across scripts.

    Hebrew is written without vowels and its letters transliterate
    ambiguously (ו is v, o or u; כ is k or kh), so spellings are folded
    (ph→f, kh/ch/c/q→k, sh→s, z→s), vowels and v/w dropped, repeated letters
    collapsed and a final h (a Hebrew vowel letter) removed:
    ``david`` and ``dvd`` (דוד) share ``dd``; ``cohen`` and ``khhn`` (כהן)
    share ``khn``; ``mohammed`` and ``muhamad`` share ``mhmd``.

    Examples:
        >>> name_skeleton("mohammed"), name_skeleton("muhamad")
        ('mhmd', 'mhmd')
        >>> name_skeleton("noam") == name_skeleton(transliterate_name("נועם"))
        True
    """
    text = latin.lower()
    for a, b in _DIGRAPHS:
        text = text.replace(a, b)
    text = _REPEATS.sub(r"\1", _SKELETON_DROP.sub("", text))
    return text[:-1] if len(text) > 1 and text.endswith("h") else text


_NICKNAMER = NickNamer()


#: Prefix of a multilingual name-group id among a name's forms (``resolver.given_names``).
GROUP_PREFIX = "~"


@lru_cache(maxsize=200_000)
def name_forms(first_name: str) -> tuple[str, ...]:
    """Forms of a normalised first name (any script), sorted: what nickname equivalence compares.

    The forms are the name's Latin transliteration, the English canonical
    names it is a nickname of (the hand-curated ``nicknames`` package: bill ->
    william) and, prefixed with ``~``, the multilingual given-name groups it
    belongs to in its own script or transliterated (``resolver.given_names``:
    Sasha, Саша and Aleksandr; Yossi, יוסי and Yosef). Two first names are
    forms of one name when their forms intersect.

    Examples:
        >>> "william" in name_forms("bill")
        True
        >>> bool(set(name_forms("yossi")) & set(name_forms("יוסף")))
        True
    """
    first = first_name.split(" ", 1)[0]
    if not first:
        return ()
    latin = transliterate_name(first).split(" ", 1)[0]
    forms: set[str] = set()
    if latin:
        forms.add(latin)
        forms.update(_NICKNAMER.canonicals_of(latin))
    groups = _groups(first) | (_groups(latin) if latin else frozenset())
    forms.update(GROUP_PREFIX + g for g in groups)
    return tuple(sorted(forms))


def _groups(name: str) -> frozenset[str]:
    from resolver.given_names import name_groups

    return name_groups(name=name)


def canonical_form(forms: tuple[str, ...] | list[str] | None) -> str | None:
    """One blocking key for a first name's forms: its first group, else its first form.

    Forms of one name share it in the common case (Yossi and Yosef: ``~yosef``),
    so records that write a name differently still meet in a block.

    Examples:
        >>> canonical_form(name_forms("yossi")) == canonical_form(name_forms("yosef"))
        True
    """
    if not forms:
        return None
    grouped = [f for f in forms if f.startswith(GROUP_PREFIX)]
    return min(grouped) if grouped else min(forms)


_DATE_FORMATS_ISO = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y.%m.%d")
_DATE_FORMATS_DAY_FIRST = ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%y")
_DATE_FORMATS_MONTH_FIRST = ("%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y")
_DATE_FORMATS_WORDS = ("%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y", "%b %d, %Y", "%B %d, %Y")

DateOrder = Literal["DMY", "MDY", "YMD"]
"""How a source writes the numeric dates that are not ISO 8601 (``03/04/1980``)."""
DATE_ORDERS: tuple[DateOrder, ...] = get_args(DateOrder)
#: Countries that write the month first (``03/04/1980`` is 4 March); the others day first.
MONTH_FIRST_COUNTRIES = frozenset({"US", "PH", "CA"})


def region_date_order(region: str | None) -> DateOrder:
    """The date order a country writes: ``MDY`` for US, CA and PH, ``DMY`` elsewhere.

    Examples:
        >>> region_date_order("US"), region_date_order("IL")
        ('MDY', 'DMY')
    """
    return "MDY" if (region or "").upper() in MONTH_FIRST_COUNTRIES else "DMY"


def normalize_date(
    raw: object, *, country: str | None = None, order: DateOrder | None = None
) -> str | None:
    """Parse a date written in one of several common formats to ISO ``YYYY-MM-DD``.

    With an ``order`` (a source's ``date_order``), numeric dates are read in
    that order only: ``03/04/1985`` is 3 April under ``DMY``, 4 March under
    ``MDY``, and not a date under ``YMD``; a value that is no date in that
    order is refused. ISO 8601 and dates with a month name are always read.
    Without one, ``dd/mm/yyyy`` is read day-first, except for countries that
    write the month first (US, CA, PH), and either way, if only one reading
    is a real date, that one is used. Timestamps keep their date part. Dates
    before 1900 or in the future are refused.

    Examples:
        >>> normalize_date("03/04/1985")
        '1985-04-03'
        >>> normalize_date("03/04/1985", country="US")
        '1985-03-04'
        >>> normalize_date("13/04/1985", order="MDY") is None
        True
        >>> normalize_date("12 Mar 1980")
        '1980-03-12'
    """
    if isinstance(raw, datetime):
        parsed: date | None = raw.date()
    elif isinstance(raw, date):
        parsed = raw
    elif isinstance(raw, str):
        if order is not None:
            formats = _DATE_ORDER_STRICT[order]
        elif (country or "").upper() in MONTH_FIRST_COUNTRIES:
            formats = _DATE_ORDER_MONTH_FIRST
        else:
            formats = _DATE_ORDER_DAY_FIRST
        parsed = _parse_date_text(raw, formats=formats)
    else:
        return None
    if parsed is None or not (1900 <= parsed.year <= date.today().year) or parsed > date.today():
        return None
    return parsed.isoformat()


def _date_format(fmt: str) -> tuple[str, frozenset[str], bool]:
    """A format, the characters it matches literally, and whether it reads month names."""
    literal = re.sub(r"%.", "", fmt)
    return fmt, frozenset(literal) - {" "}, "%b" in fmt or "%B" in fmt


_DATE_ORDER_DAY_FIRST = tuple(
    _date_format(f)
    for f in _DATE_FORMATS_ISO
    + _DATE_FORMATS_DAY_FIRST
    + _DATE_FORMATS_MONTH_FIRST
    + _DATE_FORMATS_WORDS
)
_DATE_ORDER_MONTH_FIRST = tuple(
    _date_format(f)
    for f in _DATE_FORMATS_ISO
    + _DATE_FORMATS_MONTH_FIRST
    + _DATE_FORMATS_DAY_FIRST
    + _DATE_FORMATS_WORDS
)
#: A declared order reads numeric dates its way only (every separator, 2- or 4-digit years).
_DATE_ORDER_STRICT: dict[str, tuple[tuple[str, frozenset[str], bool], ...]] = {
    order: tuple(
        _date_format(f)
        for f in _DATE_FORMATS_ISO
        + tuple(
            f"{first}{sep}{second}{sep}{year}"
            for year in ("%Y", "%y")
            for sep in "/.-"
            for first, second in [("%d", "%m") if order == "DMY" else ("%m", "%d")]
            if order != "YMD"
        )
        + _DATE_FORMATS_WORDS
    )
    for order in DATE_ORDERS
}
_TIME_OF_DAY = re.compile(r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def _parse_date_text(
    raw: str, *, formats: tuple[tuple[str, frozenset[str], bool], ...]
) -> date | None:
    """The first format, in order, that ``strptime`` reads ``raw`` with.

    A format is tried only if it can match: ``strptime`` needs its literal
    characters (``/``, ``.``, ``-``, ``,``) in the text, and letters in the
    text exactly when it reads a month name. Skipping the others saves a
    raised ``ValueError`` each, and never changes which format reads first.
    """
    text = raw.strip().replace(",", ", ").replace("  ", " ")
    text = _TIME_OF_DAY.sub("", text).strip()
    letters = any(ch.isalpha() for ch in text)
    for fmt, literals, words in formats:
        if words != letters or not literals.issubset(text):
            continue
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


_GB_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_ALNUM = re.compile(r"[^0-9A-Z]+")


def normalize_postcode(raw: object, *, country: str | None = None) -> str | None:
    """Normalise a postcode: upper-case, no punctuation, national canonical form.

    GB postcodes get their single space (``SW1A 1AA``); US ZIP+4 keeps the
    five-digit ZIP; other countries keep letters and digits only.

    Examples:
        >>> normalize_postcode("sw1a1aa", country="GB")
        'SW1A 1AA'
        >>> normalize_postcode("94103-1234", country="US")
        '94103'
    """
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        return None
    compact = _ALNUM.sub("", unicodedata.normalize("NFKC", raw).upper())
    if not compact:
        return None
    code = (country or "").upper()
    if code in ("GB", "UK"):
        match = _GB_POSTCODE.match(compact)
        return f"{match.group(1)} {match.group(2)}" if match else None
    if code == "US":
        return compact[:5] if len(compact) in (5, 9) and compact.isdigit() else None
    return compact if 3 <= len(compact) <= 10 else None
