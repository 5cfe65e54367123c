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
cluster guard, contact identifiers on both sides of which they share none),
with weights within ``margin_bits`` of each other. Data whose duplicates
replace whole names (FEBRL) and carry no contacts is left to the clustering.
All its links to those fragments are refused (``ambiguous_link``); a link that is clearly stronger than the rest
(a shared date of birth against a missing one) is kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from resolver.compare import sets_compatible

__all__ = ["AMBIGUOUS", "ambiguous_model_edges"]

AMBIGUOUS = "ambiguous_link"
#: Links within this many bits of match weight of the best are as good as the best.
MARGIN_BITS = 4.0


def _sets(values: pd.Series | None, fragment: np.ndarray) -> dict[int, set[str]]:
    if values is None:
        return {}
    frame = pd.DataFrame({"f": fragment, "v": values.to_numpy(dtype=object)}).dropna()
    if frame.empty:
        return {}
    frame["v"] = frame["v"].astype(str)
    grouped = frame.groupby("f")["v"].agg(set)
    return {int(f): set(v) for f, v in zip(grouped.index.tolist(), grouped.tolist(), strict=True)}


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
    names = _sets(first_names, fragment)
    births = _sets(dobs, fragment)
    reach = (
        _sets(_flat(contacts), _flat_fragment(contacts, fragment)) if contacts is not None else None
    )
    ambiguous_pairs: set[tuple[int, int]] = set()
    for record, group in close.groupby("record"):
        fragments = group["other"].astype(int).tolist()
        if len(fragments) < 2:
            continue
        clash = False
        for i, a in enumerate(fragments):
            for b in fragments[i + 1 :]:
                if _incompatible(names, births, a, b) and _disjoint(reach, a, b):
                    clash = True
                    break
            if clash:
                break
        if clash:
            ambiguous_pairs.update((int(str(record)), f) for f in fragments)
    if not ambiguous_pairs:
        return out
    hit = ends[
        [(r, o) in ambiguous_pairs for r, o in zip(ends["record"], ends["other"], strict=True)]
    ]
    out[hit["edge"].to_numpy(dtype=np.int64)] = True
    return out


def _flat(contacts: pd.Series) -> pd.Series:
    """One row per (record, contact identifier) of a column of lists or values."""
    return contacts.explode().reset_index(drop=True)


def _flat_fragment(contacts: pd.Series, fragment: np.ndarray) -> np.ndarray:
    # explode() keeps one (missing) row for an empty list or a missing value
    lengths = np.array([max(len(v), 1) if isinstance(v, list) else 1 for v in contacts.tolist()])
    return np.repeat(fragment[: len(contacts)], lengths)


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
