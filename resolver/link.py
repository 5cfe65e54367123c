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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from resolver.ambiguity import AMBIGUOUS, ambiguous_model_edges, namesake_model_edges
from resolver.blocking import BlockingPlan, plan_blocking
from resolver.cluster import ACCEPTED, CONTACT_RULES, GuardedUnion, graph_trusts_dobs
from resolver.edges import EDGE_COLUMNS, RANKS, deterministic_edges
from resolver.frames import RecordRows, columns_of, no_rows, record_count
from resolver.model import (
    MODEL_COLUMNS,
    TrainedModel,
    close_duckdb,
    present_columns,
    train_model,
)
from resolver.options import LinkingOptions, SparkOptions
from resolver.progress import NULL_PROGRESS, Progress
from resolver.stitch import STITCH_COLUMNS, STITCH_RULE, stitch_edges

__all__ = [
    "CLUSTER_LINKED_COLUMNS",
    "Clustered",
    "LINK_COLUMNS",
    "LinkResult",
    "PreparedLinking",
    "MODEL_INPUT_SQL",
    "GuardedFields",
    "cluster_linked",
    "link_result",
    "link_touchpoints",
    "model_edge_table",
    "predict_pairs",
    "prepare_linking",
    "train_on_touchpoints",
    "union_edges",
]

logger = logging.getLogger(__name__)

#: Model edges below this probability are not clustering candidates (``links.parquet``).
PREDICTION_FLOOR = 0.5
#: Scores kept in ``predictions.parquet``: low enough for ``tether evaluate`` to
#: sweep thresholds and for clerical review to sample below the threshold.
SCORE_FLOOR = 0.01


#: Touchpoint columns ``prepare_linking`` reads (deterministic edges and the model input).
LINK_COLUMNS = (
    "record_id", "kind", "customer_id", "cookie_id", "device_id", "ad_id", "email_folded",
    "phone", "first_name", "last_name", "first_latin", "last_latin", "first_skeleton",
    "last_skeleton", "first_translit", "last_translit", "first_forms", "first_canon", "dob",
    "gender", "postcode", "city", "address", "national_id",
)  # fmt: skip

#: The columns ``union_edges`` reads: the guard's and the ambiguity rule's
#: (``resolver.ambiguity``).
_UNION_EDGE_COLUMNS = (
    "first_name", "dob", "generation", "email_folded", "phone", "first_latin", "last_latin",
    "first_canon", "last_skeleton", "city", "postcode", "address", "national_id",
)  # fmt: skip
#: The columns the guarded union reads besides: customers, consent subjects, surnames.
_UNION_COLUMNS = ("customer_id", "kind", "subject_type", "subject_id", "last_name")

#: Touchpoint columns ``cluster_linked`` reads: the guard-rails, the ambiguity rule and
#: browser stitching (``resolver.stitch``). Handed a function that reads columns
#: (``resolver.frames.RecordRows``, a run), each phase asks for its own.
CLUSTER_LINKED_COLUMNS = tuple(
    dict.fromkeys((*_UNION_EDGE_COLUMNS, *_UNION_COLUMNS, *STITCH_COLUMNS))
)

