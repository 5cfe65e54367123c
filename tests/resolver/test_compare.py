"""First names in Hebrew, Cyrillic and Latin script: initials against full names (issue #11)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolver.compare import first_names_compatible
from resolver.normalize import normalize_name

#: One given name written in each script, as this product's users write them.
NAMES: tuple[dict[str, str], ...] = (
    {"latin": "michael", "hebrew": "מיכאל", "cyrillic": "михаил"},
    {"latin": "irina", "hebrew": "אירינה", "cyrillic": "ирина"},
    {"latin": "yosef", "hebrew": "יוסף", "cyrillic": "иосиф"},
    {"latin": "david", "hebrew": "דוד", "cyrillic": "давид"},
    {"latin": "avraham", "hebrew": "אברהם", "cyrillic": "авраам"},
    {"latin": "erez", "hebrew": "ארז", "cyrillic": "эрез"},
    {"latin": "olga", "hebrew": "אולגה", "cyrillic": "ольга"},
    {"latin": "amos", "hebrew": "עמוס", "cyrillic": "амос"},
    {"latin": "evgeny", "hebrew": "יבגני", "cyrillic": "евгений"},
    {"latin": "yevgeny", "hebrew": "יבגני", "cyrillic": "евгений"},
    {"latin": "chaim", "hebrew": "חיים", "cyrillic": "хаим"},
    {"latin": "haim", "hebrew": "חיים", "cyrillic": "хаим"},
    {"latin": "sarah", "hebrew": "שרה", "cyrillic": "сара"},
    {"latin": "shira", "hebrew": "שירה", "cyrillic": "шира"},
    {"latin": "tzvi", "hebrew": "צבי", "cyrillic": "цви"},
    {"latin": "zhenya", "hebrew": "ז'ניה", "cyrillic": "женя"},
    {"latin": "yulia", "hebrew": "יוליה", "cyrillic": "юлия"},
    {"latin": "julia", "hebrew": "יוליה", "cyrillic": "юлия"},
    {"latin": "yakov", "hebrew": "יעקב", "cyrillic": "яков"},
    {"latin": "ksenia", "hebrew": "קסניה", "cyrillic": "ксения"},
    {"latin": "xenia", "hebrew": "קסניה", "cyrillic": "ксения"},
    {"latin": "konstantin", "hebrew": "קונסטנטין", "cyrillic": "константин"},
    {"latin": "vladimir", "hebrew": "ולדימיר", "cyrillic": "владимир"},
    {"latin": "boris", "hebrew": "בוריס", "cyrillic": "борис"},
    {"latin": "igor", "hebrew": "איגור", "cyrillic": "игорь"},
    {"latin": "natalia", "hebrew": "נטליה", "cyrillic": "наталья"},
    {"latin": "tatiana", "hebrew": "טטיאנה", "cyrillic": "татьяна"},
    {"latin": "pinchas", "hebrew": "פנחס", "cyrillic": "пинхас"},
    {"latin": "rivka", "hebrew": "רבקה", "cyrillic": "ривка"},
    {"latin": "grigory", "hebrew": "גריגורי", "cyrillic": "григорий"},
    {"latin": "lev", "hebrew": "לב", "cyrillic": "лев"},
    {"latin": "fyodor", "hebrew": "פיודור", "cyrillic": "фёдор"},
)
SCRIPTS = ("latin", "hebrew", "cyrillic")


def _name(raw: str) -> str:
    name = normalize_name(raw)
    assert name is not None
    return name


def _initial(raw: str) -> str:
    """The initial as a form writes it (``M.``), normalised like every first name."""
    return _name(raw[0].upper() + ".")


@pytest.mark.parametrize("name", NAMES, ids=[n["latin"] for n in NAMES])
def test_an_initial_in_any_script_fits_the_full_name_in_any_script(name):
    for initial_in in SCRIPTS:
        for name_in in SCRIPTS:
            initial, full = _initial(name[initial_in]), _name(name[name_in])
            assert first_names_compatible(initial, full), (initial, full)
            assert first_names_compatible(full, initial), (full, initial)


#: Names whose first sound every script writes with one letter of its own (m, d, l, n, r).
PLAIN = tuple(name for name in NAMES if name["latin"][0] in "mdlnr")


def test_an_initial_of_another_sound_does_not_fit():
    for a in PLAIN:
        for b in PLAIN:
            if a["latin"][0] == b["latin"][0]:
                continue
            for initial_in in SCRIPTS:
                for name_in in SCRIPTS:
                    initial, full = _initial(a[initial_in]), _name(b[name_in])
                    assert not first_names_compatible(initial, full), (initial, full)
                    assert not first_names_compatible(full, initial), (full, initial)


_LETTERS = "abcdeijkmorsvxyz" + "אבגדהוזחיכלמנסעפצקרשת" + "абвгдежзиклмнорстухцчшюя"


@given(
    a=st.text(alphabet=_LETTERS, min_size=1, max_size=6),
    b=st.text(alphabet=_LETTERS, min_size=1, max_size=6),
)
def test_compatibility_is_symmetric_in_any_mix_of_scripts(a, b):
    assert first_names_compatible(a, b) == first_names_compatible(b, a)


@given(
    name=st.sampled_from(NAMES),
    initial_in=st.sampled_from(SCRIPTS),
    name_in=st.sampled_from(SCRIPTS),
    dress=st.sampled_from(["{}", "{}.", " {}. ", "{}׳", "({})"]),
    upper=st.booleans(),
)
def test_an_initial_is_the_same_however_it_is_written(name, initial_in, name_in, dress, upper):
    letter = name[initial_in][0]
    written = dress.format(letter.upper() if upper else letter)
    assert first_names_compatible(_name(written), _name(name[name_in])) == first_names_compatible(
        _name(letter), _name(name[name_in])
    )


@pytest.mark.parametrize(
    ("initial", "name"),
    [("M.", "מיכאל"), ("И.", "irina"), ("E.", "ארז"), ("J.", "юлия"), ("X.", "ксения"),
     ("C.", "חיים"), ("מ׳", "michael"), ("מ׳", "михаил"), ("Ю.", "julia"), ("Е.", "yevgeny"),
     ("И.", "איגור"), ("Y.", "иосиф"), ("М.", "михаил"), ("И.", "ирина"), ("מ׳", "מיכאל")],
)  # fmt: skip
def test_initials_across_scripts(initial, name):
    assert first_names_compatible(_name(initial), _name(name))
    assert first_names_compatible(_name(name), _name(initial))


@pytest.mark.parametrize(
    ("initial", "name"),
    [("R.", "ארז"), ("K.", "михаил"), ("ב׳", "михаил"), ("M.", "ирина"), ("М.", "irina"),
     ("Д.", "מיכאל"), ("L.", "אברהם"), ("Б.", "ирина")],
)  # fmt: skip
def test_initials_of_other_names_across_scripts(initial, name):
    assert not first_names_compatible(_name(initial), _name(name))
    assert not first_names_compatible(_name(name), _name(initial))
