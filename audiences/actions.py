"""The next best action: at most one action per person per run (issue #15).

A segment may declare an ``action`` (``ACTIONS``), a ``priority`` and a
``topic``. A bank's scene: the customer who met a mortgage advisor and did
not sign is reading the mortgage pages again. She is in two segments of the
topic ``mortgage``: ``advisor_call`` (priority 100) and ``ad`` (priority 10).
She should get the call, not the ad.

- Each person gets the action of the highest-priority segment they belong
  to whose purposes their consent allows (``ACTIONS``: an ad needs
  ``ad_targeting``, a message ``messaging_marketing``, an advisor's call
  ``personalisation``; ``suppress`` needs none and wins by priority like any
  other). Ties go to the segment name, so a run is reproducible.
- A person whose action was decided by another segment of the same topic is
  kept out of a segment's exports (``suppressed``): exports never both call
  and target her. A person whose consent refuses the call keeps the ad (if
  that is allowed); one who withdrew ad consent gets neither. A person whose
  action is ``suppress`` is in no other segment's exports. A person whose
  action belongs to another topic keeps this topic's audiences (one action
  per person, one audience per topic).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from audiences.segments import Segment

__all__ = ["ACTIONS", "ACTION_COLUMNS", "assign_actions", "suppressed"]

ACTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "advisor_call": ("personalisation",),
        "message": ("messaging_marketing",),
        "ad": ("ad_targeting",),
        "suppress": (),
    }
)
"""Action -> the consent purposes a person needs for it."""

ACTION_COLUMNS = ("person_id", "action", "segment", "priority", "topic")


def assign_actions(
    *,
    members: Mapping[str, pd.Series],
    segments: Mapping[str, Segment],
    consent: pd.DataFrame,
) -> pd.DataFrame:
    """One row per person with an action (``ACTION_COLUMNS``), sorted by person.

    Args:
        members: segment name -> its members' person ids (this run).
        segments: the segments, for their action, priority and topic.
        consent: ``person_consent`` (``person_id, purpose, allowed``), as judged now.
    """
    parts = []
    for name, ids in members.items():
        segment = segments[name]
        if segment.action is None or not len(ids):
            continue
        parts.append(
            pd.DataFrame(
                {
                    "person_id": ids.astype(str).to_numpy(),
                    "action": segment.action,
                    "segment": name,
                    "priority": segment.priority,
                    "topic": segment.topic,
                }
            )
        )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ACTION_COLUMNS}).astype(
            {"priority": "int64"}
        )
    candidates = pd.concat(parts, ignore_index=True)
    allowed = consent[consent["allowed"].astype(bool)]
    granted = set(zip(allowed["person_id"].astype(str), allowed["purpose"], strict=True))
    ok = np.ones(len(candidates), dtype=bool)
    for action, purposes in ACTIONS.items():
        rows = (candidates["action"] == action).to_numpy()
        for purpose in purposes:
            has = np.fromiter(
                ((p, purpose) in granted for p in candidates["person_id"]), bool, len(candidates)
            )
            ok &= ~rows | has
    chosen = (
        candidates[ok]
        .sort_values(["person_id", "priority", "segment"], ascending=[True, False, True])
        .drop_duplicates("person_id")
        .reset_index(drop=True)
    )
    return chosen[list(ACTION_COLUMNS)].astype({"priority": "int64"})


def suppressed(*, members: pd.Series, segment: Segment, actions: pd.DataFrame) -> np.ndarray:
    """Which ``members`` of ``segment`` another action takes precedence for.

    True where the person's action was decided by another segment of the same
    topic (it ranks first by priority, then name, as ``assign_actions`` ranks:
    a call instead of this ad, ties included), or where the person's action
    is ``suppress`` (from any segment but this one): then they are in no
    other segment's exports. Segments without a topic are kept out only by
    ``suppress``.
    """
    if not len(actions):
        return np.zeros(len(members), dtype=bool)
    other = actions[actions["segment"] != segment.name]
    rival = other["action"] == "suppress"
    if segment.topic is not None:
        rival |= other["topic"] == segment.topic
    return members.astype(str).isin(set(other.loc[rival, "person_id"])).to_numpy()