#: The model input: one row per distinct person signature per fragment, over the
#: views ``tp`` (touchpoints), ``fragments`` and ``junk_values``. DuckDB's dialect;
#: the Spark engine runs this same query (``resolver.spark.sql``).
MODEL_INPUT_SQL = """
        WITH base AS (
            SELECT t.record_id, f.fragment, t.first_latin, t.last_latin, t.first_skeleton,
                   t.last_skeleton, t.first_translit, t.last_translit, t.first_forms,
                   t.first_canon, t.dob, t.gender, t.postcode, t.city, t.address,
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
               any_value(first_canon) AS first_canon,
               coalesce(bool_or(first_translit), false) AS first_translit,
               coalesce(bool_or(last_translit), false) AS last_translit,
               dob, gender, postcode, city, address, email_folded, phone, national_id
        FROM base
        GROUP BY fragment, first_latin, last_latin, dob, gender, postcode, city, address,
                 email_folded, phone, national_id
        ORDER BY unique_id
        """


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
    touchpoints: pd.DataFrame | None,
    *,
    options: LinkingOptions,
    con: duckdb.DuckDBPyConnection,
    spark: SparkOptions | None = None,
    source: Path | None = None,
) -> PreparedLinking:
    """Deterministic edges, fragments and the model input.

    The touchpoints are ``touchpoints`` (``LINK_COLUMNS``, row ``i`` is record ``i``), or,
    when that is ``None``, the Parquet file ``source`` (the run's ``touchpoints.parquet``),
    which DuckDB reads itself: the frame is never built (at 10 M touchpoints 2.2 GiB of
    Python strings, with DuckDB's own copy beside it, issue #14). With ``options.engine ==
    "spark"`` they are computed on the Spark session ``spark`` describes (``con`` is not
    used), reading the touchpoints from ``source`` when given; Spark is handed the frame
    too, for what it reads beside the file.
    """
    if options.engine == "spark":
        from resolver.spark.link import prepare_on_spark

        if touchpoints is None:
            raise TypeError("the Spark engine is handed the touchpoints frame")
        return prepare_on_spark(
            touchpoints, options=options, spark=spark or SparkOptions(), source=source
        )
    # One copy into DuckDB's own storage: a registered pandas frame of Python
    # strings is converted again on every scan, and linking scans it a dozen times.
    if touchpoints is None:
        if source is None:
            raise TypeError("prepare_linking needs the touchpoints or their Parquet file")
        parquet = "read_parquet('" + str(source).replace("'", "''") + "')"
        written = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {parquet}").fetchall()}
        listed = ", ".join(f'"{c}"' for c in LINK_COLUMNS if c in written)
        con.execute(f"CREATE OR REPLACE TABLE tp AS SELECT {listed} FROM {parquet}")
    else:
        con.register("tp_frame", touchpoints[[c for c in LINK_COLUMNS if c in touchpoints.columns]])
        con.execute("CREATE OR REPLACE TABLE tp AS SELECT * FROM tp_frame")
        con.unregister("tp_frame")
    ((records,),) = con.execute("SELECT count(*) FROM tp").fetchall()
    edges, junk = deterministic_edges(con, options=options)
    accepted = edges[edges["reason"].isna()]
    fragment = _components(int(records), accepted["left"], accepted["right"])
    con.register(
        "fragments", pd.DataFrame({"record_id": np.arange(int(records)), "fragment": fragment})
    )
    con.register("junk_values", junk)
    model_input = _arrow_frame(con.sql(MODEL_INPUT_SQL))
    con.unregister("fragments")
    con.unregister("junk_values")
    con.execute("DROP TABLE tp")  # the caller's connection: DuckDB's copy goes now
    return PreparedLinking(edges=edges, junk=junk, fragment=fragment, model_input=model_input)


def _arrow_frame(relation: duckdb.DuckDBPyRelation) -> pd.DataFrame:
    """A DuckDB result as pandas, its text and lists kept as Arrow (``pd.ArrowDtype``): as
    Python objects the model input, held from training through scoring, took about four
    times the memory (issue #14). DuckDB and Splink read either alike."""
    table = relation.arrow()
    if isinstance(table, pa.RecordBatchReader):
        table = table.read_all()

    def arrow(kind: pa.DataType) -> pd.ArrowDtype | None:
        listed = pa.types.is_list(kind) or pa.types.is_large_list(kind)
        text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        return pd.ArrowDtype(kind) if listed or text else None

    frame: pd.DataFrame = table.to_pandas(types_mapper=arrow)
    return frame


