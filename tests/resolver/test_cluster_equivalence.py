"""The fast clustering gives exactly what the straightforward one gave (issue #11).

The references are the implementations before they were made fast: every
record's value sets built up front, a ``groupby(...).agg(set)`` of every
fragment, a Python list per record for the contacts, one ``find`` call per
end of an edge. Random graphs exercise every guard (consent, the identifier
limit with customer groups, the name and birth-date conflict with and
without contacts, the 12-value cap of a cluster's profile) and the resumed
second batch of browser stitching.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from resolver.ambiguity import ambiguous_model_edges
from resolver.cluster import DIRECT_RULES, GuardedUnion
from resolver.compare import first_names_compatible, sets_compatible
from resolver.link import _contacts

# --- the references: the implementations as they were ---------------------------------------

_MAX_PROFILE_VALUES = 12


def _reference_value_sets(values: pd.Series | None) -> dict[int, set[str]]:
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


def _reference_conflicting(
    profile: dict[str, dict[int, set[str]]], surnames: dict[int, set[str]], ra: int, rb: int
) -> bool:
    for kind, sets in profile.items():
        a, b = sets.get(ra), sets.get(rb)
        if not (a and b) or sets_compatible(a, b, kind=kind):
            continue
        if kind == "first_name" and (
            any(first_names_compatible(x, y) for x in a for y in surnames.get(rb, set()))
            and any(first_names_compatible(x, y) for x in b for y in surnames.get(ra, set()))
        ):
            continue
        return True
    return False


def _reference_kind_clash(
    profile: dict[str, dict[int, set[str]]],
    surnames: dict[int, set[str]],
    ra: int,
    rb: int,
    kind: str,
) -> bool:
    return _reference_conflicting({kind: profile[kind]}, surnames, ra, rb)


def _reference_strangers(
    contacts: dict[int, set[str]] | None, dobs: dict[int, set[str]], ra: int, rb: int
) -> bool:
    """Each holds an email and a phone, they share no contact and agree on no birth date."""
    if contacts is None:
        return False
    a, b = contacts.get(ra, set()), contacts.get(rb, set())
    if not (a and b) or a & b or dobs.get(ra, set()) & dobs.get(rb, set()):
        return False
    return all(any("@" in c for c in side) and any("@" not in c for c in side) for side in (a, b))


def _reference_dobs_trusted(
    edges: pd.DataFrame,
    dobs: dict[int, set[str]],
    contacts: dict[int, set[str]],
    first_names: dict[int, set[str]],
) -> bool:
    """At most 2 % of the model links to try, and of the email or phone edges (open or
    refused as a conflict) between records whose first names agree, whose records both
    hold a birth date, and not each their own contacts, disagree (decided on the first
    batch, before any merge)."""
    model = edges[(edges["rule"] == "splink") & edges["reason"].isna()]
    contact = edges[
        edges["rule"].isin(["email", "phone"])
        & (edges["reason"].isna() | (edges["reason"] == "conflict"))
    ]
    named = [
        (a, b)
        for a, b in zip(contact["left"], contact["right"], strict=True)
        if first_names.get(a)
        and first_names.get(b)
        and sets_compatible(first_names[a], first_names[b], kind="first_name")
    ]
    pairs = [
        (dobs[a], dobs[b])
        for a, b in [*zip(model["left"], model["right"], strict=True), *named]
        if a in dobs
        and b in dobs
        and not (contacts.get(a) and contacts.get(b) and not contacts[a] & contacts[b])
    ]
    clashing = sum(not sets_compatible(a, b, kind="dob") for a, b in pairs)
    return bool(pairs) and clashing <= 0.02 * len(pairs)


def _reference_disjoint(contacts: dict[int, set[str]] | None, ra: int, rb: int) -> bool:
    if contacts is None:
        return True
    a, b = contacts.get(ra), contacts.get(rb)
    return bool(a and b and not a & b)


class ReferenceUnion:
    """``GuardedUnion`` as it was."""

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
        self.subject_of = subject.astype(np.int64).tolist()
        self.profile: dict[str, dict[int, set[str]]] = {
            "first_name": _reference_value_sets(first_names),
            "dob": _reference_value_sets(dobs),
        }
        self.surnames = _reference_value_sets(last_names)
        self.contact_sets = _reference_value_sets(contacts) if contacts is not None else None
        self.trust_dobs: bool | None = None

    def _gfind(self, x: int) -> int:
        while self.group[x] != x:
            self.group[x] = self.group[self.group[x]]
            x = self.group[x]
        return x

    def _find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def add(self, edges: pd.DataFrame) -> pd.Series:
        if self.trust_dobs is None:
            # decided on the first batch, before anything is merged
            self.trust_dobs = _reference_dobs_trusted(
                edges, self.profile["dob"], self.contact_sets or {}, self.profile["first_name"]
            )
        decisions = edges["reason"].astype(object).copy()
        idx = np.flatnonzero(decisions.isna().to_numpy())
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
        rules = sub["rule"].to_numpy(dtype=object)[order].tolist()
        result = np.empty(len(edges), dtype=object)
        result[:] = decisions.to_numpy()
        gfind, codes, customers = self._gfind, self.codes, self.customers
        for left, right, pos, rule in zip(lefts, rights, idx[order].tolist(), rules, strict=True):
            ra, rb = self._find(left), self._find(right)
            if ra == rb:
                result[pos] = "accepted"
                continue
            if (ra in self.restricted or rb in self.restricted) and (
                self.subject_of[ra] != self.subject_of[rb] or self.subject_of[ra] == -1
            ):
                result[pos] = "consent"
                continue
            ca, cb = customers.get(ra), customers.get(rb)
            merged_customers = (ca | cb) if ca and cb else (ca or cb)
            direct = (
                self.is_customer is not None
                and rule in DIRECT_RULES
                and self.is_customer[left]
                and self.is_customer[right]
                and codes[left] >= 0
                and codes[right] >= 0
            )
            if ca and cb and merged_customers:
                distinct = {gfind(c) for c in merged_customers}
                if direct and gfind(codes[left]) != gfind(codes[right]):
                    distinct.discard(gfind(codes[left]))
                if len(distinct) > self.max_customer_ids:
                    result[pos] = "identifier_limit"
                    continue
            if _reference_conflicting(self.profile, self.surnames, ra, rb) and _reference_disjoint(
                self.contact_sets, ra, rb
            ):
                result[pos] = "conflict"
                continue
            if rule == "splink" and (
                (
                    _reference_disjoint(self.contact_sets, ra, rb)
                    and _reference_strangers(self.contact_sets, self.profile["dob"], ra, rb)
                )
                or (
                    self.trust_dobs
                    and _reference_kind_clash(self.profile, self.surnames, ra, rb, "dob")
                )
                or (
                    # a contact both hold under first names that wholly disagree: a family's
                    self.contact_sets is not None
                    and bool(self.contact_sets.get(ra))
                    and bool(self.contact_sets.get(rb))
                    and not _reference_disjoint(self.contact_sets, ra, rb)
                    and _reference_kind_clash(self.profile, self.surnames, ra, rb, "first_name")
                )
            ):
                result[pos] = "conflict"
                continue
            if direct:
                self.group[gfind(codes[right])] = gfind(codes[left])
            if self.size[ra] < self.size[rb]:
                ra, rb = rb, ra
            self.parent[rb] = ra
            self.size[ra] += self.size[rb]
            customers.pop(rb, None)
            if merged_customers:
                customers[ra] = merged_customers
            carried = [*self.profile.values(), self.surnames]
            for sets in carried + ([self.contact_sets] if self.contact_sets else []):
                moved = sets.pop(rb, None)
                if moved:
                    kept = sets.setdefault(ra, set())
                    if len(kept) < _MAX_PROFILE_VALUES:
                        kept.update(moved)
            if rb in self.restricted:
                self.restricted.add(ra)
            if self.subject_of[ra] != self.subject_of[rb]:
                self.subject_of[ra] = -1
            result[pos] = "accepted"
        return pd.Series(result, index=edges.index)

    def labels(self) -> np.ndarray:
        n = self.n_records
        roots = np.fromiter((self._find(i) for i in range(n)), dtype=np.int64, count=n)
        labels = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(labels, roots, np.arange(n, dtype=np.int64))
        return labels[roots]


def reference_ambiguous_model_edges(
    *,
    left: np.ndarray,
    right: np.ndarray,
    weight: np.ndarray,
    accepted: np.ndarray,
    fragment: np.ndarray,
    first_names: pd.Series | None,
    dobs: pd.Series | None,
    contacts: pd.Series | None = None,
    margin_bits: float = 4.0,
) -> np.ndarray:
    def sets(values: pd.Series | None, frag: np.ndarray) -> dict[int, set[str]]:
        if values is None:
            return {}
        frame = pd.DataFrame({"f": frag, "v": values.to_numpy(dtype=object)}).dropna()
        if frame.empty:
            return {}
        frame["v"] = frame["v"].astype(str)
        grouped = frame.groupby("f")["v"].agg(set)
        return {int(f): set(v) for f, v in zip(grouped.index, grouped, strict=True)}

    def disjoint(reach: dict[int, set[str]] | None, a: int, b: int) -> bool:
        if reach is None:
            return True
        ca, cb = reach.get(a), reach.get(b)
        return bool(ca and cb and not ca & cb)

    def incompatible(names: dict[int, set[str]], births: dict[int, set[str]], a: int, b: int):
        na, nb = names.get(a), names.get(b)
        if na and nb and not sets_compatible(na, nb, kind="first_name"):
            return True
        da, db = births.get(a), births.get(b)
        return bool(da and db and not sets_compatible(da, db, kind="dob"))

    out = np.zeros(len(left), dtype=bool)
    if not accepted.any() or (first_names is None and dobs is None):
        return out
    idx = np.flatnonzero(accepted)
    ends = pd.DataFrame(
        {
            "edge": np.concatenate([idx, idx]),
            "record": np.concatenate([left[idx], right[idx]]),
            "other": np.concatenate([fragment[right[idx]], fragment[left[idx]]]),
            "weight": np.concatenate([weight[idx], weight[idx]]),
        }
    )
    ends = ends[ends["other"] != fragment[ends["record"].to_numpy()]]
    per = ends.groupby(["record", "other"])["weight"].max().reset_index()
    per = per[per.groupby("record")["other"].transform("size") > 1]
    if per.empty:
        return out
    per["best"] = per.groupby("record")["weight"].transform("max")
    close = per[per["weight"] >= per["best"] - margin_bits]
    names, births = sets(first_names, fragment), sets(dobs, fragment)
    reach = None
    if contacts is not None:
        flat = contacts.explode().reset_index(drop=True)
        lengths = [max(len(v), 1) if isinstance(v, list) else 1 for v in contacts.tolist()]
        reach = sets(flat, np.repeat(fragment[: len(contacts)], lengths))
    pairs: set[tuple[int, int]] = set()
    for record, group in close.groupby("record"):
        fragments = group["other"].astype(int).tolist()
        if len(fragments) < 2:
            continue
        if any(
            (incompatible(names, births, a, b) and disjoint(reach, a, b))
            or (
                # a contact both hold under first names that wholly disagree: a family's
                reach is not None
                and bool(reach.get(a))
                and bool(reach.get(b))
                and not disjoint(reach, a, b)
                and incompatible(names, {}, a, b)
            )
            for i, a in enumerate(fragments)
            for b in fragments[i + 1 :]
        ):
            pairs.update((int(str(record)), f) for f in fragments)
    if pairs:
        hit = ends[[(r, o) in pairs for r, o in zip(ends["record"], ends["other"], strict=True)]]
        out[hit["edge"].to_numpy(dtype=np.int64)] = True
    return out


def reference_contacts(touchpoints: pd.DataFrame, *, junk: pd.DataFrame) -> pd.Series:
    email = touchpoints["email_folded"].reset_index(drop=True)
    phone = touchpoints["phone"].reset_index(drop=True)
    if len(junk):
        email = email.where(~email.isin(set(junk.loc[junk["kind"] == "email", "value"])))
        phone = phone.where(~phone.isin(set(junk.loc[junk["kind"] == "phone", "value"])))
    values = [
        [v for v in (e, p) if isinstance(v, str)] or None
        for e, p in zip(email.tolist(), phone.tolist(), strict=True)
    ]
    return pd.Series(values, dtype=object)


# --- random inputs ----------------------------------------------------------------------------

# Names that are and are not forms of one another (anna ~ ann ~ anya, misha / masha, bill ~
# william), written in other scripts too, and enough of them to pass the 12-value cap.
NAMES = [
    "anna", "ann", "anya", "misha", "masha", "bill", "william", "aleksandr", "sasha",
    "александр", "yossi", "yosef", "יוסף", "boris", "carla", "dmitry", "dima", "r", "robert",
    "jonas", "itai", "tali", "erez", "maria", "mariya",
]  # fmt: skip
SURNAMES = ["cohen", "ivanov", "smith", "anna", "boris", "levi"]
DOBS = [
    "1980-03-04", "1980-04-03", "1980-03-05", "1964-06-16", "1941-03-13", "1990-01-01",
    "1990-01-10", "1975-12-31",
]  # fmt: skip
CONTACTS = ["e:a@x.com", "e:b@x.com", "p:+441", "p:+442", "p:+443"]
RULES = ["customer_id", "cookie_id", "device_id", "email", "phone", "splink", "ip_user_agent"]


def _maybe(values: list[str], none: int = 2) -> st.SearchStrategy[str | None]:
    return st.sampled_from([*values, *([None] * none)])


def _column(draw: st.DrawFn, values: list[str], n: int) -> pd.Series:
    """Values for ``n`` records, from nearly all present to mostly missing."""
    missing = draw(st.sampled_from([0, 2, len(values), 3 * len(values)]))
    return pd.Series(draw(st.lists(_maybe(values, missing), min_size=n, max_size=n)))


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(2, 40))
    customer = np.array(draw(st.lists(st.integers(-1, 5), min_size=n, max_size=n)))
    contacts = draw(
        st.lists(
            st.one_of(
                st.none(),
                st.none(),
                st.lists(st.sampled_from(CONTACTS), min_size=1, max_size=2),
            ),
            min_size=n,
            max_size=n,
        )
    )
    return {
        "n_records": n,
        "customer": customer,
        "subject": np.array(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))),
        "may_link": np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))),
        "max_customer_ids": draw(st.integers(1, 3)),
        "first_names": _column(draw, NAMES, n),
        "last_names": _column(draw, SURNAMES, n),
        "dobs": _column(draw, DOBS, n),
        "contacts": draw(st.sampled_from([None, pd.Series(contacts, dtype=object)])),
        "customer_record": draw(
            st.one_of(st.none(), st.lists(st.booleans(), min_size=n, max_size=n).map(np.array))
        ),
    }


@st.composite
def edge_batches(draw: st.DrawFn, n: int, ranks: tuple[int, int]) -> pd.DataFrame:
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1]),
            min_size=1,
            max_size=4 * n,
        )
    )
    count = len(pairs)
    return pd.DataFrame(
        {
            "left": np.array([a for a, _ in pairs], dtype=np.int64),
            "right": np.array([b for _, b in pairs], dtype=np.int64),
            "rule": draw(st.lists(st.sampled_from(RULES), min_size=count, max_size=count)),
            "rank": draw(st.lists(st.integers(*ranks), min_size=count, max_size=count)),
            "probability": draw(
                st.lists(st.sampled_from([1.0, 0.99, 0.95, 0.9]), min_size=count, max_size=count)
            ),
            "reason": draw(
                st.lists(_maybe(["threshold", "conflict"], 6), min_size=count, max_size=count)
            ),
        }
    )


# --- the equivalences -------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_guarded_union_decides_as_the_reference(data: st.DataObject) -> None:
    """Same decision per edge and same clusters, in one batch and then a resumed second one."""
    world = data.draw(worlds())
    n = int(world["n_records"])
    first = data.draw(edge_batches(n, (0, 3)))
    second = data.draw(edge_batches(n, (4, 4)))
    fast, reference = GuardedUnion(**world), ReferenceUnion(**world)
    assert fast.add(first).tolist() == reference.add(first).tolist()
    assert fast.labels().tolist() == reference.labels().tolist()
    assert fast.add(second).tolist() == reference.add(second).tolist()
    assert fast.labels().tolist() == reference.labels().tolist()


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_ambiguous_links_are_the_references(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 30))
    fragment = np.array(data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)))
    count = data.draw(st.integers(1, 3 * n))
    ends = st.lists(st.integers(0, n - 1), min_size=count, max_size=count)
    contacts = data.draw(
        st.lists(
            st.one_of(
                st.none(),
                st.sampled_from(CONTACTS),
                st.lists(_maybe(CONTACTS, 1), min_size=0, max_size=3),
            ),
            min_size=n,
            max_size=n,
        )
    )
    inputs = {
        "left": np.array(data.draw(ends), dtype=np.int64),
        "right": np.array(data.draw(ends), dtype=np.int64),
        "weight": np.array(
            data.draw(
                st.lists(
                    st.sampled_from([2.0, 5.0, 8.0, 9.0, 12.0, 20.0]),
                    min_size=count,
                    max_size=count,
                )
            )
        ),  # fmt: skip
        "accepted": np.array(data.draw(st.lists(st.booleans(), min_size=count, max_size=count))),
        "fragment": fragment,
        "first_names": data.draw(
            st.sampled_from(
                [None, pd.Series(data.draw(st.lists(_maybe(NAMES), min_size=n, max_size=n)))]
            )
        ),  # fmt: skip
        "dobs": pd.Series(data.draw(st.lists(_maybe(DOBS), min_size=n, max_size=n))),
        "contacts": data.draw(st.sampled_from([None, pd.Series(contacts, dtype=object)])),
    }
    fast = ambiguous_model_edges(**inputs)
    assert fast.tolist() == reference_ambiguous_model_edges(**inputs).tolist()


@given(
    rows=st.lists(
        st.tuples(_maybe(["a@x.com", "b@x.com", "junk@x.com"]), _maybe(["+441", "+000"])),
        min_size=0,
        max_size=30,
    ),
    with_junk=st.booleans(),
)
def test_contacts_are_the_references(rows: list[tuple[str | None, str | None]], with_junk: bool):
    touchpoints = pd.DataFrame(rows, columns=["email_folded", "phone"], dtype=object)
    junk = pd.DataFrame(
        {"kind": ["email", "phone"], "value": ["junk@x.com", "+000"]} if with_junk else
        {"kind": [], "value": []}
    )  # fmt: skip
    fast = _contacts(touchpoints, junk=junk)
    assert fast.tolist() == reference_contacts(touchpoints, junk=junk).tolist()


def _cookie_edges(pairs: list[tuple[int, int]], *, rule: str = "cookie_id") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "left": [a for a, _ in pairs], "right": [b for _, b in pairs], "rule": rule,
            "rank": 1 if rule == "cookie_id" else 3, "probability": 1.0, "reason": None,
        }
    )  # fmt: skip


def _both(n: int, edges: pd.DataFrame, **columns: object) -> tuple[list[str], list[str]]:
    common: dict[str, object] = {
        "n_records": n, "customer": np.full(n, -1), "subject": np.zeros(n, dtype=np.int64),
        "may_link": np.ones(n, dtype=bool), "max_customer_ids": 2,
    } | columns  # fmt: skip
    fast = GuardedUnion(**common).add(edges).tolist()
    return fast, ReferenceUnion(**common).add(edges).tolist()


def test_a_cluster_keeps_at_most_twelve_names_of_its_own():
    """The 13th and 14th names of one cluster are not kept, so they do not excuse a clash."""
    names = [
        "anna", "boris", "carla", "dmitry", "erez", "fatima", "george", "hiroshi", "ines",
        "jonas", "kofi", "lars", "mateo", "noor", "noor",
    ]  # fmt: skip
    contacts = pd.Series([["p:+1"]] * 14 + [["p:+2"]], dtype=object)
    edges = pd.concat(
        [_cookie_edges([(0, i) for i in range(1, 14)]), _cookie_edges([(14, 13)], rule="splink")],
        ignore_index=True,
    )
    fast, reference = _both(15, edges, first_names=pd.Series(names), contacts=contacts)
    assert fast == reference
    assert reference[-1] == "conflict"


def test_a_nameless_cluster_that_absorbs_a_named_one_compares_its_names():
    """The bigger, nameless side keeps the root: its new names must still be compared."""
    names = pd.Series([None, None, None, "anna", "boris"])
    contacts = pd.Series([None, None, None, ["e:a@x.com"], ["e:b@x.com"]], dtype=object)
    edges = pd.concat(
        [_cookie_edges([(0, 1), (0, 2), (0, 3)]), _cookie_edges([(4, 3)], rule="splink")],
        ignore_index=True,
    )
    fast, reference = _both(5, edges, first_names=names, contacts=contacts)
    assert fast == reference
    assert reference[-1] == "conflict"
