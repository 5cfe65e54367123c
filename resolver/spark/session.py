"""The Spark session linking runs on, built from ``[spark]`` (``SparkOptions``).

Local mode by default, sized to the machine: ``local[*]``, two shuffle
partitions per core (Spark's default of 200 is for clusters: on a few hundred
thousand rows 200 tiny tasks cost more than the work) and a quarter of the
memory for the driver. Splink's string-similarity UDF jar goes on
``spark.jars`` *before* the session starts (a running JVM does not load
it), and ``spark.sql.constraintPropagation.enabled`` is off, as in Splink's
own tests: its long comparison expressions make that optimiser rule slow.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from typing import TYPE_CHECKING, Any

from resolver.options import SparkOptions, spark_missing

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["session_conf", "spark_session", "splink_api"]

logger = logging.getLogger(__name__)


def _machine_memory_gb() -> int:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8
    return max(1, int(pages * size / 2**30))


def _cores(master: str) -> int:
    """Cores of a local master (``local``, ``local[4]``, ``local[*]``); 0 for a cluster."""
    if not master.startswith("local"):
        return 0
    inside = master.partition("[")[2].partition("]")[0].split(",")[0].strip()
    if inside == "":
        return 1
    if inside.isdigit():
        return max(1, int(inside))
    return os.cpu_count() or 1


def session_conf(options: SparkOptions) -> dict[str, str]:
    """The Spark conf Tether sets for ``options`` (``options.conf`` wins, jars are appended)."""
    from splink.backends.spark import similarity_jar_location

    conf: dict[str, str] = {
        "spark.sql.constraintPropagation.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.session.timeZone": "UTC",
    }
    cores = _cores(options.master)
    if options.shuffle_partitions:
        conf["spark.sql.shuffle.partitions"] = str(options.shuffle_partitions)
    elif cores:
        conf["spark.sql.shuffle.partitions"] = str(2 * cores)
    if cores:
        # the Python workers of applyInPandas run this interpreter (its packages, Tether's)
        conf["spark.pyspark.python"] = sys.executable
        conf["spark.pyspark.driver.python"] = sys.executable
        conf["spark.default.parallelism"] = conf["spark.sql.shuffle.partitions"]
        conf["spark.ui.enabled"] = "false"
        conf["spark.driver.memory"] = (
            options.driver_memory or f"{max(1, _machine_memory_gb() // 4)}g"
        )
    elif options.driver_memory:
        conf["spark.driver.memory"] = options.driver_memory
    conf.update(options.conf)
    jars = [j for j in conf.get("spark.jars", "").split(",") if j]
    conf["spark.jars"] = ",".join([*jars, similarity_jar_location()])
    return conf


def spark_session(options: SparkOptions) -> SparkSession:
    """The session to link on: built for ``master``, or the one spark-submit set up when empty.

    ``SparkSession.builder.getOrCreate`` returns a running session of this
    process as it is: the first caller's conf holds, as in any Spark program.
    """
    if spark_missing():
        from resolver.errors import ConfigError

        raise ConfigError(
            "linking.engine = 'spark' needs pyspark, which is not installed: "
            "pip install 'tether[spark]'"
        )
    from pyspark.sql import SparkSession

    if not options.master:
        # spark-submit, a Databricks job or notebook: their session (or their conf) holds;
        # the JVM runs already, so only SQL settings can still be set
        session = SparkSession.builder.appName("tether-linking").getOrCreate()
        runtime = {"spark.sql.constraintPropagation.enabled": "false"}
        if options.shuffle_partitions:
            runtime["spark.sql.shuffle.partitions"] = str(options.shuffle_partitions)
        runtime.update({k: v for k, v in options.conf.items() if k.startswith("spark.sql.")})
        for key, value in runtime.items():
            session.conf.set(key, value)
    else:
        if _cores(options.master):
            # the Python workers (applyInPandas) run this interpreter: pyspark reads the
            # variable, not the conf, when it starts the local JVM
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = SparkSession.builder.master(options.master).appName("tether-linking")
        for key, value in session_conf(options).items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
    context = session.sparkContext
    if context.getCheckpointDir() is None:
        directory = options.checkpoint_dir or tempfile.mkdtemp(prefix="tether-spark-")
        context.setCheckpointDir(directory)
    logger.info(
        "spark session master=%s partitions=%s",
        context.master,
        session.conf.get("spark.sql.shuffle.partitions"),
    )
    return session


def splink_api(spark: SparkSession) -> Any:
    """Splink's ``SparkAPI`` on ``spark``, breaking lineage Splink's default way.

    Splink's default writes each intermediate table to Parquet in the checkpoint
    directory. ``persist`` looks cheaper on one machine but keeps every lineage
    whole: the plans of iterative connected components grow until the driver
    runs out of heap (seen at 5 GB on a 3,500-record world), so it is not used.
    """
    from splink.backends.spark import SparkAPI

    return SparkAPI(spark_session=spark)  # type: ignore[no-untyped-call]
