"""``no_rows`` keeps a frame's columns and none of its memory (issue #14)."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pandas as pd

from resolver.frames import no_rows


def test_no_rows_keeps_the_columns_and_none_of_the_data() -> None:
    frame = pd.DataFrame(
        {
            "n": np.arange(1000),
            "text": pd.Series([f"t{i}" for i in range(1000)], dtype="string[pyarrow]"),
            "objects": np.array([f"o{i}" for i in range(1000)], dtype=object),
            "ts": pd.to_datetime(np.arange(1000), unit="s", utc=True),
        }
    )
    numbers = frame["n"].to_numpy()
    alive = weakref.ref(numbers.base if numbers.base is not None else numbers)
    empty = no_rows(frame)
    pd.testing.assert_frame_equal(empty, frame.iloc[:0], check_index_type=False)
    assert frame.iloc[:0]["n"].to_numpy().base is not None  # a view: why no_rows exists
    del frame, numbers
    gc.collect()
    assert alive() is None  # the rows' memory went with the frame
    assert len(empty) == 0
