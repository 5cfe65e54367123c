"""``tether.model``: the trained Splink model, and a Splink ``Linker`` on a run's model input.

The model is Splink's own JSON in the workspace (``model/model.json``).
The linker is built on the run's *model input*: one row per distinct person
signature per deterministic fragment, exactly what the nightly scored
(``resolver.link.prepare_linking`` on the run's touchpoints and linking
options), keyed for the run's prediction blocking rules. With it every Splink
chart works: m/u parameters, match weights, the match-weight histogram,
waterfalls, the comparison viewer and cluster studio.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd

from api.tether.run import Run
from api.workspace import Workspace
from resolver.blocking import BlockingPlan, plan_blocking
from resolver.errors import InputError
from resolver.link import _model_columns, prepare_linking
from resolver.model import MODEL_COLUMNS, TrainedModel, load_model, present_columns, save_model

if TYPE_CHECKING:
    from resolver.calibration import Calibration, Method

__all__ = ["CalibrationFit", "Model", "RunLinker"]


@dataclass(frozen=True, kw_only=True, slots=True)
class CalibrationFit:
    """A calibration fitted on labelled pairs, and whether it was saved beside the model."""

    calibration: Calibration
    saved: bool
    """Saved when it improves the held-out Brier score (or when forced)."""

    @property
    def report(self) -> dict[str, Any]:
        """Labels used, folds, Brier score and reliability before and after, held out."""
        return self.calibration.report


class RunLinker:
    """A Splink ``Linker`` on one run's model input, with the run's blocking rules."""

    def __init__(self, *, run: Run, model: TrainedModel) -> None:
        from splink import DuckDBAPI, Linker

        self.run = run
        options = run.linking_options()
        touchpoints = run.table("touchpoints")
        prepared = prepare_linking(touchpoints, options=options, con=duckdb.connect())
        self.model_input: pd.DataFrame = prepared.model_input
        """One row per person signature per fragment (``unique_id`` = its first record id)."""
        self._junk = {
            kind: set(prepared.junk.loc[prepared.junk["kind"] == kind, "value"].astype(str))
            for kind in ("email", "phone")
        }
        self._fragment = prepared.fragment
        self.db_api = DuckDBAPI()
        con = self.db_api.duckdb_con
        con.register("model_input_raw", self.model_input[["unique_id", "fragment", *MODEL_COLUMNS]])
        self.plan: BlockingPlan = plan_blocking(
            con,
            table="model_input_raw",
            present=present_columns(self.model_input) & _model_columns(model),
            max_block_size=options.max_block_size,
            into="model_input_keyed",
        )
        con.unregister("model_input_raw")
        settings = dict(model.settings)
        settings["blocking_rules_to_generate_predictions"] = [
            r.splink_rule for r in self.plan.rules
        ]
        settings["retain_intermediate_calculation_columns"] = True  # waterfalls need them
        settings["retain_matching_columns"] = True
        self.threshold = options.threshold
        self.linker: Any = Linker(
            self.db_api.register("model_input_keyed"), settings, log_level=None
        )
        """Splink's ``Linker``: ``.visualisations``, ``.inference``, ``.clustering``..."""
        # Scoring two given records needs no blocking keys: a second linker on the plain
        # input (Splink selects every blocking column into a pair, and records have none).
        self._scorer: Any = Linker(
            self.db_api.register(
                self.model_input[["unique_id", "fragment", *MODEL_COLUMNS]],
                table_name="model_input_plain",
            ),
            {**settings, "blocking_rules_to_generate_predictions": []},
            log_level=None,
        )
        self._predictions: Any = None

    def predictions(self) -> Any:
        """Every blocked pair scored (a ``SplinkDataFrame``, computed once)."""
        if self._predictions is None:
            self._predictions = self.linker.inference.predict()
        return self._predictions

    def clusters(self, *, threshold: float | None = None) -> Any:
        """Splink's own clusters of the model input at ``threshold`` (default: the run's)."""
        return self.linker.clustering.cluster_pairwise_predictions_at_threshold(
            self.predictions(), threshold_match_probability=threshold or self.threshold
        )

    def model_record(self, record_id: int) -> dict[str, Any]:
        """A touchpoint as the model sees it: its model columns, junk identifiers removed."""
        row = self.run.table("touchpoints").iloc[record_id]
        record: dict[str, Any] = {
            "unique_id": int(record_id),
            "fragment": int(self._fragment[record_id]),
        }
        for column in MODEL_COLUMNS:
            value = row.get(column)
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif value is not None and not isinstance(value, list) and pd.isna(value):
                value = None
            record[column] = value
        for column in ("first_translit", "last_translit"):
            record[column] = bool(record[column])
        if record["email_folded"] in self._junk["email"]:
            record["email_folded"] = None
        if record["phone"] in self._junk["phone"]:
            record["phone"] = None
        return record

    def score_records(self, left: int, right: int) -> pd.DataFrame:
        """Splink's comparison of two touchpoints (by record id), with the waterfall's columns."""
        scored = self._scorer.inference.score_pair(
            self.model_record(left), self.model_record(right)
        )
        frame: pd.DataFrame = scored.as_pandas_dataframe()
        return frame


