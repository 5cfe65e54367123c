"""Prediction on Spark: the blocking plan of ``resolver.blocking`` and Splink's ``SparkAPI``.

The plan is the DuckDB engine's: the same candidate rules, the same cap per
value (``max_block_size``), the same counts per rule for the report. Only
the key differs in kind: DuckDB's ``hash()`` there, Spark's 64-bit
``xxhash64`` here; a key is only ever compared for equality.

A trained model is stored in DuckDB's dialect (``resolver.model``: the real-time
scorer, explanations and notebooks read it with DuckDB). ``dialect_settings``
rewrites its SQL for another dialect from the very comparison definitions of
``resolver.model.model_settings``, keeping every trained parameter.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from resolver.blocking import BlockingPlan, BlockingRule, candidate_rules
from resolver.errors import ModelError
from resolver.model import MODEL_COLUMNS, TrainedModel, model_settings, present_columns
from resolver.options import LinkingOptions

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["dialect_settings", "plan_blocking_on_spark", "predict_on_spark"]


def dialect_settings(settings: dict[str, Any], dialect: str) -> dict[str, Any]:
    """A trained Splink model's settings with every comparison's SQL in ``dialect``.

    The levels are matched by position with ``model_settings``' comparisons of
    the same name (their charts labels must agree); m, u, term-frequency
    settings and λ are kept as trained.
    """
    fresh = model_settings(frozenset(MODEL_COLUMNS)).create_settings_dict(dialect)
    by_name = {c["output_column_name"]: c for c in fresh["comparisons"]}
    out: dict[str, Any] = copy.deepcopy(settings)
    out["sql_dialect"] = dialect
    for comparison in out["comparisons"]:
        name = comparison["output_column_name"]
        target = by_name.get(name)
        levels = comparison["comparison_levels"]
        if target is None or len(target["comparison_levels"]) != len(levels):
            raise ModelError(
                f"the model's comparison {name} is not one Tether defines; retrain it "
                "(`tether train`) to link on another engine",
                comparison=name,
            )
        for level, written in zip(levels, target["comparison_levels"], strict=True):
            if level.get("label_for_charts") != written.get("label_for_charts"):
                raise ModelError(
                    f"the model's comparison {name} differs from Tether's; retrain it "
                    "(`tether train`) to link on another engine",
                    comparison=name,
                )
            level["sql_condition"] = written["sql_condition"]
    return out


def plan_blocking_on_spark(
    spark: SparkSession, *, table: str, present: frozenset[str], max_block_size: int, into: str
) -> BlockingPlan:
    """``resolver.blocking.plan_blocking`` on Spark: the same rules, caps and counts.

    ``into`` becomes a cached view of ``table`` plus one ``_block_<n>`` key per
    kept rule (null for an incomplete or capped value).
    """
    rules = candidate_rules(present)
    base = spark.table(table)
    if not rules:
        base.createOrReplaceTempView(into)
        return BlockingPlan(rules=(), max_block_size=max_block_size, records=base.count())
    keys = ", ".join(
        f"CASE WHEN {' AND '.join(f'{c} IS NOT NULL' for c in rule.columns)} "
        f"THEN xxhash64({', '.join(rule.columns)}) END AS {rule.key}"
        for rule in rules
    )
    sizes = ", ".join(f"count(*) OVER (PARTITION BY {rule.key}) AS _n_{rule.key}" for rule in rules)
    keyed = spark.sql(f"SELECT *, {sizes} FROM (SELECT *, {keys} FROM {table})").cache()
    keyed.createOrReplaceTempView("_tether_keyed")
    cap = int(max_block_size)
    measures = " UNION ALL ".join(
        f"""SELECT {n} AS rule,
               count_if(n > 1 AND n <= {cap}) AS blocks,
               coalesce(sum(CASE WHEN n <= {cap} THEN n * (n - 1) DIV 2 END), 0) AS pairs,
               count_if(n > {cap}) AS capped,
               coalesce(sum(CASE WHEN n > {cap} THEN n END), 0) AS capped_records,
               coalesce(max(CASE WHEN n > {cap} THEN n END), 0) AS largest
        FROM (SELECT {rule.key}, count(*) AS n FROM _tether_keyed
              WHERE {rule.key} IS NOT NULL GROUP BY {rule.key})"""
        for n, rule in enumerate(rules)
    )
    counted = {int(r[0]): [int(v) for v in r[1:]] for r in spark.sql(measures).collect()}
    kept: list[BlockingRule] = []
    for n, rule in enumerate(rules):
        blocks, pairs, capped, capped_records, largest = counted[n]
        if blocks:
            kept.append(
                BlockingRule(
                    name=rule.name,
                    columns=rule.columns,
                    key=rule.key,
                    blocks=blocks,
                    comparisons=pairs,
                    capped_values=capped,
                    capped_records=capped_records,
                    largest_capped=largest,
                )
            )
    originals = list(base.columns)
    capped_keys = ", ".join(
        f"CASE WHEN _n_{r.key} <= {cap} THEN {r.key} END AS {r.key}" for r in kept
    )
    final = spark.sql(
        f"SELECT {', '.join(originals)}{', ' if kept else ''}{capped_keys} FROM _tether_keyed"
    ).cache()
    records = final.count()
    final.createOrReplaceTempView(into)
    keyed.unpersist()
    spark.catalog.dropTempView("_tether_keyed")
    return BlockingPlan(rules=tuple(kept), max_block_size=max_block_size, records=records)


def predict_on_spark(
    spark: SparkSession,
    model_input: pd.DataFrame,
    *,
    model: TrainedModel,
    options: LinkingOptions,
    floor: float,
) -> Any:
    """``resolver.link.predict_pairs`` on Spark: the same plan, scores and columns."""
    from splink import Linker

    from resolver.link import Scored, _empty_predictions, _model_columns
    from resolver.spark.session import splink_api
    from resolver.spark.sql import SparkSQL

    if len(model_input) < 2:
        return Scored(predictions=_empty_predictions(), plan=None, scored={})
    present = present_columns(model_input) & set(_model_columns(model))
    columns = ["unique_id", "fragment", *MODEL_COLUMNS]
    SparkSQL(spark).register("tether_model_input_raw", model_input[columns])
    plan = plan_blocking_on_spark(
        spark,
        table="tether_model_input_raw",
        present=present,
        max_block_size=options.max_block_size,
        into="tether_model_input_keyed",
    )
    if not plan.rules:
        return Scored(predictions=_empty_predictions(), plan=plan, scored={})
    db_api = splink_api(spark)
    sdf = db_api.register("tether_model_input_keyed")
    settings = dialect_settings(model.settings, "spark")
    settings["blocking_rules_to_generate_predictions"] = [r.splink_rule for r in plan.rules]
    settings["retain_intermediate_calculation_columns"] = False
    settings["retain_matching_columns"] = False
    linker = Linker(sdf, settings, log_level=None)
    scored = linker.inference.predict()
    table = spark.table(scored.physical_name)
    table.createOrReplaceTempView("tether_predictions")
    counts = {
        str(r[0]): int(r[1])
        for r in spark.sql(
            "SELECT match_key, count(*) FROM tether_predictions GROUP BY match_key"
        ).collect()
    }
    by_rule = {rule.name: int(counts.get(str(n), 0)) for n, rule in enumerate(plan.rules)}
    frame: pd.DataFrame = spark.sql(
        f"""
        SELECT unique_id_l AS `left`, unique_id_r AS `right`,
               CAST(match_probability AS DOUBLE) AS model_probability,
               CAST(match_weight AS DOUBLE) AS match_weight,
               CAST(match_key AS INT) AS rule_index
        FROM tether_predictions WHERE match_probability >= {float(floor)!r}
        ORDER BY 1, 2
        """
    ).toPandas()
    spark.catalog.dropTempView("tether_predictions")
    scored.drop_table_from_database_and_remove_from_cache()
    names = np.array([r.name for r in plan.rules], dtype=object)
    frame["left"] = frame["left"].astype(np.int64)
    frame["right"] = frame["right"].astype(np.int64)
    frame["rule"] = (
        names[frame.pop("rule_index").to_numpy()] if len(frame) else pd.Series(dtype=object)
    )
    raw = frame["model_probability"].to_numpy(dtype=float)
    frame["probability"] = model.calibration.apply(raw) if model.calibration is not None else raw
    predictions = frame[
        ["left", "right", "probability", "model_probability", "match_weight", "rule"]
    ]
    return Scored(predictions=predictions.reset_index(drop=True), plan=plan, scored=by_rule)
