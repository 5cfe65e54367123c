"""``tether.persons``: find a person, list their records across sources, explain a pair.

``why`` answers from the run's decisions (the path of accepted links, or
the links a rule refused), as ``tether why`` does; ``explain`` shows how
the model scored two records, comparison by comparison, with Splink's
waterfall chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from api.errors import NotFound
from api.lookup import PersonMatch, find_person
from api.tether.charts import OfflineChart, offline
from api.tether.model import Model
from api.tether.run import Run
from api.workspace import Workspace
from resolver.explain import Explanation, explain_records

__all__ = ["PairExplanation", "Persons", "RECORD_COLUMNS"]

#: What ``records`` shows of each record: where it came from and what it says.
RECORD_COLUMNS = (
    "source", "record_key", "kind", "person_id", "subject_type", "subject_id", "may_link",
    "customer_id", "cookie_id", "device_id", "channel", "first_name", "last_name", "dob",
    "email", "phone", "postcode", "city", "ts",
)  # fmt: skip

RecordRef = tuple[str, str]

#: Derived name columns the comparisons read besides the names themselves (not shown).
_HELPERS = ("_skeleton", "_translit", "_forms", "_canon")


@dataclass(frozen=True, kw_only=True, slots=True)
class PairExplanation:
    """How the model scored two records: the weights per comparison, and the waterfall."""

    left: RecordRef
    right: RecordRef
    match_weight: float
    match_probability: float
    comparisons: pd.DataFrame
    """One row per comparison: the level the pair fell into, its weight, the values compared."""
    chart: OfflineChart
    """Splink's waterfall chart, offline."""
    why: Explanation
    """What the run decided about the two records (path of links or refused links)."""


class Persons:
    """Persons of the current run."""

    def __init__(self, *, workspace: Workspace, model: Model) -> None:
        self._workspace = workspace
        self._model = model

    def get(
        self,
        *,
        person_id: str | None = None,
        subject_type: str | None = None,
        subject_id: str | None = None,
    ) -> PersonMatch:
        """A person by id (merged ids followed) or by a subject (``customer``, ``cookie``...).

        ``subject_type="email"`` takes the address or its SHA-256. ``NotFound``
        when the current run has no such person.
        """
        if person_id is not None:
            kind, key = "person", person_id
        elif subject_type is not None and subject_id is not None:
            kind, key = subject_type, subject_id
        else:
            raise TypeError("pass person_id, or subject_type and subject_id")
        match = find_person(workspace=self._workspace, subject_type=kind, subject_id=key)
        if match is None:
            raise NotFound(f"no person for {kind} {key} in the current run", subject_type=kind)
        return match

    def records(self, *, person_id: str) -> pd.DataFrame:
        """The person's records across every source, one row each (merged ids followed)."""
        match = self.get(person_id=person_id)
        records = Run.current(self._workspace).records()
        mine = records[records["person_id"] == match.person_id]
        return mine[[c for c in RECORD_COLUMNS if c in mine.columns]].reset_index(drop=True)

    def why(self, *, left: RecordRef, right: RecordRef) -> Explanation:
        """Why two records are one person (the links between them) or not (the refused links)."""
        run = Run.current(self._workspace)
        return explain_records(
            graph=run.table("identity_graph"), links=run.table("links"), left=left, right=right
        )

    def explain(self, *, left: RecordRef, right: RecordRef) -> PairExplanation:
        """The model's score of two records, comparison by comparison, with the waterfall.

        The records are compared as the model saw them in the run (identifier
        values the guard-rails refused are left out), whether or not blocking
        put them in one pair.
        """
        run = Run.current(self._workspace)
        linker = self._model.linker(run=run)
        ids = [
            self._model.record_id(run=run, source=ref[0], record_key=ref[1])
            for ref in (left, right)
        ]
        scored = linker.score_records(ids[0], ids[1])
        row: dict[str, Any] = {str(k): v for k, v in scored.iloc[0].to_dict().items()}
        chart = linker.linker.visualisations.waterfall_chart(
            scored.to_dict(orient="records"), filter_nulls=False
        )
        comparisons = _comparison_rows(self._model.trained().settings, row)
        return PairExplanation(
            left=left,
            right=right,
            match_weight=float(row["match_weight"]),
            match_probability=float(row["match_probability"]),
            comparisons=comparisons,
            chart=offline(chart, title=f"{left[0]}:{left[1]} vs {right[0]}:{right[1]}"),
            why=self.why(left=left, right=right),
        )


def _comparison_rows(settings: dict[str, Any], row: dict[str, Any]) -> pd.DataFrame:
    """Per comparison: the level the pair fell into, its match weight, the values compared."""
    from resolver.model import MODEL_COLUMNS

    out = []
    for comparison in settings["comparisons"]:
        name = comparison["output_column_name"]
        levels = comparison["comparison_levels"]
        sql = " ".join(str(level.get("sql_condition", "")) for level in levels)
        columns = [c for c in MODEL_COLUMNS if f"{c}_l" in sql and not c.endswith(_HELPERS)]
        gamma = row.get(f"gamma_{name}")
        # Splink numbers the levels: the null level -1, then the others from k-1 down to 0.
        ranked = [level for level in levels if not level.get("is_null_level")]
        labels: dict[Any, Any] = {-1: "null"}
        for position, level in enumerate(ranked):
            labels[len(ranked) - 1 - position] = level.get("label_for_charts", "")
        weight = row.get(f"mw_{name}")
        adjustment = row.get(f"mw_tf_adj_{name}")
        out.append(
            {
                "comparison": name,
                "level": labels.get(gamma, str(gamma)),
                "match_weight": (weight or 0.0) + (adjustment or 0.0),
                "left": ", ".join(
                    str(row.get(f"{c}_l")) for c in columns if row.get(f"{c}_l") is not None
                ),
                "right": ", ".join(
                    str(row.get(f"{c}_r")) for c in columns if row.get(f"{c}_r") is not None
                ),
            }
        )
    return pd.DataFrame(out, columns=["comparison", "level", "match_weight", "left", "right"])
