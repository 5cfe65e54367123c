from __future__ import annotations

import pandas as pd

from resolver import assign_person_ids, resolve_person_id

SALT = "test-salt"


def _records(clusters: dict[int, list[str]]) -> pd.DataFrame:
    rows = [("s", key, cluster) for cluster, keys in clusters.items() for key in keys]
    return pd.DataFrame(rows, columns=["source", "record_key", "cluster"])


def _graph(records: pd.DataFrame, person_of: dict[int, str]) -> pd.DataFrame:
    return records.assign(person_id=records["cluster"].map(person_of))[
        ["source", "record_key", "person_id"]
    ]


def _run(clusters, previous=None, registry=None, run_id="r"):
    records = _records(clusters)
    result = assign_person_ids(
        records=records, salt=SALT, run_id=run_id, previous=previous, registry=registry
    )
    return result, _graph(records, result.person_of_cluster)


def test_same_inputs_give_identical_ids_and_ids_are_opaque():
    first, graph1 = _run({0: ["a", "b"], 2: ["c"]})
    second, graph2 = _run({0: ["a", "b"], 2: ["c"]}, previous=graph1, registry=first.registry)
    assert graph1.equals(graph2)
    assert second.churn == {"kept": 2, "merged": 0, "split": 0, "new": 0, "retired": 0}
    assert all(len(pid) >= 10 and pid.isalnum() for pid in graph1["person_id"])
    other_salt = assign_person_ids(records=_records({0: ["a"]}), salt="other", run_id="r")
    assert set(other_salt.person_of_cluster.values()).isdisjoint(graph1["person_id"])


def test_merge_keeps_the_oldest_id_and_records_merged_into():
    first, g1 = _run({0: ["a", "b"], 2: ["c", "d"]}, run_id="r1")
    old_a = g1.set_index("record_key").loc["a", "person_id"]
    old_c = g1.set_index("record_key").loc["c", "person_id"]
    second, g2 = _run({0: ["a", "b", "c", "d"]}, previous=g1, registry=first.registry, run_id="r2")
    assert set(g2["person_id"]) == {old_a}  # a was issued first: the oldest
    assert second.churn["merged"] == 1 and second.churn["kept"] == 1
    assert resolve_person_id(second.registry, old_c) == (old_a, "active")


def test_split_keeps_the_id_on_the_largest_part():
    first, g1 = _run({0: ["a", "b", "c", "d", "e"]})
    old = g1["person_id"].iloc[0]
    second, g2 = _run({0: ["a", "b"], 2: ["c", "d", "e"]}, previous=g1, registry=first.registry)
    by_key = g2.set_index("record_key")["person_id"]
    assert by_key["c"] == old and by_key["a"] != old
    assert second.churn == {"kept": 1, "merged": 0, "split": 1, "new": 0, "retired": 0}


def test_new_and_retired_and_merge_chains():
    first, g1 = _run({0: ["a"], 1: ["b"], 2: ["c"]}, run_id="r1")
    ids = g1.set_index("record_key")["person_id"]
    second, g2 = _run({0: ["a", "b"], 3: ["x"]}, previous=g1, registry=first.registry, run_id="r2")
    assert second.churn == {"kept": 1, "merged": 1, "split": 0, "new": 1, "retired": 1}
    third, _ = _run({0: ["a", "b", "x"]}, previous=g2, registry=second.registry, run_id="r3")
    # b merged into a in r2; x merged into a in r3; a chain never dangles
    assert resolve_person_id(third.registry, ids["b"]) == (ids["a"], "active")
    assert resolve_person_id(third.registry, ids["c"]) == (ids["c"], "retired")
    assert resolve_person_id(third.registry, "nope") is None
