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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from hashids import Hashids

__all__ = ["REGISTRY_COLUMNS", "IdAssignment", "assign_person_ids", "resolve_person_id"]

REGISTRY_COLUMNS = ["person_id", "number", "status", "merged_into", "first_run", "last_run"]
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read aloud on a call


def _encoder(salt: str) -> Hashids:
    return Hashids(salt=salt, min_length=10, alphabet=_ALPHABET)


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
    """
    encoder = _encoder(salt)
    reg = (
        registry.copy()
        if registry is not None and len(registry)
        else pd.DataFrame({c: pd.Series(dtype=object) for c in REGISTRY_COLUMNS})
    )
    reg["number"] = reg["number"].astype(np.int64)
    next_number = int(reg["number"].max()) + 1 if len(reg) else 1
    number_of = dict(zip(reg["person_id"], reg["number"], strict=True))
    clusters = np.sort(records["cluster"].unique())
    first_record = records.groupby("cluster")[["source", "record_key"]].min()
    cluster_key: dict[int, str] = {
        int(c): f"{s}\x1f{k}"
        for c, s, k in zip(
            first_record.index, first_record["source"], first_record["record_key"], strict=True
        )
    }
    churn = {"kept": 0, "merged": 0, "split": 0, "new": 0, "retired": 0}
    person_of: dict[int, str] = {}
    merged: dict[str, str] = {}
    overlapping: set[int] = set()
    claimants: dict[int, list[str]] = {}
    if previous is not None and len(previous):
        overlap = (
            records.merge(previous, on=["source", "record_key"])
            .groupby(["person_id", "cluster"])
            .size()
            .rename("n")
            .reset_index()
        )
        overlap["key"] = overlap["cluster"].map(cluster_key)
        overlap = overlap.sort_values(["person_id", "n", "key"], ascending=[True, False, True])
        best = overlap.drop_duplicates("person_id", keep="first")
        overlapping = set(overlap["cluster"].tolist())
        for pid, cluster in zip(best["person_id"], best["cluster"], strict=True):
            claimants.setdefault(int(cluster), []).append(str(pid))
        gone = set(previous["person_id"]) - set(best["person_id"])
        churn["retired"] = len(gone)
    else:
        gone = set()
    for cluster in clusters.tolist():
        owners = claimants.get(cluster, [])
        if owners:
            owners.sort(key=lambda pid: number_of.get(pid, np.iinfo(np.int64).max))
            keep = owners[0]
            person_of[cluster] = keep
            churn["kept"] += 1
            for other in owners[1:]:
                merged[other] = keep
                churn["merged"] += 1
            continue
        pid = encoder.encode(next_number)
        number_of[pid] = next_number
        next_number += 1
        person_of[cluster] = pid
        churn["split" if cluster in overlapping else "new"] += 1
    active = set(person_of.values())
    reg = _update_registry(
        reg, active=active, merged=merged, retired=gone, number_of=number_of, run_id=run_id
    )
    return IdAssignment(person_of_cluster=person_of, registry=reg, churn=churn)


def _update_registry(
    reg: pd.DataFrame,
    *,
    active: set[str],
    merged: dict[str, str],
    retired: set[str],
    number_of: dict[str, int],
    run_id: str,
) -> pd.DataFrame:
    known = set(reg["person_id"])
    fresh = sorted(active - known, key=lambda pid: number_of[pid])
    added = pd.DataFrame(
        {
            "person_id": fresh,
            "number": [number_of[p] for p in fresh],
            "status": "active",
            "merged_into": None,
            "first_run": run_id,
            "last_run": run_id,
        }
    )
    reg = pd.concat([reg, added], ignore_index=True) if len(reg) else added
    is_active = reg["person_id"].isin(active)
    reg.loc[is_active, "last_run"] = run_id
    reg.loc[is_active, "status"] = "active"
    reg.loc[is_active, "merged_into"] = None
    for old, new in merged.items():
        row = reg["person_id"] == old
        reg.loc[row, "status"] = "merged"
        reg.loc[row, "merged_into"] = new
    # ids that merged earlier keep pointing at their successor; re-point chains
    # whose successor has itself merged since.
    successor = dict(zip(reg["person_id"], reg["merged_into"], strict=True))
    for pid in reg.loc[reg["status"] == "merged", "person_id"]:
        reg.loc[reg["person_id"] == pid, "merged_into"] = _follow(successor, pid)
    reg.loc[reg["person_id"].isin(retired - set(merged)), "status"] = "retired"
    return reg[REGISTRY_COLUMNS].sort_values("number").reset_index(drop=True)


def _follow(successor: dict[str, str | None], pid: str) -> str:
    seen = {pid}
    current = successor.get(pid) or pid
    while successor.get(current) and current not in seen:
        seen.add(current)
        current = str(successor[current])
    return current


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
