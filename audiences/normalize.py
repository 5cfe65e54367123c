"""Per-platform normalisation of identifiers before hashing, and the hashes.

Each ad platform publishes its own rules, and they differ (gmail dots, phone
with or without ``+``, names with or without punctuation), so there is one
function per platform rule, each citing where the rule is published. A
value that cannot be normalised returns ``None`` and is left out, never
hashed as garbage. Every string is NFC first (the published vectors are
NFC, e.g. Meta's ``valéry``). ``shared/reference/ad-platform-hashing.md``
gathers the rules and sources; ``tests/data/hashing-vectors.json`` holds
the platforms' worked examples, which the tests reproduce.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import unicodedata
from datetime import date
from typing import Any

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
import pycountry

__all__ = [
    "hash_array",
    "country_code",
    "e164",
    "fast_e164",
    "fast_email",
    "gmail_folded",
    "sha256_base64",
    "sha256_hex",
]

_GMAIL = {"gmail.com", "googlemail.com"}
_SPACE = re.compile(r"\s+")
_E164 = re.compile(r"\+[1-9]\d{7,14}")
_PREFIXES = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "lady", "lord"}
#: Generational and professional name suffixes, compared without periods (``Ph.D.``).
_SUFFIXES = frozenset(
    {"jr", "sr", "ii", "iii", "iv", "v", "2nd", "3rd", "4th"}
    | {"phd", "md", "dds", "dmd", "dvm", "esq", "cpa", "rn", "mba", "jd", "llm"}
)


def sha256_hex(value: str) -> str:
    """Lower-case hex SHA-256 of the UTF-8 bytes (Google, Meta, TikTok, LinkedIn)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def sha256_base64(value: str) -> str:
    """Base64 of the 32 raw digest bytes, 44 characters (UID2; not Base64 of the hex)."""
    return binascii.b2a_base64(
        hashlib.sha256(value.encode("utf-8")).digest(), newline=False
    ).decode()


def _nfc(value: str) -> str:
    return value if value.isascii() else unicodedata.normalize("NFC", value)


def _email_parts(value: str) -> tuple[str, str] | None:
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain:
        return None
    return local, domain


def gmail_folded(local: str, domain: str, *, domains: set[str]) -> str:
    """``local`` without dots and ``+tag`` when ``domain`` is one of ``domains``."""
    if domain in domains:
        local = local.split("+", 1)[0].replace(".", "")
    return local


# --- email ---------------------------------------------------------------------------------


def google_email(value: str) -> str | None:
    """Google Customer Match / Data Manager: lower-case; remove leading, trailing and
    inner whitespace; gmail.com and googlemail.com lose every ``.`` and ``+tag`` of
    the local part (the domain is kept). Source: developers.google.com/data-manager/api/
    devguides/concepts/formatting; google-ads-java#898 (Google staff confirm).
    """
    text = _SPACE.sub("", _nfc(value)).lower()
    parts = _email_parts(text)
    if parts is None:
        return None
    local, domain = parts
    local = gmail_folded(local, domain, domains=_GMAIL)
    return f"{local}@{domain}" if local else None


def meta_email(value: str) -> str | None:
    """Meta Custom Audiences ``EMAIL``: "Trim leading, trail whitespace, and convert all
    characters to lowercase"; no gmail folding. Trailing control characters and
    periods go too, as Meta's PHP SDK test ``foo@fb.com\\t\\r\\n\\0\\x0B.`` asserts.
    Source: developers.facebook.com/docs/marketing-api/audiences/guides/custom-audiences#hash.
    """
    text = _nfc(value).strip(" \t\r\n\0\x0b.").lower()
    return text if _email_parts(text) else None


def uid2_email(value: str) -> str | None:
    """UID2: trim, lower-case; **gmail.com only** loses ``.`` and ``+tag`` (googlemail.com
    is not special). Source: IABTechLab/uid2docs docs/getting-started/
    gs-normalization-encoding.md; uid2-client-python ``input_util.py``.
    """
    text = _nfc(value).strip().lower()
    parts = _email_parts(text)
    if parts is None or " " in text:
        return None
    local, domain = parts
    local = gmail_folded(local, domain, domains={"gmail.com"})
    return f"{local}@{domain}" if local else None