def train_on_touchpoints(
    touchpoints: pd.DataFrame | None,
    *,
    options: LinkingOptions,
    progress: Progress = NULL_PROGRESS,
    prepared: PreparedLinking | None = None,
    spark: SparkOptions | None = None,
    source: Path | None = None,
) -> TrainedModel:
    """Train the linkage model on a touchpoints table (see ``resolver.model``).

    ``prepared`` (``prepare_linking`` of the same touchpoints) saves redoing the
    deterministic part when the caller links right after; ``touchpoints`` is then not read
    and may be ``None``. With
    ``options.engine == "spark"`` Splink trains on the Spark session ``spark``
    describes (``source``: the touchpoints as Parquet, as ``prepare_linking``).
    """
    progress.start("train")
    if prepared is None:
        if touchpoints is None:
            raise TypeError("train_on_touchpoints needs the touchpoints or prepared linking")
        prepared = prepare_linking(
            touchpoints, options=options, con=duckdb.connect(), spark=spark, source=source
        )
    if options.engine == "spark":
        from resolver.spark.link import train_on_spark

        model = train_on_spark(prepared.model_input, options=options, spark=spark or SparkOptions())
    else:
        model = train_model(prepared.model_input, options=options)
    progress.finish("train", rows=len(prepared.model_input))
    return model


def link_touchpoints(
    touchpoints: RecordRows,
    *,
    model: TrainedModel,
    options: LinkingOptions,
    may_link: np.ndarray | None = None,
    progress: Progress = NULL_PROGRESS,
    prepared: PreparedLinking | None = None,
    spark: SparkOptions | None = None,
    source: Path | None = None,
) -> LinkResult:
    """Link and cluster touchpoints.

    Args:
        touchpoints: the ingest output (``record_id`` = row number), or on DuckDB a function
            reading its columns (``resolver.frames.RecordRows``): each phase of linking
            reads its own, and none is held while Splink scores.
        model: the trained linkage model.
        options: threshold, identifier limits, guard-rails.
        may_link: per record, whether its consent subject allows identity
            linking (SPEC §5); all ``True`` when not given. The resolver does
            not know about consent: the pipeline computes this flag.
        progress: step reporting.
        prepared: ``prepare_linking`` of these touchpoints, if already done
            (training did it).
        spark: the Spark session to link on when ``options.engine == "spark"``
            (``resolver.spark``); the same result as DuckDB's (``docs/scale.md``).
        source: the touchpoints as Parquet (the run's ``touchpoints.parquet``),
            which the Spark engine reads instead of sending the frame over, and DuckDB
            reads for ``prepare_linking`` when ``touchpoints`` is a function.
    """
    if options.engine == "spark":
        from resolver.spark.link import link_on_spark

        if not isinstance(touchpoints, pd.DataFrame):
            raise TypeError("the Spark engine is handed the touchpoints frame")
        return link_on_spark(
            touchpoints,
            model=model,
            options=options,
            may_link=may_link,
            progress=progress,
            prepared=prepared,
            spark=spark or SparkOptions(),
            source=source,
        )
    n = record_count(touchpoints)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    progress.start("link:deterministic", total=n)
    if prepared is None:
        # DuckDB reads the linking columns of touchpoints on disk from their Parquet file
        on_disk = source is not None and not isinstance(touchpoints, pd.DataFrame)
        frame = None if on_disk else columns_of(touchpoints, LINK_COLUMNS)
        prepared = prepare_linking(frame, options=options, con=duckdb.connect(), source=source)
        del frame
    timings["deterministic"] = time.perf_counter() - started
    progress.finish("link:deterministic", rows=len(prepared.edges))

    started = time.perf_counter()
    model_rows = len(prepared.model_input)
    progress.start("link:predict", total=model_rows)
    result = predict_pairs(prepared.model_input, model=model, options=options, floor=SCORE_FLOOR)
    predictions = result.predictions
    # scored: the model input goes before clustering, when the caller handed it over (at
    # 10 M touchpoints 2.4 GiB of text under the clustering's peak, issue #14)
    prepared = replace(prepared, model_input=no_rows(prepared.model_input))
    timings["predict"] = time.perf_counter() - started
    progress.finish("link:predict", rows=len(predictions))

    started = time.perf_counter()
    progress.start("link:cluster", total=n)
    clustered = cluster_linked(
        touchpoints,
        deterministic=prepared.edges,
        predictions=predictions,
        junk=prepared.junk,
        options=options,
        may_link=may_link,
        fragment=prepared.fragment,
    )
    timings["cluster"] = time.perf_counter() - started
    progress.finish("link:cluster", rows=n)

    return link_result(
        prepared=prepared,
        scored=result,
        clustered=clustered,
        timings=timings,
        records=n,
        model_rows=model_rows,
    )


