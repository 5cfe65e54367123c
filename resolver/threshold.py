"""Choosing the linking threshold from labels.

``sweep_thresholds`` re-clusters a run at several thresholds from the scores
it stored (``predictions.parquet`` keeps pairs down to 0.01), with the same
guard-rails, stitching and consent gate as the run, and scores each
identity graph against labels as ``tether evaluate`` does. The
recommendation is the threshold with the best pairwise F1 among those
whose precision reaches a floor you set: a bank that cannot afford to merge
two customers raises the floor, a retargeting team that wants reach lowers
it. When no threshold reaches the floor, the most precise one is named,
with the reason.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from resolver.evaluate import evaluate_graph
from resolver.link import cluster_linked, prepare_linking
from resolver.options import LinkingOptions

__all__ = ["DEFAULT_THRESHOLDS", "ThresholdSweep", "recommend_threshold", "sweep_thresholds"]

#: Thresholds tried by default: dense where match probabilities crowd (near 1).
DEFAULT_THRESHOLDS: tuple[float, ...] = (
    0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999,
)  # fmt: skip


@dataclass(frozen=True, kw_only=True, slots=True)
class ThresholdSweep:
    """Scores per threshold and the recommendation."""

    scores: pd.DataFrame
    """``threshold, precision, recall, f1, persons, customer_false_merges``."""
    min_precision: float
    recommended: float
    reason: str
    current: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "min_precision": self.min_precision,
            "current_threshold": self.current,
            "recommended_threshold": self.recommended,
            "reason": self.reason,
            "thresholds": self.scores.to_dict(orient="records"),
        }


def recommend_threshold(scores: pd.DataFrame, *, min_precision: float) -> tuple[float, str]:
    """The best-F1 threshold with precision >= ``min_precision`` (ties: the higher threshold).

    Examples:
        >>> s = pd.DataFrame({"threshold": [0.5, 0.9, 0.99], "precision": [0.95, 0.99, 1.0],
        ...                   "recall": [0.95, 0.9, 0.8], "f1": [0.95, 0.943, 0.889]})
        >>> recommend_threshold(s, min_precision=0.98)[0]
        0.9
    """
    ok = scores[scores["precision"] >= min_precision]
    if len(ok):
        best = ok.sort_values(["f1", "threshold"], ascending=[False, False]).iloc[0]
        return float(best["threshold"]), (
            f"best F1 ({best['f1']:.4f}) with precision >= {min_precision} "
            f"(precision {best['precision']:.4f}, recall {best['recall']:.4f})"
        )
    best = scores.sort_values(["precision", "threshold"], ascending=[False, False]).iloc[0]
    return float(best["threshold"]), (
        f"no threshold reaches precision {min_precision}; the most precise is "
        f"{best['threshold']} (precision {best['precision']:.4f}): the errors are not the "
        "model's threshold (see `tether why` on a false merge)"
    )


def sweep_thresholds(
    *,
    touchpoints: pd.DataFrame,
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    options: LinkingOptions,
    may_link: np.ndarray | None = None,
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS,
    min_precision: float = 0.99,
) -> ThresholdSweep:
    """Precision, recall and F1 of the run's clustering at each threshold.

    Args:
        touchpoints: the run's ``touchpoints.parquet``.
        predictions: the run's ``predictions.parquet`` (``left, right, probability``).
        labels: ``source, record_key, true_id`` (``resolver.read_labels``).
        options: the run's linking options (guards, stitching); the threshold varies.
        may_link: the run's linking gate per record (``identity_graph.may_link``).
        thresholds: thresholds to try.
        min_precision: the precision floor of the recommendation.
    """
    con = duckdb.connect()
    prepared = prepare_linking(touchpoints, options=options, con=con)
    con.close()
    graph = touchpoints[["source", "record_key", "kind"]].copy()
    rows = []
    for threshold in sorted(set(thresholds)):
        at = dataclasses.replace(options, threshold=threshold)
        clustered = cluster_linked(
            touchpoints,
            deterministic=prepared.edges,
            predictions=predictions,
            junk=prepared.junk,
            options=at,
            may_link=may_link,
            fragment=prepared.fragment,
        )
        graph["person_id"] = clustered.labels.astype(str)
        scores = evaluate_graph(graph=graph, labels=labels)
        rows.append(
            {
                "threshold": threshold,
                "precision": scores.pairwise_precision,
                "recall": scores.pairwise_recall,
                "f1": scores.pairwise_f1,
                "persons": int(len(np.unique(clustered.labels))),
                "customer_false_merges": scores.customer_false_merges,
            }
        )
    table = pd.DataFrame(rows)
    recommended, reason = recommend_threshold(table, min_precision=min_precision)
    return ThresholdSweep(
        scores=table,
        min_precision=min_precision,
        recommended=recommended,
        reason=reason,
        current=options.threshold,
    )