def tiktok_email(value: str) -> str | None:
    """TikTok customer file: lower-case, no spaces, remove ``+`` and what follows up to
    ``@`` (every domain; the dot rule was dropped in the Aug 2025 revision). Source:
    ads.tiktok.com/help/article/list-of-supported-ids-and-formats-for-a-customer-file.
    """
    text = _SPACE.sub("", _nfc(value)).lower()
    parts = _email_parts(text)
    if parts is None:
        return None
    local, domain = parts
    local = local.split("+", 1)[0]
    return f"{local}@{domain}" if local else None


def plain_email(value: str) -> str | None:
    """LinkedIn (and internal lists): trim and lower-case. LinkedIn publishes no rule
    beyond "a HEX encoded string with length = 64" (learn.microsoft.com/linkedin/
    marketing/matched-audiences/create-and-manage-segment-users); this is the safe choice.
    """
    text = _nfc(value).strip().lower()
    return text if _email_parts(text) and " " not in text else None


# --- phone ---------------------------------------------------------------------------------


def e164(value: str, *, region: str | None) -> str | None:
    """E.164 with ``+`` via libphonenumber, reading national numbers in ``region``
    (without a region, the digits must start with the country code).

    A number only has to be *possible* (right length for its country), not
    assigned: platforms match what people typed, and test ranges such as
    UK 07700 900xxx are real-looking numbers.
    """
    text = value.strip()
    if _E164.fullmatch(text):
        return text  # already E.164 (Tether's touchpoints store phones so)
    text = _nfc(text)
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    elif not text.startswith("+") and not region:
        # No region to read a national number in: the digits start with the country
        # code, as in Google's own example "1-800-555-0100" -> "+18005550100".
        text = "+" + text
    try:
        number = phonenumbers.parse(text, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def google_phone(value: str, *, region: str | None) -> str | None:
    """Google: "E.164 format (for example, +16502531234) before hashing": with ``+`` and the
    country code. Source: Data Manager formatting page; Google Ads API ``UserIdentifier``.
    """
    return e164(value, region=region)


def digits_phone(value: str, *, region: str | None) -> str | None:
    """Meta ``PHONE`` and TikTok: digits only with the country code, no ``+``, no leading
    zeros ("(650)555-1212 → 16505551212"). Sources: Meta custom-audiences hashing table;
    TikTok customer-file article ("Remove symbols, including '+' sign ... Add country code").
    """
    number = e164(value, region=region)
    return number[1:] if number else None


# --- names ---------------------------------------------------------------------------------


def google_first_name(value: str) -> str | None:
    """Google given name: lower-case, trim; "Don't include prefixes such as Mrs."
    Source: Data Manager formatting page (inner spaces and punctuation are disputed
    between Google's sources, so they are kept as written).
    """
    tokens = _nfc(value).strip().lower().split()
    while tokens and tokens[0].rstrip(".") in _PREFIXES:
        tokens = tokens[1:]
    return " ".join(tokens) or None


def google_last_name(value: str) -> str | None:
    """Google family name: lower-case, trim; "Don't include suffixes such as Jr."
    (``" Quinn, Jr.   " → "quinn"``). Source: Data Manager formatting page.

    Suffixes go whether written with commas or without, with periods or
    without, generational (``Jr``, ``III``, ``2nd``) or professional (``Ph.D.``,
    ``M.D.``, ``Esq.``), several in a row (``Smith Jr., M.D.``); a name that
    is only one such token is kept (``V``).

    Examples:
        >>> google_last_name("Smith Jr., M.D.")
        'smith'
        >>> google_last_name("Quinn, Ph.D")
        'quinn'
    """
    tokens = _nfc(value).strip().lower().replace(",", " ").split()
    while len(tokens) > 1 and tokens[-1].replace(".", "") in _SUFFIXES:
        tokens = tokens[:-1]
    return " ".join(tokens) or None


def meta_name(value: str) -> str | None:
    """Meta ``FN``/``LN``: "Lowercase only, no punctuation. Special characters in UTF8
    format": letters of any script and their accents are kept (``Valéry → valéry``,
    ``정 → 정``), punctuation and spaces go (``O'Connor → oconnor``). Source: Meta
    custom-audiences hashing table and Conversions API customer-information parameters.
    """
    text = _nfc(value).lower()
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] in "LMN")
    return kept or None


