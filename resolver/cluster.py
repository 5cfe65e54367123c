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
  A model link is also refused (``conflict``) between two clusters that
  share no contact while each holds an email *and* a phone, unless a birth
  date agrees: someone registering again keeps one of the two; a father and
  son of one name at one address, the son without a birth date, keep none.
  And between two clusters that both hold contacts and share one, when their
  first names wholly disagree: that contact is a family's (the exact edge on
  it was refused upstream for the same reason).
  Where the data keeps birth dates (``dobs_trusted``: at most 2 % of one
  person's dated pairs disagree on them), a model link between two clusters
  whose birth dates are wholly incompatible is refused (``conflict``)
  whatever their contacts: a person has one birth date. Data whose
  duplicates replace whole dates (FEBRL: 4-6 % of its links) keeps them as
  the model's evidence only.
  Two clusters written with different generational suffixes (``Sr`` and
  ``Jr``: ``resolver.compare.generations_compatible``) never merge
  (``conflict``), by any edge: a father and son of one name, often of one
  address and home phone.

A cookie, device or ad id logged into several customers was refused upstream
as shared (``shared_identifier``, ``resolver.edges``): a family tablet.
When the edges of the batch have joined all those customers into one
person anyway (CRM duplicate rows of one person: the model, a shared email
or phone), the identifier was never shared: after the batch its refused
edges are tried again, under every rule above, and join its anonymous
records to that person.

This is Kruskal's algorithm with cannot-link constraints; it is
deterministic (ties broken by record ids) and runs in near-linear time.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from resolver.compare import first_names_compatible, generations_compatible, sets_compatible

__all__ = ["ClusterResult", "GuardedUnion", "cluster_records"]

ACCEPTED = "accepted"
SHARED = "shared_identifier"


@dataclass(frozen=True, kw_only=True, slots=True)
class ClusterResult:
    """Cluster label per record and the decision per edge."""

    labels: np.ndarray
    """Cluster label per record id: the smallest record id in its cluster."""
    decisions: pd.Series
    """Per edge (aligned with the input edges): ``accepted`` or a refusal reason."""


#: The rule of model (Splink) edges: the only ones the contact clash refuses.
MODEL_RULE = "splink"

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
    trust_dobs: bool | None = None,
    generations: pd.Series | None = None,
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
        trust_dobs: whether a birth-date clash refuses a model link whatever the
            contacts; ``None`` decides it from these edges (``dobs_trusted``).
        generations: per record, its generational suffix (``sr``, ``jr``...) or missing;
            clusters written with two generations never merge (``None``: not guarded).
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
        trust_dobs=trust_dobs,
        generations=generations,
    )
    decisions = union.add(edges)
    return ClusterResult(labels=union.labels(), decisions=decisions)


