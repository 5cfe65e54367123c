"""Clustering under guard-rails: a greedy union of edges, strongest first.

Edges are applied in order of strength (logins, then device and cookie ids,
then emails and phones, then model links by falling probability). A union
that would break a rule is refused and the edge keeps the rule's name:

* ``identifier_limit``: the person would hold more than ``max_customer_ids``
  distinct customer ids. Because strong edges come first, the refused edge
  is the weakest link of the would-be cluster: this *is* the split of an
  over-merged cluster at its weakest links (SPEC §4);
* ``consent``: a record without ``identity_linking`` consent may only be
  with records of its own subject (SPEC §5, gate at linking);
* ``conflict``: the two clusters' dates of birth, or their first names, are
  wholly incompatible (``resolver.compare``): twins share a surname, a
  birthday and an address, but not a first name; two James Smiths of one
  city do not share a birthday.

This is Kruskal's algorithm with cannot-link constraints; it is
deterministic (ties broken by record ids) and runs in near-linear time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from resolver.compare import sets_compatible

__all__ = ["ClusterResult", "cluster_records"]

ACCEPTED = "accepted"


@dataclass(frozen=True, kw_only=True, slots=True)
class ClusterResult:
    """Cluster label per record and the decision per edge."""

    labels: np.ndarray
    """Cluster label per record id: the smallest record id in its cluster."""
    decisions: pd.Series
    """Per edge (aligned with the input edges): ``accepted`` or a refusal reason."""


def cluster_records(
    *,
    n_records: int,
    edges: pd.DataFrame,
    customer: np.ndarray,
    subject: np.ndarray,
    may_link: np.ndarray,
    max_customer_ids: int,
    first_names: pd.Series | None = None,
    dobs: pd.Series | None = None,
) -> ClusterResult:
    """Cluster records along ``edges`` without breaking the guard-rails.

    Args:
        n_records: records are numbered 0..n_records-1.
        edges: ``left, right, rank, probability, reason``; edges whose
            ``reason`` is already set were refused upstream and are skipped.
        customer: per record, an integer code of its customer id, or -1.
        subject: per record, an integer code of its consent subject.
        may_link: per record, whether its subject allows identity linking.
        max_customer_ids: the identifier limit per person.
        first_names: per record, its Latin first name or missing (the guard).
        dobs: per record, its ISO date of birth or missing (the guard).
    """
    decisions = edges["reason"].astype(object).copy()
    candidate = decisions.isna().to_numpy()
    idx = np.flatnonzero(candidate)
    sub = edges.iloc[idx]
    order = np.lexsort(
        (
            sub["right"].to_numpy(),
            sub["left"].to_numpy(),
            -sub["probability"].to_numpy(dtype=float),
            sub["rank"].to_numpy(),
        )
    )
    lefts = sub["left"].to_numpy(dtype=np.int64)[order].tolist()
    rights = sub["right"].to_numpy(dtype=np.int64)[order].tolist()
    positions = idx[order].tolist()

    parent = list(range(n_records))
    size = [1] * n_records
    customers: dict[int, set[int]] = {
        i: {int(c)} for i, c in enumerate(customer.tolist()) if c >= 0
    }
    restricted = set(np.flatnonzero(~may_link.astype(bool)).tolist())
    subject_of = subject.astype(np.int64).tolist()  # -1 once a cluster spans subjects
    profile: dict[str, dict[int, set[str]]] = {
        "first_name": _value_sets(first_names),
        "dob": _value_sets(dobs),
    }
    result = np.empty(len(edges), dtype=object)
    result[:] = decisions.to_numpy()

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for left, right, pos in zip(lefts, rights, positions, strict=True):
        ra, rb = find(left), find(right)
        if ra == rb:
            result[pos] = ACCEPTED
            continue
        if (ra in restricted or rb in restricted) and (
            subject_of[ra] != subject_of[rb] or subject_of[ra] == -1
        ):
            result[pos] = "consent"
            continue
        ca, cb = customers.get(ra), customers.get(rb)
        merged_customers = (ca | cb) if ca and cb else (ca or cb)
        if ca and cb and merged_customers and len(merged_customers) > max_customer_ids:
            result[pos] = "identifier_limit"
            continue
        if _conflicting(profile, ra, rb):
            result[pos] = "conflict"
            continue
        if size[ra] < size[rb]:
            ra, rb = rb, ra
        parent[rb] = ra
        size[ra] += size[rb]
        customers.pop(rb, None)
        if merged_customers:
            customers[ra] = merged_customers
        for sets in profile.values():
            moved = sets.pop(rb, None)
            if moved:
                kept = sets.setdefault(ra, set())
                if len(kept) < _MAX_PROFILE_VALUES:
                    kept.update(moved)
        if rb in restricted:
            restricted.add(ra)
        if subject_of[ra] != subject_of[rb]:
            subject_of[ra] = -1
        result[pos] = ACCEPTED

    roots = np.fromiter((find(i) for i in range(n_records)), dtype=np.int64, count=n_records)
    # Label = smallest record id of the cluster: independent of union order.
    labels = np.full(n_records, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(labels, roots, np.arange(n_records, dtype=np.int64))
    return ClusterResult(labels=labels[roots], decisions=pd.Series(result, index=edges.index))


#: Distinct values kept per cluster for the guard; more adds cost, not safety.
_MAX_PROFILE_VALUES = 12


def _value_sets(values: pd.Series | None) -> dict[int, set[str]]:
    if values is None:
        return {}
    present = values.dropna()
    return {int(i): {str(v)} for i, v in zip(present.index, present.tolist(), strict=True)}


def _conflicting(profile: dict[str, dict[int, set[str]]], ra: int, rb: int) -> bool:
    for kind, sets in profile.items():
        a, b = sets.get(ra), sets.get(rb)
        if a and b and not sets_compatible(a, b, kind=kind):
            return True
    return False
