"""Clustering under guard-rails: a greedy union of edges, strongest first.

Edges are applied in order of strength (logins, then device and cookie ids,
then emails and phones, then model links by falling probability). A union
that would break a rule is refused and the edge keeps the rule's name:

* ``identifier_limit``: the person would hold more than ``max_customer_ids``
  distinct customers. Because strong edges come first, the refused edge
  is the weakest link of the would-be cluster: this *is* the split of an
  over-merged cluster at its weakest links (SPEC §4). Customer rows joined
  *directly* (a model link at the threshold between two CRM rows, or an
  email or phone they share with agreeing names) are one customer written
  twice: they count once, so a CRM's duplicate rows merge whatever their
  number, while a merge *through* cookies, devices or web forms still may
  not join more than the limit;
* ``consent``: a record without ``identity_linking`` consent may only be
  with records of its own subject (SPEC §5, gate at linking);
* ``conflict``: the two clusters' dates of birth, or their first names, are
  wholly incompatible (``resolver.compare``; a first name written in the
  other's last-name field, and the other way round, is compatible) *and*
  both clusters hold contact identifiers (emails, phones) none of which they share: twins share a
  surname, a birthday and an address, but not a first name or a personal
  email; two James Smiths of one city do not share a birthday. Without
  contact identifiers on both sides the names and dates are only evidence,
  weighed by the model: data whose duplicates replace whole values (FEBRL)
  is not vetoed.

This is Kruskal's algorithm with cannot-link constraints; it is
deterministic (ties broken by record ids) and runs in near-linear time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from resolver.compare import sets_compatible

__all__ = ["ClusterResult", "GuardedUnion", "cluster_records"]

ACCEPTED = "accepted"


@dataclass(frozen=True, kw_only=True, slots=True)
class ClusterResult:
    """Cluster label per record and the decision per edge."""

    labels: np.ndarray
    """Cluster label per record id: the smallest record id in its cluster."""
    decisions: pd.Series
    """Per edge (aligned with the input edges): ``accepted`` or a refusal reason."""


#: Edges that join two customer rows *directly*; such rows count as one customer.
DIRECT_RULES = frozenset({"splink", "email", "phone", "customer_id"})


def cluster_records(
    *,
    n_records: int,
    edges: pd.DataFrame,
    customer: np.ndarray,
    subject: np.ndarray,
    may_link: np.ndarray,
    max_customer_ids: int,
    first_names: pd.Series | None = None,
    last_names: pd.Series | None = None,
    dobs: pd.Series | None = None,
    contacts: pd.Series | None = None,
    customer_record: np.ndarray | None = None,
) -> ClusterResult:
    """Cluster records along ``edges`` without breaking the guard-rails.

    Args:
        n_records: records are numbered 0..n_records-1.
        edges: ``left, right, rank, probability, reason`` (and ``rule``);
            edges whose ``reason`` is already set were refused upstream and
            are skipped.
        customer: per record, an integer code of its customer id, or -1.
        subject: per record, an integer code of its consent subject.
        may_link: per record, whether its subject allows identity linking.
        max_customer_ids: the identifier limit per person (distinct customers).
        first_names: per record, its normalised first name or missing (the guard).
        last_names: per record, its normalised last name (a first name written
            in the other's last-name field, and the other way round, is compatible).
        dobs: per record, its ISO date of birth or missing (the guard).
        contacts: per record, its contact identifier (email or phone) or missing;
            a list of them is accepted too. The guard vetoes only between
            clusters that both hold some and share none. ``None``: always veto.
        customer_record: per record, whether it is a customer (CRM) row; such
            rows joined by a ``DIRECT_RULES`` edge count as one customer.
    """
    union = GuardedUnion(
        n_records=n_records,
        customer=customer,
        subject=subject,
        may_link=may_link,
        max_customer_ids=max_customer_ids,
        first_names=first_names,
        last_names=last_names,
        dobs=dobs,
        contacts=contacts,
        customer_record=customer_record,
    )
    decisions = union.add(edges)
    return ClusterResult(labels=union.labels(), decisions=decisions)


class GuardedUnion:
    """The guard-railed union of ``cluster_records``, resumable: ``add`` more edges later.

    Adding edges in two batches gives what one call with both gives when the
    second batch's edges all sort after the first's (browser stitching: its
    edges are the weakest), at the cost of the second batch only.
    """

    def __init__(
        self,
        *,
        n_records: int,
        customer: np.ndarray,
        subject: np.ndarray,
        may_link: np.ndarray,
        max_customer_ids: int,
        first_names: pd.Series | None = None,
        last_names: pd.Series | None = None,
        dobs: pd.Series | None = None,
        contacts: pd.Series | None = None,
        customer_record: np.ndarray | None = None,
    ) -> None:
        self.n_records = n_records
        self.max_customer_ids = max_customer_ids
        self.is_customer = (
            customer_record.astype(bool).tolist() if customer_record is not None else None
        )
        self.codes = customer.astype(np.int64).tolist()
        self.group = list(range(int(customer.max()) + 1 if len(customer) else 0))
        self.parent = list(range(n_records))
        self.size = [1] * n_records
        self.customers: dict[int, set[int]] = {
            i: {int(c)} for i, c in enumerate(customer.tolist()) if c >= 0
        }
        self.restricted = set(np.flatnonzero(~may_link.astype(bool)).tolist())
        self.subject_of = subject.astype(np.int64).tolist()  # -1 once a cluster spans subjects
        self.profile: dict[str, dict[int, set[str]]] = {
            "first_name": _value_sets(first_names),
            "dob": _value_sets(dobs),
        }
        self.surnames = _value_sets(last_names)
        self.contact_sets = _value_sets(contacts) if contacts is not None else None

    def _gfind(self, x: int) -> int:
        group = self.group
        while group[x] != x:
            group[x] = group[group[x]]
            x = group[x]
        return x

    def _find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def add(self, edges: pd.DataFrame) -> pd.Series:
        """Apply ``edges`` strongest first; the decision per edge (aligned with ``edges``)."""
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
        rules = (
            sub["rule"].to_numpy(dtype=object)[order].tolist()
            if "rule" in sub
            else [None] * len(positions)
        )
        result = np.empty(len(edges), dtype=object)
        result[:] = decisions.to_numpy()
        is_customer, codes, gfind, find = self.is_customer, self.codes, self._gfind, self._find
        parent, size, customers = self.parent, self.size, self.customers
        restricted, subject_of, profile = self.restricted, self.subject_of, self.profile
        surnames, contact_sets, group = self.surnames, self.contact_sets, self.group
        limit = self.max_customer_ids
        for left, right, pos, rule in zip(lefts, rights, positions, rules, strict=True):
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
            direct = (
                is_customer is not None
                and rule in DIRECT_RULES
                and is_customer[left]
                and is_customer[right]
                and codes[left] >= 0
                and codes[right] >= 0
            )
            if ca and cb and merged_customers:
                distinct = {gfind(c) for c in merged_customers}
                if direct and gfind(codes[left]) != gfind(codes[right]):
                    distinct.discard(gfind(codes[left]))  # the two rows count as one customer
                if len(distinct) > limit:
                    result[pos] = "identifier_limit"
                    continue
            if _conflicting(profile, surnames, ra, rb) and _contacts_disjoint(contact_sets, ra, rb):
                result[pos] = "conflict"
                continue
            if direct:
                group[gfind(codes[right])] = gfind(codes[left])
            if size[ra] < size[rb]:
                ra, rb = rb, ra
            parent[rb] = ra
            size[ra] += size[rb]
            customers.pop(rb, None)
            if merged_customers:
                customers[ra] = merged_customers
            for sets in (*profile.values(), surnames, *([contact_sets] if contact_sets else [])):
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
        return pd.Series(result, index=edges.index)

    def labels(self) -> np.ndarray:
        """Cluster label per record: the smallest record id of its cluster."""
        n = self.n_records
        find = self._find
        roots = np.fromiter((find(i) for i in range(n)), dtype=np.int64, count=n)
        # Label = smallest record id of the cluster: independent of union order.
        labels = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(labels, roots, np.arange(n, dtype=np.int64))
        return labels[roots]


#: Distinct values kept per cluster for the guard; more adds cost, not safety.
_MAX_PROFILE_VALUES = 12


def _value_sets(values: pd.Series | None) -> dict[int, set[str]]:
    """Per record position, its value(s) as a set; lists give several values."""
    if values is None:
        return {}
    out: dict[int, set[str]] = {}
    for i, v in enumerate(values.tolist()):
        if isinstance(v, list | tuple | np.ndarray):
            found = {str(x) for x in v if isinstance(x, str)}
            if found:
                out[i] = found
        elif isinstance(v, str):
            out[i] = {v}
    return out


def _conflicting(
    profile: dict[str, dict[int, set[str]]], surnames: dict[int, set[str]], ra: int, rb: int
) -> bool:
    for kind, sets in profile.items():
        a, b = sets.get(ra), sets.get(rb)
        if not (a and b) or sets_compatible(a, b, kind=kind):
            continue
        # First and last name swapped, both ways round (FEBRL swaps them; so do forms).
        if kind == "first_name" and a & surnames.get(rb, set()) and b & surnames.get(ra, set()):
            continue
        return True
    return False


def _contacts_disjoint(contacts: dict[int, set[str]] | None, ra: int, rb: int) -> bool:
    """True when both clusters hold contact identifiers and share none (or no contacts given)."""
    if contacts is None:
        return True
    a, b = contacts.get(ra), contacts.get(rb)
    return bool(a and b and not a & b)
