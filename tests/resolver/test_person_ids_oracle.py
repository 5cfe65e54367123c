"""``assign_person_ids`` gives exactly what the per-cluster implementation gave.

The reference below is the implementation before it was vectorised (one
Python step per cluster, one registry scan per merge and per merged id). Runs
are chained: each run's previous graph and registry are the reference's own
outputs of the run before, so merges, splits, retirements and chains of
merges across several runs are all exercised, with the registry stored as
Parquet in between as the nightly batch does.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from hashids import Hashids
from hypothesis import given, settings
from hypothesis import strategies as st

from resolver.person_ids import _encode_numbers, _encoder, assign_person_ids

REGISTRY_COLUMNS = ["person_id", "number", "status", "merged_into", "first_run", "last_run"]


# --- the reference: the implementation as it was -------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class ReferenceAssignment:
    person_of_cluster: dict[int, str]
    registry: pd.DataFrame
    churn: dict[str, int] = field(default_factory=dict)


def reference_assign_person_ids(
    *,
    records: pd.DataFrame,
    salt: str,
    run_id: str,
    previous: pd.DataFrame | None = None,
    registry: pd.DataFrame | None = None,
) -> ReferenceAssignment:
    encoder = Hashids(salt=salt, min_length=10, alphabet="abcdefghijkmnpqrstuvwxyz23456789")
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
    reg = _reference_update_registry(
        reg, active=active, merged=merged, retired=gone, number_of=number_of, run_id=run_id
    )
    return ReferenceAssignment(person_of_cluster=person_of, registry=reg, churn=churn)


def _reference_update_registry(
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
    successor = dict(zip(reg["person_id"], reg["merged_into"], strict=True))
    for pid in reg.loc[reg["status"] == "merged", "person_id"]:
        reg.loc[reg["person_id"] == pid, "merged_into"] = _reference_follow(successor, pid)
    reg.loc[reg["person_id"].isin(retired - set(merged)), "status"] = "retired"
    return reg[REGISTRY_COLUMNS].sort_values("number").reset_index(drop=True)


def _reference_follow(successor: dict[str, str | None], pid: str) -> str:
    seen = {pid}
    current = successor.get(pid) or pid
    while successor.get(current) and current not in seen:
        seen.add(current)
        current = str(successor[current])
    return current


# --- comparing ------------------------------------------------------------------------------


def _same(records, *, salt="s", run_id="r", previous=None, registry=None):
    """Both implementations on the same inputs; they must agree exactly. Returns the reference's."""
    want = reference_assign_person_ids(
        records=records, salt=salt, run_id=run_id, previous=previous, registry=registry
    )
    got = assign_person_ids(
        records=records, salt=salt, run_id=run_id, previous=previous, registry=registry
    )
    assert got.churn == want.churn
    assert list(got.person_of_cluster.items()) == list(want.person_of_cluster.items())
    pd.testing.assert_frame_equal(got.registry, want.registry, check_exact=True)
    return want


def _graph(records: pd.DataFrame, person_of: dict[int, str]) -> pd.DataFrame:
    return records.assign(person_id=records["cluster"].map(person_of))[
        ["source", "record_key", "person_id"]
    ]


def _parquet(frame: pd.DataFrame) -> pd.DataFrame:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return pd.read_parquet(io.BytesIO(buffer.getvalue()))


def _records(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["source", "record_key", "cluster"]).astype(
        {"source": object, "record_key": object, "cluster": np.int64}
    )


# --- properties -----------------------------------------------------------------------------

_SOURCES = st.sampled_from(["crm", "web", "app", "w"])
_KEYS = st.text(alphabet="ab1\x1f", min_size=0, max_size=3)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[pd.DataFrame], bool]:
    """Several runs over a shared pool of records: each keeps, drops and adds records and
    clusters them at random (so clusters merge, split, appear and vanish between runs)."""
    pool = draw(
        st.lists(st.tuples(_SOURCES, _KEYS), min_size=0, max_size=30, unique=True),
    )
    runs = []
    for _ in range(draw(st.integers(1, 5))):
        if pool:
            present = draw(st.lists(st.booleans(), min_size=len(pool), max_size=len(pool)))
            labels = draw(
                st.lists(
                    st.integers(-3, 8) | st.integers(0, 10**12),
                    min_size=len(pool),
                    max_size=len(pool),
                )
            )
        else:
            present, labels = [], []
        rows = [(s, k, c) for (s, k), p, c in zip(pool, present, labels, strict=True) if p]
        if rows and draw(st.booleans()):
            rows.append(draw(st.sampled_from(rows)))  # the same record twice
        runs.append(_records(rows))
    return runs, draw(st.booleans())


