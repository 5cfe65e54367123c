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
# # Messaging engagement by channel
#
# Message events on messaging contacts (WhatsApp, Telegram, Messenger,
# Viber): sent, delivered, read, replied, clicked. Where a channel hides
# reads, the read rate is unknown, not zero (SPEC §3).

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
# ## Events by channel

# %%
events = run.table("events")
messages = events[events["event_type"].astype(str).str.startswith("message_")]
counts = messages.pivot_table(
    index="channel", columns="event_type", values="subject_id", aggfunc="count", fill_value=0
)
display(counts)

# %%
rates = pd.DataFrame(index=counts.index)
sent = counts.get("message_sent", pd.Series(0, index=counts.index))
for event in ("message_delivered", "message_read", "message_replied", "message_clicked"):
    if event in counts:
        rates[event.removeprefix("message_") + "_rate"] = (counts[event] / sent).round(3)
rates["contacts"] = messages.groupby("channel")["subject_id"].nunique()
display(rates)
long = (
    rates.drop(columns="contacts")
    .reset_index()
    .melt(id_vars="channel", var_name="rate", value_name="share")
)
vega_lite(
    {
        "mark": "bar",
        "encoding": {
            "x": {"field": "channel", "type": "nominal"},
            "xOffset": {"field": "rate", "type": "nominal"},
            "y": {"field": "share", "type": "quantitative", "title": "share of messages sent"},
            "color": {"field": "rate", "type": "nominal"},
        },
    },
    data=long.to_dict(orient="records"),
    title="Messaging engagement by channel",
)

# %% [markdown]
# ## Per person
# The run's person features carry each person's messaging engagement per
# channel (delivered, read, read rate), which segments can use.

# %%
features = run.table("person_features")
channels = [c.removeprefix("msg_delivered_") for c in features if c.startswith("msg_delivered_")]
per_person = pd.DataFrame(
    {
        channel: {
            "persons reached": int((features[f"msg_delivered_{channel}"] > 0).sum()),
            "median read rate": features[f"msg_read_rate_{channel}"].median(),
        }
        for channel in channels
    }
).T
display(per_person)

# %%
assert len(counts) >= 2 and counts.sum().sum() == len(messages)
assert set(channels) <= set(counts.index)
tether.close()
