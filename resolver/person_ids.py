"""Stable person ids across runs (SPEC §4).

A person id is an opaque string made with Hashids from an internal integer and
the workspace salt. Between two runs, each new cluster is matched with the
previous persons whose records it holds:

* every previous person goes to the new cluster holding most of its records
  (ties: the cluster with the smallest key), its *best* cluster;
* a cluster that is the best of exactly one previous person keeps that id
  (``kept``);
* a cluster that is the best of several keeps the oldest id (smallest
  integer); the others are recorded as ``merged_into`` it (``merged``);
* a cluster that is nobody's best but holds records of previous persons is
  a part split off: it gets a new id (``split``), the largest part having
  kept the old one;
* a cluster with no previous records gets a new id (``new``);
* a previous person none of whose records remain is ``retired``.

The registry of every id ever issued (``person_registry.parquet``) records
status and ``merged_into``, so an old id can always be followed to its
person (``resolve_person_id``).

Everything is array work (integer codes instead of strings, numpy instead of
per-cluster Python), so a run costs about linearly in records plus registry
rows: a nightly batch meets millions of records and a registry that only
grows. New ids are encoded in batches (``_encode_numbers``), bit for bit what
``Hashids.encode`` gives, about a hundred times faster.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from hashids import Hashids

__all__ = ["REGISTRY_COLUMNS", "IdAssignment", "assign_person_ids", "resolve_person_id"]

REGISTRY_COLUMNS = ["person_id", "number", "status", "merged_into", "first_run", "last_run"]
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read aloud on a call
_MIN_LENGTH = 10
_NO_NUMBER = np.iinfo(np.int64).max  # an id missing from the registry sorts after every number


def _encoder(salt: str) -> Hashids:
    return Hashids(salt=salt, min_length=_MIN_LENGTH, alphabet=_ALPHABET)


@dataclass(frozen=True, kw_only=True, slots=True)
class IdAssignment:
    """Person id per cluster, the updated registry and the run's id churn."""

    person_of_cluster: dict[int, str]
    registry: pd.DataFrame
    churn: dict[str, int] = field(default_factory=dict)
    """``kept``, ``merged``, ``split``, ``new``, ``retired`` counts."""


