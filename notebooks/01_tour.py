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
# # A tour of a Tether workspace
#
# Open the workspace that `make demo` (or `tether demo`) wrote, look at its
# identity graph, follow one person across sources, and ask why two records
# are, or are not, one person. Set `TETHER_HOME` to use another workspace.

# %%
import logging
import os
from pathlib import Path

import pandas as pd
from IPython.display import display

from api import Tether
from api.tether.charts import vega_lite

logging.getLogger("splink").setLevel(logging.ERROR)  # Splink's training advice is noise here
HOME = Path(os.environ.get("TETHER_HOME", "tether-data"))
tether = Tether.open(HOME, config=HOME / "demo" / "tether.toml")
run = tether.run
assert run is not None, "no run yet: `make demo` writes one"
display(tether)

# %% [markdown]
# ## The run
# What the last run did: records in, persons out, links refused by consent.

# %%
report = run.report
summary = pd.DataFrame(
    {
        "touchpoints": [report["touchpoints"]],
        "persons": [report["persons"]],
        "accepted links": [report["linking"]["edges_by_decision"].get("accepted", 0)],
        "refused for consent": [report["linking"]["consent_refusals"]],
        "records without linking consent": [report["consent"]["records_without_linking_consent"]],
        "as of": [run.as_of.isoformat()],
    }
)
display(summary)

# %% [markdown]
# ## The identity graph
# One row per usable input record, with the person it belongs to.

# %%
graph = run.table("identity_graph")
display(graph.head())
per_person = graph.groupby("person_id")["source"].nunique().rename("sources")
spread = per_person.value_counts().sort_index().rename_axis("sources").reset_index(name="persons")
display(spread)

# %%
vega_lite(
    {
        "mark": "bar",
        "encoding": {
            "x": {"field": "sources", "type": "ordinal", "title": "sources a person appears in"},
            "y": {"field": "persons", "type": "quantitative"},
        },
    },
    data=spread.to_dict(orient="records"),
    title="Persons by number of sources",
)

# %% [markdown]
# ## One person across sources
# The person seen in the most sources, with every record of theirs.

# %%
person_id = str(per_person.idxmax())
records = tether.persons.records(person_id=person_id)
display(records)

# %% [markdown]
# ## Why two records are one person
# `why` answers from the run's decisions: the path of accepted links between
# the two records. `explain` shows how the model scores them, comparison by
# comparison, with Splink's waterfall chart.

# %%
named = records[records["first_name"].notna()]
left = (str(named["source"].iloc[0]), str(named["record_key"].iloc[0]))
right = (str(named["source"].iloc[-1]), str(named["record_key"].iloc[-1]))
same = tether.persons.explain(left=left, right=right)
print(same.why.summary())
display(same.comparisons)
display(same.chart)

# %% [markdown]
# ## Why two records are not one person
# A model link the run refused: the waterfall says how far below the
# threshold it scored, `why` which rule refused it.

# %%
links = run.table("links")
person_of = dict(
    zip(zip(graph["source"], graph["record_key"], strict=True), graph["person_id"], strict=True)
)
apart_persons = pd.Series(
    [
        person_of[(ls, lk)] != person_of[(rs, rk)]
        for ls, lk, rs, rk in links[
            ["left_source", "left_key", "right_source", "right_key"]
        ].itertuples(index=False)
    ],
    index=links.index,
)
refused = links[apart_persons & (links["rule"] == "splink") & (links["decision"] != "accepted")]
refused = refused.sort_values("probability", ascending=False)
edge = refused.iloc[0]
apart = tether.persons.explain(
    left=(str(edge["left_source"]), str(edge["left_key"])),
    right=(str(edge["right_source"]), str(edge["right_key"])),
)
print(apart.why.summary())
print(
    f"match probability {apart.match_probability:.3f} (threshold {run.linking_options().threshold})"
)
display(apart.comparisons)
display(apart.chart)

# %%
assert same.why.same_person and not apart.why.same_person
assert len(records) >= 2 and records["person_id"].eq(person_id).all()
tether.close()