def clear_name(value: str) -> str | None:
    """LinkedIn sends names in clear, at most 35 characters (connector docs)."""
    text = _SPACE.sub(" ", _nfc(value)).strip()
    return text[:35] or None


# --- places, gender, dates, ids ------------------------------------------------------------


def country_code(value: str) -> str | None:
    """ISO 3166-1 alpha-2 (upper-case) from a code, alpha-3 or an English name."""
    text = _nfc(value).strip()
    if not text:
        return None
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return None


def google_country(value: str) -> str | None:
    """Google region code: ISO 3166-1 alpha-2, upper-case, **not hashed** (``" uS " → "US"``).
    Source: Data Manager formatting page; data-manager-java ``UserDataFormatter`` tests.
    """
    return country_code(value)


def meta_country(value: str) -> str | None:
    """Meta ``COUNTRY``: lower-case ISO 3166-1 alpha-2, hashed (``United States → us``).
    Source: Meta custom-audiences hashing table.
    """
    code = country_code(value)
    return code.lower() if code else None


def google_postcode(value: str, *, region: str | None) -> str | None:
    """Google postal code, **not hashed**: trimmed; US 5 digits or ZIP+4 (``94303-5300``,
    which "may improve your match rate"). Source: Data Manager formatting page;
    support.google.com/google-ads/answer/7476159.
    """
    text = _SPACE.sub(" ", _nfc(value)).strip().upper()
    if (region or "").upper() == "US":
        match = re.fullmatch(r"(\d{5})(?:[- ]?(\d{4}))?", text)
        if not match:
            return None
        return match.group(1) + (f"-{match.group(2)}" if match.group(2) else "")
    return text or None


def meta_zip(value: str, *, region: str | None) -> str | None:
    """Meta ``ZIP``: lower-case, no whitespace; US: the first 5 digits (``94035-1234 →
    94035``); UK: the whole postcode (``m11ae``). Source: Meta custom-audiences table.
    """
    text = _SPACE.sub("", _nfc(value)).lower()
    if (region or "").upper() == "US":
        match = re.match(r"(\d{5})", text)
        return match.group(1) if match else None
    return text or None


def meta_city(value: str) -> str | None:
    """Meta ``CT``: lower-case, letters only, no punctuation or whitespace (``newyork``)."""
    text = _nfc(value).lower()
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] in "LM")
    return kept or None


def meta_gender(value: str) -> str | None:
    """Meta ``GEN``: ``m`` or ``f`` (``Female → f``). Source: Meta custom-audiences table."""
    text = _nfc(value).strip().lower()
    return text[0] if text and text[0] in "mf" else None


def parse_date(value: str) -> date | None:
    """ISO ``YYYY-MM-DD``, ``YYYYMMDD`` or US ``M/D/YYYY`` (Meta's own example ``2/16/1997``)."""
    text = value.strip()
    for pattern, order in (
        (r"(\d{4})-(\d{1,2})-(\d{1,2})", "ymd"),
        (r"(\d{4})(\d{2})(\d{2})", "ymd"),
        (r"(\d{1,2})/(\d{1,2})/(\d{4})", "mdy"),
    ):
        match = re.fullmatch(pattern, text)
        if match:
            parts = dict(zip(order, map(int, match.groups()), strict=True))
            try:
                return date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                return None
    return None


def meta_dob_part(value: str, *, part: str) -> str | None:
    """Meta ``DOBY`` (YYYY), ``DOBM`` (MM) and ``DOBD`` (DD) from a date of birth; a bare
    month or day is zero-padded (``1 → 01``, Meta's SDK test). Source: Meta
    custom-audiences table; facebook-python-business-sdk ``normalize_test.py``.
    """
    text = value.strip()
    if part in ("m", "d") and re.fullmatch(r"\d{1,2}", text):
        number = int(text)
        limit = 12 if part == "m" else 31
        return f"{number:02d}" if 1 <= number <= limit else None
    born = parse_date(text)
    if born is None or not 1900 <= born.year <= date.today().year:
        return None
    return {"y": f"{born.year:04d}", "m": f"{born.month:02d}", "d": f"{born.day:02d}"}[part]