def assign_person_ids(
    *,
    records: pd.DataFrame,
    salt: str,
    run_id: str,
    previous: pd.DataFrame | None = None,
    registry: pd.DataFrame | None = None,
) -> IdAssignment:
    """Give every cluster a person id, carrying ids over from the previous run.

    Args:
        records: ``source, record_key, cluster`` for this run.
        salt: the workspace's Hashids salt (ids differ between workspaces).
        run_id: recorded in the registry as first/last run of an id.
        previous: ``source, record_key, person_id`` of the previous run.
        registry: the previous run's registry (``REGISTRY_COLUMNS``).

    Raises:
        KeyError: a previous person id that keeps its cluster is missing from
            ``registry`` (the previous run's graph and registry disagree).
    """
    reg = (
        registry.copy()
        if registry is not None and len(registry)
        else pd.DataFrame({c: pd.Series(dtype=object) for c in REGISTRY_COLUMNS})
    )
    reg["number"] = reg["number"].astype(np.int64)
    next_number = int(reg["number"].max()) + 1 if len(reg) else 1
    # number of each registered id; a repeated id counts with its last row
    numbered = reg[["person_id", "number"]].drop_duplicates("person_id", keep="last")
    known = pd.Index(numbered["person_id"])
    known_number = numbered["number"].to_numpy(np.int64)

    clusters, cluster_of_record = np.unique(records["cluster"].to_numpy(), return_inverse=True)
    cluster_of_record = cluster_of_record.reshape(-1)
    churn = {"kept": 0, "merged": 0, "split": 0, "new": 0, "retired": 0}
    owner = np.full(len(clusters), -1, dtype=np.int64)  # index into best_pids, -1: nobody's best
    overlapping = np.zeros(len(clusters), dtype=bool)
    best_pids = np.empty(0, dtype=object)
    merged_old = np.empty(0, dtype=object)
    merged_new = np.empty(0, dtype=object)
    retired = np.empty(0, dtype=object)
    if previous is not None and len(previous):
        codes, pids = _sorted_codes(previous["person_id"])
        person, cluster, n = _overlap(records, cluster_of_record, previous, codes)
        # the clusters' keys break ties for the most records: only tied clusters need theirs
        rank = np.zeros(len(clusters), dtype=np.int64)
        most = np.zeros(len(pids), dtype=np.int64)
        np.maximum.at(most, person, n)
        top = n == most[person]
        tied = top & (np.bincount(person[top], minlength=len(pids))[person] > 1)
        if tied.any():
            need = np.sort(cluster[tied])
            need = need[np.r_[True, need[1:] != need[:-1]]]
            rank[need] = _cluster_key_rank(records, cluster_of_record, need)
        # per previous person: most records, then the smallest key, then the smallest cluster
        order = np.lexsort((cluster, rank[cluster], -n, person))
        person, cluster = person[order], cluster[order]
        first = np.r_[True, person[1:] != person[:-1]] if len(person) else np.empty(0, bool)
        best_person, best_cluster = person[first], cluster[first]
        overlapping[cluster] = True
        best_pids = pids[best_person]
        has_best = np.zeros(len(pids), dtype=bool)
        has_best[best_person] = True
        retired = pids[~has_best]
        churn["retired"] = len(retired)
        # per claimed cluster: the oldest id (smallest number, then the smallest id) keeps it
        where = known.get_indexer(best_pids)
        number = np.r_[known_number, _NO_NUMBER][where]  # -1 (unknown): the last
        by_cluster = np.lexsort((best_person, number, best_cluster))
        claimed = best_cluster[by_cluster]
        head = np.r_[True, claimed[1:] != claimed[:-1]] if len(claimed) else np.empty(0, bool)
        keeper = by_cluster[head]
        owner[claimed[head]] = keeper
        keeper_of_claim = np.repeat(keeper, np.diff(np.r_[np.flatnonzero(head), len(claimed)]))
        merged_old = best_pids[by_cluster[~head]]
        merged_new = best_pids[keeper_of_claim[~head]]
        churn["kept"] = int(head.sum())
        churn["merged"] = int((~head).sum())
        missing = (where[keeper] < 0).nonzero()[0]
        if len(missing):
            raise KeyError(str(best_pids[keeper[missing[0]]]))
    unclaimed = owner < 0
    new_numbers = np.arange(next_number, next_number + int(unclaimed.sum()), dtype=np.int64)
    new_pids = np.asarray(_encode_numbers(salt, new_numbers), dtype=object)
    churn["split"] = int((unclaimed & overlapping).sum())
    churn["new"] = int((unclaimed & ~overlapping).sum())
    person_of_cluster = np.empty(len(clusters), dtype=object)
    person_of_cluster[~unclaimed] = best_pids[owner[~unclaimed]]
    person_of_cluster[unclaimed] = new_pids
    person_of = dict(zip(clusters.tolist(), person_of_cluster.tolist(), strict=True))
    reg = _update_registry(
        reg,
        kept=best_pids[owner[~unclaimed]],
        new_pids=new_pids,
        new_numbers=new_numbers,
        merged_old=merged_old,
        merged_new=merged_new,
        retired=retired,
        run_id=run_id,
    )
    return IdAssignment(person_of_cluster=person_of, registry=reg, churn=churn)


