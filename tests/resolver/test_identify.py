"""Real-time identity: the scalar normaliser equals ingest, the prepared scorer equals Splink."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from splink import DuckDBAPI
from splink.internals.realtime import compare_records

from resolver import load_model
from resolver.identify import IdentityIndex
from resolver.sources import SourceConfig, _touchpoints, normalize_record
from tests.strategies import emails, phones

NORMALISED = (
    "email", "email_folded", "phone", "first_name", "last_name", "first_latin", "last_latin",
    "first_skeleton", "last_skeleton", "first_translit", "last_translit", "first_forms", "dob",
    "postcode", "city", "address", "national_id", "country",
)  # fmt: skip

names = st.sampled_from(
    ["  Dr. Jane ", "O'Brien", "ЕЛЕНА", "דוד", "Bill", "mary-jane", "", "  ", "Zoë", "x" * 40]
)
dates = st.sampled_from(["1984-03-12", "12/03/1984", "03/12/1984", "12 Mar 1984", "garbage", ""])
postcodes = st.sampled_from(["sw1a 1aa", "SW1A1AA", "90210", "10115", "bad!", ""])
countries = st.sampled_from(["GB", "us", "DE", "IL", "", "United Kingdom"])


def _ingest_one(fields: dict[str, Any], *, default_region: str) -> dict[str, Any]:
    frame = pd.DataFrame([{"customer_id": "c", "created_at": None, **fields}])
    out = _touchpoints(
        SourceConfig(name="q", kind="customers", path=Path(".")),
        frame.replace({"": None}),
        default_region=default_region,
        dropped={},
    )
    row = out.iloc[0].to_dict()
    return {k: row[k] for k in NORMALISED}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list | np.ndarray) or isinstance(b, list | np.ndarray):
        return list(a if a is not None else []) == list(b if b is not None else [])
    missing_a = a is None or (not isinstance(a, str) and pd.isna(a))
    missing_b = b is None or (not isinstance(b, str) and pd.isna(b))
    return (missing_a and missing_b) or a == b


@given(
    email=st.one_of(emails(), st.just("not-an-email")),
    phone=phones(),
    first=names,
    last=names,
    dob=dates,
    postcode=postcodes,
    country=countries,
    city=names,
)
def test_normalize_record_equals_ingest(
    email: str,
    phone: tuple[str, str, str],
    first: str,
    last: str,
    dob: str,
    postcode: str,
    country: str,
    city: str,
) -> None:
    fields = {
        "email": email,
        "phone": phone[0],
        "first_name": first,
        "last_name": last,
        "date_of_birth": dob,
        "postcode": postcode,
        "country": country,
        "city": city,
        "address": city,
        "national_id": "ab 12-34",
    }
    scalar = normalize_record(fields, default_region="GB")
    frame = _ingest_one(fields, default_region="GB")
    differ = {k: (scalar[k], frame[k]) for k in NORMALISED if not _same(scalar[k], frame[k])}
    assert differ == {}


@pytest.fixture(scope="module")
def index_and_model(api_world: Path) -> Iterator[tuple[IdentityIndex, Any, pd.DataFrame]]:
    run = api_world / "current"
    graph = pd.read_parquet(run / "identity_graph.parquet")
    touch = pd.read_parquet(run / "touchpoints.parquet")
    model = load_model(api_world / "model" / "model.json")
    index = IdentityIndex.build(
        run_id="r", graph=graph, touchpoints=touch, model=model, threshold=0.9,
        default_region="GB",
    )  # fmt: skip
    yield index, model, touch
    index.close()


def test_the_prepared_scorer_gives_splinks_probabilities(
    index_and_model: tuple[IdentityIndex, Any, pd.DataFrame],
) -> None:
    """The SQL prepared once per model scores exactly as ``compare_records`` does."""
    index, model, _ = index_and_model
    records = index._scoring_frame(index._rows)
    rng = np.random.default_rng(3)
    for left in rng.choice(len(records), size=8, replace=False):
        right = rng.choice(len(records), size=12, replace=False)
        query = records.iloc[int(left)].to_dict()
        query["unique_id"] = -1
        assert index._scorer is not None
        ours = dict(index._scorer.score(query, right))
        splink = compare_records(
            records.iloc[[int(left)]].assign(unique_id=-1),
            records.iloc[right],
            model.settings,
            DuckDBAPI(),
        ).as_pandas_dataframe()
        theirs = dict(zip(splink["unique_id_r"], splink["match_probability"], strict=True))
        assert ours.keys() == theirs.keys()
        for key, probability in theirs.items():
            assert ours[key] == pytest.approx(probability, rel=1e-9, abs=1e-12)


def test_ambiguous_values_name_no_one(
    index_and_model: tuple[IdentityIndex, Any, pd.DataFrame],
) -> None:
    index = index_and_model[0]
    shared = index._exact["email"]
    ambiguous = [value for value, person in shared.items() if person is None]
    unique = [value for value, person in shared.items() if person is not None]
    assert unique
    for value in ambiguous[:5]:
        match = index.identify({"email": value}, use_model=False)
        assert match.person_id is None and match.ambiguous == ("email",)
    match = index.identify({"email": unique[0].upper()}, use_model=False)
    assert match.person_id == shared[unique[0]] and match.method == "exact:email"
    assert index.identify({"cookie_id": "never-seen"}).method == "none"
