"""Components and the guard-railed clustering, one component at a time, on Spark.

The guard-railed union (``resolver.cluster``) is sequential: strongest edge
first, each decision depending on the clusters so far. But a decision only
ever depends on the clusters its two ends are in, so two connected
components of the candidate edges (deterministic edges not refused upstream,
model links at the threshold) never influence each other. The components are
dealt into one bucket per shuffle partition, and each bucket is clustered in
``applyInPandas`` by ``resolver.link.cluster_linked`` itself, with record ids
renumbered 0..k-1 in order (so every tie breaks as in one global run).

Browser stitching (``resolver.stitch``) looks across the whole graph (an IP
shared by many identified persons is ignored), so it runs in between:

1. pass 1: each component clustered without stitching;
2. the stitching query (the same SQL) over every record and its pass-1
   cluster, in Spark;
3. pass 2: the components that accepted stitched edges between them form
   *super-components*; each is clustered again with its stitched edges
   given, which continues the union from where pass 1 stood, as one global
   run does. Components without stitched edges keep their pass-1 result.

Connected components are Splink's own algorithm on Spark
(``splink.clustering.cluster_pairwise_predictions_at_threshold``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from resolver.edges import EDGE_COLUMNS
from resolver.options import LinkingOptions

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["CLUSTER_COLUMNS", "cluster_components", "connected_components"]

#: Touchpoint columns ``cluster_linked`` reads (guard values, consent subjects, customers).
CLUSTER_COLUMNS = (
    "record_id", "kind", "customer_id", "subject_type", "subject_id", "first_name",
    "last_name", "dob", "email_folded", "phone", "generation",
)  # fmt: skip

_OUT_SCHEMA = "what string, id long, label long, reason string, decision string"  # record rows: (record, id, label); edge rows: (edge, eid, reason, decision)


def connected_components(
    spark: SparkSession, *, nodes: DataFrame, edges: DataFrame, name: str
) -> DataFrame:
    """``node, component`` for every node: the component is one of its nodes' ids.

    ``nodes`` has a ``node`` column, ``edges`` ``node_l, node_r``. Splink's
    iterative connected components, run by its ``SparkAPI``.
    """
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    from resolver.spark.session import splink_api

    db_api = splink_api(spark)
    nodes.createOrReplaceTempView(f"{name}_nodes")
    edges.select("node_l", "node_r").createOrReplaceTempView(f"{name}_edges")
    result = cluster_pairwise_predictions_at_threshold(
        db_api.register(f"{name}_nodes"),
        db_api.register(f"{name}_edges"),
        db_api=db_api,
        node_id_column_name="node",
    )
    frame: DataFrame = spark.table(result.physical_name).selectExpr(
        "CAST(node AS BIGINT) AS node", "CAST(cluster_id AS BIGINT) AS component"
    )
    return frame


def _cluster_one(
    records: pd.DataFrame,
    edges: pd.DataFrame,
    *,
    options: LinkingOptions,
    junk: pd.DataFrame,
    trust_dobs: bool | None = None,
) -> pd.DataFrame:
    """``cluster_linked`` on one component (or super-component); rows of ``_OUT_SCHEMA``."""
    from resolver.link import cluster_linked

    records = records.sort_values("record_id", kind="stable").reset_index(drop=True)
    ids = records["record_id"].to_numpy(dtype=np.int64)
    local = records.assign(record_id=np.arange(len(ids), dtype=np.int64))
    edges = edges.sort_values("eid", kind="stable").reset_index(drop=True)
    edges["left"] = np.searchsorted(ids, edges["left"].to_numpy(dtype=np.int64))
    edges["right"] = np.searchsorted(ids, edges["right"].to_numpy(dtype=np.int64))
    part = edges["part"].to_numpy()
    deterministic = edges[part == "deterministic"]
    model = edges[part == "model"]
    stitched = edges[part == "stitched"]
    clustered = cluster_linked(
        local,
        deterministic=deterministic[EDGE_COLUMNS].reset_index(drop=True),
        predictions=model[
            ["left", "right", "probability", "model_probability", "match_weight", "rule"]
        ].reset_index(drop=True),
        junk=junk,
        options=dataclasses.replace(options, stitch_browsers=len(stitched) > 0),
        may_link=local["may_link"].to_numpy(dtype=bool),
        fragment=pd.factorize(local["fragment"])[0].astype(np.int64),
        stitched=stitched[EDGE_COLUMNS].reset_index(drop=True) if len(stitched) else None,
        trust_dobs=trust_dobs,
    )
    # cluster_linked returns deterministic, model then stitched edges, each in the order given
    eids = np.concatenate(
        [
            deterministic["eid"].to_numpy(np.int64),
            model["eid"].to_numpy(np.int64),
            stitched["eid"].to_numpy(np.int64),
        ]
    )
    out_edges = pd.DataFrame(
        {
            "what": "edge",
            "id": eids,
            "label": np.zeros(len(eids), dtype=np.int64),
            "reason": clustered.edges["reason"].to_numpy(dtype=object),
            "decision": clustered.edges["decision"].to_numpy(dtype=object),
        }
    )
    out_records = pd.DataFrame(
        {
            "what": "record",
            "id": ids,
            "label": ids[clustered.labels],
            "reason": None,
            "decision": None,
        }
    )
    return pd.concat([out_records, out_edges], ignore_index=True)


def cluster_components(
    *,
    records: DataFrame,
    edges: DataFrame,
    options: LinkingOptions,
    junk: pd.DataFrame,
    group: str,
    trust_dobs: bool | None = None,
) -> pd.DataFrame:
    """Cluster each group of ``records`` with its ``edges`` (both carry ``group``).

    ``records``: ``CLUSTER_COLUMNS`` plus ``may_link``, ``fragment``;
    ``edges``: ``EDGE_COLUMNS`` plus ``eid``, ``part`` (deterministic, model,
    stitched), ``model_probability``, ``match_weight``. ``trust_dobs``: the
    whole graph's ``resolver.cluster.graph_trusts_dobs``, given to every group's
    union (a component's few links cannot measure it). Returns, collected,
    one row per record (its label) and per edge (reason and decision).

    The groups are dealt into one bucket per shuffle partition, and each
    bucket is clustered in one call: groups never influence each other, so
    a bucket's result is each of its groups' (the argument of the module
    docstring), without a Python call per group (tens of thousands of small
    components cost seconds each thousand).
    """
    from pyspark.sql.functions import expr

    junk_small = junk[["kind", "value"]].copy()
    buckets = int(records.sparkSession.conf.get("spark.sql.shuffle.partitions") or 200)
    bucket = f"pmod({group}, {buckets})"
    records = records.withColumn("_bucket", expr(bucket))
    edges = edges.withColumn("_bucket", expr(bucket))

    def run(records_part: pd.DataFrame, edges_part: pd.DataFrame) -> pd.DataFrame:
        if records_part.empty:
            return pd.DataFrame(columns=["what", "id", "label", "reason", "decision"])
        return _cluster_one(
            records_part, edges_part, options=options, junk=junk_small, trust_dobs=trust_dobs
        )

    grouped = (
        records.groupBy("_bucket")
        .cogroup(edges.groupBy("_bucket"))
        .applyInPandas(run, schema=_OUT_SCHEMA)
    )
    out: pd.DataFrame = grouped.toPandas()
    return out
