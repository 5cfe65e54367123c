"""Why are two records one person, or not?

Uses a run's ``identity_graph`` and ``links`` tables. For records of one
person: the shortest path of accepted edges between them, each with its
rule (a shared identifier or the model) and probability. For records of two
persons: every edge between the two persons that a rule refused, with the
rule's reason (``threshold``, ``conflict``, ``identifier_limit``,
``consent``, ``blocked_value:*``, ``shared_identifier``,
``ambiguous_identifier``), or nothing when no evidence connects them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from resolver.errors import InputError

__all__ = ["Explanation", "explain_records"]

RecordRef = tuple[str, str]


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


@dataclass(frozen=True, kw_only=True, slots=True)
class Explanation:
    """The answer to "why are these two records (not) one person?"."""

    left: RecordRef
    right: RecordRef
    left_person: str
    right_person: str
    same_person: bool
    path: list[dict[str, Any]] = field(default_factory=list)
    """Accepted edges from ``left`` to ``right`` (same person only)."""
    refused: list[dict[str, Any]] = field(default_factory=list)
    """Refused edges between the two persons (different persons only)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        if self.same_person:
            steps = ", ".join(f"{e['rule']} ({e['probability']:.3f})" for e in self.path)
            return (
                f"one person {self.left_person}: linked through {len(self.path)} edge(s): {steps}"
            )
        if not self.refused:
            return (
                f"two persons ({self.left_person}, {self.right_person}): "
                "no evidence connects them (no shared identifier, no model score >= 0.5)"
            )
        reasons = pd.Series([e["decision"] for e in self.refused]).value_counts().to_dict()
        return (
            f"two persons ({self.left_person}, {self.right_person}): links refused: "
            + ", ".join(f"{reason} x{count}" for reason, count in reasons.items())
        )


def _person_of(graph: pd.DataFrame, ref: RecordRef) -> str:
    rows = graph[(graph["source"] == ref[0]) & (graph["record_key"] == ref[1])]
    if rows.empty:
        raise InputError(
            f"record {ref[0]}:{ref[1]} is not in the identity graph "
            "(unknown source or key, or the row was quarantined)",
            source=ref[0],
        )
    return str(rows["person_id"].iloc[0])


def explain_records(
    *, graph: pd.DataFrame, links: pd.DataFrame, left: RecordRef, right: RecordRef
) -> Explanation:
    """Explain the relation of two records in one run."""
    left_person, right_person = _person_of(graph, left), _person_of(graph, right)
    person = dict(
        zip(zip(graph["source"], graph["record_key"], strict=True), graph["person_id"], strict=True)
    )
    lp = [person.get(k) for k in zip(links["left_source"], links["left_key"], strict=True)]
    rp = [person.get(k) for k in zip(links["right_source"], links["right_key"], strict=True)]
    tagged = links.assign(
        left_person=pd.Series(lp, index=links.index, dtype=object),
        right_person=pd.Series(rp, index=links.index, dtype=object),
    )
    if left_person == right_person:
        inside = tagged[
            (tagged["decision"] == "accepted")
            & (tagged["left_person"] == left_person)
            & (tagged["right_person"] == left_person)
        ]
        return Explanation(
            left=left,
            right=right,
            left_person=left_person,
            right_person=right_person,
            same_person=True,
            path=_shortest_path(inside, left, right),
        )
    between = tagged[
        (tagged["decision"] != "accepted")
        & (
            ((tagged["left_person"] == left_person) & (tagged["right_person"] == right_person))
            | ((tagged["left_person"] == right_person) & (tagged["right_person"] == left_person))
        )
    ]
    return Explanation(
        left=left,
        right=right,
        left_person=left_person,
        right_person=right_person,
        same_person=False,
        refused=[_edge(row) for row in _rows(between)],
    )


def _edge(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "from": f"{row['left_source']}:{row['left_key']}",
        "to": f"{row['right_source']}:{row['right_key']}",
        "rule": row["rule"],
        "probability": float(row["probability"]),
        "decision": row["decision"],
    }


def _shortest_path(edges: pd.DataFrame, start: RecordRef, goal: RecordRef) -> list[dict[str, Any]]:
    adjacency: dict[RecordRef, list[tuple[RecordRef, dict[str, Any]]]] = {}
    for row in _rows(edges):
        a, b = (row["left_source"], row["left_key"]), (row["right_source"], row["right_key"])
        adjacency.setdefault(a, []).append((b, row))
        adjacency.setdefault(b, []).append((a, row))
    previous: dict[RecordRef, tuple[RecordRef, dict[str, Any]] | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            break
        for neighbour, row in adjacency.get(node, []):
            if neighbour not in previous:
                previous[neighbour] = (node, row)
                queue.append(neighbour)
    if goal not in previous:
        return []
    path: list[dict[str, Any]] = []
    node = goal
    while (step := previous[node]) is not None:
        node, row = step
        path.append(_edge(row))
    return path[::-1]