class GuardedUnion:
    """The guard-railed union of ``cluster_records``, resumable: ``add`` more edges later.

    Adding edges in two batches gives what one call with both gives when the
    second batch's edges all sort after the first's (browser stitching: its
    edges are the weakest), at the cost of the second batch only. Whether
    birth dates are trusted (``trust_dobs``) is decided on the first batch's
    model links and same-name contact edges unless given: an engine that
    clusters one component at a time must measure it over all of them and
    pass it in.
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
        trust_dobs: bool | None = None,
        generations: pd.Series | None = None,
    ) -> None:
        self.n_records = n_records
        #: whether a model link between clusters of wholly incompatible birth dates
        #: is refused whatever their contacts; ``None``: decided from the model
        #: links of the first batch (``dobs_trusted``)
        self.trust_dobs = trust_dobs
        self.max_customer_ids = max_customer_ids
        self.is_customer = customer_record is not None
        #: a customer (CRM) row with a customer id: what a direct edge may join
        self.customer_row = (
            np.asarray(customer_record, dtype=bool) & (customer >= 0)
            if customer_record is not None
            else np.zeros(n_records, dtype=bool)
        )
        # Per record, machine integers (``array``), not a Python int object each: at 10 M
        # touchpoints the union's per-record lists and sets were 3.8 GiB of linking's peak
        # (issue #14). ``array`` reads as fast as a list in the loop below.
        self.codes = _int64s(customer)
        self.group = list(range(int(customer.max()) + 1 if len(customer) else 0))
        self.parent = _int64s(np.arange(n_records))
        self.size = [1] * n_records
        has_customer = np.flatnonzero(customer >= 0)
        # the records of one customer share their set: the union never changes a set in
        # place, it makes a new one when two clusters' customers meet
        one_customer: dict[int, set[int]] = {}
        self.customers: dict[int, set[int]] = {
            i: one_customer.setdefault(c, {c})
            for i, c in zip(has_customer.tolist(), customer[has_customer].tolist(), strict=True)
        }
        del one_customer
        #: per record, 1 where its consent does not allow linking beyond its subject
        self.restricted = bytearray(np.ascontiguousarray(~may_link.astype(bool)).tobytes())
        self.subject_of = _int64s(subject)  # -1 once a cluster spans subjects
        self.profile: dict[str, dict[int, set[str]]] = {
            "first_name": _value_sets(first_names),
            "dob": _value_sets(dobs),
        }
        self.surnames = _value_sets(last_names)
        self.contact_sets = _value_sets(contacts) if contacts is not None else None
        #: per root, the generational suffixes its records are written with (Sr, Jr)
        self.generations = _value_sets(generations)
        #: per root, whether its cluster holds any name, birth date or contact: the
        #: others (most touchpoints) have nothing to compare and nothing to carry
        self.holds = bytearray(n_records)
        for sets in (
            *self.profile.values(),
            self.surnames,
            self.contact_sets or {},
            self.generations,
        ):
            for i in sets:
                self.holds[i] = 1

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
        """Apply ``edges`` strongest first; the decision per edge (aligned with ``edges``).

        Then the edges refused upstream as ``shared_identifier`` are tried again
        where every customer the identifier was logged into is now one person.
        """
        decisions = self._add(edges)
        shared = np.flatnonzero(decisions.to_numpy(dtype=object) == SHARED)
        if len(shared):
            self._retry_shared(edges.iloc[shared], decisions, positions=shared)
        return decisions

    def _retry_shared(
        self, refused: pd.DataFrame, decisions: pd.Series, *, positions: np.ndarray
    ) -> None:
        """Accept a shared identifier's refused edges when its customers are one person.

        Each refused edge joins the identifier's anonymous anchor (``left``) to
        one of its logged-in records (``right``). When all the logged-in
        records of an anchor are in one cluster, one edge from the anchor to
        that cluster is applied under the guard-rails, and its decision is
        every one of them's.
        """
        roots = np.array([self._find(int(r)) for r in refused["right"].tolist()], dtype=np.int64)
        frame = pd.DataFrame(
            {"left": refused["left"].to_numpy(dtype=np.int64), "root": roots, "pos": positions}
        )
        per_anchor = frame.groupby("left")["root"].agg(["nunique", "first"])
        one = per_anchor[per_anchor["nunique"] == 1]
        if one.empty:
            return
        retry = pd.DataFrame(
            {
                "left": one.index.to_numpy(dtype=np.int64),
                "right": one["first"].to_numpy(dtype=np.int64),
                "rule": refused["rule"].iloc[0] if "rule" in refused else SHARED,
                "rank": int(refused["rank"].max()),
                "probability": 1.0,
                "reason": None,
            }
        )
        verdict = dict(zip(retry["left"].tolist(), self._add(retry).tolist(), strict=True))
        # An edge that is not accepted keeps ``shared_identifier``: the reason it was refused.
        for anchor, pos in zip(frame["left"].tolist(), frame["pos"].tolist(), strict=True):
            if verdict.get(anchor) == ACCEPTED:
                decisions.iloc[pos] = ACCEPTED

    def _add(self, edges: pd.DataFrame) -> pd.Series:
        decisions = edges["reason"].astype(object).copy()
        candidate = decisions.isna().to_numpy()
        idx = np.flatnonzero(candidate)
        # The candidates' columns as arrays (a view where the dtype is already right): a copy
        # of the edge frame's rows (``iloc``) held its text columns a second time.
        left_all = edges["left"].to_numpy(dtype=np.int64)
        right_all = edges["right"].to_numpy(dtype=np.int64)
        order = np.lexsort(
            (
                right_all[idx],
                left_all[idx],
                -edges["probability"].to_numpy(dtype=float)[idx],
                edges["rank"].to_numpy()[idx],
            )
        )
        positions = idx[order]
        del idx, order
        left_ids = left_all[positions]
        right_ids = right_all[positions]
        result = np.empty(len(edges), dtype=object)
        result[:] = decisions.to_numpy()
        profile = self.profile
        rules = edges["rule"] if "rule" in edges else None
        # Whether each edge joins two customer rows directly (they count as one customer).
        if self.is_customer and rules is not None:
            rows = self.customer_row
            direct_edge = (
                rules.isin(list(DIRECT_RULES)).to_numpy()[positions]
                & rows[left_ids]
                & rows[right_ids]
            )
        else:
            direct_edge = np.zeros(len(positions), dtype=bool)
        if rules is not None:
            model_edge = (rules == MODEL_RULE).to_numpy()[positions]
        else:
            model_edge = np.zeros(len(positions), dtype=bool)
        dob_sets = profile["dob"]
        if self.trust_dobs is None:
            # Decided once, before anything is merged: every value set is still one record's.
            self.trust_dobs = _batch_trusts_dobs(
                edges,
                dob_sets=dob_sets,
                contact_sets=self.contact_sets or {},
                first_name_sets=profile["first_name"],
            )
        trust_dobs = bool(self.trust_dobs)
        codes, gfind = self.codes, self._gfind
        parent, size, customers = self.parent, self.size, self.customers
        restricted, subject_of = self.restricted, self.subject_of
        surnames, contact_sets, group = self.surnames, self.contact_sets, self.group
        generations = self.generations
        carried = [
            *profile.values(),
            surnames,
            *([contact_sets] if contact_sets else []),
            *([generations] if generations else []),
        ]
        holds = self.holds
        limit = self.max_customer_ids
        accepted = bytearray(len(edges))  # 1 per accepted position, written once at the end
        for left, right, pos, direct, model in _in_slices(
            left_ids, right_ids, positions, direct_edge, model_edge
        ):
            ra = left  # find, halving the path on the way
            while parent[ra] != ra:
                parent[ra] = parent[parent[ra]]
                ra = parent[ra]
            rb = right
            while parent[rb] != rb:
                parent[rb] = parent[parent[rb]]
                rb = parent[rb]
            if ra == rb:
                accepted[pos] = 1
                continue
            if (restricted[ra] or restricted[rb]) and (
                subject_of[ra] != subject_of[rb] or subject_of[ra] == -1
            ):
                result[pos] = "consent"
                continue
            ca, cb = customers.get(ra), customers.get(rb)
            merged_customers = (ca | cb) if ca and cb else (ca or cb)
            if ca and cb and merged_customers:
                distinct = {gfind(c) for c in merged_customers}
                if direct and gfind(codes[left]) != gfind(codes[right]):
                    distinct.discard(gfind(codes[left]))  # the two rows count as one customer
                if len(distinct) > limit:
                    result[pos] = "identifier_limit"
                    continue
            # Sr and Jr are two people, whatever else they share (a father and son of one
            # name at one address, one phone): a person is written with one generation.
            if generations and holds[ra] and holds[rb]:
                ga, gb = generations.get(ra), generations.get(rb)
                if ga and gb and not generations_compatible(ga, gb):
                    result[pos] = "conflict"
                    continue
            # Both tests are pure: the cheap contact test first, names and dates only then.
            if contact_sets is None:
                disjoint, xa, xb = True, None, None
            else:
                xa, xb = contact_sets.get(ra), contact_sets.get(rb)
                disjoint = bool(xa and xb and not xa & xb)
            if disjoint and holds[ra] and holds[rb] and _conflicting(profile, surnames, ra, rb):
                result[pos] = "conflict"
                continue
            if (
                model
                and holds[ra]
                and holds[rb]
                and (
                    # A person has one birth date: whatever their contacts, where the
                    # data's birth dates are trusted (``dobs_trusted``).
                    (trust_dobs and _clash(profile, surnames, ra, rb, kinds=_DOB))
                    # A contact both hold under first names that wholly disagree is a
                    # family's (the Cohens' one email): no person evidence for the model,
                    # as the exact edge on it was refused upstream for the same reason.
                    or (
                        not disjoint
                        and bool(xa and xb)
                        and _clash(profile, surnames, ra, rb, kinds=_FIRST_NAME)
                    )
                )
            ):
                result[pos] = "conflict"
                continue
            if (
                model
                and disjoint
                and contact_sets is not None
                and _strangers(xa, xb, dob_sets.get(ra), dob_sets.get(rb))
            ):
                result[pos] = "conflict"
                continue
            if direct:
                group[gfind(codes[right])] = gfind(codes[left])
            if size[ra] < size[rb]:
                ra, rb = rb, ra
            parent[rb] = ra
            size[ra] += size[rb]
            if cb is not None or ca is not None:
                customers.pop(rb, None)
                if merged_customers:
                    customers[ra] = merged_customers
            if holds[rb]:
                holds[ra] = 1
                for sets in carried:
                    moved = sets.pop(rb, None)
                    if moved:
                        kept = sets.get(ra)
                        if kept is None:
                            sets[ra] = moved  # popped: nothing else holds it
                        elif len(kept) < _MAX_PROFILE_VALUES and not moved <= kept:
                            sets[ra] = kept | moved  # a new set: ``kept`` may be shared
            if restricted[rb]:
                restricted[ra] = 1
            if subject_of[ra] != subject_of[rb]:
                subject_of[ra] = -1
            accepted[pos] = 1
        result[np.frombuffer(accepted, dtype=np.bool_)] = ACCEPTED
        return pd.Series(result, index=edges.index)

    def labels(self) -> np.ndarray:
        """Cluster label per record: the smallest record id of its cluster."""
        n = self.n_records
        # Every record's root by pointer jumping (a root is its own parent).
        roots = np.asarray(self.parent, dtype=np.int64)
        while True:
            jumped = roots[roots]
            if np.array_equal(jumped, roots):
                break
            roots = jumped
        self.parent = _int64s(roots)  # fully compressed: later finds are one step
        # Label = smallest record id of the cluster: independent of union order.
        labels = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(labels, roots, np.arange(n, dtype=np.int64))
        return labels[roots]


def _int64s(values: np.ndarray) -> array[int]:
    """``values`` as an ``array`` of 64-bit integers: 8 bytes an item, where a list holds a
    pointer and (past 256) an int object of 28 bytes."""
    return array("q", np.ascontiguousarray(values, dtype=np.int64).tobytes())


#: Edges turned into Python values at a time by ``_in_slices``.
_SLICE = 1 << 20


def _in_slices(*columns: np.ndarray) -> Iterator[tuple[Any, ...]]:
    """The rows of equally long ``columns`` as Python values, ``_SLICE`` rows converted at a
    time: ``tolist`` of the whole of them held an int object per edge and column (1.2 GiB of
    the clustering's peak at 10.8 M edges, issue #14); the loop reads them as fast."""
    for start in range(0, len(columns[0]), _SLICE):
        yield from zip(*(c[start : start + _SLICE].tolist() for c in columns), strict=True)


def _strangers(
    contacts_a: set[str] | None,
    contacts_b: set[str] | None,
    dobs_a: set[str] | None,
    dobs_b: set[str] | None,
) -> bool:
    """Whether two clusters sharing no contact each hold an email *and* a phone, and no birth date.

    Someone registering again keeps their email or their phone; a new email and
    a new phone at once, without a birth date they agree on, is another person:
    most often a relative at the same address with the same name (Sr. and Jr.).
    The caller has checked that the two share no contact.
    """
    if not (contacts_a and contacts_b) or (dobs_a and dobs_b and dobs_a & dobs_b):
        return False
    return _email_and_phone(contacts_a) and _email_and_phone(contacts_b)


def _email_and_phone(contacts: set[str]) -> bool:
    """Whether a contact set holds an email (with an ``@``) and a phone (without one)."""
    emails = sum("@" in c for c in contacts)
    return 0 < emails < len(contacts)


#: Distinct values kept per cluster for the guard; more adds cost, not safety.
_MAX_PROFILE_VALUES = 12


def _value_sets(values: pd.Series | None) -> dict[int, set[str]]:
    """Per record position, its value(s) as a set; lists give several values.

    Only the records holding something are visited: most touchpoints carry
    no name, birth date or contact.

    Records holding the same values share one set (a set is 216 bytes, and a name or a
    birth date repeats over many records): the union never changes a set in place, it
    makes a new one when two clusters' values meet.
    """
    if values is None:
        return {}
    raw = values.to_numpy(dtype=object)
    present = np.flatnonzero(~pd.isna(raw))  # a list counts as present
    out: dict[int, set[str]] = {}
    shared: dict[object, set[str]] = {}
    for i, v in zip(present.tolist(), raw[present].tolist(), strict=True):
        if isinstance(v, list | tuple | np.ndarray):
            found = frozenset(str(x) for x in v if isinstance(x, str))
            if found:
                out[i] = shared.setdefault(found, set(found))
        elif isinstance(v, str):
            out[i] = shared.setdefault(v, {v})
    return out


#: The birth-date guard looks at birth dates only.
_DOB = ("dob",)
_FIRST_NAME = ("first_name",)

#: The largest share of one person's dated pairs (``dobs_trusted``) whose birth dates
#: disagree for which birth dates are trusted.
DOB_CLASH_SHARE = 0.02


def graph_trusts_dobs(
    edges: pd.DataFrame,
    *,
    dobs: pd.Series | None,
    contacts: pd.Series | None,
    first_names: pd.Series | None = None,
) -> bool:
    """What ``GuardedUnion`` decides as ``trust_dobs`` on its first batch ``edges``.

    For an engine that clusters one component at a time (``resolver.spark``):
    the share of clashing birth dates is a property of the whole graph, so it
    is measured once over every open model edge and handed to each component's
    union, which would otherwise judge it from its own few links.
    """
    return _batch_trusts_dobs(
        edges,
        dob_sets=_value_sets(dobs),
        contact_sets=_value_sets(contacts) if contacts is not None else {},
        first_name_sets=_value_sets(first_names),
    )


#: Exact edges whose pairs measure how well the data keeps birth dates: a shared
#: email or phone, open or refused only for a clash (``resolver.edges``).
CONTACT_RULES = ("email", "phone")
_CONTACT_SAMPLE = 50_000


def _batch_trusts_dobs(
    edges: pd.DataFrame,
    *,
    dob_sets: Mapping[int, AbstractSet[str]],
    contact_sets: Mapping[int, AbstractSet[str]],
    first_name_sets: Mapping[int, AbstractSet[str]] | None = None,
) -> bool:
    """``dobs_trusted`` on the pairs of ``edges`` that are one person's by other evidence.

    Those are the open model edges and, where records share an email or phone
    under first names that agree, the exact edge on it (refused for a clash or
    not: counting only the accepted ones would hide the clashes). Contacts
    merge a CRM's duplicate rows before the model sees them, so in data with
    contacts the model's own dated links are few (150-200 at 3,000 people), and
    a handful of relatives among them would decide.
    """
    if not dob_sets or "rule" not in edges:
        return False
    reason, rule = edges["reason"], edges["rule"]
    open_model = (reason.isna() & (rule == MODEL_RULE)).to_numpy()
    left = edges["left"].to_numpy(dtype=np.int64)
    right = edges["right"].to_numpy(dtype=np.int64)
    pairs_left, pairs_right = [left[open_model]], [right[open_model]]
    if first_name_sets:
        on_contact = np.flatnonzero(
            ((reason.isna() | (reason == "conflict")) & rule.isin(CONTACT_RULES)).to_numpy()
        )
        # A share needs no more than an even sample: at most _CONTACT_SAMPLE pairs, taken in
        # (left, right) order, so that the verdict does not depend on the edges' row order.
        cl, cr = left[on_contact], right[on_contact]
        by_pair = np.lexsort((cr, cl))
        chosen = by_pair[:: max(1, -(-len(by_pair) // _CONTACT_SAMPLE))]  # ceiling division
        cl, cr = cl[chosen], cr[chosen]
        same_name = [
            bool(fa and fb and sets_compatible(fa, fb, kind="first_name"))
            for fa, fb in (
                (first_name_sets.get(a), first_name_sets.get(b))
                for a, b in zip(cl.tolist(), cr.tolist(), strict=True)
            )
        ]
        keep = np.asarray(same_name, dtype=bool)
        pairs_left.append(cl[keep])
        pairs_right.append(cr[keep])
    return dobs_trusted(
        np.concatenate(pairs_left),
        np.concatenate(pairs_right),
        dob_sets=dob_sets,
        contact_sets=contact_sets,
    )


def dobs_trusted(
    left: np.ndarray,
    right: np.ndarray,
    *,
    dob_sets: Mapping[int, AbstractSet[str]],
    contact_sets: Mapping[int, AbstractSet[str]],
) -> bool:
    """Whether the data's birth dates are kept well enough to refuse a link on them.

    Of the pairs (``left``, ``right``: record ids) that other evidence makes
    one person's (the model's links, and records sharing an email or phone
    under first names that agree: ``_batch_trusts_dobs``) whose two records
    both carry a birth date, at most ``DOB_CLASH_SHARE`` may disagree (beyond
    a typo or a day/month swap, ``resolver.compare.dobs_compatible``). Where
    people keep their birth date, those pairs hardly ever disagree on it (the
    harder world, seeds 1-4: 0.5 to 1.2 %); where a dataset's
    duplicates replace whole dates (FEBRL3 / FEBRL4: 5.5 % / 4.4 %), a birth
    date is evidence the model has weighed, not a veto. The bound, 2 %, lies
    midway (geometrically) between the two. Links between records that each
    hold contacts and share none are left out: the contact guard already
    tells those apart, and they are strangers, not a measure of the dates.
    """
    dated = clashing = 0
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        da, db = dob_sets.get(a), dob_sets.get(b)
        ca, cb = contact_sets.get(a), contact_sets.get(b)
        if da and db and not (ca and cb and ca.isdisjoint(cb)):
            dated += 1
            clashing += not sets_compatible(da, db, kind="dob")
    return dated > 0 and clashing <= DOB_CLASH_SHARE * dated


def _conflicting(
    profile: dict[str, dict[int, set[str]]], surnames: dict[int, set[str]], ra: int, rb: int
) -> bool:
    return _clash(profile, surnames, ra, rb, kinds=tuple(profile))


def _clash(
    profile: dict[str, dict[int, set[str]]],
    surnames: dict[int, set[str]],
    ra: int,
    rb: int,
    *,
    kinds: tuple[str, ...],
) -> bool:
    """Whether the clusters' values of one of ``kinds`` are wholly incompatible."""
    for kind in kinds:
        sets = profile[kind]
        a, b = sets.get(ra), sets.get(rb)
        if not (a and b) or sets_compatible(a, b, kind=kind):
            continue
        # First and last name swapped, both ways round (FEBRL swaps them; so do forms),
        # each perhaps written another way (беккер роза, Roza Bekker; Davies Ollie, Oliver Davies).
        if kind == "first_name" and _swapped(a, surnames.get(rb)) and _swapped(b, surnames.get(ra)):
            continue
        return True
    return False


def _swapped(first_names: set[str], surnames: set[str] | None) -> bool:
    """Whether one of a cluster's first names is a form of one of the other's surnames."""
    return bool(surnames) and any(
        first_names_compatible(f, s) for f in first_names for s in surnames or ()
    )