class Model:
    """The workspace's trained model, and linkers on runs (one kept per run)."""

    def __init__(self, *, workspace: Workspace) -> None:
        self._workspace = workspace
        self._linkers: dict[str, RunLinker] = {}

    def trained(self) -> TrainedModel:
        """The trained model (``model/model.json``, its calibration and training notes)."""
        return load_model(self._workspace.model_path)

    def review_pairs(self, *, n: int = 200, seed: int = 1, run: Run | None = None) -> pd.DataFrame:
        """Pairs of ``run`` (default: the current one) for a reviewer to label (``tether review sample``).

        Most pairs lie near the run's linking threshold, where labels teach the
        most; the rest cover every score range. Names, birth date, postcode and
        city are shown; emails and phones masked. Same run and seed: same pairs.
        """
        from resolver.review import sample_review_pairs

        chosen = run or Run.current(self._workspace)
        return sample_review_pairs(
            predictions=chosen.table("predictions"),
            touchpoints=chosen.table("touchpoints"),
            threshold=chosen.linking_options().threshold,
            model=self.trained(),
            n=n,
            seed=seed,
        )

    def calibrate(
        self, *, labels: Path, method: Method | None = None, force: bool = False
    ) -> CalibrationFit:
        """Fit a calibration of the match probability on labelled pairs (``tether calibrate``).

        ``labels`` is a review file (``review_pairs``) with its ``label`` column
        filled. Every label is held out once (cross-validation); the calibration
        is saved beside the model, for the next run to use, when it improves the
        held-out Brier score, or with ``force``. Labels sampled with another
        model are refused (``LabelsError``).
        """
        from resolver.calibration import fit_calibration
        from resolver.errors import LabelsError
        from resolver.review import model_fingerprint, read_pair_labels

        pairs = read_pair_labels(labels)
        model = self.trained()
        fingerprint = model_fingerprint(model)
        stale = set(pairs["model"]) - {fingerprint, ""}
        if stale:
            raise LabelsError(
                f"pair labels file {labels} was sampled with another model than the workspace's "
                "(it was retrained since): sample again with `tether review sample`",
                path=str(labels),
            )
        calibration = fit_calibration(
            probability=pairs["model_probability"].to_numpy(),
            label=pairs["label"].to_numpy(),
            method=method,
            model_fingerprint=fingerprint,
            source=str(labels),
        )
        saved = bool(calibration.report["improves"]) or force
        if saved:
            save_model(replace(model, calibration=calibration), self._workspace.model_path)
        return CalibrationFit(calibration=calibration, saved=saved)

    def m_u(self) -> pd.DataFrame:
        """One row per comparison level: m, u and the Bayes factor m/u."""
        return self.trained().m_u_table()

    def linker(self, *, run: Run | None = None) -> RunLinker:
        """A Splink linker on ``run``'s model input (default: the current run)."""
        chosen = run or Run.current(self._workspace)
        if chosen.run_id not in self._linkers:
            self._linkers[chosen.run_id] = RunLinker(run=chosen, model=self.trained())
        return self._linkers[chosen.run_id]

    def record_id(self, *, run: Run, source: str, record_key: str) -> int:
        """The record id (row of the run's touchpoints) of ``source:record_key``."""
        graph = run.table("identity_graph")
        hits = np.flatnonzero(
            (graph["source"].to_numpy() == source)
            & (graph["record_key"].astype(str).to_numpy() == str(record_key))
        )
        if len(hits) == 0:
            raise InputError(
                f"record {source}:{record_key} is not in run {run.run_id} "
                "(unknown source or key, or the row was quarantined)",
                source=source,
            )
        return int(hits[0])
