"""Emails that name a household: they join named customers, not nameless records."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from resolver.edges import deterministic_edges
from resolver.households import household_email
from resolver.options import LinkingOptions
from resolver.sources import TOUCHPOINT_COLUMNS


@pytest.mark.parametrize(
    ("email", "surnames"),
    [
        ("cohenfamily@gmail.com", []),
        ("dunn.family@walla.co.il", []),
        ("familie.mueller@web.de", []),
        ("la_famille_martin@orange.fr", []),
        ("mishpacha.levi@gmail.com", []),
        ("mishpahat_cohen@walla.co.il", []),
        ("semya.ivanovy@mail.ru", []),
        ("the_household@yahoo.com", []),
        ("thepierces@gmail.com", ["Pierce"]),
        ("the.joneses@gmail.com", ["jones"]),
        ("thecohens@gmail.com", ["levi", "cohen"]),
    ],
)
def test_a_family_word_or_the_surname_plural_names_a_household(email, surnames):
    assert household_email(email, surnames)


@pytest.mark.parametrize(
    ("email", "surnames"),
    [
        ("james.dunn@gmail.com", ["dunn"]),
        ("thepierces@gmail.com", []),  # no surname to say it is a family's
        ("theodoros@gmail.com", ["papadopoulos"]),
        ("thepierces@gmail.com", ["smith"]),
        ("dunn42@gmail.com", ["dunn"]),
        ("dunn.home@walla.co.il", ["dunn"]),  # a home address, as often one person's
        ("laila.haddad@gmail.com", ["haddad"]),  # not Arabic 'aila'
        ("mishpat.office@law.co.il", []),  # משפט, law: not משפחה
    ],
)
def test_a_persons_address_does_not(email, surnames):
    assert not household_email(email, surnames)


def _touchpoints(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame([dict.fromkeys(TOUCHPOINT_COLUMNS) | r for r in rows])
    frame["record_id"] = np.arange(len(frame))
    return frame


def _edges(tp: pd.DataFrame) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("tp", tp)
    edges, _ = deterministic_edges(con, options=LinkingOptions())
    return edges[edges["rule"] == "email"]


def test_a_nameless_record_on_a_household_email_joins_no_one():
    # Amelia's loyalty row carries the family address; James's CRM row has none. A
    # newsletter sign-up with the address says "a Dunn", not which one.
    tp = _touchpoints(
        [
            {"email_folded": "dunnfamily@gmail.com", "first_latin": "amelia",
             "last_latin": "dunn", "customer_id": "L1"},
            {"email_folded": "dunnfamily@gmail.com", "first_latin": "amelia",
             "last_latin": "dunn", "dob": "1980-02-03"},
            {"email_folded": "dunnfamily@gmail.com", "cookie_id": "c1"},
        ]
    )  # fmt: skip
    edges = _edges(tp)
    refused = edges[edges["reason"].notna()]
    assert refused[["right", "reason"]].values.tolist() == [[2, "ambiguous_identifier"]]
    accepted = edges[edges["reason"].isna()]
    assert {(int(a), int(b)) for a, b in zip(accepted["left"], accepted["right"], strict=True)} == {
        (0, 1)
    }


@pytest.mark.parametrize(
    ("email", "first", "last", "nameless", "reasons"),
    [
        # a person's address: the nameless record joins its holder
        ("amelia.dunn@gmail.com", "amelia", "dunn", {"cookie_id": "c1"}, [None]),
        # "the" + the surname written beside it + "s": a household's, so it does not
        ("thepierces@gmail.com", "antonio", "pierce", {"device_id": "d1"},
         ["ambiguous_identifier"]),
    ],
)  # fmt: skip
def test_a_nameless_record_joins_a_persons_email_but_not_a_households(
    email: str, first: str, last: str, nameless: dict[str, str], reasons: list[str | None]
) -> None:
    tp = _touchpoints(
        [
            {"email_folded": email, "first_latin": first, "last_latin": last,
             "customer_id": "C1"},
            {"email_folded": email, **nameless},
        ]
    )  # fmt: skip
    got = _edges(tp)["reason"]
    assert [None if pd.isna(r) else r for r in got] == reasons
