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
# # The linkage model
#
# The trained Splink model of the workspace: its m and u probabilities, the
# match weights they give, how the run's scores fall around the threshold,
# and Splink's comparison viewer and cluster studio written to HTML.
# `tether.model.linker()` is a Splink `Linker` on the run's model input (one
# row per person signature per identifier-linked fragment), so every Splink
# chart and method works on it.

# %%
import logging
import math
import os
from pathlib import Path

import pandas as pd
from IPython.display import display

from api import Tether
from api.tether.charts import offline, vega_lite

logging.getLogger("splink").setLevel(logging.ERROR)
HOME = Path(os.environ.get("TETHER_HOME", "tether-data"))
tether = Tether.open(HOME, config=HOME / "demo" / "tether.toml")
run = tether.run
assert run is not None, "no run yet: `make demo` writes one"
linker = tether.model.linker()
splink = linker.linker
print(
    f"model input: {len(linker.model_input):,} rows for {len(run.table('touchpoints')):,} records"
)
print("blocking rules:", ", ".join(rule.name for rule in linker.plan.rules))

# %% [markdown]
# ## m and u
# m: how often a level occurs among true matches; u: among random pairs.
# Their ratio is the Bayes factor the level contributes.

# %%
m_u = tether.model.m_u()
m_u["match_weight"] = m_u["bayes_factor"].map(lambda bf: math.log2(bf) if bf else None)
display(m_u.round(4))
offline(splink.visualisations.m_u_parameters_chart(), title="m and u", height=700)

# %% [markdown]
# ## Match weights

# %%
offline(splink.visualisations.match_weights_chart(), title="Match weights", height=700)

# %% [markdown]
# ## Scores against the threshold
# The run's scored pairs (at or above the score floor) by match weight; the
# red rule is the linking threshold.

# %%
threshold = run.linking_options().threshold
threshold_weight = math.log2(threshold / (1 - threshold))
scores = run.table("predictions")[["match_weight", "probability", "rule"]]
weights = scores["match_weight"].round(0).value_counts().sort_index()
bins = weights.rename_axis("match_weight").reset_index(name="pairs")
histogram = vega_lite(
    {
        "layer": [
            {
                "mark": "bar",
                "encoding": {
                    "x": {"field": "match_weight", "type": "quantitative", "bin": {"step": 1}},
                    "y": {"field": "pairs", "type": "quantitative"},
                },
            },
            {
                "data": {"values": [{"threshold": threshold_weight}]},
                "mark": {"type": "rule", "color": "red", "strokeWidth": 2},
                "encoding": {"x": {"field": "threshold", "type": "quantitative"}},
            },
        ]
    },
    data=bins.to_dict(orient="records"),
    title=f"Match weights of scored pairs; threshold {threshold} = weight {threshold_weight:.2f}",
)
display(histogram)
print(
    f"{(scores['probability'] >= threshold).sum():,} of {len(scores):,} scored pairs "
    f"at or above the threshold"
)

# %% [markdown]
# Splink's own histogram, over every blocked pair (not only those above the floor):

# %%
predictions = linker.predictions()
offline(splink.visualisations.match_weights_histogram(predictions), title="Splink histogram")

# %% [markdown]
# ## Comparison viewer and cluster studio
# Splink's dashboards, written as standalone HTML files (their JavaScript is
# bundled in the file: they open offline).

# %%
out = Path("model-dashboards")
out.mkdir(exist_ok=True)
viewer = out / "comparison_viewer.html"
splink.visualisations.comparison_viewer_dashboard(
    predictions, str(viewer), overwrite=True, num_example_rows=2
)
clusters = linker.clusters()
studio = out / "cluster_studio.html"
splink.visualisations.cluster_studio_dashboard(
    predictions,
    clusters,
    str(studio),
    sampling_method="by_cluster_size",
    sample_size=10,
    overwrite=True,
)
dashboards = pd.DataFrame(
    [{"dashboard": p.name, "path": str(p.resolve()), "kB": p.stat().st_size // 1024}
     for p in (viewer, studio)]
)  # fmt: skip
display(dashboards)

# %%
assert viewer.stat().st_size > 100_000 and studio.stat().st_size > 100_000
assert "<script src=" not in viewer.read_text(encoding="utf-8")  # JS bundled, not fetched
assert len(m_u) and m_u["m"].notna().any()
tether.close()