@settings(max_examples=150, deadline=None)
@given(histories(), st.sampled_from(["s", "", "workspace-salt"]))
def test_chained_runs_match_the_reference(history, salt) -> None:
    runs, through_parquet = history
    previous = registry = None
    for number, records in enumerate(runs):
        want = _same(records, salt=salt, run_id=f"r{number}", previous=previous, registry=registry)
        previous = _graph(records, want.person_of_cluster)
        registry = want.registry
        if through_parquet and len(registry):
            previous, registry = _parquet(previous), _parquet(registry)


def test_edge_cases_match_the_reference() -> None:
    empty = _records([])
    _same(empty)
    first = _same(_records([("s", "a", 0), ("s", "b", 1)]), run_id="r1")
    graph = _graph(_records([("s", "a", 0), ("s", "b", 1)]), first.person_of_cluster)
    # every record gone: both persons retire
    _same(empty, previous=graph, registry=first.registry, run_id="r2")
    # a registry with no previous graph, and the same records again
    _same(_records([("s", "a", 0)]), registry=first.registry, run_id="r2")
    again = _same(_records([("s", "a", 0), ("s", "b", 1)]), previous=graph, registry=first.registry)
    assert again.churn["kept"] == 2


def test_long_merge_chains_match_the_reference() -> None:
    """Ten runs, each merging the surviving person into an older one: every id ever merged
    must point at the one live person."""
    keys = [f"k{i:02d}" for i in range(12)]
    runs = [_records([("s", k, i) for i, k in enumerate(keys)])]
    for step in range(1, 11):
        runs.append(_records([("s", k, min(i, 10 - step + 1) * 3) for i, k in enumerate(keys)]))
    previous = registry = None
    for number, records in enumerate(runs):
        want = _same(records, run_id=f"r{number}", previous=previous, registry=registry)
        previous, registry = _graph(records, want.person_of_cluster), want.registry
    assert registry is not None
    live = registry.loc[registry["status"] == "active", "person_id"].tolist()
    merged = registry[registry["status"] == "merged"]
    assert len(merged) == 10 and set(merged["merged_into"]) <= set(live)


def test_cycles_in_a_damaged_registry_match_the_reference() -> None:
    """A registry no run writes (ids merged into each other) takes the per-id path; same answer."""
    pids = _encode_numbers("s", np.arange(1, 6))
    registry = pd.DataFrame(
        {
            "person_id": pids,
            "number": np.arange(1, 6, dtype=np.int64),
            "status": ["active", "merged", "merged", "merged", "merged"],
            "merged_into": [None, pids[2], pids[1], pids[4], pids[0]],
            "first_run": "r0",
            "last_run": "r0",
        }
    )
    previous = pd.DataFrame({"source": ["s"], "record_key": ["a"], "person_id": [pids[0]]})
    _same(_records([("s", "a", 0), ("s", "b", 1)]), previous=previous, registry=registry)


def test_a_previous_id_missing_from_the_registry_fails_like_the_reference() -> None:
    previous = pd.DataFrame({"source": ["s"], "record_key": ["a"], "person_id": ["zz"]})
    records = _records([("s", "a", 0)])
    with pytest.raises(KeyError):
        reference_assign_person_ids(records=records, salt="s", run_id="r", previous=previous)
    with pytest.raises(KeyError):
        assign_person_ids(records=records, salt="s", run_id="r", previous=previous)


# --- the batch Hashids encoder --------------------------------------------------------------


@pytest.mark.parametrize("salt", ["", "s", "test-salt", "ünïcode salt ✓", "x" * 64])
def test_batch_encoding_is_hashids_for_every_layout(salt: str) -> None:
    """Every ``n % 100`` and every digit count up to 13 (all int64 numbers) is one layout."""
    encoder = _encoder(salt)
    base = len(encoder._alphabet)
    numbers = list(range(2_000))
    for digits in range(2, 14):
        low = base ** (digits - 1)
        numbers += [low + r for r in range(100)] + [low * base - 1 - r for r in range(100)]
    numbers = [n for n in numbers if n < 2**63]
    got = _encode_numbers(salt, np.array(numbers, dtype=np.int64))
    assert got == [encoder.encode(n) for n in numbers]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**63 - 1), max_size=50), st.text(max_size=8))
def test_batch_encoding_matches_hashids(numbers, salt) -> None:
    encoder = _encoder(salt)
    got = _encode_numbers(salt, np.array(numbers, dtype=np.int64))
    assert got == [encoder.encode(n) for n in numbers]
