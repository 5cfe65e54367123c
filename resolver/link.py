"""Link touchpoints: deterministic edges, the probabilistic model, clustering.

``link_touchpoints`` is the whole of linking for one run:

1. deterministic edges on shared identifiers, through the guard-rails
   (``resolver.edges``);
2. *fragments*: what those edges alone connect;
3. the model input: one row per distinct person signature per fragment, for
   records that carry person evidence (names, date of birth, postcode);
4. Splink predictions between those rows (pairs inside one fragment are
   dropped: they are linked already);
5. the constrained greedy clustering of all edges (``resolver.cluster``).

``train_on_touchpoints`` trains the model on the same model input.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from splink import DuckDBAPI, Linker

from resolver.cluster import ACCEPTED, ClusterResult, cluster_records
from resolver.compare import TRANSLITERATED
from resolver.edges import EDGE_COLUMNS, RANKS, deterministic_edges
from resolver.model import MODEL_COLUMNS, TrainedModel, train_model
from resolver.options import LinkingOptions
from resolver.progress import NULL_PROGRESS, Progress
from resolver.stitch import STITCH_RULE, stitch_edges

__all__ = ["LinkResult", "link_touchpoints", "prepare_linking", "train_on_touchpoints"]

logger = logging.getLogger(__name__)

#: Predictions below this probability are not kept (they can be re-scored on demand).
PREDICTION_FLOOR = 0.5


@dataclass(frozen=True, kw_only=True, slots=True)
class PreparedLinking:
    """Deterministic part of linking, shared by training and linking."""

    edges: pd.DataFrame
    junk: pd.DataFrame
    fragment: np.ndarray
    model_input: pd.DataFrame


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkResult:
    """Everything linking decided, for the graph, the report and explanations."""

    cluster: np.ndarray
    """Cluster label per record id (the smallest record id in the cluster)."""
    edges: pd.DataFrame
    """Every edge considered: ``left, right, rule, rank, probability, reason, decision``."""
    predictions: pd.DataFrame
    """Model scores kept (``left, right, probability, match_weight``), p >= 0.5."""
    junk: pd.DataFrame
    """Identifier values the guard-rails refused (kind, value, reason, customers)."""
    stats: dict[str, Any] = field(default_factory=dict)


def prepare_linking(
    touchpoints: pd.DataFrame, *, options: LinkingOptions, con: duckdb.DuckDBPyConnection
) -> PreparedLinking:
    """Deterministic edges, fragments and the model input."""
    con.register("tp", touchpoints)
    edges, junk = deterministic_edges(con, options=options)
    accepted = edges[edges["reason"].isna()]
    fragment = _components(len(touchpoints), accepted["left"], accepted["right"])
    con.register(
        "fragments", pd.DataFrame({"record_id": np.arange(len(touchpoints)), "fragment": fragment})
    )
    con.register("junk_values", junk)
    model_input = con.sql(
        """
        WITH base AS (
            SELECT t.record_id, f.fragment, t.first_latin, t.last_latin, t.first_skeleton,
                   t.last_skeleton, t.first_translit, t.last_translit, t.first_forms, t.dob,
                   t.postcode, t.city, t.address,
                   t.national_id,
                   CASE WHEN je.value IS NULL THEN t.email_folded END AS email_folded,
                   CASE WHEN jp.value IS NULL THEN t.phone END AS phone
            FROM tp t
            JOIN fragments f USING (record_id)
            LEFT JOIN (SELECT value FROM junk_values WHERE kind = 'email') je
                   ON t.email_folded = je.value
            LEFT JOIN (SELECT value FROM junk_values WHERE kind = 'phone') jp
                   ON t.phone = jp.value
            WHERE t.first_latin IS NOT NULL OR t.last_latin IS NOT NULL
               OR t.dob IS NOT NULL OR t.postcode IS NOT NULL OR t.national_id IS NOT NULL
        )
        SELECT min(record_id) AS unique_id, any_value(fragment) AS fragment,
               first_latin, last_latin, any_value(first_skeleton) AS first_skeleton,
               any_value(last_skeleton) AS last_skeleton, any_value(first_forms) AS first_forms,
               coalesce(bool_or(first_translit), false) AS first_translit,
               coalesce(bool_or(last_translit), false) AS last_translit,
               dob, postcode, city, address, email_folded, phone, national_id
        FROM base
        GROUP BY fragment, first_latin, last_latin, dob, postcode, city, address, email_folded,
                 phone, national_id
        ORDER BY unique_id
        """
    ).df()
    con.unregister("fragments")
    con.unregister("junk_values")
    return PreparedLinking(edges=edges, junk=junk, fragment=fragment, model_input=model_input)


def train_on_touchpoints(
    touchpoints: pd.DataFrame, *, options: LinkingOptions, progress: Progress = NULL_PROGRESS
) -> TrainedModel:
    """Train the linkage model on a touchpoints table (see ``resolver.model``)."""
    progress.start("train")
    con = duckdb.connect()
    prepared = prepare_linking(touchpoints, options=options, con=con)
    model = train_model(prepared.model_input[["unique_id", *MODEL_COLUMNS]], options=options)
    progress.finish("train", rows=len(prepared.model_input))
    return model


def link_touchpoints(
    touchpoints: pd.DataFrame,
    *,
    model: TrainedModel,
    options: LinkingOptions,
    may_link: np.ndarray | None = None,
    progress: Progress = NULL_PROGRESS,
) -> LinkResult:
    """Link and cluster touchpoints.

    Args:
        touchpoints: the ingest output (``record_id`` = row number).
        model: the trained linkage model.
        options: threshold, identifier limits, guard-rails.
        may_link: per record, whether its consent subject allows identity
            linking (SPEC §5); all ``True`` when not given. The resolver does
            not know about consent: the pipeline computes this flag.
        progress: step reporting.
    """
    n = len(touchpoints)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    progress.start("link:deterministic", total=n)
    con = duckdb.connect()
    prepared = prepare_linking(touchpoints, options=options, con=con)
    timings["deterministic"] = time.perf_counter() - started
    progress.finish("link:deterministic", rows=len(prepared.edges))

    started = time.perf_counter()
    progress.start("link:predict", total=len(prepared.model_input))
    predictions = _predict(
        prepared.model_input, model=model, floor=min(PREDICTION_FLOOR, options.threshold)
    )
    frag = prepared.fragment
    if len(predictions):
        same = frag[predictions["left"].to_numpy()] == frag[predictions["right"].to_numpy()]
        predictions = predictions[~same].reset_index(drop=True)
    timings["predict"] = time.perf_counter() - started
    progress.finish("link:predict", rows=len(predictions))

    started = time.perf_counter()
    progress.start("link:cluster", total=n)
    model_edges = pd.DataFrame(
        {
            "left": predictions["left"],
            "right": predictions["right"],
            "rule": "splink",
            "rank": RANKS["splink"],
            "probability": predictions["probability"],
            "reason": [
                None if p >= options.threshold else "threshold" for p in predictions["probability"]
            ],
        }
    )
    edges = pd.concat([prepared.edges, model_edges], ignore_index=True)[EDGE_COLUMNS]
    customer = pd.factorize(touchpoints["customer_id"], use_na_sentinel=True)[0]
    subject = pd.factorize(
        touchpoints["subject_type"].astype(str) + ":" + touchpoints["subject_id"].astype(str)
    )[0]
    flags = np.ones(n, dtype=bool) if may_link is None else np.asarray(may_link, dtype=bool)
    guard_names = _guard_names(touchpoints) if "first_name" in options.conflict_guard else None
    guard_dobs = (
        touchpoints["dob"].reset_index(drop=True) if "dob" in options.conflict_guard else None
    )

    def cluster(all_edges: pd.DataFrame) -> ClusterResult:
        return cluster_records(
            n_records=n,
            edges=all_edges,
            customer=customer,
            subject=subject,
            may_link=flags,
            max_customer_ids=options.max_customer_ids,
            first_names=guard_names,
            dobs=guard_dobs,
        )

    clustered = cluster(edges)
    if options.stitch_browsers:
        # Second pass: anonymous clusters join the one person sharing their browser.
        stitched = stitch_edges(
            touchpoints, cluster=clustered.labels, max_persons_per_ip=options.max_persons_per_ip
        )
        if len(stitched):
            edges = pd.concat([edges, stitched[EDGE_COLUMNS]], ignore_index=True)
            clustered = cluster(edges)
    edges["decision"] = clustered.decisions
    timings["cluster"] = time.perf_counter() - started
    progress.finish("link:cluster", rows=n)

    decisions = edges["decision"].value_counts().to_dict()
    stats = {
        "records": n,
        "model_input_rows": len(prepared.model_input),
        "deterministic_edges": len(prepared.edges),
        "model_edges": len(model_edges),
        "edges_by_decision": {str(k): int(v) for k, v in decisions.items()},
        "identifier_limit_splits": int((edges["decision"] == "identifier_limit").sum()),
        "consent_refusals": int((edges["decision"] == "consent").sum()),
        "conflict_refusals": int((edges["decision"] == "conflict").sum()),
        "stitched_browsers": int(
            ((edges["rule"] == STITCH_RULE) & (edges["decision"] == ACCEPTED)).sum()
        ),
        "clusters": int(len(np.unique(clustered.labels))),
        "seconds": {k: round(v, 3) for k, v in timings.items()},
    }
    logger.info(
        "linked records=%d clusters=%d accepted_edges=%d",
        n,
        stats["clusters"],
        int(decisions.get(ACCEPTED, 0)),
    )
    return LinkResult(
        cluster=clustered.labels,
        edges=edges,
        predictions=predictions,
        junk=prepared.junk,
        stats=stats,
    )


def _guard_names(touchpoints: pd.DataFrame) -> pd.Series:
    """First names as the conflict guard compares them (``compare.mark_script``)."""
    latin = touchpoints["first_latin"].reset_index(drop=True)
    translit = touchpoints["first_translit"].reset_index(drop=True).eq(True)
    marked = latin.where(~translit | latin.isna(), TRANSLITERATED + latin.astype(str))
    return marked


def _components(n: int, left: pd.Series, right: pd.Series) -> np.ndarray:
    graph = coo_matrix(
        (np.ones(len(left), dtype=np.int8), (left.to_numpy(np.int64), right.to_numpy(np.int64))),
        shape=(n, n),
    )
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


def _predict(model_input: pd.DataFrame, *, model: TrainedModel, floor: float) -> pd.DataFrame:
    """Score the blocked pairs of the model input with the trained model."""
    empty = pd.DataFrame(
        {"left": pd.Series(dtype=np.int64), "right": pd.Series(dtype=np.int64),
         "probability": pd.Series(dtype=float), "match_weight": pd.Series(dtype=float)}
    )  # fmt: skip
    if len(model_input) < 2:
        return empty
    db_api = DuckDBAPI()
    sdf = db_api.register(
        model_input[["unique_id", *MODEL_COLUMNS]], dataset_display_name="touchpoints"
    )
    settings = dict(model.settings)
    linker = Linker(sdf, settings, log_level=None)
    scored = linker.inference.predict(threshold_match_probability=floor)
    frame: pd.DataFrame = (
        scored.as_duckdbpyrelation()
        .select(
            "unique_id_l AS left, unique_id_r AS right, match_probability AS probability, match_weight"
        )
        .df()
    )
    if frame.empty:
        return empty
    return frame.sort_values(["left", "right"], kind="stable").reset_index(drop=True)
