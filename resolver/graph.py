"""The identity graph: one row per usable record, one row per person.

``identity_graph.parquet``: ``source, record_key, kind, person_id`` (SPEC §4)
plus the subject of the record (``subject_type, subject_id``) that consent
and erasure need. ``persons.parquet``: per person, its record counts by
kind, customer ids, and first / last time seen. ``links.parquet``: every
edge linking considered, with its decision, so that a user can ask why two
records are, or are not, one person.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from resolver.link import LinkResult

__all__ = ["build_identity_graph", "build_links_table", "build_persons"]


def build_identity_graph(
    touchpoints: pd.DataFrame,
    *,
    cluster: np.ndarray,
    person_of_cluster: dict[int, str],
    may_link: np.ndarray | None = None,
) -> pd.DataFrame:
    """``source, record_key, kind, subject_type, subject_id, customer_id, ts, may_link, person_id``.

    ``may_link`` is the linking gate's answer per record (all true when not
    given); ``evaluate_graph`` checks the gate held with it.
    """
    graph = touchpoints[
        ["source", "record_key", "kind", "subject_type", "subject_id", "customer_id", "ts"]
    ].copy()
    graph["may_link"] = (
        np.ones(len(graph), dtype=bool) if may_link is None else np.asarray(may_link, dtype=bool)
    )
    graph["person_id"] = pd.Series(cluster).map(person_of_cluster).to_numpy()
    return graph.reset_index(drop=True)


def build_persons(graph: pd.DataFrame) -> pd.DataFrame:
    """One row per person: record counts per kind, customer ids, first/last seen."""
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


def build_links_table(touchpoints: pd.DataFrame, result: LinkResult) -> pd.DataFrame:
    """Edges with record names instead of record ids, for ``links.parquet``."""
    edges = result.edges
    source = touchpoints["source"].to_numpy()
    key = touchpoints["record_key"].to_numpy()
    left = edges["left"].to_numpy(np.int64)
    right = edges["right"].to_numpy(np.int64)
    return pd.DataFrame(
        {
            "left_source": source[left],
            "left_key": key[left],
            "right_source": source[right],
            "right_key": key[right],
            "rule": edges["rule"].to_numpy(),
            "probability": edges["probability"].to_numpy(float),
            "decision": edges["decision"].to_numpy(),
        }
    )
