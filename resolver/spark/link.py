"""The Spark engine's ``prepare``, ``train`` and ``link``: ``resolver.link``'s, on a session.

Called by ``resolver.link`` when ``linking.engine = "spark"``; returns the same
``PreparedLinking``, ``TrainedModel`` and ``LinkResult`` as the DuckDB engine,
so the pipeline writes the same files whatever the engine.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from resolver.cluster import SHARED, graph_trusts_dobs
from resolver.edges import EDGE_COLUMNS, deterministic_edges
from resolver.frames import no_rows
from resolver.link import (
    LINK_COLUMNS,
    MODEL_INPUT_SQL,
    SCORE_FLOOR,
    Clustered,
    LinkResult,
    PreparedLinking,
    link_result,
    model_edge_table,
    union_edges,
)
from resolver.model import TrainedModel, train_model
from resolver.options import LinkingOptions, SparkOptions
from resolver.progress import NULL_PROGRESS, Progress
from resolver.spark.cluster import CLUSTER_COLUMNS, cluster_components, connected_components
from resolver.spark.predict import dialect_settings, predict_on_spark
from resolver.spark.session import spark_session
from resolver.spark.sql import SparkSQL
from resolver.stitch import stitch_frame, stitch_sql

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["link_on_spark", "prepare_on_spark", "train_on_spark"]

logger = logging.getLogger(__name__)


def _touchpoints(spark: SparkSession, touchpoints: pd.DataFrame, source: Path | None) -> DataFrame:
    """The touchpoint columns linking reads, as a cached Spark DataFrame.

    From ``source`` (the run's Parquet) when given; otherwise the frame is
    written to a temporary Parquet file first (tests, notebooks).
    """
    wanted = list(dict.fromkeys([*LINK_COLUMNS, *CLUSTER_COLUMNS]))
    if source is None:
        directory = Path(tempfile.mkdtemp(prefix="tether-touchpoints-"))
        source = directory / "touchpoints.parquet"
        touchpoints[[c for c in wanted if c in touchpoints.columns]].to_parquet(source, index=False)
    frame = spark.read.parquet(str(source))
    present = [c for c in wanted if c in frame.columns]
    cached: DataFrame = frame.select(*present).cache()
    return cached


def prepare_on_spark(
    touchpoints: pd.DataFrame,
    *,
    options: LinkingOptions,
    spark: SparkOptions,
    source: Path | None = None,
) -> PreparedLinking:
    """``resolver.link.prepare_linking`` on Spark: the same queries, the same result."""
    session = spark_session(spark)
    con = SparkSQL(session)
    tp = _touchpoints(session, touchpoints, source)
    con.register("tp", tp.select(*[c for c in LINK_COLUMNS if c in tp.columns]))
    edges, junk = deterministic_edges(con, options=options)  # type: ignore[arg-type]
    accepted = edges[edges["reason"].isna()]
    nodes = tp.selectExpr("CAST(record_id AS BIGINT) AS node")
    pairs = session.createDataFrame(
        pd.DataFrame(
            {
                "node_l": accepted["left"].to_numpy(np.int64),
                "node_r": accepted["right"].to_numpy(np.int64),
            }
        ),
        schema="node_l bigint, node_r bigint",
    )
    fragments = connected_components(session, nodes=nodes, edges=pairs, name="tether_fragments")
    labelled = fragments.toPandas()
    fragment = np.empty(len(touchpoints), dtype=np.int64)
    fragment[labelled["node"].to_numpy(np.int64)] = labelled["component"].to_numpy(np.int64)
    con.register("fragments", fragments.selectExpr("node AS record_id", "component AS fragment"))
    con.register("junk_values", junk)
    model_input = con.sql(MODEL_INPUT_SQL).df()
    model_input["unique_id"] = model_input["unique_id"].astype(np.int64)
    model_input["fragment"] = model_input["fragment"].astype(np.int64)
    for name in ("fragments", "junk_values", "tp"):
        con.unregister(name)
    tp.unpersist()
    return PreparedLinking(edges=edges, junk=junk, fragment=fragment, model_input=model_input)


def train_on_spark(
    model_input: pd.DataFrame, *, options: LinkingOptions, spark: SparkOptions
) -> TrainedModel:
    """``resolver.model.train_model`` with Splink on the Spark session.

    The model is stored in DuckDB's dialect, as the DuckDB engine stores it
    (the real-time scorer and notebooks read it with DuckDB).
    """
    from resolver.spark.session import splink_api

    session = spark_session(spark)
    trained = train_model(
        model_input,
        options=options,
        db_api=splink_api(session),
    )
    return TrainedModel(
        settings=dialect_settings(trained.settings, "duckdb"),
        calibration=trained.calibration,
        training={**trained.training, "engine": "spark"},
    )


def link_on_spark(
    touchpoints: pd.DataFrame,
    *,
    model: TrainedModel,
    options: LinkingOptions,
    may_link: np.ndarray | None = None,
    progress: Progress = NULL_PROGRESS,
    prepared: PreparedLinking | None = None,
    spark: SparkOptions,
    source: Path | None = None,
) -> LinkResult:
    """``resolver.link.link_touchpoints`` on Spark (``resolver.spark``): the same ``LinkResult``."""
    n = len(touchpoints)
    timings: dict[str, float] = {}
    session = spark_session(spark)
    started = time.perf_counter()
    progress.start("link:deterministic", total=n)
    if prepared is None:
        prepared = prepare_on_spark(touchpoints, options=options, spark=spark, source=source)
    timings["deterministic"] = time.perf_counter() - started
    progress.finish("link:deterministic", rows=len(prepared.edges))

    started = time.perf_counter()
    model_rows = len(prepared.model_input)
    progress.start("link:predict", total=model_rows)
    scored = predict_on_spark(
        session, prepared.model_input, model=model, options=options, floor=SCORE_FLOOR
    )
    # scored: let go of the model input before clustering, as the DuckDB engine does
    prepared = replace(prepared, model_input=no_rows(prepared.model_input))
    timings["predict"] = time.perf_counter() - started
    progress.finish("link:predict", rows=len(scored.predictions))

    started = time.perf_counter()
    progress.start("link:cluster", total=n)
    flags = np.ones(n, dtype=bool) if may_link is None else np.asarray(may_link, dtype=bool)
    clustered = _cluster(
        session,
        touchpoints,
        prepared=prepared,
        predictions=scored.predictions,
        options=options,
        may_link=flags,
        source=source,
    )
    timings["cluster"] = time.perf_counter() - started
    progress.finish("link:cluster", rows=n)
    return link_result(
        prepared=prepared,
        scored=scored,
        clustered=clustered,
        timings=timings,
        records=n,
        model_rows=model_rows,
    )


def _edge_frame(
    spark: SparkSession, edges: pd.DataFrame, *, component: DataFrame, key: str
) -> DataFrame:
    """Edges (with ``eid``, ``part``...) to Spark, each with its left end's group ``key``."""
    columns = [*EDGE_COLUMNS, "eid", "model_probability", "match_weight", "part"]
    frame = edges[columns].astype(
        {"left": np.int64, "right": np.int64, "rank": np.int32, "probability": float}
    )
    frame = frame.astype({"reason": object, "rule": object, "part": object})
    sent = spark.createDataFrame(
        frame,
        schema=(
            "left bigint, right bigint, rule string, rank int, probability double, "
            "reason string, eid bigint, model_probability double, match_weight double, "
            "part string"
        ),
    )
    joined: DataFrame = sent.join(
        component.selectExpr("node AS left", f"{key}"), on="left", how="inner"
    )
    return joined


def _cluster(
    spark: SparkSession,
    touchpoints: pd.DataFrame,
    *,
    prepared: PreparedLinking,
    predictions: pd.DataFrame,
    options: LinkingOptions,
    may_link: np.ndarray,
    source: Path | None,
) -> Clustered:
    """Components of the candidate edges, clustered one by one; stitching between passes."""
    n = len(touchpoints)
    candidates, model_edges = model_edge_table(predictions, options=options)
    deterministic = prepared.edges[EDGE_COLUMNS]
    edges = pd.concat([deterministic, model_edges], ignore_index=True)[EDGE_COLUMNS]
    # what cluster_linked's union reads besides the edge itself
    extra = pd.DataFrame(
        {
            "eid": np.arange(len(edges), dtype=np.int64),
            "model_probability": np.concatenate(
                [
                    np.full(len(deterministic), np.nan),
                    candidates["model_probability"].to_numpy(float)
                    if "model_probability" in candidates
                    else np.full(len(candidates), np.nan),
                ]
            ),
            "match_weight": np.concatenate(
                [np.full(len(deterministic), np.nan), candidates["match_weight"].to_numpy(float)]
            ),
            "part": ["deterministic"] * len(deterministic) + ["model"] * len(model_edges),
        }
    )
    table = pd.concat([edges, extra], axis=1)
    # whether birth dates may refuse a link: a property of the whole graph, decided here
    # once as DuckDB's union decides it, not by each component from its own few links
    union, guarded = union_edges(
        touchpoints,
        deterministic=deterministic,
        predictions=predictions,
        junk=prepared.junk,
        options=options,
        fragment=prepared.fragment,
    )
    trust_dobs = guarded.trust_dobs
    if trust_dobs is None:
        trust_dobs = graph_trusts_dobs(
            union, dobs=guarded.dobs, contacts=guarded.contacts, first_names=guarded.first_names
        )
    del union, guarded
    # The edges the union may still accept: the undecided ones, and a shared
    # identifier's, which it tries again once that identifier's customers are one
    # person (``GuardedUnion.add``); they must be in the component they may join.
    open_edges = table[table["reason"].isna() | table["reason"].eq(SHARED)]
    reason = edges["reason"].to_numpy(dtype=object).copy()
    decision = reason.copy()
    labels = np.arange(n, dtype=np.int64)

    nodes_used = np.unique(
        np.concatenate(
            [open_edges["left"].to_numpy(np.int64), open_edges["right"].to_numpy(np.int64)]
        )
    )
    component_of = np.arange(n, dtype=np.int64)  # a record alone is its own component
    if len(open_edges):
        nodes = spark.createDataFrame(pd.DataFrame({"node": nodes_used}), schema="node bigint")
        pairs = spark.createDataFrame(
            pd.DataFrame(
                {
                    "node_l": open_edges["left"].to_numpy(np.int64),
                    "node_r": open_edges["right"].to_numpy(np.int64),
                }
            ),
            schema="node_l bigint, node_r bigint",
        )
        found = connected_components(
            spark, nodes=nodes, edges=pairs, name="tether_components"
        ).toPandas()
        component_of[found["node"].to_numpy(np.int64)] = found["component"].to_numpy(np.int64)
        records = _records(spark, touchpoints, prepared=prepared, may_link=may_link, source=source)

        # each join gets its own copy of the mapping: one DataFrame joined twice is ambiguous
        def mapping() -> DataFrame:
            return spark.createDataFrame(found, schema="node bigint, component bigint")

        out = cluster_components(
            records=records.join(
                mapping().selectExpr("node AS record_id", "component"), "record_id"
            ),
            edges=_edge_frame(spark, open_edges, component=mapping(), key="component"),
            options=options,
            junk=prepared.junk,
            trust_dobs=trust_dobs,
            group="component",
        )
        _apply(out, labels=labels, reason=reason, decision=decision)
    else:
        records = None

    stitched = pd.DataFrame(columns=EDGE_COLUMNS)
    if options.stitch_browsers:
        con = SparkSQL(spark)
        con.register("r", stitch_frame(touchpoints, cluster=labels))
        stitched = con.sql(stitch_sql(max_persons_per_ip=options.max_persons_per_ip)).df()
        con.unregister("r")
        stitched = stitched.astype({"left": np.int64, "right": np.int64, "rank": np.int64})
        stitched["probability"] = stitched["probability"].astype(float)
    stitch_decision = stitched["reason"].to_numpy(dtype=object).copy()
    taken = stitched[stitched["reason"].isna()]
    if len(taken):
        stitch_table = stitched.assign(
            eid=np.arange(len(edges), len(edges) + len(stitched), dtype=np.int64),
            model_probability=np.nan,
            match_weight=np.nan,
            part="stitched",
        )[stitched["reason"].isna().to_numpy()]
        super_of = _super_components(
            spark,
            left=component_of[taken["left"].to_numpy(np.int64)],
            right=component_of[taken["right"].to_numpy(np.int64)],
        )
        # every record and open edge of a super-component, and its stitched edges
        member = pd.DataFrame({"record_id": np.arange(n, dtype=np.int64)})
        member["super"] = super_of.reindex(component_of).to_numpy()
        member = member[member["super"].notna()].astype({"super": np.int64})

        def node_super() -> DataFrame:
            return spark.createDataFrame(
                member.rename(columns={"record_id": "node"}), schema="node bigint, super bigint"
            )

        if records is None:
            records = _records(
                spark, touchpoints, prepared=prepared, may_link=may_link, source=source
            )
        involved = pd.concat(
            [open_edges, stitch_table], ignore_index=True
        )  # open edges of other components are dropped by the join
        out = cluster_components(
            records=records.join(node_super().withColumnRenamed("node", "record_id"), "record_id"),
            edges=_edge_frame(spark, involved, component=node_super(), key="super"),
            options=options,
            junk=prepared.junk,
            trust_dobs=trust_dobs,
            group="super",
        )
        stitched_out = out[(out["what"] == "edge") & (out["id"] >= len(edges))]
        stitch_decision[stitched_out["id"].to_numpy(np.int64) - len(edges)] = stitched_out[
            "decision"
        ].to_numpy(dtype=object)
        _apply(
            out[~out.index.isin(stitched_out.index)],
            labels=labels,
            reason=reason,
            decision=decision,
        )
    edges = edges.copy()
    edges["reason"] = reason
    if len(stitched):
        edges = pd.concat([edges, stitched[EDGE_COLUMNS].reset_index(drop=True)], ignore_index=True)
        decision = np.concatenate([decision, stitch_decision])
    edges["decision"] = decision
    return Clustered(labels=labels, edges=edges)


def _apply(
    out: pd.DataFrame, *, labels: np.ndarray, reason: np.ndarray, decision: np.ndarray
) -> None:
    """Write per-component results (``cluster_components``' rows) into the global arrays."""
    records = out[out["what"] == "record"]
    labels[records["id"].to_numpy(np.int64)] = records["label"].to_numpy(np.int64)
    edges = out[out["what"] == "edge"]
    eids = edges["id"].to_numpy(np.int64)
    reason[eids] = edges["reason"].to_numpy(dtype=object)
    decision[eids] = edges["decision"].to_numpy(dtype=object)


def _records(
    spark: SparkSession,
    touchpoints: pd.DataFrame,
    *,
    prepared: PreparedLinking,
    may_link: np.ndarray,
    source: Path | None,
) -> DataFrame:
    """Per record, what ``cluster_linked`` reads, with its consent flag and fragment."""
    tp = _touchpoints(spark, touchpoints, source)
    flags = spark.createDataFrame(
        pd.DataFrame(
            {
                "record_id": np.arange(len(may_link), dtype=np.int64),
                "may_link": may_link,
                "fragment": prepared.fragment,
            }
        ),
        schema="record_id bigint, may_link boolean, fragment bigint",
    )
    columns = [c for c in CLUSTER_COLUMNS if c in tp.columns]
    joined: DataFrame = tp.select(*columns).join(flags, "record_id")
    return joined


def _super_components(spark: SparkSession, *, left: np.ndarray, right: np.ndarray) -> pd.Series:
    """Component id -> super-component id, for the components stitched edges join."""
    used = np.unique(np.concatenate([left, right]))
    found = connected_components(
        spark,
        nodes=spark.createDataFrame(pd.DataFrame({"node": used}), schema="node bigint"),
        edges=spark.createDataFrame(
            pd.DataFrame({"node_l": left, "node_r": right}), schema="node_l bigint, node_r bigint"
        ),
        name="tether_super",
    ).toPandas()
    return pd.Series(found["component"].to_numpy(np.int64), index=found["node"].to_numpy(np.int64))
