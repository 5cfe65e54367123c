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
# # Consent and audiences
#
# Who may be used for what, the segments and how they overlap, and what an
# export sent: its deltas against the previous export and the consent events
# that allowed each person in it.

# %%
import logging
import os
from pathlib import Path

import pandas as pd
from IPython.display import display

from api import Tether
from api.tether.charts import vega_lite

logging.getLogger("splink").setLevel(logging.ERROR)
HOME = Path(os.environ.get("TETHER_HOME", "tether-data"))
tether = Tether.open(HOME, config=HOME / "demo" / "tether.toml")
run = tether.run
assert run is not None, "no run yet: `make demo` writes one"

# %% [markdown]
# ## Consent coverage per purpose
# From the run's judgement of each person: the most restrictive of their
# linked subjects, a later explicit grant by the customer overriding an
# earlier denial (SPEC §5).

# %%
coverage = tether.consent.coverage()
display(coverage)
statuses = [c for c in coverage.columns if c not in ("purpose", "persons", "allowed", "share")]
long = coverage.melt(id_vars="purpose", value_vars=statuses, var_name="status", value_name="n")
vega_lite(
    {
        "mark": "bar",
        "encoding": {
            "y": {"field": "purpose", "type": "nominal"},
            "x": {"field": "n", "type": "quantitative", "stack": "normalize", "title": "persons"},
            "color": {"field": "status", "type": "nominal"},
        },
    },
    data=long.to_dict(orient="records"),
    title="Consent status per purpose",
)

# %% [markdown]
# One person's consent, with the events that decide it:

# %%
person_id = str(run.table("person_consent")["person_id"].iloc[0])
tether.consent.show(subject_type="person", subject_id=person_id, as_of=run.as_of).table()

# %% [markdown]
# ## Segments

# %%
segments = tether.segments.list()
display(segments[["name", "size", "holdout", "destinations"]])
name = str(segments.sort_values("size", ascending=False)["name"].iloc[0])
preview = tether.segments.preview(name=name, as_of=run.as_of)
print(f"{name}: {preview['size']} persons; coverage {preview['coverage']}")
display(pd.DataFrame(preview["destinations"]).T)

# %% [markdown]
# Overlap: persons in both segments (the diagonal is each segment's size).

# %%
display(tether.segments.overlap())

# %% [markdown]
# ## An export: deltas and lineage
# The nightly exported each segment to its destinations. `add` and `remove`
# are the changes since the previous export of the same segment to the same
# destination; the lineage lists, per exported person, the consent events
# that allowed it.

# %%
history = tether.exports.list()
display(history[["export_id", "segment", "destination", "run_id", "exported", "added", "removed"]])
export_id = str(history.sort_values("exported", ascending=False)["export_id"].iloc[0])
manifest = tether.exports.manifest(export_id=export_id)
display(pd.Series(manifest["counts"], name=export_id).to_frame())
deltas = tether.exports.deltas(export_id=export_id)
print({action: len(frame) for action, frame in deltas.items()})
display(deltas["add"].head())
lineage = tether.exports.lineage(export_id=export_id)
display(lineage.groupby("person_id").size().rename("events").describe().to_frame())

# %%
assert coverage["persons"].gt(0).all() and len(segments) > 0
assert len(deltas["add"]) == manifest["counts"]["added"]
assert set(lineage["person_id"]) <= set(run.table("persons")["person_id"])
tether.close()
