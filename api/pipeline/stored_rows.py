"""``StoredRows``: a table one step wrote to the run, read back by the columns a later step needs.

A run's steps do not hand each other their big tables. Ingest writes the touchpoints, events
and interactions to the run's Parquet files, and each later step reads the columns it reads,
for as long as it runs. At 10 M touchpoints the 39 touchpoint columns held through the whole
run were about 4 GiB under every step's peak, and no step reads more than 25 of them
(``bench/RESULTS.md``, issue #14).

What is read back equals what was written: each column gets the dtype it was written with
(Arrow strings stay Arrow, times their unit, lists Python lists), and pyarrow shares repeated
text between rows, as ingest does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["StoredRows"]


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredRows:
    """Rows in a run's Parquet file, and the dtypes they had when written."""

    path: Path
    rows: int
    dtypes: Mapping[str, Any]
    """Column -> its pandas dtype when written, in the file's column order."""

    @classmethod
    def write(cls, frame: pd.DataFrame, *, path: Path, **options: Any) -> StoredRows:
        """Write ``frame`` to ``path`` (``DataFrame.to_parquet``'s ``options``, no index)."""
        frame.to_parquet(path, index=False, **options)
        return cls(path=path, rows=len(frame), dtypes={str(c): t for c, t in frame.dtypes.items()})

    def read(self, *, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """The rows, with ``columns`` (every column when ``None``) in the file's order.

        A column asked for that was not written is left out, as the frame it was written from
        lacked it: readers test ``name in frame`` where a column is optional.
        """
        asked = set(self.dtypes) if columns is None else set(columns)
        wanted = [c for c in self.dtypes if c in asked]
        if not wanted:  # no column: still the file's rows
            return pd.DataFrame(index=pd.RangeIndex(self.rows))
        read: dict[str, pd.Series] = {}
        with pq.ParquetFile(self.path) as file:
            for name in wanted:  # one column's Arrow buffers at a time beside the frame
                column = file.read(columns=[name]).column(name)
                read[name] = _as_written(column, self.dtypes[name])
        # Arrow's allocator keeps what it freed for its next allocation: the decoded columns
        # went to the frame, and the step that reads them needs the memory for other things
        pa.default_memory_pool().release_unused()
        return pd.DataFrame(read, copy=False)


def _as_written(column: pa.ChunkedArray, dtype: Any) -> pd.Series:
    """One Parquet column as the pandas column it was written from."""
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return pd.Series(pd.arrays.ArrowStringArray(column), copy=False)
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        # pandas would give numpy arrays: the rows held Python lists
        return pd.Series(column.to_pylist(), dtype=object)
    values = pd.Series(column.to_pandas(), copy=False)
    if values.dtype != dtype:  # times are written in microseconds (Spark reads no finer)
        values = values.astype(dtype)
    return values
