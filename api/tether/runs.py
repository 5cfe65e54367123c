"""``tether.runs``: make runs (the nightly, link only, training) and read them.

Every run goes through ``api.pipeline.run_link``, the function ``tether
link`` and ``tether nightly`` call: the consent gate at linking and the
erasure list apply exactly as they do in the batch. Calling
``resolver.link_touchpoints`` by hand skips both (an erased customer comes
back, records without ``identity_linking`` consent are linked).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from api.pipeline import NULL_HOOK, RunSummary, StepHook, run_link, train
from api.runs import RunRegistry
from api.settings import TetherConfig
from api.tether.run import Run
from api.workspace import Workspace
from audiences.segments import Segment
from resolver.errors import ConfigError
from resolver.evaluate import Evaluation, evaluate_graph, read_labels
from resolver.progress import NULL_PROGRESS, Progress
from resolver.threshold import ThresholdSweep, sweep_thresholds

__all__ = ["RunEvaluation", "Runs"]


@dataclass(frozen=True, kw_only=True, slots=True)
class RunEvaluation:
    """A run scored against labels, and (optionally) re-clustered at other thresholds."""

    run_id: str
    scores: Evaluation
    """Pairwise and cluster-level precision, recall and F1 of the run's identity graph."""
    sweep: ThresholdSweep | None
    """Scores per threshold and the recommended one (best F1 above the precision floor)."""


class Runs:
    """Runs of one workspace: make them, list them, open the current one."""

    def __init__(
        self,
        *,
        workspace: Workspace,
        store: Engine,
        config: TetherConfig | None,
        segments: Callable[[], dict[str, Segment]],
        unusable: Callable[[], dict[str, str]] = dict,
    ) -> None:
        self._workspace = workspace
        self._store = store
        self._config = config
        self._segments = segments
        self._unusable = unusable

    def _needs_config(self, what: str) -> TetherConfig:
        if self._config is None:
            raise ConfigError(
                f"{what} reads the sources of a tether.toml: "
                "open with Tether.open(home, config=Path('tether.toml'))"
            )
        return self._config

    def nightly(
        self,
        *,
        retrain: bool = False,
        as_of: datetime | None = None,
        progress: Progress = NULL_PROGRESS,
        hook: StepHook = NULL_HOOK,
    ) -> RunSummary:
        """The nightly batch: link, then evaluate every segment and export it; publish.

        Segments are the files of ``[audiences] segments`` and those stored
        through the API, as ``tether nightly`` runs them. The run becomes
        current only when every step finished.

        Args:
            retrain: train a new model first instead of reusing the saved one.
            as_of: when consent is judged and segment windows end (default: now).
            progress: step reporting (``resolver.LogProgress`` logs each step).
            hook: called before and after each step (``api.pipeline.StepHook``).

        A segment that fails is skipped and named in ``RunSummary.segments_failed``;
        the others export and the run publishes.
        """
        return run_link(
            config=self._needs_config("the nightly"),
            workspace=self._workspace,
            retrain=retrain,
            as_of=as_of,
            store=self._store,
            segments=self._segments(),
            unusable_segments=self._unusable(),
            progress=progress,
            hook=hook,
        )

    def link(
        self,
        *,
        retrain: bool = False,
        as_of: datetime | None = None,
        progress: Progress = NULL_PROGRESS,
        hook: StepHook = NULL_HOOK,
    ) -> RunSummary:
        """Ingest, judge consent, link and cluster into a new current run (``tether link``).

        The nightly's steps without ``exports`` (``api.pipeline.LINK_STEPS``): suppressed
        (erased) subjects are dropped at ingest, and records without
        ``identity_linking`` consent are linked to nothing but their own subject.
        """
        return run_link(
            config=self._needs_config("linking"),
            workspace=self._workspace,
            retrain=retrain,
            as_of=as_of,
            store=self._store,
            progress=progress,
            hook=hook,
        )

    def train(self, *, progress: Progress = NULL_PROGRESS) -> Path:
        """Retrain the linkage model on the configured sources (``tether train``); its path."""
        return train(
            config=self._needs_config("training"), workspace=self._workspace, progress=progress
        )

    def evaluate(
        self,
        *,
        labels: Path,
        run: Run | None = None,
        min_precision: float = 0.99,
        sweep: bool = True,
    ) -> RunEvaluation:
        """Score a run (default: the current one) against labels (``tether evaluate``).

        ``labels`` is a CSV ``source,record_key,true_id``. The sweep re-clusters
        the run at each threshold from its stored scores, with the run's own
        guard-rails and consent gate, and recommends the best F1 whose precision
        reaches ``min_precision``.
        """
        chosen = run or Run.current(self._workspace)
        graph = chosen.table("identity_graph")
        truth = read_labels(labels)
        result = None
        if sweep:
            result = sweep_thresholds(
                touchpoints=chosen.table("touchpoints"),
                predictions=chosen.table("predictions"),
                labels=truth,
                options=chosen.linking_options(),
                may_link=graph["may_link"].to_numpy(dtype=bool) if "may_link" in graph else None,
                min_precision=min_precision,
            )
        return RunEvaluation(
            run_id=chosen.run_id, scores=evaluate_graph(graph=graph, labels=truth), sweep=result
        )

    def current(self) -> Run | None:
        """The current run, or ``None`` before the first run completes."""
        if self._workspace.current_run_id() is None:
            return None
        return Run.current(self._workspace)

    def require_current(self) -> Run:
        """The current run; ``NoCurrentRunError`` (saying how to make one) before the first."""
        return Run.current(self._workspace)

    def get(self, run_id: str) -> Run:
        """A completed run that is still kept in the workspace (``NotFound`` otherwise)."""
        return Run.get(self._workspace, run_id)

    def list(self, *, limit: int = 50, offset: int = 0) -> pd.DataFrame:
        """The run registry, newest first: status, start and end, failed step, summary."""
        rows = RunRegistry(self._store).list(limit=limit, offset=offset)
        current = self._workspace.current_run_id()
        frame = pd.DataFrame(
            rows,
            columns=["run_id", "status", "started_at", "finished_at", "failed_step", "summary"],
        )
        return frame.assign(current=frame["run_id"] == current)
