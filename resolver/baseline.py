"""The baseline linking is measured against: connected components over exact identifiers.

Every record sharing any identifier value (customer id, cookie, device, ad id,
normalised email, E.164 phone) with another is one person, with no
guard-rails and no model. It is what a naive identity graph does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from resolver.vocabulary import IDENTIFIER_KINDS

__all__ = ["exact_identifier_components"]


def exact_identifier_components(touchpoints: pd.DataFrame) -> np.ndarray:
    """Cluster label per record: connected components over shared identifier values."""
    n = len(touchpoints)
    lefts, rights = [], []
    for column in IDENTIFIER_KINDS:
        values = touchpoints[column]
        present = values.notna().to_numpy()
        ids = np.flatnonzero(present)
        codes = pd.factorize(values[present])[0]
        anchor = pd.Series(ids).groupby(codes).transform("min").to_numpy()
        lefts.append(anchor)
        rights.append(ids)
    left, right = np.concatenate(lefts), np.concatenate(rights)
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    return np.asarray(connected_components(graph, directed=False)[1], dtype=np.int64)
