"""DuckDB's SQL on a Spark session: the one set of linking queries, two engines.

``resolver.edges`` (junk values, deterministic edges), the model input of
``resolver.link`` and browser stitching (``resolver.stitch``) are written
as SQL for DuckDB. ``SparkSQL`` offers the part of a DuckDB connection those
queries use (``sql``, ``execute``, ``register``, ``unregister``) and runs
each statement in Spark after sqlglot transpiles it (DuckDB's ``NULL::VARCHAR``,
``"quoted"`` names and null ordering become Spark's). So the Spark engine runs
the same queries, not a second copy of them that could drift.

A ``CREATE [OR REPLACE] TEMP TABLE x AS`` becomes a cached temporary view
(Spark has no temporary tables); ``DROP TABLE x`` drops the view and its cache.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import sqlglot

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkRelation", "SparkSQL", "to_spark_sql"]

_CREATE = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP|TEMPORARY)?\s*TABLE\s+(\w+)\s+AS\s+(.*)$",
    flags=re.S | re.I,
)
_DROP = re.compile(r"^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)\s*;?\s*$", flags=re.I)


def to_spark_sql(query: str) -> str:
    """One DuckDB statement in Spark's dialect."""
    (statement,) = sqlglot.transpile(query, read="duckdb", write="spark")
    return statement


@dataclass(slots=True)
class SparkRelation:
    """A query's result, read as DuckDB's relation is read (``df``, ``fetchall``)."""

    frame: DataFrame

    def df(self) -> pd.DataFrame:
        """The result as pandas (through Arrow); decimals (Spark's type of ``1.0``) as floats."""
        from pyspark.sql.types import DecimalType

        frame = self.frame
        decimals = [f.name for f in frame.schema.fields if isinstance(f.dataType, DecimalType)]
        if decimals:
            frame = frame.withColumns({c: frame[c].cast("double") for c in decimals})
        out: pd.DataFrame = frame.toPandas()
        return out

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.frame.collect()]


@dataclass(slots=True)
class SparkSQL:
    """The DuckDB-connection surface ``resolver.edges`` and ``resolver.stitch`` use, on Spark."""

    spark: SparkSession
    _cached: dict[str, DataFrame] = field(default_factory=dict)

    def sql(self, query: str) -> SparkRelation:
        """Run one statement (DuckDB dialect); a ``CREATE TEMP TABLE`` is run eagerly."""
        created = _CREATE.match(query)
        if created:
            name, select = created.group(1), created.group(2)
            frame = self.spark.sql(to_spark_sql(select)).cache()
            frame.count()  # materialise now, as DuckDB does
            self._drop(name)
            frame.createOrReplaceTempView(name)
            self._cached[name] = frame
            return SparkRelation(frame.limit(0))
        dropped = _DROP.match(query)
        if dropped:
            self._drop(dropped.group(1))
            return SparkRelation(self.spark.createDataFrame([], "x int"))
        return SparkRelation(self.spark.sql(to_spark_sql(query)))

    def execute(self, query: str) -> SparkSQL:
        self.sql(query)
        return self

    def register(self, name: str, frame: pd.DataFrame | DataFrame) -> SparkSQL:
        """A pandas frame (sent through Arrow) or a Spark DataFrame as a view ``name``."""
        if isinstance(frame, pd.DataFrame):
            safe = _arrow_safe(frame)
            if len(safe):
                frame = self.spark.createDataFrame(safe)
            else:  # Spark infers no schema from no rows: the frame's own types, through Arrow
                from pyspark.sql.pandas.types import from_arrow_schema

                schema = from_arrow_schema(pa.Schema.from_pandas(safe, preserve_index=False))
                frame = self.spark.createDataFrame([], schema=schema)
        frame.createOrReplaceTempView(name)
        return self

    def unregister(self, name: str) -> SparkSQL:
        self.spark.catalog.dropTempView(name)
        return self

    def _drop(self, name: str) -> None:
        old = self._cached.pop(name, None)
        self.spark.catalog.dropTempView(name)
        if old is not None:
            old.unpersist()


def _arrow_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns of only nulls become strings: Arrow cannot infer a type for them."""
    out = frame
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object and values.isna().all():
            if out is frame:
                out = frame.copy()
            out[column] = values.astype("string")
    return out
