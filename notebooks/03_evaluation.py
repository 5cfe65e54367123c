# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Evaluation against the demo labels
#
# The demo world knows who everyone really is (`labels.csv`:
# `source, record_key, true_id`). Score the run's identity graph, then the
# model's scored pairs across thresholds with scikit-learn, list the worst
# errors, and choose a threshold.

# %%
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import display
from sklearn.metrics import precision_recall_fscore_support

from api import Tether
from api.tether.charts import vega_lite

logging.getLogger("splink").setLevel(logging.ERROR)
HOME = Path(os.environ.get("TETHER_HOME", "tether-data"))
LABELS = HOME / "demo" / "labels.csv"
tether = Tether.open(HOME, config=HOME / "demo" / "tether.toml")
run = tether.run
assert run is not None, "no run yet: `make demo` writes one"

# %% [markdown]
# ## The identity graph against the truth
# Pairwise and cluster-level scores, and the sweep `tether evaluate` runs:
# the run re-clustered at each threshold with its own guard-rails and
# consent gate.

# %%
evaluation = tether.runs.evaluate(labels=LABELS, min_precision=0.99)
display(pd.Series(evaluation.scores.as_dict(), name="score").to_frame())
sweep = evaluation.sweep
assert sweep is not None
display(sweep.scores)

# %% [markdown]
# ## The model's scored pairs, with scikit-learn
# Each pair the model scored is labelled *same person* when both records
# carry the same `true_id`. Precision, recall and F1 of "probability >= t"
# for each threshold t.

# %%
truth = pd.read_csv(LABELS, dtype=str)
graph = run.table("identity_graph")
true_id = graph[["source", "record_key"]].merge(truth, on=["source", "record_key"], how="left")[
    "true_id"
]
pairs = run.table("predictions")[["left", "right", "probability", "match_weight", "rule"]].copy()
pairs["left_true"] = true_id.to_numpy()[pairs["left"].to_numpy()]
pairs["right_true"] = true_id.to_numpy()[pairs["right"].to_numpy()]
pairs = pairs.dropna(subset=["left_true", "right_true"])
pairs["same"] = pairs["left_true"] == pairs["right_true"]
rows = []
for threshold in sweep.scores["threshold"]:
    predicted = pairs["probability"] >= threshold
    precision, recall, f1, _ = precision_recall_fscore_support(
        pairs["same"], predicted, average="binary", zero_division=0
    )
    rows.append({"threshold": threshold, "precision": precision, "recall": recall, "f1": f1})
curve = pd.DataFrame(rows)
display(curve.round(4))
long = curve.melt(id_vars="threshold", var_name="metric", value_name="value")
vega_lite(
    {
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "threshold", "type": "quantitative", "scale": {"zero": False}},
            "y": {"field": "value", "type": "quantitative", "scale": {"zero": False}},
            "color": {"field": "metric", "type": "nominal"},
        },
    },
    data=long.to_dict(orient="records"),
    title="Scored pairs: precision, recall and F1 by threshold (scikit-learn)",
)

# %% [markdown]
# ## The worst errors
# False links the model was surest of, and true links it scored lowest.

# %%
records = run.records()
shown = ["source", "record_key", "first_name", "last_name", "dob", "postcode", "email"]


def side(ids: pd.Series, prefix: str) -> pd.DataFrame:
    part = records.iloc[ids.to_numpy()][shown].reset_index(drop=True)
    return part.add_prefix(prefix)


def worst(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    return pd.concat(
        [frame[["probability", "rule"]], side(frame["left"], "l_"), side(frame["right"], "r_")],
        axis=1,
    )


false_links = worst(pairs[~pairs["same"]].nlargest(5, "probability"))
missed = worst(pairs[pairs["same"]].nsmallest(5, "probability"))
display(false_links)
display(missed)

# %% [markdown]
# ## The threshold
# The recommendation: the best F1 whose precision reaches the floor (ties go
# to the higher threshold). Set it as `[linking] threshold` in `tether.toml`.

# %%
chosen = sweep.recommended
print(f"recommended threshold {chosen} ({sweep.reason}); the run used {sweep.current}")
row = sweep.scores[np.isclose(sweep.scores["threshold"], chosen)].iloc[0]
print(
    f"at {chosen}: precision {row['precision']:.4f}, recall {row['recall']:.4f}, F1 {row['f1']:.4f}"
)

# %%
assert 0.0 < evaluation.scores.pairwise_f1 <= 1.0
assert len(curve) == len(sweep.scores) and curve["precision"].between(0, 1).all()
assert len(false_links) + len(missed) > 0
tether.close()
