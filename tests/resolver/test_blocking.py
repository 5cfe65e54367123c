"""Capped prediction blocking: counts against a brute force, the cap, the bound."""

from __future__ import annotations

import itertools

import duckdb
import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from resolver.blocking import BLOCKING_RULES, candidate_rules, plan_blocking

COLUMNS = ("first_latin", "last_latin", "dob", "postcode")


def _frame(rows: list[tuple[str | None, ...]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame.insert(0, "unique_id", np.arange(len(frame), dtype=np.int64))
    frame["fragment"] = frame["unique_id"]
    return frame


def _plan(frame: pd.DataFrame, cap: int):
    con = duckdb.connect()
    con.register("mi", frame)
    plan = plan_blocking(
        con, table="mi", present=frozenset(COLUMNS), max_block_size=cap, into="keyed"
    )
    return con.sql("SELECT * FROM keyed ORDER BY unique_id").df(), plan


def test_only_rules_on_present_columns():
    names = [r.name for r in candidate_rules(frozenset({"last_latin", "dob", "postcode"}))]
    assert names == [
        "last_latin+dob", "last_latin+postcode", "dob+postcode", "last_latin", "dob", "postcode",
    ]  # fmt: skip
    assert all(len(set(r)) == len(r) for r in BLOCKING_RULES)


def test_an_oversized_value_is_not_blocked_on_and_is_reported():
    smiths = [("john", "smith", f"19{i:02d}-01-01", "x1") for i in range(12)]
    rows = [*smiths, ("ann", "cohen", "1980-01-01", "x2"), ("ann", "cohen", "1981-01-01", "x3")]
    keyed, plan = _plan(_frame(rows), cap=5)
    last = next(r for r in plan.rules if r.name == "last_latin")
    assert (last.capped_values, last.capped_records, last.largest_capped) == (1, 12, 12)
    assert last.comparisons == 1  # the two Cohens only
    assert keyed.loc[:11, last.key].isna().all() and keyed.loc[12:, last.key].notna().all()
    assert plan.as_dict()["capped_values"] >= 1


@given(
    st.lists(
        st.tuples(*(st.one_of(st.none(), st.sampled_from("abc")) for _ in COLUMNS)),
        min_size=2,
        max_size=40,
    ),
    st.integers(min_value=2, max_value=8),
)
def test_counts_equal_a_brute_force_and_respect_the_bound(rows, cap):
    frame = _frame(rows)
    keyed, plan = _plan(frame, cap)
    for rule in plan.rules:
        key = [None if pd.isna(k) else int(k) for k in keyed[rule.key].tolist()]
        pairs = sum(
            1
            for i, j in itertools.combinations(range(len(key)), 2)
            if key[i] is not None and key[i] == key[j]
        )
        assert pairs == rule.comparisons, rule
        sizes = keyed[rule.key].value_counts()
        assert (sizes <= cap).all()
    assert sum(r.comparisons for r in plan.rules) <= len(frame) * plan.comparison_bound
