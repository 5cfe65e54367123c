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

__all__ = ["repeated", "shared_objects", "text_codes"]


def repeated(value: object, n: int) -> np.ndarray:
    """An object array of ``n`` rows all holding ``value`` itself (one object, not ``n``)."""
    out = np.empty(n, dtype=object)
    out[:] = [value] if n else []
    return out


def shared_objects(values: pd.Series) -> np.ndarray:
    """``values`` as an object array: each a ``str`` shared by every row holding it, ``None``
    where missing (Arrow's dictionary encoding, then a take)."""
    codes, uniques = text_codes(values)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:-1] = uniques
    table[-1] = None
    taken: np.ndarray = table[codes]
    return taken


def text_codes(values: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Per value, the index of its distinct value (-1: missing), and the distinct values.

    Arrow's dictionary encoding: one pass in C over a million strings, where a
    pandas ``map`` over a dict builds and probes a hash index in Python objects.
    Arrow text is encoded as it is; other values go through Python objects.
    """
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        array = values.array.__arrow_array__().combine_chunks()
    else:
        objects = values.astype(object).to_numpy()
        objects[~values.notna().to_numpy()] = None
        array = pa.array(objects, from_pandas=True)
    encoded = array if pa.types.is_dictionary(array.type) else array.dictionary_encode()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, encoded.dictionary.to_pylist()
