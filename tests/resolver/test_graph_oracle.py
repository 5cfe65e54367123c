"""``build_identity_graph`` and ``build_persons`` give exactly what the pandas versions gave.

The references are the implementations before they were vectorised (a pivot
table, a Python ``sorted(set(...))`` per person, a dict map per record).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from resolver.graph import build_identity_graph, build_persons

T0 = datetime(2026, 1, 1, tzinfo=UTC)

# --- the references: the implementations as they were ---------------------------------------


def reference_build_identity_graph(
    touchpoints: pd.DataFrame,
    *,
    cluster: np.ndarray,
    person_of_cluster: dict[int, str],
    may_link: np.ndarray | None = None,
) -> pd.DataFrame:
    graph = touchpoints[
        ["source", "record_key", "kind", "subject_type", "subject_id", "customer_id", "ts"]
    ].copy()
    graph["may_link"] = (
        np.ones(len(graph), dtype=bool) if may_link is None else np.asarray(may_link, dtype=bool)
    )
    graph["person_id"] = pd.Series(cluster).map(person_of_cluster).to_numpy()
    return graph.reset_index(drop=True)


def reference_build_persons(graph: pd.DataFrame) -> pd.DataFrame:
    counts = graph.pivot_table(
        index="person_id", columns="kind", values="record_key", aggfunc="count", fill_value=0
    )
    counts.columns = [f"n_{c}" for c in counts.columns]
    for kind in ("customers", "sessions", "devices", "contacts"):
        if f"n_{kind}" not in counts.columns:
            counts[f"n_{kind}"] = 0
    customers = (
        graph.dropna(subset=["customer_id"])
        .groupby("person_id")["customer_id"]
        .agg(lambda s: sorted(set(s)))
    )
    seen = graph.groupby("person_id")["ts"].agg(["min", "max"])
    persons = counts.join(seen).rename(columns={"min": "first_seen", "max": "last_seen"})
    persons["customer_ids"] = customers.reindex(persons.index)
    persons["customer_ids"] = persons["customer_ids"].apply(
        lambda v: v if isinstance(v, list) else []
    )
    persons["is_customer"] = persons["n_customers"] > 0
    persons["records"] = counts.sum(axis=1)
    return persons.reset_index()


# --- properties -----------------------------------------------------------------------------

KINDS = ["customers", "sessions", "devices", "contacts", "events"]


@st.composite
def graphs(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 30))
    ts = st.none() | st.integers(0, 100).map(lambda h: T0 + timedelta(hours=h))
    rows = [
        {
            "source": "s",
            "record_key": draw(st.sampled_from(["k1", "k2", "k3", None]))
            if i % 7 == 3
            else f"k{i}",
            "kind": draw(st.sampled_from(KINDS[: draw(st.integers(1, 5))])),
            "subject_type": "cookie",
            "subject_id": f"c{i}",
            "customer_id": draw(st.none() | st.sampled_from(["C2", "C10", "C1", "é", "c1"])),
            "ts": draw(ts),
            "person_id": draw(st.sampled_from(["p2", "p10", "p1", "P", "ü"])),
        }
        for i in range(n)
    ]
    frame = pd.DataFrame(
        rows,
        columns=["source", "record_key", "kind", "subject_type", "subject_id", "customer_id"]
        + ["ts", "person_id"],
    )
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    form = draw(st.sampled_from(["ns", "us", "objects", "objects"]))
    if form == "us":
        frame["ts"] = frame["ts"].astype("datetime64[us, UTC]")
    elif form == "objects":  # as ingest hands them over: Timestamps and NaT as Python objects
        frame["ts"] = pd.Series(list(frame["ts"]), dtype=object)
    return frame


@settings(max_examples=150, deadline=None)
@given(graphs())
def test_persons_match_the_reference(graph) -> None:
    got, want = build_persons(graph), reference_build_persons(graph)
    assert got["customer_ids"].tolist() == want["customer_ids"].tolist()
    assert all(type(v) is list for v in got["customer_ids"])
    pd.testing.assert_frame_equal(got, want, check_exact=True)


@settings(max_examples=200, deadline=None)
@given(graphs(), st.data())
def test_identity_graph_matches_the_reference(graph, data) -> None:
    touchpoints = graph.drop(columns="person_id")
    labels = data.draw(st.sampled_from([[0, 1, 2], [5, -1, 10**12], [3]]))
    cluster = np.array(
        data.draw(st.lists(st.sampled_from(labels), min_size=len(graph), max_size=len(graph))),
        dtype=np.int64,
    )
    keys = data.draw(st.sets(st.sampled_from(labels), min_size=1))  # some clusters may lack one
    person_of = {int(c): f"p{c}" for c in sorted(keys, key=lambda c: (c % 3, c))}
    may_link = data.draw(st.none() | st.just(np.arange(len(graph)) % 2 == 0))
    got = build_identity_graph(
        touchpoints, cluster=cluster, person_of_cluster=person_of, may_link=may_link
    )
    want = reference_build_identity_graph(
        touchpoints, cluster=cluster, person_of_cluster=person_of, may_link=may_link
    )
    pd.testing.assert_frame_equal(got, want, check_exact=True)
