"""Google's family names carry no suffix, however the suffix is written (issue #12)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audiences.normalize import google_last_name, meta_name


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        (" Quinn, Jr.   ", "quinn"),
        ("Quinn Jr", "quinn"),
        ("QUINN, JR", "quinn"),
        ("Smith, Ph.D.", "smith"),
        ("Smith PhD", "smith"),
        ("Smith, M.D.", "smith"),
        ("Smith III", "smith"),
        ("Smith 2nd", "smith"),
        ("Smith, Esq.", "smith"),
        ("Smith Jr., M.D.", "smith"),
        ("Van der Berg", "van der berg"),
        ("Do", "do"),  # a Vietnamese family name, not a suffix
        ("V", "v"),  # a name that is only a suffix-like token is kept
        ("Коэн", "коэн"),
        ("כהן", "כהן"),
    ],
)
def test_google_family_names_lose_their_suffixes(written: str, sent: str) -> None:
    assert google_last_name(written) == sent


def test_platforms_that_do_not_ask_keep_the_suffix() -> None:
    assert meta_name("Quinn, Jr.") == "quinnjr"  # Meta: lower-case, no punctuation, nothing more


#: Every suffix Google's normaliser removes (a drawn name equal to one is itself a suffix).
SUFFIX_WORDS = {"jr", "sr", "ii", "iii", "iv", "v", "2nd", "3rd", "4th"} | {
    "phd", "md", "dds", "dmd", "dvm", "esq", "cpa", "rn", "mba", "jd", "llm",
}  # fmt: skip
SUFFIXES = ["Jr", "Jr.", "Sr.", "III", "IV", "2nd", "PhD", "Ph.D.", "M.D.", "MD", "Esq.", "DDS"]
NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyzабвгдеאבגדה'-", min_size=2, max_size=12).filter(
    lambda t: t not in SUFFIX_WORDS
)


@given(name=NAMES, suffix=st.sampled_from(SUFFIXES), comma=st.booleans(), case=st.booleans())
def test_a_suffix_never_changes_what_google_receives(
    name: str, suffix: str, comma: bool, case: bool
) -> None:
    written = f"{name}{',' if comma else ''} {suffix.upper() if case else suffix}"
    assert google_last_name(written) == google_last_name(name)
