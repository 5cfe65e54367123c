"""A record that matches two different people equally well links to neither.

Splink scores pairs one at a time. A loyalty row "Aleksandr Ivanov, Moscow"
with no date of birth scores 0.99 against each of two CRM customers of that
name, born in 1964 and in 1980: either link alone looks certain, but the
record cannot belong to both, and nothing in it says which. The greedy
clustering would give it to whichever edge sorts first and refuse the other
as a conflict: a coin toss, wrong half the time.

``ambiguous_model_edges`` finds such records before clustering: a record
whose accepted model links (at or above the threshold) reach two
deterministic fragments that are wholly incompatible with each other (their
first names or their dates of birth, ``resolver.compare``, and, as in the
cluster guard, contact identifiers on both sides of which they share none;
where the data keeps birth dates, wholly incompatible birth dates alone, as
the cluster guard's ``dobs_trusted`` rule; or generational suffixes that
differ, Sr and Jr), with weights within ``margin_bits`` of each other. Data whose duplicates
replace whole names (FEBRL) and carry no contacts is left to the clustering.
All its links to those fragments are refused (``ambiguous_link``); a link that is clearly stronger than the rest
(a shared date of birth against a missing one) is kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from resolver.compare import generations_compatible, sets_compatible

__all__ = ["AMBIGUOUS", "ambiguous_model_edges", "namesake_model_edges"]

AMBIGUOUS = "ambiguous_link"
#: Links within this many bits of match weight of the best are as good as the best.
MARGIN_BITS = 4.0


def _sets(
    values: pd.Series | None, fragment: np.ndarray, needed: np.ndarray, *, explode: bool = False
) -> dict[int, set[str]]:
    """Per fragment in ``needed``, its records' distinct non-missing values, as strings.

    ``values`` is aligned with ``fragment`` (record positions). ``explode``: a
    list value gives each of its items (contacts), as ``Series.explode`` would.
    Only the fragments asked for are read: at 1 M records building every
    fragment's set cost seconds for the few hundred the ties need.
    """
    if values is None or not len(needed):
        return {}
    keep = np.flatnonzero(np.isin(fragment[: len(values)], needed))
    raw = values.to_numpy(dtype=object)[keep]
    present = ~pd.isna(raw)
    out: dict[int, set[str]] = {}
    for f, v in zip(fragment[keep][present].tolist(), raw[present].tolist(), strict=True):
        if explode and isinstance(v, list):
            items = [str(x) for x in v if not _missing(x)]
            if items:
                out.setdefault(f, set()).update(items)
        else:
            out.setdefault(f, set()).add(str(v))
    return out


def _missing(value: Any) -> bool:
    """``pd.isna`` of one item of a list (as ``dropna`` after ``explode`` sees it)."""
    return bool(pd.isna(value)) if not isinstance(value, list | tuple | np.ndarray) else False


def ambiguous_model_edges(
    *,
    left: np.ndarray,
    right: np.ndarray,
    weight: np.ndarray,
    accepted: np.ndarray,
    fragment: np.ndarray,
    first_names: pd.Series | None,
    dobs: pd.Series | None,
    contacts: pd.Series | None = None,
    generations: pd.Series | None = None,
    trust_dobs: bool = False,
    margin_bits: float = MARGIN_BITS,
) -> np.ndarray:
    """Per model edge, whether it is an ambiguous record's link (see the module docstring).

    Args:
        left, right: record ids of each model edge.
        weight: each edge's match weight (bits).
        accepted: edges at or above the threshold (the others are never ambiguous).
        fragment: per record, its deterministic fragment.
        first_names, dobs: per record, the guard's values (``None``: not compared).
        contacts: per record, its contact identifiers (a list or one value); two
            fragments clash only when both hold some and share none, as in the
            cluster guard (``None``: names and dates alone decide).
        generations: per record, its generational suffix (Sr, Jr): fragments written
            with two generations are two people (``None``: not compared).
        trust_dobs: whether the data keeps birth dates (``resolver.cluster.dobs_trusted``):
            then, as in the cluster guard, wholly incompatible birth dates make two
            fragments two people whatever their contacts.
        margin_bits: how close to the best link another must be to make a tie.
    """
    out = np.zeros(len(left), dtype=bool)
    if not accepted.any() or (first_names is None and dobs is None):
        return out
    idx = np.flatnonzero(accepted)
    # Each accepted edge seen from both ends: (record, the other end's fragment, weight).
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
    many = per.groupby("record")["other"].transform("size") > 1
    per = per[many]
    if per.empty:
        return out
    per["best"] = per.groupby("record")["weight"].transform("max")
    close = per[per["weight"] >= per["best"] - margin_bits]
    # ``per`` is sorted by (record, other): each record's close fragments are one run.
    record = close["record"].to_numpy(dtype=np.int64)
    other = close["other"].to_numpy(dtype=np.int64)
    cuts = np.flatnonzero(record[1:] != record[:-1]) + 1
    starts, stops = np.r_[0, cuts], np.r_[cuts, len(record)]
    several = stops - starts >= 2
    if not several.any():
        return out
    needed = np.unique(other[np.repeat(several, stops - starts)])
    names = _sets(first_names, fragment, needed)
    births = _sets(dobs, fragment, needed)
    reach = _sets(contacts, fragment, needed, explode=True) if contacts is not None else None
    eras = _sets(generations, fragment, needed)
    others = other.tolist()
    tied_records: list[int] = []
    tied_fragments: list[int] = []
    for start, stop, rec in zip(
        starts[several].tolist(),
        stops[several].tolist(),
        record[starts[several]].tolist(),
        strict=True,
    ):
        fragments = others[start:stop]
        if any(
            _clashing(reach, names, births, a, b, trust_dobs=trust_dobs, eras=eras)
            for i, a in enumerate(fragments)
            for b in fragments[i + 1 :]
        ):
            tied_records.extend([rec] * len(fragments))
            tied_fragments.extend(fragments)
    if not tied_records:
        return out
    # the edges of those (record, fragment) pairs, as one integer key each
    width = int(fragment.max()) + 1
    tied = np.asarray(tied_records, dtype=np.int64) * width + np.asarray(tied_fragments)
    ends_key = ends["record"].to_numpy(dtype=np.int64) * width + ends["other"].to_numpy(np.int64)
    out[ends["edge"].to_numpy(dtype=np.int64)[np.isin(ends_key, tied)]] = True
    return out


def _clashing(
    reach: dict[int, set[str]] | None,
    names: dict[int, set[str]],
    births: dict[int, set[str]],
    a: int,
    b: int,
    *,
    trust_dobs: bool = False,
    eras: dict[int, set[str]] | None = None,
) -> bool:
    """Whether the union would keep fragments ``a`` and ``b`` apart (``resolver.cluster``):
    contacts of their own and wholly incompatible names or birth dates, or a contact both
    hold under first names that wholly disagree (a family's email), or, where the data
    keeps birth dates, wholly incompatible birth dates whatever the contacts (a father
    whose CRM row has no contacts, and his son), or generational suffixes that differ
    (Sr and Jr)."""
    if trust_dobs and _incompatible({}, births, a, b):
        return True
    ea, eb = (eras or {}).get(a), (eras or {}).get(b)
    if ea and eb and not generations_compatible(ea, eb):
        return True
    if _disjoint(reach, a, b):
        return _incompatible(names, births, a, b)
    if reach is None or not (reach.get(a) and reach.get(b)):
        return False
    return _incompatible(names, {}, a, b)


def _disjoint(reach: dict[int, set[str]] | None, a: int, b: int) -> bool:
    if reach is None:
        return True
    ca, cb = reach.get(a), reach.get(b)
    return bool(ca and cb and not ca & cb)


def _incompatible(names: dict[int, set[str]], births: dict[int, set[str]], a: int, b: int) -> bool:
    na, nb = names.get(a), names.get(b)
    if na and nb and not sets_compatible(na, nb, kind="first_name"):
        return True
    da, db = births.get(a), births.get(b)
    return bool(da and db and not sets_compatible(da, db, kind="dob"))


def _column(touchpoints: pd.DataFrame, name: str) -> np.ndarray:
    """A column's values as objects, or all missing where the table has no such column."""
    if name in touchpoints:
        return touchpoints[name].to_numpy(dtype=object)
    return np.full(len(touchpoints), None, dtype=object)


#: What a record may carry besides a name and still be "a name only" (a city is shared
#: by thousands: it narrows the namesakes, it does not pick one).
_PERSON_EVIDENCE = ("dob", "postcode", "address", "email_folded", "phone", "national_id")


def namesake_model_edges(
    *,
    left: np.ndarray,
    right: np.ndarray,
    accepted: np.ndarray,
    fragment: np.ndarray,
    touchpoints: pd.DataFrame,
) -> np.ndarray:
    """Per model edge, whether it attributes a bare name to one of several people of that name.

    A fragment whose records carry a first and last name and nothing else that
    singles out a person (no birth date, address, postcode, email, phone or
    national id; a city at most) is linked by the model on the name alone.
    Where the data itself shows two people of that name (of that city, when
    the record has one): fragments holding the name, written the same way
    (first and last name in either order) or in another script (the first
    name's group and the surname's consonant skeleton), whose birth dates
    wholly disagree,
    the link is a guess between them, and is refused (``ambiguous_link``).
    Call it only where the data keeps birth dates (``resolver.cluster.dobs_trusted``).

    Args:
        left, right: record ids of each model edge.
        accepted: edges at or above the threshold (the others are never refused here).
        fragment: per record, its deterministic fragment.
        touchpoints: per record (by position), ``first_latin``, ``last_latin``,
            ``first_canon``, ``last_skeleton``, ``city`` and the columns of
            ``_PERSON_EVIDENCE`` it has.
    """
    out = np.zeros(len(left), dtype=bool)
    idx = np.flatnonzero(accepted)
    if not len(idx) or not {"first_latin", "last_latin", "dob"} <= set(touchpoints.columns):
        return out
    first = touchpoints["first_latin"].to_numpy(dtype=object)
    last = touchpoints["last_latin"].to_numpy(dtype=object)
    named = ~pd.isna(first) & ~pd.isna(last)
    evidence = np.zeros(len(touchpoints), dtype=bool)
    for column in _PERSON_EVIDENCE:
        if column in touchpoints:
            evidence |= touchpoints[column].notna().to_numpy()
    n_fragments = int(fragment.max()) + 1 if len(fragment) else 0
    singled_out = np.bincount(fragment[evidence], minlength=n_fragments) > 0
    # the edges with an end whose whole fragment is a bare name: that end's record
    edge_of = np.concatenate([idx, idx])
    end = np.concatenate([left[idx], right[idx]])
    bare = named[end] & ~singled_out[fragment[end]]
    if not bare.any():
        return out
    edge_of, end = edge_of[bare], end[bare]
    city = touchpoints["city"].to_numpy(dtype=object) if "city" in touchpoints else None

    group = _column(touchpoints, "first_canon")
    group = np.where(pd.isna(group), first, group)
    skeleton = _column(touchpoints, "last_skeleton")

    def keys(records: np.ndarray) -> list[tuple[str, str]]:
        """Two ways of writing each record's name as one text: its first and last name
        in Latin letters in either order (Smith Michael), and its first name's group with
        its surname's consonant skeleton (אמיר נאטור is Amir Natour)."""
        a, b = first[records].astype(str), last[records].astype(str)
        g, s = group[records].astype(str), skeleton[records]
        latin = [f"{x}\t{y}" if x <= y else f"{y}\t{x}" for x, y in zip(a, b, strict=True)]
        return [
            (written, written if pd.isna(ss) else f"{gg}\t#{ss}")
            for written, gg, ss in zip(latin, g, s, strict=True)
        ]

    end_keys = keys(end)
    wanted = {k for pair in end_keys for k in pair}
    # Per name: each fragment (singled out) holding it, with its birth dates and cities.
    holders: dict[str, dict[int, tuple[set[str], set[str]]]] = {}
    dob = touchpoints["dob"].to_numpy(dtype=object)
    # the records that may hold those names (a first name or name group of one of them)
    heads = {part for name in wanted for part in name.split("\t") if not part.startswith("#")}
    maybe = np.flatnonzero(
        named
        & singled_out[fragment]
        & (pd.Series(first).isin(heads).to_numpy() | pd.Series(group).isin(heads).to_numpy())
    )
    for record, pair in zip(maybe.tolist(), keys(maybe), strict=True):
        for name in pair:
            if name not in wanted:
                continue
            dobs, cities = holders.setdefault(name, {}).setdefault(
                int(fragment[record]), (set(), set())
            )
            if not pd.isna(dob[record]):
                dobs.add(str(dob[record]))
            if city is not None and not pd.isna(city[record]):
                cities.add(str(city[record]))
    # one verdict per name (written both ways) and city: a common name's holders are merged
    # and compared once, not once per edge (at 10 M records a John Smith has thousands)
    verdicts: dict[tuple[tuple[str, str], str | None], bool] = {}
    for edge, record, pair in zip(edge_of.tolist(), end.tolist(), end_keys, strict=True):
        where = None if city is None or pd.isna(city[record]) else str(city[record])
        verdict = verdicts.get((pair, where))
        if verdict is None:
            verdict = verdicts[(pair, where)] = _namesakes_disagree(holders, pair, where)
        if verdict:
            out[edge] = True
    return out


def _namesakes_disagree(
    holders: dict[str, dict[int, tuple[set[str], set[str]]]],
    pair: tuple[str, str],
    where: str | None,
) -> bool:
    """Whether two fragments holding the name ``pair`` (of city ``where``, when given) have
    birth dates that wholly disagree: two people of that name."""
    # each fragment holding the name, written either way: its birth dates and cities
    held: dict[int, tuple[set[str], set[str]]] = {}
    for name in pair:
        for f, (dobs, cities) in holders.get(name, {}).items():
            kept = held.setdefault(f, (set(), set()))
            kept[0].update(dobs)
            kept[1].update(cities)
    dated = [dobs for dobs, cities in held.values() if dobs and (where is None or where in cities)]
    return any(
        not sets_compatible(a, b, kind="dob") for i, a in enumerate(dated) for b in dated[i + 1 :]
    )
