"""Evaluate an identity graph against labels (``source,record_key,true_id``).

Pairwise scores count record pairs placed in one person; cluster scores count
persons recovered exactly, plus B-cubed precision and recall (per record, the
share of its predicted cluster that is truly its person, and vice versa).
``customer_false_merges`` counts predicted persons that contain two different
true persons who are both customers: the error a bank cannot afford.
``unconsented_records_linked`` counts records whose subject had no
``identity_linking`` consent but whose person holds a record of another
subject: the linking gate (SPEC §5) says it must be 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from resolver.errors import LabelsError

__all__ = ["Evaluation", "evaluate_graph", "gate_violations", "read_labels"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Evaluation:
    """Scores of one identity graph against labels."""

    records_labelled: int
    records_evaluated: int
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    cluster_precision: float
    """Share of predicted persons that are exactly one true person."""
    cluster_recall: float
    """Share of true persons recovered exactly as one predicted person."""
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    predicted_persons: int
    true_persons: int
    customer_false_merges: int
    """Predicted persons holding two or more true persons who are customers."""
    unconsented_records_linked: int | None = None
    """Records without linking consent in a person with another subject (None: not recorded)."""
    gated_pairwise_precision: float | None = None
    """Pairwise scores against what the linking gate allows: the labels, except that
    a record without linking consent is its own subject's person."""
    gated_pairwise_recall: float | None = None
    gated_pairwise_f1: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_labels(path: Path) -> pd.DataFrame:
    """Read a labels CSV; ``LabelsError`` names what is wrong."""
    try:
        labels = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except FileNotFoundError as exc:
        raise LabelsError(f"labels file {path} does not exist", path=str(path)) from exc
    missing = [c for c in ("source", "record_key", "true_id") if c not in labels.columns]
    if missing:
        raise LabelsError(
            f"labels file {path} lacks column(s) {', '.join(missing)}; "
            "expected a CSV with source,record_key,true_id",
            path=str(path),
            columns=missing,
        )
    bad = labels[["source", "record_key", "true_id"]].isna().any(axis=1)
    if bad.any():
        rows = (np.flatnonzero(bad.to_numpy()) + 2).tolist()[:10]
        raise LabelsError(
            f"labels file {path}: empty source, record_key or true_id on line(s) {rows}",
            path=str(path),
            lines=rows,
        )
    dup = labels.duplicated(["source", "record_key"])
    if dup.any():
        rows = (np.flatnonzero(dup.to_numpy()) + 2).tolist()[:10]
        raise LabelsError(
            f"labels file {path}: record labelled twice on line(s) {rows}",
            path=str(path),
            lines=rows,
        )
    return labels[["source", "record_key", "true_id"]]


def _pairs(counts: pd.Series) -> int:
    values = counts.to_numpy(dtype=np.int64)
    return int((values * (values - 1) // 2).sum())


def evaluate_graph(
    *, graph: pd.DataFrame, labels: pd.DataFrame, customer_sources: set[str] | None = None
) -> Evaluation:
    """Score ``graph`` (``source, record_key, person_id``) against ``labels``.

    Only records present in both are scored. ``customer_sources`` names the
    sources of kind ``customers``: a true person with a record there is a
    customer (default: the graph's ``kind`` column, if present).
    """
    joined = graph.merge(labels, on=["source", "record_key"], how="inner")
    if joined.empty:
        raise LabelsError(
            "no labelled record is in the identity graph: do the labels' source names "
            "match the configured sources?"
        )
    cells = joined.groupby(["person_id", "true_id"]).size()
    predicted = joined.groupby("person_id").size()
    truth = joined.groupby("true_id").size()
    correct, predicted_pairs, true_pairs = _pairs(cells), _pairs(predicted), _pairs(truth)
    precision, recall, f1 = _scores(correct, predicted_pairs, true_pairs)
    gated: tuple[float, float, float] | None = None
    if "may_link" in joined:
        # What the gate allows: a record without linking consent is its subject's own person.
        own = ~joined["may_link"].astype(bool)
        allowed_truth = (
            joined["true_id"]
            .astype(str)
            .where(
                ~own,
                "gate:"
                + joined["subject_type"].astype(str)
                + ":"
                + joined["subject_id"].astype(str),
            )
        )
        allowed_cells = joined.groupby([joined["person_id"], allowed_truth]).size()
        gated = _scores(
            _pairs(allowed_cells), predicted_pairs, _pairs(allowed_truth.value_counts())
        )

    cell = cells.rename("n").reset_index()
    cell["p_size"] = cell["person_id"].map(predicted)
    cell["t_size"] = cell["true_id"].map(truth)
    n = len(joined)
    b_precision = float((cell["n"] ** 2 / cell["p_size"]).sum() / n)
    b_recall = float((cell["n"] ** 2 / cell["t_size"]).sum() / n)
    b_f1 = 2 * b_precision * b_recall / (b_precision + b_recall)
    exact = cell[(cell["n"] == cell["p_size"]) & (cell["n"] == cell["t_size"])]

    if customer_sources is None:
        customer_sources = (
            set(joined.loc[joined["kind"] == "customers", "source"]) if "kind" in joined else set()
        )
    customer_truth = set(joined.loc[joined["source"].isin(customer_sources), "true_id"])
    per_person = (
        joined[joined["true_id"].isin(customer_truth)].groupby("person_id")["true_id"].nunique()
    )
    return Evaluation(
        records_labelled=len(labels),
        records_evaluated=n,
        pairwise_precision=round(precision, 6),
        pairwise_recall=round(recall, 6),
        pairwise_f1=round(f1, 6),
        true_pairs=true_pairs,
        predicted_pairs=predicted_pairs,
        correct_pairs=correct,
        cluster_precision=round(len(exact) / len(predicted), 6),
        cluster_recall=round(len(exact) / len(truth), 6),
        bcubed_precision=round(b_precision, 6),
        bcubed_recall=round(b_recall, 6),
        bcubed_f1=round(b_f1, 6),
        predicted_persons=int(len(predicted)),
        true_persons=int(len(truth)),
        customer_false_merges=int((per_person > 1).sum()),
        unconsented_records_linked=gate_violations(graph),
        gated_pairwise_precision=None if gated is None else round(gated[0], 6),
        gated_pairwise_recall=None if gated is None else round(gated[1], 6),
        gated_pairwise_f1=None if gated is None else round(gated[2], 6),
    )


def _scores(correct: int, predicted_pairs: int, true_pairs: int) -> tuple[float, float, float]:
    precision = correct / predicted_pairs if predicted_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def gate_violations(graph: pd.DataFrame) -> int | None:
    """Records with ``may_link`` false whose person holds a record of another subject.

    Every record of the graph counts, labelled or not. ``None`` when the graph
    has no ``may_link`` column (it was built without the linking gate).
    """
    if "may_link" not in graph:
        return None
    subject = graph["subject_type"].astype(str) + ":" + graph["subject_id"].astype(str)
    subjects_per_person = subject.groupby(graph["person_id"]).nunique()
    mixed = graph["person_id"].map(subjects_per_person) > 1
    return int((mixed & ~graph["may_link"].astype(bool)).sum())
