"""One local Spark session per test session, for the tests marked ``spark``.

pyspark is the optional extra ``tether[spark]``; ``make test`` installs it
(``requirements-spark.lock``). Without it these tests fail and say so: a
missing extra is never a silent skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from resolver.options import SparkOptions, spark_missing

#: Two cores and two shuffle partitions: the data here is a few thousand records.
TEST_SPARK = SparkOptions(master="local[2]", shuffle_partitions=2, driver_memory="2g")


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    """The session every Spark test shares (built once; stopped at the end)."""
    if spark_missing():
        pytest.fail("pyspark is not installed: `make install-spark` (tether[spark])")
    from resolver.spark.session import spark_session as build

    session = build(TEST_SPARK)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