def link_result(
    *,
    prepared: PreparedLinking,
    scored: Scored,
    clustered: Clustered,
    timings: dict[str, float],
    records: int,
    model_rows: int,
) -> LinkResult:
    """The ``LinkResult`` of one linking, with its statistics (either engine); ``model_rows``:
    the rows of the model input scored (which linking may have let go of)."""
    edges = clustered.edges
    decisions = edges["decision"].value_counts().to_dict()
    stats = {
        "records": records,
        "model_input_rows": model_rows,
        "deterministic_edges": len(prepared.edges),
        "model_edges": int((edges["rule"] == "splink").sum()),
        "edges_by_decision": {str(k): int(v) for k, v in decisions.items()},
        "identifier_limit_splits": int((edges["decision"] == "identifier_limit").sum()),
        "consent_refusals": int((edges["decision"] == "consent").sum()),
        "conflict_refusals": int((edges["decision"] == "conflict").sum()),
        "stitched_browsers": int(
            ((edges["rule"] == STITCH_RULE) & (edges["decision"] == ACCEPTED)).sum()
        ),
        "clusters": int(len(np.unique(clustered.labels))),
        "blocking": _blocking_stats(scored, rows=model_rows),
        "seconds": {k: round(v, 3) for k, v in timings.items()},
    }
    logger.info(
        "linked records=%d clusters=%d accepted_edges=%d",
        records,
        stats["clusters"],
        int(decisions.get(ACCEPTED, 0)),
    )
    return LinkResult(
        cluster=clustered.labels,
        edges=edges,
        predictions=scored.predictions,
        junk=prepared.junk,
        stats=stats,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Clustered:
    """Cluster labels and every edge with its decision."""

    labels: np.ndarray
    edges: pd.DataFrame


def cluster_linked(
    touchpoints: RecordRows,
    *,
    deterministic: pd.DataFrame,
    predictions: pd.DataFrame,
    junk: pd.DataFrame,
    options: LinkingOptions,
    may_link: np.ndarray | None = None,
    fragment: np.ndarray | None = None,
    stitched: pd.DataFrame | None = None,
    trust_dobs: bool | None = None,
) -> Clustered:
    """Cluster records on identifier edges and model scores at ``options.threshold``.

    Model links of a record that matches two incompatible people equally well
    are refused first (``resolver.ambiguity``; needs the deterministic
    ``fragment`` of each record). Then the guard-railed union
    (``resolver.cluster``), browser stitching, and the union again with the
    stitched edges last. ``tether evaluate`` calls it at other thresholds on a
    run's stored scores to sweep them.

    ``touchpoints``: the records (``CLUSTER_LINKED_COLUMNS``), or a function reading their
    columns (``resolver.frames.RecordRows``): each phase then reads its own and lets go of
    them before the next (the union's state and stitching's codes are their peaks).
    ``stitched``: the browser-stitching edges when already computed over the
    whole graph (the Spark engine clusters one component at a time,
    ``resolver.spark.cluster``); ``None`` computes them here. ``trust_dobs``:
    whether birth dates are kept well enough to refuse a link on them, when
    already decided over the whole graph (``union_edges`` and
    ``resolver.cluster.graph_trusts_dobs``); ``None`` decides it here.
    """
    edges, union = _guarded_union(
        touchpoints,
        deterministic=deterministic,
        predictions=predictions,
        junk=junk,
        options=options,
        may_link=may_link,
        fragment=fragment,
        trust_dobs=trust_dobs,
    )
    decisions = union.add(edges)
    labels = union.labels()
    if options.stitch_browsers:
        # Second pass: anonymous clusters join the one person sharing their browser.
        # Stitched edges are the weakest of all (rank 4): the union goes on from
        # where it stands, exactly as if every edge had been sorted together.
        if stitched is None:
            stitched = stitch_edges(
                touchpoints, cluster=labels, max_persons_per_ip=options.max_persons_per_ip
            )
        if len(stitched):
            stitched = stitched[EDGE_COLUMNS].reset_index(drop=True)
            extra = union.add(stitched)
            edges = pd.concat([edges, stitched], ignore_index=True)
            decisions = pd.concat([decisions, extra], ignore_index=True)
            labels = union.labels()
    edges["decision"] = decisions.to_numpy()
    return Clustered(labels=labels, edges=edges)


def _guarded_union(
    touchpoints: RecordRows,
    *,
    deterministic: pd.DataFrame,
    predictions: pd.DataFrame,
    junk: pd.DataFrame,
    options: LinkingOptions,
    may_link: np.ndarray | None,
    fragment: np.ndarray | None,
    trust_dobs: bool | None,
) -> tuple[pd.DataFrame, GuardedUnion]:
    """The edges of ``union_edges`` and the ``GuardedUnion`` that decides them, no edge added.

    The touchpoint columns read here go when it returns: the union keeps what it compares.
    """
    records = columns_of(touchpoints, _UNION_EDGE_COLUMNS)
    edges, guarded = union_edges(
        records,
        deterministic=deterministic,
        predictions=predictions,
        junk=junk,
        options=options,
        fragment=fragment,
        trust_dobs=trust_dobs,
    )
    n = len(records)
    del records
    customers = columns_of(touchpoints, ["customer_id", "kind"])
    customer = pd.factorize(customers["customer_id"], use_na_sentinel=True)[0]
    customer_record = (customers["kind"] == "customers").to_numpy()
    del customers
    subjects = columns_of(touchpoints, ["subject_type", "subject_id"])
    subject = _pair_codes(subjects["subject_type"], subjects["subject_id"])
    del subjects
    flags = np.ones(n, dtype=bool) if may_link is None else np.asarray(may_link, dtype=bool)
    surnames = (
        columns_of(touchpoints, ["last_name"])["last_name"].reset_index(drop=True)
        if guarded.first_names is not None
        else None
    )
    union = GuardedUnion(
        n_records=n,
        customer=customer,
        subject=subject,
        may_link=flags,
        max_customer_ids=options.max_customer_ids,
        first_names=guarded.first_names,
        last_names=surnames,
        dobs=guarded.dobs,
        contacts=guarded.contacts,
        customer_record=customer_record,
        generations=guarded.generations,
        trust_dobs=trust_dobs if trust_dobs is not None else guarded.trust_dobs,
    )
    return edges, union


def _pair_codes(first: pd.Series, second: pd.Series) -> np.ndarray:
    """One code (0, 1, ...) per distinct pair of values, without a joined string per row (a
    million ``type:id`` strings were 0.1 GiB of the clustering's peak, issue #14)."""
    a = pd.factorize(first, use_na_sentinel=False)[0].astype(np.int64)
    b, distinct = pd.factorize(second, use_na_sentinel=False)
    codes: np.ndarray = pd.factorize(a * max(len(distinct), 1) + b)[0]
    return codes


@dataclass(frozen=True, kw_only=True, slots=True)
class GuardedFields:
    """Per record, what the conflict guard compares (``None``: not guarded on)."""

    first_names: pd.Series | None
    dobs: pd.Series | None
    contacts: pd.Series | None
    generations: pd.Series | None = None
    """Per record, its generational suffix (``sr``, ``jr``, ``ii``...) or missing."""
    trust_dobs: bool | None = None
    """Whether the data keeps birth dates, as decided for the ambiguity rule (``None``:
    not decided there; the union decides it)."""


def union_edges(
    touchpoints: pd.DataFrame,
    *,
    deterministic: pd.DataFrame,
    predictions: pd.DataFrame,
    junk: pd.DataFrame,
    options: LinkingOptions,
    fragment: np.ndarray | None = None,
    trust_dobs: bool | None = None,
) -> tuple[pd.DataFrame, GuardedFields]:
    """The edges the guarded union is given, and the fields its guard compares.

    Deterministic edges, then the model's (those below the threshold refused,
    and a record's links to two incompatible people refused as ambiguous when
    ``fragment`` is given: ``resolver.ambiguity``), as ``EDGE_COLUMNS``.
    ``trust_dobs``: whether the data keeps birth dates, when decided already
    over the whole graph; ``None`` decides it here, on these edges, when the
    ambiguity rule runs (``GuardedFields.trust_dobs``).
    """
    candidates, model_edges = model_edge_table(predictions, options=options)
    guard = options.conflict_guard
    names = touchpoints["first_name"].reset_index(drop=True) if "first_name" in guard else None
    dobs = touchpoints["dob"].reset_index(drop=True) if "dob" in guard else None
    contacts = _contacts(touchpoints, junk=junk) if guard else None
    # A generational suffix (Sr, Jr) is part of the name: guarded with the first names.
    generations = (
        touchpoints["generation"].reset_index(drop=True)
        if "first_name" in guard and "generation" in touchpoints
        else None
    )
    trusted = trust_dobs
    if fragment is not None and len(model_edges):
        if trusted is None:
            # Whether the data keeps birth dates, decided once on these edges (before the
            # ambiguous ones are refused): the ambiguity rule and the union both read it.
            # (the verdict reads the model's edges and the email and phone ones only:
            # at 10 M records the other deterministic edges are most of them)
            columns = ["left", "right", "rule", "reason"]
            contact = deterministic.loc[deterministic["rule"].isin(CONTACT_RULES), columns]
            trusted = graph_trusts_dobs(
                pd.concat([contact, model_edges[columns]], ignore_index=True),
                dobs=dobs,
                contacts=contacts,
                first_names=names,
            )
        ambiguous = ambiguous_model_edges(
            left=model_edges["left"].to_numpy(),
            right=model_edges["right"].to_numpy(),
            weight=_weights(candidates),
            accepted=model_edges["reason"].isna().to_numpy(),
            fragment=fragment,
            first_names=names,
            dobs=dobs,
            contacts=contacts,
            generations=generations,
            trust_dobs=trusted,
        )
        model_edges.loc[ambiguous, "reason"] = AMBIGUOUS
        if trusted and names is not None:
            # A bare name (a city at most) among several people of that name: a guess.
            namesakes = namesake_model_edges(
                left=model_edges["left"].to_numpy(),
                right=model_edges["right"].to_numpy(),
                accepted=model_edges["reason"].isna().to_numpy(),
                fragment=fragment,
                touchpoints=touchpoints,
            )
            model_edges.loc[namesakes, "reason"] = AMBIGUOUS
    edges = pd.concat([deterministic, model_edges], ignore_index=True)[EDGE_COLUMNS]
    return edges, GuardedFields(
        first_names=names, dobs=dobs, contacts=contacts, generations=generations, trust_dobs=trusted
    )


def model_edge_table(
    predictions: pd.DataFrame, *, options: LinkingOptions
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The clustering candidates among the predictions, and their edges (``EDGE_COLUMNS``).

    Scores from ``min(PREDICTION_FLOOR, threshold)`` up are edges; those below
    the threshold are refused (``threshold``) and kept for the report.
    """
    edge_floor = min(PREDICTION_FLOOR, options.threshold)
    candidates = predictions[predictions["probability"] >= edge_floor]
    model_edges = pd.DataFrame(
        {
            "left": candidates["left"].to_numpy(np.int64),
            "right": candidates["right"].to_numpy(np.int64),
            "rule": "splink",
            "rank": RANKS["splink"],
            "probability": candidates["probability"].to_numpy(float),
            "reason": [
                None if p >= options.threshold else "threshold"
                for p in candidates["probability"].tolist()
            ],
        }
    )
    return candidates, model_edges


def _weights(candidates: pd.DataFrame) -> np.ndarray:
    """Match weights of model edges; from the (calibrated) probability when absent."""
    if "match_weight" in candidates and "model_probability" not in candidates:
        return candidates["match_weight"].to_numpy(dtype=float)
    p = np.clip(candidates["probability"].to_numpy(dtype=float), 1e-12, 1 - 1e-12)
    return np.asarray(np.log2(p / (1 - p)), dtype=float)


def _blocking_stats(result: Scored, *, rows: int) -> dict[str, Any]:
    """Comparisons per rule and per record, and the values capped as oversized blocks."""
    if result.plan is None:
        return {"comparisons": 0, "comparisons_per_record": 0.0, "rules": []}
    plan = result.plan.as_dict()
    for rule in plan["rules"]:
        rule["scored"] = result.scored.get(rule["name"], 0)
    total = sum(result.scored.values())
    return {
        **plan,
        "comparisons": total,
        "comparisons_per_record": round(total / rows, 3) if rows else 0.0,
    }


def _contacts(touchpoints: pd.DataFrame, *, junk: pd.DataFrame) -> pd.Series:
    """Per record, its email and phone as the guard's contact identifiers (junk values left out)."""
    email = touchpoints["email_folded"].to_numpy(dtype=object)
    phone = touchpoints["phone"].to_numpy(dtype=object)
    if len(junk):
        email = email.copy()
        phone = phone.copy()
        email[pd.Series(email).isin(_junk(junk, "email")).to_numpy()] = None
        phone[pd.Series(phone).isin(_junk(junk, "phone")).to_numpy()] = None
    values: list[list[str] | None] = [None] * len(email)
    # Only the records that hold one: most touchpoints carry neither.
    held = np.flatnonzero(pd.notna(email) | pd.notna(phone))
    for i, e, p in zip(held.tolist(), email[held].tolist(), phone[held].tolist(), strict=True):
        values[i] = [v for v in (e, p) if isinstance(v, str)] or None
    return pd.Series(values, dtype=object)


def _junk(junk: pd.DataFrame, kind: str) -> set[str]:
    return set(junk.loc[junk["kind"] == kind, "value"])


def _components(n: int, left: pd.Series, right: pd.Series) -> np.ndarray:
    graph = coo_matrix(
        (np.ones(len(left), dtype=np.int8), (left.to_numpy(np.int64), right.to_numpy(np.int64))),
        shape=(n, n),
    )
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


@dataclass(frozen=True, kw_only=True, slots=True)
class Scored:
    """What prediction produced: kept scores, the blocking plan, comparisons per rule."""

    predictions: pd.DataFrame
    plan: BlockingPlan | None
    scored: dict[str, int]
    """Rule name -> pairs it scored (after removing pairs found by an earlier rule)."""


def _empty_predictions() -> pd.DataFrame:
    return pd.DataFrame(
        {"left": pd.Series(dtype=np.int64), "right": pd.Series(dtype=np.int64),
         "probability": pd.Series(dtype=float), "model_probability": pd.Series(dtype=float),
         "match_weight": pd.Series(dtype=float), "rule": pd.Series(dtype=object)}
    )  # fmt: skip


def predict_pairs(
    model_input: pd.DataFrame, *, model: TrainedModel, options: LinkingOptions, floor: float
) -> Scored:
    """Score the blocked pairs of the model input; keep those at or above ``floor``.

    Blocking is planned on this input (``resolver.blocking``): rules from the
    columns present, oversized blocks capped. Every blocked pair is scored;
    the counts per rule come from Splink's ``match_key``. A calibration saved
    with the model maps Splink's probability to ``probability``; Splink's own
    is kept as ``model_probability``.
    """
    from splink import DuckDBAPI

    if len(model_input) < 2:
        return Scored(predictions=_empty_predictions(), plan=None, scored={})
    db_api = DuckDBAPI()
    try:
        return _scored_pairs(model_input, model=model, options=options, floor=floor, db_api=db_api)
    finally:
        close_duckdb(db_api)


def _scored_pairs(
    model_input: pd.DataFrame,
    *,
    model: TrainedModel,
    options: LinkingOptions,
    floor: float,
    db_api: Any,
) -> Scored:
    """``predict_pairs`` on the Splink backend ``db_api``."""
    from splink import Linker

    present = present_columns(model_input) & set(_model_columns(model))
    con = db_api.duckdb_con
    columns = ["unique_id", "fragment", *MODEL_COLUMNS]
    con.register("model_input_raw", model_input[columns])
    plan = plan_blocking(
        con,
        table="model_input_raw",
        present=present,
        max_block_size=options.max_block_size,
        into="model_input_keyed",
    )
    con.unregister("model_input_raw")
    if not plan.rules:
        return Scored(predictions=_empty_predictions(), plan=plan, scored={})
    sdf = db_api.register("model_input_keyed")
    settings = dict(model.settings)
    settings["blocking_rules_to_generate_predictions"] = [r.splink_rule for r in plan.rules]
    # A lean prediction table: ids, weight, probability and the rule (the waterfall
    # columns are for explanations, ``resolver.explain``, not for the batch).
    settings["retain_intermediate_calculation_columns"] = False
    settings["retain_matching_columns"] = False
    linker = Linker(sdf, settings, log_level=None)
    scored = linker.inference.predict()
    table = scored.physical_name
    counts = dict(con.sql(f"SELECT match_key, count(*) FROM {table} GROUP BY 1").fetchall())
    by_rule = {rule.name: int(counts.get(str(n), 0)) for n, rule in enumerate(plan.rules)}
    frame: pd.DataFrame = con.sql(
        f"""
        SELECT unique_id_l AS left, unique_id_r AS right, match_probability AS model_probability,
               match_weight, CAST(match_key AS INTEGER) AS rule_index
        FROM {table} WHERE match_probability >= {float(floor)!r}
        ORDER BY 1, 2
        """
    ).df()
    scored.drop_table_from_database_and_remove_from_cache()
    names = np.array([r.name for r in plan.rules], dtype=object)
    frame["rule"] = (
        names[frame.pop("rule_index").to_numpy()] if len(frame) else pd.Series(dtype=object)
    )
    raw = frame["model_probability"].to_numpy(dtype=float)
    frame["probability"] = model.calibration.apply(raw) if model.calibration is not None else raw
    predictions = frame[
        ["left", "right", "probability", "model_probability", "match_weight", "rule"]
    ]
    return Scored(predictions=predictions.reset_index(drop=True), plan=plan, scored=by_rule)


def _model_columns(model: TrainedModel) -> set[str]:
    """Input columns the model's comparisons read (blocking needs them present)."""
    reads: set[str] = set()
    for comparison in model.settings["comparisons"]:
        for level in comparison["comparison_levels"]:
            sql = str(level.get("sql_condition", ""))
            reads |= {c for c in MODEL_COLUMNS if f"{c}_l" in sql}
    # Blocking may use derived name keys the comparisons do not read directly.
    if "first_latin" in reads:
        reads |= {"first_canon", "first_skeleton"}
    if "last_latin" in reads:
        reads.add("last_skeleton")
    return reads