def lower_ad_id(value: str) -> str | None:
    """Mobile ad ids (IDFA/GAID): trimmed, lower-case, hyphens kept. Meta ``MADID``: "Use
    all lowercase, keep hyphens" (sent unhashed); TikTok MAID: consistent case.
    """
    text = value.strip().lower()
    return (
        text
        if re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text)
        else None
    )


# --- vectorised fast paths -----------------------------------------------------------------
#
# Exports normalise millions of identifiers. Tether's touchpoints already hold
# clean values (emails trimmed and lower-cased, phones in E.164), and for
# those the platform rules reduce to a few string operations that Arrow runs
# in C++. A fast path returns null wherever a value is not clean; the scalar
# rule above (the specification) then decides it. Tests check both paths
# agree value for value.

_CLEAN_EMAIL = r"^[a-z0-9_%+\-][a-z0-9._%+\-]*@[a-z0-9\-]+(\.[a-z0-9\-]+)+$"
_CLEAN_E164 = r"^\+[1-9][0-9]{7,14}$"


def fast_email(*, fold: tuple[str, ...] = (), plus_everywhere: bool = False) -> Any:
    """A fast path for emails: gmail-style folding on ``fold`` domains, ``+tag``
    removal on every domain with ``plus_everywhere``."""

    def run(values: pa.Array) -> pa.Array:
        clean = pc.fill_null(pc.match_substring_regex(values, _CLEAN_EMAIL), False)
        out = pc.if_else(clean, values, pa.scalar(None, pa.string()))
        # Only addresses with a +tag or on a folded domain change: work on those alone.
        work = pc.match_substring(values, "+")
        for domain in fold:
            work = pc.or_(work, pc.ends_with(values, "@" + domain))
        work = pc.and_(clean, pc.fill_null(work, False))
        if not pc.any(work).as_py():
            return out
        subset = pc.filter(values, work)
        parts = pc.extract_regex(subset, r"^(?P<local>[^@]+)@(?P<domain>.+)$")
        local = pc.struct_field(parts, "local")
        domain = pc.struct_field(parts, "domain")
        untagged = pc.replace_substring_regex(local, r"\+.*$", "")
        folded = pc.replace_substring(untagged, ".", "")
        in_fold = pc.fill_null(pc.is_in(domain, value_set=pa.array(list(fold), pa.string())), False)
        new_local = pc.if_else(in_fold, folded, untagged if plus_everywhere else local)
        joined = pc.binary_join_element_wise(new_local, domain, "@")
        usable = pc.fill_null(pc.greater(pc.utf8_length(new_local), 0), False)
        changed = pc.if_else(usable, joined, pa.scalar(None, pa.string()))
        return pc.replace_with_mask(out, work, changed)

    return run


def fast_e164(*, plus: bool) -> Any:
    """A fast path for phones already in E.164: kept, or without the ``+``."""

    def run(values: pa.Array) -> pa.Array:
        ok = pc.fill_null(pc.match_substring_regex(values, _CLEAN_E164), False)
        out = values if plus else pc.utf8_slice_codeunits(values, 1)
        return pc.if_else(ok, out, pa.scalar(None, pa.string()))

    return run


def hash_array(values: pa.Array, *, encoding: str) -> pa.Array:
    """SHA-256 of every value (nulls stay null), lower-case hex or Base64 of the digest,
    vectorised in DuckDB: equal to ``sha256_hex``/``sha256_base64`` value for value."""
    import duckdb

    expression = "sha256(v)" if encoding == "hex" else "to_base64(unhex(sha256(v)))"
    con = duckdb.connect()
    try:
        con.register("vals", pa.table({"v": values}))
        return (
            con.sql(f"SELECT {expression} AS h FROM vals")
            .to_arrow_table()
            .column("h")
            .combine_chunks()
        )
    finally:
        con.close()
