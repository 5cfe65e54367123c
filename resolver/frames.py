"""Frames let go of as soon as they are used: ``no_rows``, ``join_parts``, ``RecordRows``.

``no_rows``: a frame's columns without its rows, holding none of its memory.

A step lets go of a big table it returned by keeping only its columns. ``frame.iloc[:0]``
looks like that but is a view: it keeps the whole table's arrays alive (numpy and Arrow
slices share their parent's buffers), as at 10 M touchpoints the ingested touchpoints were
kept through the consents' read, and linking's 11 M predictions to the end of the run
(issue #14).

``RecordRows``: per-record columns a function reads a few at a time (``columns_of``), so
that a step working in phases holds only the phase's columns. A frame passed as an argument
cannot be let go of by the function it is passed to: the caller holds it to the end of the
call.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence

import pandas as pd

__all__ = ["RecordRows", "columns_of", "join_parts", "no_rows", "record_count"]

RecordRows = pd.DataFrame | Callable[[Sequence[str]], pd.DataFrame]
"""Rows of records (row ``i`` is record ``i``): a frame, or a function that reads the named
columns (those it has, left out otherwise) as a new frame, such as a run's touchpoints on
disk. At 10 M touchpoints linking's 23 columns, held whole through scoring, the union and
stitching, were 2.6 GiB under each of their peaks (issue #14)."""


def columns_of(rows: RecordRows, names: Iterable[str]) -> pd.DataFrame:
    """The columns ``names`` of ``rows`` that it has (no copy of a frame's): in that order
    from a frame, as the function gives them otherwise; read them by name."""
    wanted = list(dict.fromkeys(names))
    if isinstance(rows, pd.DataFrame):
        return pd.DataFrame(
            {name: rows[name] for name in wanted if name in rows.columns},
            index=rows.index,
            copy=False,
        )
    return rows(wanted)


def record_count(rows: RecordRows) -> int:
    """How many records ``rows`` holds (read without a column)."""
    return len(rows) if isinstance(rows, pd.DataFrame) else len(rows([]))


def no_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """A new frame with ``frame``'s columns and dtypes, and no rows."""
    return pd.DataFrame(
        {column: pd.Series([], dtype=dtype) for column, dtype in frame.dtypes.items()},
        index=pd.RangeIndex(0),
    )


def join_parts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Rows read in parts (sources, chunks) one under the other, as ``pd.concat`` of
    consolidated frames.

    The parts are consumed: each column leaves them once it is joined, so that the join
    holds one column twice, not every column (at 10 M touchpoints 2.7 GiB of ingest's peak).
    One part is returned as it is.

    Object columns are joined one by one: a frame-wise concat of unconsolidated
    parts tests every value of each all-``None`` column for NA in Python (11 M
    calls at 1 M touchpoints). In a consolidated part those columns share one
    block that always holds values, so pandas never treated them as missing.
    Every other column (``ts``, ``record_id``) is its own block either way, and
    is joined as a frame, so that a part whose ``ts`` is all NaT is read as
    pandas reads it there. A part with no rows also changes how pandas picks
    dtypes, and parts with other columns are lined up by name: then the frames are
    concatenated as they were.
    """
    if len(parts) == 1:
        return parts.pop()
    if any(part.empty for part in parts) or any(
        list(part.columns) != list(parts[0].columns) for part in parts
    ):  # other columns (two sources of a kind): lined up by name, as pd.concat does
        return pd.concat([part.copy() for part in parts], ignore_index=True)
    columns: dict[Hashable, pd.Series] = {}
    for column in list(parts[0].columns):
        if all(part[column].dtype == object for part in parts):
            columns[column] = pd.concat([part[column] for part in parts], ignore_index=True)
        else:
            joined = pd.concat([part[[column]] for part in parts], ignore_index=True)
            columns[column] = joined[column]
        for part in parts:
            del part[column]
    return pd.DataFrame(columns, copy=False)
