"""Linking on Spark (``linking.engine = "spark"``): the same answer as DuckDB, on a cluster.

Imported only when the Spark engine is chosen (``resolver.link`` dispatches
here), so ``import resolver`` and ``tether --help`` never load pyspark.
pyspark is the optional extra ``tether[spark]``; without it choosing the
engine is a ``ConfigError`` (``resolver.options.LinkingOptions``).

What runs where (``docs/scale.md``):

* the run's touchpoints are read as Parquet into Spark;
* junk-value detection and deterministic edges run as Spark SQL: the very
  SQL of ``resolver.edges``, transpiled from DuckDB's dialect by sqlglot
  (``resolver.spark.sql``);
* fragments and candidate components are connected components in Spark
  (Splink's own iterative algorithm, ``resolver.spark.components``);
* the model input, training and prediction run on Splink's ``SparkAPI``
  (``resolver.spark.predict``);
* the guard-railed clustering and browser stitching run per component in
  ``applyInPandas``, calling ``resolver.link.cluster_linked`` itself
  (``resolver.spark.cluster``): one implementation of the guard-rails.

The result is a ``resolver.link.LinkResult``, so everything after linking
(person ids, consent, features, exports, the report) is unchanged.
"""

from __future__ import annotations

__all__: list[str] = []