def _pair_codes(left: pd.DataFrame, right: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(source, record_key)`` of both frames as one integer code each (equal pairs, equal code)."""
    n = len(left)
    codes = []
    for column in ("source", "record_key"):
        both = np.concatenate([left[column].to_numpy(object), right[column].to_numpy(object)])
        # missing values are one value here, as in a pandas merge
        codes.append(pd.factorize(both, use_na_sentinel=False)[0].astype(np.int64))
    source, key = codes
    joint = source * (int(key.max()) + 1 if len(key) else 1) + key
    return joint[:n], joint[n:]


def _overlap(
    records: pd.DataFrame,
    cluster_of_record: np.ndarray,
    previous: pd.DataFrame,
    person_codes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(person code, cluster index, records in common)`` per previous person and new cluster.

    ``person_codes`` number ``previous``'s person ids (-1: none); a record
    listed twice counts twice, as an inner join would.
    """
    rec_key, prev_key = _pair_codes(records, previous)
    ok = person_codes >= 0  # a previous record without a person belongs to nobody
    left = pd.DataFrame({"k": rec_key, "cluster": cluster_of_record.astype(np.int64)})
    right = pd.DataFrame({"k": prev_key[ok], "person": person_codes[ok].astype(np.int64)})
    joined = left.merge(right, on="k")
    n_clusters = int(cluster_of_record.max()) + 1 if len(cluster_of_record) else 1
    pair = joined["person"].to_numpy(np.int64) * n_clusters + joined["cluster"].to_numpy(np.int64)
    pair, n = np.unique(pair, return_counts=True)
    return pair // n_clusters, pair % n_clusters, n.astype(np.int64)


def _cluster_key_rank(
    records: pd.DataFrame, cluster_of_record: np.ndarray, clusters: np.ndarray
) -> np.ndarray:
    """For ``clusters`` (sorted indices), the rank of each one's key among theirs: its smallest
    source and smallest record key, joined by ``\\x1f``.

    The smallest source and the smallest record key are taken separately
    (a column-wise minimum), as the tie-break has always been defined.
    """
    mine = np.isin(cluster_of_record, clusters)
    local = np.searchsorted(clusters, cluster_of_record[mine])
    smallest = []
    for column in ("source", "record_key"):
        codes, uniques = pd.factorize(records[column].to_numpy(object)[mine], sort=True)
        codes = np.where(codes < 0, np.iinfo(np.int64).max, codes.astype(np.int64))
        least = np.full(len(clusters), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(least, local, codes)
        values = np.asarray(uniques, dtype=object)
        present = least < len(values)
        picked = np.full(len(clusters), np.nan, dtype=object)
        picked[present] = values[least[present]]
        smallest.append(pd.Series(picked))
    key = smallest[0].astype(str) + "\x1f" + smallest[1].astype(str)
    return pd.factorize(key, sort=True)[0].astype(np.int64)


def _sorted_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values, sort=True)`` with the distinct values sorted by Arrow when they
    are all text (UTF-8 byte order is Python's order), which is many times faster."""
    codes, uniques = pd.factorize(values)
    distinct = np.asarray(uniques, dtype=object)
    try:
        order = pc.sort_indices(pa.array(distinct, type=pa.string())).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        order = np.argsort(distinct, kind="stable")
    rank = np.empty(len(distinct), dtype=np.int64)
    rank[order] = np.arange(len(distinct))
    sorted_codes = np.where(codes < 0, -1, rank[np.maximum(codes, 0)] if len(rank) else -1)
    return sorted_codes.astype(np.int64), distinct[order]


def _update_registry(
    reg: pd.DataFrame,
    *,
    kept: np.ndarray,
    new_pids: np.ndarray,
    new_numbers: np.ndarray,
    merged_old: np.ndarray,
    merged_new: np.ndarray,
    retired: np.ndarray,
    run_id: str,
) -> pd.DataFrame:
    known = pd.Index(reg["person_id"])
    fresh = ~pd.Index(new_pids).isin(known)
    added = pd.DataFrame(
        {
            "person_id": new_pids[fresh].tolist(),
            "number": new_numbers[fresh].tolist(),
            "status": "active",
            "merged_into": None,
            "first_run": run_id,
            "last_run": run_id,
        }
    )
    reg = pd.concat([reg, added], ignore_index=True) if len(reg) else added
    pid = reg["person_id"]
    is_active = pid.isin(np.concatenate([kept, new_pids])).to_numpy()
    reg.loc[is_active, "last_run"] = run_id
    reg.loc[is_active, "status"] = "active"
    reg.loc[is_active, "merged_into"] = None
    if len(merged_old):
        successor_of = pd.Series(merged_new, index=pd.Index(merged_old))
        row = pid.isin(merged_old).to_numpy()
        reg.loc[row, "status"] = "merged"
        reg.loc[row, "merged_into"] = successor_of.reindex(pid[row]).to_numpy()
    # ids that merged earlier keep pointing at their successor; re-point chains
    # whose successor has itself merged since.
    chained = pid.isin(pid[(reg["status"] == "merged").to_numpy()]).to_numpy()
    if chained.any():
        reg.loc[chained, "merged_into"] = _follow_all(
            reg["person_id"].to_numpy(object), reg["merged_into"].to_numpy(object), chained
        )
    merged_set = pd.Index(merged_old)
    reg.loc[pid.isin(retired[~pd.Index(retired).isin(merged_set)]).to_numpy(), "status"] = "retired"
    return reg[REGISTRY_COLUMNS].sort_values("number").reset_index(drop=True)


def _follow_all(pids: np.ndarray, successors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``_follow`` of ``pids[rows]`` over the successor map ``pids -> successors``, as arrays.

    Ids are numbered; each points at its successor's number (at itself: none). Pointer
    doubling finds every chain's end in log(length) array steps. A chain that
    runs into a cycle (a registry no run writes) takes the loop in ``_follow``.
    """
    # the map as a dict would hold it: a repeated id keeps its last successor
    last = pd.Series(successors, index=pids)[~pd.Index(pids).duplicated(keep="last")]
    has_next = (last.notna() & (last.astype(object) != "")).to_numpy()
    nodes = pd.Index(last.index).append(pd.Index(last[has_next].to_numpy())).unique()
    step = np.arange(len(nodes), dtype=np.int64)
    step[np.flatnonzero(has_next)] = nodes.get_indexer(last[has_next].to_numpy())
    single = step.copy()
    start = nodes.get_indexer(pids[rows])
    first = step[start]
    for _ in range(64):
        jumped = step[step]
        if np.array_equal(jumped, step):
            break
        step = jumped
    end = step[first]
    out: np.ndarray = np.asarray(nodes, dtype=object)[end]
    stuck = np.flatnonzero(single[end] != end)  # not a chain's end: a cycle
    if len(stuck):
        successor = dict(zip(last.index, last.to_numpy(), strict=True))
        for i in stuck:
            out[i] = _follow(successor, pids[rows][i])
    return out


def _follow(successor: dict[str, str | None], pid: str) -> str:
    seen = {pid}
    current = successor.get(pid) or pid
    while successor.get(current) and current not in seen:
        seen.add(current)
        current = str(successor[current])
    return current


def _reorder(string: str, salt: str) -> str:
    """Hashids' alphabet shuffle (``hashids._reorder``)."""
    if not salt:
        return string
    chars = list(string)
    index = integer_sum = 0
    for i in range(len(chars) - 1, 0, -1):
        integer = ord(salt[index])
        integer_sum += integer
        j = (integer + index + integer_sum) % i
        chars[i], chars[j] = chars[j], chars[i]
        index = (index + 1) % len(salt)
    return "".join(chars)


_Token = str | int  # a literal character, or digit j (j >= 0), or -1: the second guard


@lru_cache(maxsize=4096)
def _template(salt: str, residue: int, digits: int) -> tuple[tuple[_Token, ...], str]:
    """The layout of ``Hashids.encode(x)`` for ``x % 100 == residue`` with ``digits`` base digits.

    Returns the tokens of the id (literal characters, digit positions, the
    second guard) and the alphabet the digits are written with: the whole
    encoding but the digits themselves is fixed by these two numbers.
    """
    hashids = _encoder(salt)
    alphabet, guards = str(hashids._alphabet), str(hashids._guards)
    lottery = alphabet[residue % len(alphabet)]
    alphabet = _reorder(alphabet, (lottery + salt + alphabet)[: len(alphabet)])
    tokens: list[_Token] = [lottery, *range(digits)]
    if len(tokens) >= _MIN_LENGTH:
        return tuple(tokens), alphabet
    tokens.insert(0, guards[(residue + ord(lottery)) % len(guards)])
    if len(tokens) < _MIN_LENGTH:
        tokens.append(-1)  # guards[(residue + ord(alphabet[digit 0])) % len(guards)]
    half = len(alphabet) // 2
    padding = alphabet
    while len(tokens) < _MIN_LENGTH:
        padding = _reorder(padding, padding)
        tokens = [*padding[half:], *tokens, *padding[:half]]
        excess = len(tokens) - _MIN_LENGTH
        if excess > 0:
            tokens = tokens[excess // 2 : excess // 2 + _MIN_LENGTH]
    return tuple(tokens), alphabet


def _encode_numbers(salt: str, numbers: np.ndarray) -> list[str]:
    """``[Hashids.encode(n) for n in numbers]`` for non-negative int64 numbers, in batches.

    A single number's id depends on the number only through ``n % 100`` and
    its base-``len(alphabet)`` digits (``_template``): numbers that share both
    are encoded together as an array of characters.
    """
    out = np.empty(len(numbers), dtype=object)
    if not len(numbers):
        return []
    hashids = _encoder(salt)
    base, guards = len(hashids._alphabet), str(hashids._guards)
    guard_codes = np.array([ord(c) for c in guards], dtype=np.int64)
    values = np.asarray(numbers, dtype=np.int64)
    digits = np.ones(len(values), dtype=np.int64)
    rest = values // base
    while (rest > 0).any():
        digits += rest > 0
        rest //= base
    group = (values % 100) * 64 + digits
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(group[order]) != 0, True])
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        rows = order[lo:hi]
        residue, width = divmod(int(group[rows[0]]), 64)
        tokens, alphabet = _template(salt, residue, width)
        codes = np.array([ord(c) for c in alphabet], dtype=np.uint32)
        place = np.empty((len(rows), width), dtype=np.int64)
        value = values[rows].copy()
        for j in range(width - 1, -1, -1):
            place[:, j] = value % base
            value //= base
        chars = np.empty((len(rows), len(tokens)), dtype=np.uint32)
        for i, token in enumerate(tokens):
            if isinstance(token, str):
                chars[:, i] = ord(token)
            elif token >= 0:
                chars[:, i] = codes[place[:, token]]
            else:
                lead = codes[place[:, 0]].astype(np.int64)
                chars[:, i] = guard_codes[(residue + lead) % len(guards)]
        out[rows] = chars.view(f"<U{len(tokens)}").ravel().tolist()
    return out.tolist()


def resolve_person_id(registry: pd.DataFrame, person_id: str) -> tuple[str, str] | None:
    """Follow merges: ``(current person id, status)``, or ``None`` for an unknown id.

    Examples:
        >>> reg = pd.DataFrame({"person_id": ["a", "b"], "number": [1, 2],
        ...     "status": ["merged", "active"], "merged_into": ["b", None],
        ...     "first_run": "r1", "last_run": "r2"})
        >>> resolve_person_id(reg, "a")
        ('b', 'active')
    """
    rows = registry.set_index("person_id")
    if person_id not in rows.index:
        return None
    row = rows.loc[person_id]
    if row["status"] == "merged" and row["merged_into"]:
        target = str(row["merged_into"])
        return target, str(rows.loc[target, "status"]) if target in rows.index else "unknown"
    return person_id, str(row["status"])
