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

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from resolver.shared_text import take_values

__all__ = ["RowsWriter", "StoredRows"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredRows:
    """Rows in a run's Parquet file, and the dtypes they had when written."""

    path: Path
    rows: int
    dtypes: Mapping[str, Any]
    """Column -> its pandas dtype when written, in the file's column order."""

    @classmethod
    def write(
        cls, frame: pd.DataFrame, *, path: Path, schema: pa.Schema | None = None, **options: Any
    ) -> StoredRows:
        """Write ``frame`` to ``path`` (``pyarrow.parquet.ParquetWriter``'s ``options``, no
        index), as ``DataFrame.to_parquet`` writes it, or in the Arrow types of ``schema``.

        A slice of ``WRITE_ROWS`` rows at a time, each converted to the Arrow types of the
        whole frame: converted whole, 10 M touchpoints were a 2.5 GiB Arrow copy beside the
        frame, ingest's peak (issue #14).
        """
        given = schema  # a given schema's types are a cast (times truncated to its unit)
        if schema is None:
            schema = pa.Schema.from_pandas(frame, preserve_index=False)
        with pq.ParquetWriter(path, schema, **options) as writer:
            for start in range(0, max(len(frame), 1), WRITE_ROWS):
                rows = frame.iloc[start : start + WRITE_ROWS]
                table = pa.Table.from_pandas(
                    rows, schema=schema, preserve_index=False, safe=given is None
                )
                writer.write_table(table)
        return cls(path=path, rows=len(frame), dtypes=_dtypes(frame))

    def read(self, *, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """The rows, with ``columns`` (every column when ``None``) in the file's order.

        A column asked for that was not written is left out, as the frame it was written from
        lacked it: readers test ``name in frame`` where a column is optional.
        """
        return self._read(columns, coded=False)

    def read_coded(self, *, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """``read``, with each text column (Python or Arrow strings in the frame written, text
        in the file) a pandas ``Categorical``: each distinct text once, and a small integer
        per row (Arrow's dictionary, as Parquet stores it). A column written all missing
        has no text type in the file, and is read as ``read`` reads it.

        For a step that only compares, looks up and takes the text: the features read the
        keys and types of 23 M events at 10 M touchpoints, about 2.6 GiB as text under the
        step's peak and a tenth of that as codes (issue #14).
        """
        return self._read(columns, coded=True)

    def _read(self, columns: Iterable[str] | None, *, coded: bool) -> pd.DataFrame:
        asked = set(self.dtypes) if columns is None else set(columns)
        wanted = [c for c in self.dtypes if c in asked]
        if not wanted:  # no column: still the file's rows
            return pd.DataFrame(index=pd.RangeIndex(self.rows))
        text = self._text(wanted, arrow_strings=coded)
        read: dict[str, pd.Series] = {}
        with pq.ParquetFile(self.path, read_dictionary=text) as file:
            for name in wanted:  # one column's Arrow buffers at a time beside the frame
                column = file.read(columns=[name]).column(name)
                if coded and name in text:
                    read[name] = _categories(column)
                else:
                    read[name] = _as_written(column, self.dtypes[name])
        # Arrow's allocator keeps what it freed for its next allocation: the decoded columns
        # went to the frame, and the step that reads them needs the memory for other things
        pa.default_memory_pool().release_unused()
        return pd.DataFrame(read, copy=False)

    def _text(self, names: list[str], *, arrow_strings: bool) -> list[str]:
        """The columns among ``names`` written as Python strings (and, with
        ``arrow_strings``, as Arrow strings) that the file holds as text: read as Arrow
        dictionaries (each distinct text once, and a number per row), not as every row's
        text. Decoded, a user agent column of 10 M touchpoints was 1.6 GiB of Arrow text for
        a moment, the link step's peak, for a few hundred distinct values (issue #14)."""
        schema = pq.read_schema(self.path)
        return [
            name
            for name in names
            if (
                pd.api.types.is_object_dtype(self.dtypes[name])
                or (arrow_strings and isinstance(self.dtypes[name], pd.StringDtype))
            )
            and (
                pa.types.is_string(schema.field(name).type)
                or pa.types.is_large_string(schema.field(name).type)
            )
        ]

    def read_slices(self, *, rows: int) -> Iterator[pd.DataFrame]:
        """Every column, ``rows`` rows at a time (the last slice fewer), each as ``read``
        gives them: a step that works a slice at a time never holds the whole table (the
        consent step's 11 M imported consents at 10 M touchpoints, 2.3 GiB, issue #14)."""
        names = list(self.dtypes)
        with pq.ParquetFile(self.path) as file:
            for batch in file.iter_batches(batch_size=rows, columns=names, use_threads=False):
                yield pd.DataFrame(
                    {
                        name: _as_written(pa.chunked_array([batch.column(name)]), self.dtypes[name])
                        for name in names
                    },
                    copy=False,
                )


WRITE_ROWS = 1_000_000
"""Rows converted to Arrow at a time when a frame is written."""


def _dtypes(frame: pd.DataFrame) -> dict[str, Any]:
    return {str(c): t for c, t in frame.dtypes.items()}


class RowsWriter:
    """Writes a table to one Parquet file as its rows arrive, a chunk at a time.

    What is written, and read back, equals the chunks concatenated (``pd.concat``) and
    written at once, so a step that reads them cannot tell. Each chunk is written as it
    comes while it has the dtypes and Arrow types of the first; a chunk that has others (a
    column all missing in the first chunk, text in a later one) makes the writer hold the
    rest and write them all at ``close``, concatenated as pandas concatenates them.
    Chunks of one source read alike (ingest's events, issue #14), so that is rare.

    Given a ``schema``, every chunk is cast to its Arrow types (ingest's touchpoints, whose
    sources lack different columns; times truncated to the schema's unit, as
    ``allow_truncated_timestamps`` does), and chunks whose times differ only in their unit
    (a typed Parquet source's microseconds, a CSV's nanoseconds) are written as they come:
    the column is then read back in the unit the file stores.
    """

    def __init__(self, path: Path, *, schema: pa.Schema | None = None, **options: Any) -> None:
        self._path = path
        self._options = options
        self._writer: pq.ParquetWriter | None = None
        self._given = schema
        self._schema: pa.Schema | None = schema
        self._dtypes: dict[str, Any] | None = None
        self._rows = 0
        self._held: list[pd.DataFrame] | None = None
        """Once a chunk differs: the chunks since (the file's rows are read back at close)."""
        self._empty: pd.DataFrame | None = None
        """A chunk without rows, while no chunk with rows came."""
        self._empty_dtypes: dict[str, Any] | None = None
        """The dtypes of the chunks without rows before the first with rows (times that
        differ in unit among them in the schema's unit)."""

    def append(self, frame: pd.DataFrame) -> None:
        """Write (or hold) one chunk of rows."""
        if self._held is not None:
            self._held.append(frame)
            return
        if self._writer is None and not len(frame):
            self._empty = frame  # written at close if no rows come
            empty = _dtypes(frame)
            if self._empty_dtypes is not None:
                empty = self._in_file_units(self._empty_dtypes, empty) or empty
            self._empty_dtypes = empty
            return
        if self._writer is None:
            # rows at last: they set the file's types (an empty chunk's object columns have
            # none), but for times in another unit than an empty chunk's
            self._empty = None
            table = self._arrow(frame)
            self._schema, self._dtypes = table.schema, _dtypes(frame)
            if self._empty_dtypes is not None:
                self._dtypes = self._in_file_units(self._dtypes, self._empty_dtypes) or self._dtypes
            self._writer = pq.ParquetWriter(self._path, table.schema, **self._options)
        else:
            assert self._dtypes is not None
            dtypes = _dtypes(frame)
            if dtypes != self._dtypes:
                merged = self._in_file_units(self._dtypes, dtypes)
                if merged is None:
                    self._hold(frame)
                    return
                self._dtypes = merged
            try:
                table = self._arrow(frame)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                self._hold(frame)
                return
        self._writer.write_table(table)
        self._rows += len(frame)

    def _arrow(self, frame: pd.DataFrame) -> pa.Table:
        # a given schema's types are a cast (times truncated to its unit), not a check
        return pa.Table.from_pandas(
            frame, schema=self._schema, preserve_index=False, safe=self._given is None
        )

    def _in_file_units(
        self, written: Mapping[str, Any], chunk: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """``written`` with each time column that ``chunk`` has in another unit read back in
        the given schema's unit; ``None`` when any other dtype differs (or no schema)."""
        if self._given is None or list(written) != list(chunk):
            return None
        merged = dict(written)
        for name, dtype in chunk.items():
            if dtype == written[name]:
                continue
            field_type = self._given.field(name).type if name in self._given.names else None
            same_zone = getattr(dtype, "tz", None) == getattr(written[name], "tz", None)
            times = all(getattr(t, "kind", None) == "M" for t in (dtype, written[name]))
            if field_type is None or not pa.types.is_timestamp(field_type) or not times:
                return None
            if not same_zone:
                return None
            merged[name] = (
                pd.DatetimeTZDtype(unit=field_type.unit, tz=field_type.tz)
                if field_type.tz is not None
                else np.dtype(f"datetime64[{field_type.unit}]")
            )
        return merged

    def _hold(self, frame: pd.DataFrame) -> None:
        logger.warning(
            "%s: a chunk of other column types (%d rows); the rest is held and the file "
            "written again at the end",
            self._path.name,
            len(frame),
        )
        self._held = [frame]

    def close(self) -> StoredRows | None:
        """The rows written, or ``None`` when no chunk came."""
        if self._writer is None and self._empty is not None:
            return StoredRows.write(
                self._empty, path=self._path, schema=self._schema, **self._options
            )
        if self._writer is None:
            return None
        self._writer.close()
        assert self._dtypes is not None
        written = StoredRows(path=self._path, rows=self._rows, dtypes=self._dtypes)
        if self._held is None:
            return written
        frame = pd.concat([written.read(), *self._held], ignore_index=True)
        self._held = None
        return StoredRows.write(frame, path=self._path, schema=self._given, **self._options)


def _as_written(column: pa.ChunkedArray, dtype: Any) -> pd.Series:
    """One Parquet column as the pandas column it was written from."""
    if pa.types.is_dictionary(column.type) and pd.api.types.is_object_dtype(dtype):
        return _text_objects(column)  # Python strings, read coded (``_text``)
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return pd.Series(pd.arrays.ArrowStringArray(column), copy=False)
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        # pandas would give numpy arrays: the rows held Python lists
        return pd.Series(column.to_pylist(), dtype=object)
    values = pd.Series(column.to_pandas(), copy=False)
    if values.dtype != dtype:  # times are written in microseconds (Spark reads no finer)
        values = values.astype(dtype)
    return values


def _categories(column: pa.ChunkedArray) -> pd.Series:
    """A dictionary-coded text column as a ``Categorical`` of its distinct texts (Python
    strings, in order of appearance; a missing value has no category)."""
    values, codes = _dictionary(column)
    categories = pd.Index(np.asarray(values, dtype=object), dtype=object)
    # pandas takes an integer array (its stubs ask for a Sequence)
    coded = pd.Categorical.from_codes(codes, categories=categories)  # type: ignore[arg-type]
    return pd.Series(coded, copy=False)


def _text_objects(column: pa.ChunkedArray) -> pd.Series:
    """A dictionary-coded text column as Python strings, one ``str`` per distinct value
    shared by its rows and ``None`` where missing: what ``to_pandas`` gives of the text
    decoded (it shares repeated values too), without every row's text in between."""
    values, codes = _dictionary(column)
    return pd.Series(take_values(values, codes), dtype=object, copy=False)


def _dictionary(column: pa.ChunkedArray) -> tuple[list[Any], np.ndarray]:
    """A dictionary-coded column's distinct values and, per row, the index of its value
    (-1 where missing), over all its chunks."""
    column = column.unify_dictionaries()
    if not column.num_chunks:
        return [], np.empty(0, dtype=np.int32)
    values = column.chunk(0).dictionary.to_pylist()
    codes = [chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False) for chunk in column.chunks]
    return values, np.concatenate(codes)
