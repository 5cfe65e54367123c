"""Text columns as Python objects that share one ``str`` per distinct value.

A run holds millions of rows whose text repeats: a source name, a record
kind, a consent status, an event type. As an object column each row is an
8-byte pointer; what costs is a separate ``str`` behind every pointer (about
50 bytes and more). Two ways to get one by accident:

- ``np.full(n, "event", dtype=object)`` converts the value to a NumPy unicode
  scalar and back, and so makes a new ``str`` for every row (``repeated``
  does not);
- ``series.to_numpy(dtype=object)`` on Arrow text makes one ``str`` per row
  (``shared_objects`` makes one per distinct value).

At 1 M touchpoints the run's activity and person consent held 0.2 GiB of
such copies (``bench/RESULTS.md``, issue #14).

Examples:
    >>> a = repeated("event", 3)
    >>> a.tolist(), len({id(v) for v in a})
    (['event', 'event', 'event'], 1)
    >>> s = shared_objects(pd.Series(["a", None, "a"], dtype="string[pyarrow]"))
    >>> s.tolist(), s[0] is s[2]
    (['a', None, 'a'], True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = [
    "arrow_array",
    "is_arrow_text",
    "repeated",
    "shared_objects",
    "take_values",
    "text_codes",
]


def repeated(value: object, n: int) -> np.ndarray:
    """An object array of ``n`` rows all holding ``value`` itself (one object, not ``n``)."""
    out = np.empty(n, dtype=object)
    out[:] = [value] if n else []
    return out


def shared_objects(values: pd.Series) -> np.ndarray:
    """``values`` as an object array: each a ``str`` shared by every row holding it, ``None``
    where missing (Arrow's dictionary encoding, then a take)."""
    codes, uniques = text_codes(values)
    return take_values(uniques, codes)


def take_values(values: list[Any], codes: np.ndarray) -> np.ndarray:
    """``values`` at ``codes`` as an object array, ``None`` where the code is -1; each value
    is the one object, shared by every row holding its code."""
    table = np.empty(len(values) + 1, dtype=object)
    table[:-1] = values
    table[-1] = None
    taken: np.ndarray = table[codes]
    return taken


def is_arrow_text(values: pd.Series) -> bool:
    """Whether ``values`` is ``string[pyarrow]`` (pandas' ``StringDtype`` stored in Arrow)."""
    dtype = values.dtype
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def arrow_array(values: pd.Series) -> Any:
    """The Arrow chunked array behind an Arrow-backed series (no copy)."""
    return values.array.__arrow_array__()


def text_codes(values: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Per value, the index of its distinct value (-1: missing), and the distinct values.

    Arrow's dictionary encoding: one pass in C over a million strings, where a
    pandas ``map`` over a dict builds and probes a hash index in Python objects.
    Arrow text is encoded as it is, a ``Categorical`` gives its own codes and categories;
    other values go through Python objects.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(dtype=np.int64), values.cat.categories.tolist()
    if is_arrow_text(values):
        array = arrow_array(values).combine_chunks()
    else:
        objects = values.astype(object).to_numpy()
        objects[~values.notna().to_numpy()] = None
        array = pa.array(objects, from_pandas=True)
    encoded = array if pa.types.is_dictionary(array.type) else array.dictionary_encode()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, encoded.dictionary.to_pylist()
