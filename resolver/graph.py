"""The identity graph: one row per usable record, one row per person.

``identity_graph.parquet``: ``source, record_key, kind, person_id`` (SPEC §4)
plus the subject of the record (``subject_type, subject_id``) that consent
and erasure need. ``persons.parquet``: per person, its record counts by
kind, customer ids, and first / last time seen. ``links.parquet``: every
edge linking considered, with its decision, so that a user can ask why two
records are, or are not, one person.
"""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd

from resolver.link import LinkResult

__all__ = [
    "GRAPH_COLUMNS",
    "LINKS_TABLE_COLUMNS",
    "build_identity_graph",
    "build_links_table",
    "build_persons",
]

#: The touchpoint columns the identity graph keeps (``build_identity_graph``).
GRAPH_COLUMNS = ("source", "record_key", "kind", "subject_type", "subject_id", "customer_id", "ts")
#: The touchpoint columns ``build_links_table`` names records by.
LINKS_TABLE_COLUMNS = ("source", "record_key")


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
    graph = touchpoints[list(GRAPH_COLUMNS)].copy()
    graph["may_link"] = (
        np.ones(len(graph), dtype=bool) if may_link is None else np.asarray(may_link, dtype=bool)
    )
    graph["person_id"] = _person_of(np.asarray(cluster), person_of_cluster)
    return graph.reset_index(drop=True)


def _person_of(cluster: np.ndarray, person_of_cluster: dict[int, str]) -> np.ndarray:
    """``person_of_cluster[c]`` for every record's cluster, by binary search over the keys."""
    keys = np.fromiter(person_of_cluster, dtype=np.int64, count=len(person_of_cluster))
    if cluster.dtype.kind in "iu" and len(keys) and len(cluster):
        order = np.argsort(keys, kind="stable")
        where = np.minimum(np.searchsorted(keys, cluster, sorter=order), len(keys) - 1)
        hit = order[where]
        if (keys[hit] == cluster).all():
            return np.asarray(list(person_of_cluster.values()), dtype=object)[hit]
    # a cluster without a person (or clusters that are not integers): as a pandas map does it
    return pd.Series(cluster).map(person_of_cluster).to_numpy()


def build_persons(graph: pd.DataFrame) -> pd.DataFrame:
    """One row per person: record counts per kind, customer ids, first/last seen.

    Persons are sorted by id; ``customer_ids`` is each person's sorted
    distinct customer ids (a list, empty for none). Counted on integer codes
    of persons and kinds, so a million persons take seconds.
    """
    person, persons = pd.factorize(graph["person_id"], sort=True)
    kind, kinds = pd.factorize(graph["kind"], sort=True)
    counted = (person >= 0) & (kind >= 0) & graph["record_key"].notna().to_numpy()
    n_persons, n_kinds = len(persons), len(kinds)
    table = np.bincount(
        person[counted].astype(np.int64) * n_kinds + kind[counted], minlength=n_persons * n_kinds
    ).reshape(n_persons, n_kinds)
    # a person or kind with no counted record at all has no row or column, as in a pivot table
    has_row = np.bincount(person[(person >= 0) & (kind >= 0)], minlength=n_persons) > 0
    present = np.bincount(kind[(person >= 0) & (kind >= 0)], minlength=n_kinds) > 0
    columns: dict[str, np.ndarray] = {
        f"n_{k}": table[has_row, i].astype(np.int64) for i, k in enumerate(kinds) if present[i]
    }
    for name in ("customers", "sessions", "devices", "contacts"):
        columns.setdefault(f"n_{name}", np.zeros(int(has_row.sum()), dtype=np.int64))
    index = pd.Index(np.asarray(persons, dtype=object)[has_row], name="person_id")
    persons_frame = pd.DataFrame(columns, index=index)
    records = persons_frame.sum(axis=1)
    ts = _instants(graph["ts"])
    if ts.dtype == object:  # not datetimes: pandas' own minimum and maximum, as they were
        seen = graph.groupby("person_id")["ts"].agg(["min", "max"])
        persons_frame = persons_frame.join(seen).rename(
            columns={"min": "first_seen", "max": "last_seen"}
        )
    else:
        seen = ts[person >= 0].groupby(person[person >= 0]).agg(["min", "max"])
        seen = seen.reindex(np.flatnonzero(has_row))  # every person has a row here: a lookup
        persons_frame["first_seen"] = seen["min"].array
        persons_frame["last_seen"] = seen["max"].array
    persons_frame["customer_ids"] = pd.Series(
        _customer_lists(graph, person, has_row), index=persons_frame.index, dtype=object
    )
    persons_frame["is_customer"] = persons_frame["n_customers"] > 0
    persons_frame["records"] = records
    return persons_frame.reset_index()


def _instants(ts: pd.Series) -> pd.Series:
    """``ts`` as a datetime column when it holds Timestamps as Python objects (ingest's
    ``ts`` does: contacts have none): a minimum over objects is one Python call per
    person, over datetimes one array pass. The same instants, in the values' time zone."""
    if ts.dtype != object or pd.api.types.infer_dtype(ts, skipna=True) != "datetime":
        return ts
    values = ts.dropna()
    zone = getattr(values.iloc[0], "tzinfo", None) if len(values) else None
    if zone is None:
        return ts
    try:
        return pd.to_datetime(ts, utc=True).dt.tz_convert(zone)
    except (TypeError, ValueError):  # naive and aware mixed: leave it to pandas as it was
        return ts


def _customer_lists(
    graph: pd.DataFrame, person: np.ndarray, has_row: np.ndarray
) -> list[list[str]]:
    """Per person with a row, its sorted distinct customer ids."""
    known = graph["customer_id"].notna().to_numpy() & (person >= 0)
    known[known] = has_row[person[known]]
    ids = graph["customer_id"].to_numpy(object)[known]
    codes, uniques = pd.factorize(ids, sort=True)
    rows = np.cumsum(has_row) - 1  # a person's row among those that have one
    owner = rows[person[known]]
    pair = np.sort(owner.astype(np.int64) * max(len(uniques), 1) + codes)
    pair = pair[np.r_[True, pair[1:] != pair[:-1]][: len(pair)]]  # (np.unique hashes: slower)
    owner, codes = pair // max(len(uniques), 1), pair % max(len(uniques), 1)
    bounds = np.searchsorted(owner, np.arange(int(has_row.sum()) + 1)).tolist()
    values = np.asarray(uniques, dtype=object)[codes].tolist()
    enabled = gc.isenabled()
    gc.disable()  # a million small lists: the collector would scan them again and again
    try:
        return [values[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
    finally:
        if enabled:
            gc.enable()


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
