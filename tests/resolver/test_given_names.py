"""The given-name equivalence table (resolver/data/given_names.csv) and its loader.

Precision matters more than recall here: a false equivalence lets two different
people with one phone or email merge, so the table is checked for shape and
sanity, and a list of look-alike names must stay apart.
"""

from __future__ import annotations

import csv
import unicodedata
from collections import Counter, defaultdict
from importlib import resources

import pytest

from resolver.given_names import name_groups, same_given_name

COLUMNS = ["group", "name", "script", "kind", "language", "of", "source"]
KINDS = {"canonical", "variant", "diminutive", "transliteration"}
LANGUAGES = {"ru", "uk", "be", "he", "yi", "ar", "en"}
SCRIPTS = {"Latn": "LATIN", "Cyrl": "CYRILLIC", "Hebr": "HEBREW", "Arab": "ARABIC"}
SOURCES = {"curated", "curated+cbs", "curated+names-translator", "generated"}
# Characters a name may have besides letters of its script (Hebrew geresh is typed as ').
SEPARATORS = set(" '-")


def _rows() -> list[dict[str, str]]:
    text = resources.files("resolver").joinpath("data", "given_names.csv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


ROWS = _rows()
BY_GROUP: dict[str, list[dict[str, str]]] = defaultdict(list)
for _row in ROWS:
    BY_GROUP[_row["group"]].append(_row)


SAME = [
    # Russian, with Ukrainian/Belarusian forms and the Latin spellings people type
    ("Aleksandr", "Alexander"),
    ("Alexandr", "Oleksandr"),
    ("Olexandr", "Aliaksandr"),
    ("aleksandr", "sasha"),
    ("aleksandr", "shura"),
    ("aleksandr", "sanya"),
    ("aleksandr", "alik"),
    ("Александр", "Саша"),
    ("Саша", "סשה"),
    ("סשה", "sasha"),
    ("mikhail", "michael"),
    ("mikhail", "misha"),
    ("michael", "מיכאל"),
    ("dmitry", "dima"),
    ("dmitriy", "mitya"),
    ("Дмитрий", "Dmitrii"),
    ("evgeny", "yevgeny"),
    ("evgeniy", "zhenya"),
    ("Женя", "Jenya"),
    ("elena", "yelena"),
    ("elena", "lena"),
    ("helen", "lena"),
    ("ekaterina", "yekaterina"),
    ("ekaterina", "katya"),
    ("katia", "catherine"),
    ("natalia", "natasha"),
    ("natalya", "natalie"),
    ("vladimir", "volodya"),
    ("vova", "volodymyr"),
    # Hebrew, Yiddish and the same name in Russian and English
    ("yosef", "joseph"),
    ("yosef", "iosif"),
    ("yosef", "yossi"),
    ("yossi", "yoske"),
    ("Yosef", "יוסי"),
    ("avraham", "abraham"),
    ("avraham", "avi"),
    ("avraham", "avrum"),
    ("yaakov", "jacob"),
    ("yaakov", "yakov"),
    ("yaakov", "kobi"),
    ("yaakov", "yankel"),
    ("mordechai", "moti"),
    ("mordechai", "motke"),
    ("yitzhak", "itzik"),
    ("yitzhak", "isaac"),
    ("yitzhak", "tzachi"),
    ("shmuel", "shmulik"),
    ("shmuel", "samuel"),
    ("binyamin", "benny"),
    ("binyamin", "benjamin"),
    ("david", "dudu"),
    ("david", "dodi"),
    ("shimon", "semyon"),
    ("rivka", "riki"),
    ("ester", "esti"),
    ("tzipora", "tzipi"),
    # Arabic, in Arabic and Hebrew script
    ("mohammed", "muhammad"),
    ("mohamed", "mohammad"),
    ("mohammed", "hamoudi"),
    ("محمد", "מוחמד"),
    ("أحمد", "احمد"),
    ("abdallah", "abed"),
    ("fatima", "fatma"),
]

DIFFERENT = [
    # Russian diminutives one letter apart
    ("misha", "masha"),
    ("sasha", "pasha"),
    ("dima", "dina"),
    ("lena", "lina"),
    ("tanya", "tonya"),
    ("olya", "yulya"),
    ("vova", "vika"),
    ("katya", "kostya"),
    ("lena", "alyona"),
    # Male and female forms of one name: a short form may match either, the full forms do not
    ("aleksandr", "aleksandra"),
    ("evgeny", "evgenia"),
    ("valentin", "valentina"),
    ("michael", "michal"),
    # Hebrew look-alikes and names that share a diminutive but are different names
    ("yossi", "yoni"),
    ("avi", "ari"),
    ("kobi", "kobe"),
    ("ori", "uri"),
    ("dan", "daniel"),
    ("yonatan", "yehonatan"),
    ("avner", "avraham"),
    ("shlomo", "shlomi"),
    ("eli", "ali"),
    ("omer", "omar"),
    ("noa", "noah"),
    # Same origin, different names in use: kept apart on purpose (see GIVEN_NAMES.md)
    ("yosef", "yusuf"),
    ("avraham", "ibrahim"),
    ("ilya", "eliyahu"),
    ("ivan", "yohanan"),
    ("tamar", "tamara"),
    ("lev", "aryeh"),
    ("boris", "dov"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_forms_of_one_name_are_the_same(a, b):
    assert same_given_name(a=a, b=b), (name_groups(name=a), name_groups(name=b))
    assert same_given_name(a=b, b=a)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_look_alike_names_stay_apart(a, b):
    assert not same_given_name(a=a, b=b), (name_groups(name=a), name_groups(name=b))


@pytest.mark.parametrize(
    ("name", "groups"),
    [
        ("sasha", {"aleksandr", "aleksandra"}),
        ("zhenya", {"evgeny", "evgenia"}),
        ("valya", {"valentin", "valentina"}),
        ("aleksandr", {"aleksandr"}),
        ("unknownname", set()),
        ("", set()),
    ],
)
def test_name_groups(name, groups):
    assert name_groups(name=name) == groups


@pytest.mark.parametrize(
    "spellings",
    [
        [
            "Aleksandr",
            "Alexandr",
            "Alexander",
            "Oleksandr",
            "Olexandr",
            "Александр",
            "Олександр",
            "אלכסנדר",
        ],
        ["Алёна", "Алена", "alyona", "aliona"],
        ["ז'ניה", "ז׳ניה", "זניה", "Zhenya", "ZHENYA"],
        ["Bat Sheva", "bat-sheva", "Batsheva", "בת שבע", "בת-שבע"],
        ["אַבְרָהָם", "אברהם"],
        ["عبد الله", "عبدالله"],
    ],
)
def test_lookup_folds_how_people_type(spellings):
    groups = [name_groups(name=s) for s in spellings]
    assert groups[0]
    assert all(g == groups[0] for g in groups), dict(zip(spellings, groups, strict=True))


def test_unknown_name_is_not_the_same_as_itself():
    assert not same_given_name(a="kobe", b="kobe")


def test_columns_and_values():
    text = resources.files("resolver").joinpath("data", "given_names.csv").read_text("utf-8")
    assert text.splitlines()[0].split(",") == COLUMNS
    for row in ROWS:
        assert row["kind"] in KINDS, row
        assert row["language"] in LANGUAGES, row
        assert row["script"] in SCRIPTS, row
        assert row["source"] in SOURCES, row
        assert row["group"].isascii() and row["group"] == row["group"].lower(), row


def test_names_are_lower_case_nfc_and_trimmed():
    for row in ROWS:
        name = row["name"]
        assert name == unicodedata.normalize("NFC", name).lower().strip(), row
        assert name and "  " not in name, row


def test_every_row_is_written_in_its_script():
    for row in ROWS:
        expected = SCRIPTS[row["script"]]
        for ch in row["name"]:
            if ch in SEPARATORS:
                continue
            assert ch.isalpha() and unicodedata.name(ch).startswith(expected), (ch, row)


def test_no_duplicate_rows():
    pairs = Counter((row["group"], row["name"]) for row in ROWS)
    assert [p for p, n in pairs.items() if n > 1] == []


def test_each_group_has_one_canonical_name_and_a_latin_spelling():
    for group, rows in BY_GROUP.items():
        assert [r["kind"] for r in rows].count("canonical") == 1, group
        assert any(r["script"] == "Latn" for r in rows), group


def test_transliterations_point_at_a_form_of_their_group():
    for rows in BY_GROUP.values():
        forms = {r["name"]: r for r in rows if r["kind"] != "transliteration"}
        for row in rows:
            if row["kind"] == "transliteration":
                assert row["of"] in forms, row
                assert forms[row["of"]]["script"] != row["script"], row
            else:
                assert row["of"] == "", row


def test_no_group_is_absurdly_large():
    # The largest real groups (Aleksei, Aleksandr, Yosef) have under 50 rows; far more
    # means two names were merged by mistake.
    sizes = {group: len(rows) for group, rows in BY_GROUP.items()}
    assert max(sizes.values()) <= 60, sorted(sizes.items(), key=lambda kv: -kv[1])[:5]


def test_no_name_is_in_too_many_groups():
    # A short form may stand for several names (Avi: Avraham, Avner, Avishai...), but a
    # name in very many groups would make them all match each other's short forms.
    groups: dict[str, set[str]] = defaultdict(set)
    for row in ROWS:
        groups[row["name"]].add(row["group"])
    worst = max(groups.items(), key=lambda kv: len(kv[1]))
    assert len(worst[1]) <= 10, worst


def test_coverage_of_the_populations():
    languages = Counter(row["language"] for row in ROWS if row["kind"] == "canonical")
    assert languages["ru"] >= 100
    assert languages["he"] >= 200
    assert languages["ar"] >= 150
    assert len(BY_GROUP) >= 500
