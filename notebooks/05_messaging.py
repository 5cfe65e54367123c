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
# Viber): sent, delivered, read, received (the person wrote), clicked. Where
# reads cannot be seen (Telegram bots, users with read receipts off), the
# read rate is unknown, not zero (`docs/messaging.md#engagement`). Then each
# person's next best action, by the segment that decided it.

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
for event in ("message_delivered", "message_read", "message_received", "message_clicked"):
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
# ## Per person: observable and unknown
# Each person's reads on a channel are `visible`, `hidden` (receipts off:
# replies or clicks but never a read) or `unobservable` (the channel never
# reports them). Only visible reads give a read rate; the engagement level
# over 30 days rests on replies and clicks where reads are unknown.

# %%
features = run.table("person_features")
channels = [c.removeprefix("msg_delivered_") for c in features if c.startswith("msg_delivered_")]
reached = {c: features[features[f"msg_delivered_{c}"] > 0] for c in channels}
per_person = pd.DataFrame(
    {
        channel: {
            "persons reached": len(people),
            "reads visible": int((people[f"msg_reads_{channel}"] == "visible").sum()),
            "reads unknown": int((people[f"msg_reads_{channel}"] != "visible").sum()),
            "median read rate (visible)": people[f"msg_read_rate_{channel}"].median(),
        }
        for channel, people in reached.items()
    }
).T
display(per_person)

# %%
levels = (
    pd.DataFrame(
        {
            channel: people[f"msg_engagement_{channel}"]
            .fillna("no messages in 30 days")
            .value_counts()
            for channel, people in reached.items()
        }
    )
    .fillna(0)
    .astype(int)
)
display(levels)
split = levels.reset_index(names="level").melt(
    id_vars="level", var_name="channel", value_name="persons"
)
vega_lite(
    {
        "mark": "bar",
        "encoding": {
            "x": {"field": "channel", "type": "nominal"},
            "y": {"field": "persons", "type": "quantitative", "stack": "zero"},
            "color": {"field": "level", "type": "nominal"},
        },
    },
    data=split.to_dict(orient="records"),
    title="Engagement over 30 days: engaged, unknown (reads unseen), unengaged",
)

# %% [markdown]
# ## Next best actions, by segment
# One action per person: the highest-priority segment they are in whose
# purposes their consent allows (`docs/audiences.md#the-next-best-action`).

# %%
actions = run.table("person_actions") if run.has("person_actions") else pd.DataFrame()
by_segment = (
    actions.groupby(["segment", "action"]).size().rename("persons").reset_index()
    if len(actions)
    else pd.DataFrame(columns=["segment", "action", "persons"])
)
display(by_segment)

# %%
assert len(counts) >= 2 and counts.sum().sum() == len(messages)
assert set(channels) <= set(counts.index)
assert per_person["reads unknown"].sum() > 0, "the demo world hides some reads"
assert len(by_segment) >= 1, "the demo's segments decide actions"
tether.close()
