"""``resolver.shared_text``: the same values as the plain conversions, one object per
distinct value instead of one per row (the run's memory, issue #14)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from resolver.shared_text import repeated, shared_objects, text_codes

_text = st.one_of(st.none(), st.sampled_from(["a", "b", "é", "", "שלום"]), st.text(max_size=6))


def test_numpy_full_makes_a_string_per_row_and_repeated_does_not() -> None:
    # the reason the module exists: if NumPy ever shares the value, this test says so
    assert len({id(v) for v in np.full(4, "event", dtype=object)}) == 4
    out = repeated("event", 4)
    assert out.dtype == object and out.tolist() == ["event"] * 4
    assert len({id(v) for v in out}) == 1
    assert repeated(None, 0).shape == (0,)


@given(st.lists(_text, max_size=20), st.sampled_from(["string[pyarrow]", "object", "category"]))
def test_shared_objects_equal_the_values_and_share_each_distinct_one(
    values: list[str | None], dtype: str
) -> None:
    series = pd.Series(values, dtype=dtype)
    out = shared_objects(series)
    assert out.dtype == object
    assert out.tolist() == values  # None where missing, as given otherwise
    distinct = {v for v in values if v is not None}
    assert len({id(v) for v in out if v is not None}) == len(distinct)


@given(st.lists(_text, max_size=20), st.lists(st.text(max_size=4), max_size=3))
def test_a_categorical_gives_its_own_codes_and_categories(
    values: list[str | None], unused: list[str]
) -> None:
    """A ``Categorical`` (text read as codes, issue #14) is not encoded again: its codes
    (-1 where missing) and categories, unused ones included, name each row's value."""
    categories = list(dict.fromkeys([*(v for v in values if v is not None), *unused]))
    series = pd.Series(pd.Categorical(values, categories=categories))
    codes, uniques = text_codes(series)
    assert uniques == categories
    assert [None if c < 0 else uniques[c] for c in codes] == values
