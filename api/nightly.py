"""One run, as named steps: ingest → model → link → person ids → graph → publish.

Each step writes into ``runs/<run_id>.partial/``; the run becomes ``current``
only when every file is written (``Workspace.complete_run``). A failure at
any step leaves the previous current run as it was.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from api.settings import TetherConfig
from api.workspace import Workspace
from resolver import (
    NULL_PROGRESS,
    Progress,
    TetherError,
    TrainedModel,
    assign_person_ids,
    build_identity_graph,
    build_links_table,
    build_persons,
    ingest_sources,
    link_touchpoints,
    load_model,
    save_model,
    train_on_touchpoints,
)
from resolver.errors import ModelError

__all__ = ["RunFailedError", "RunSummary", "run_link", "train"]

logger = logging.getLogger(__name__)


class RunFailedError(TetherError):
    """A run stopped part-way; the previous current run is untouched."""

    code = "run_failed"

    def __init__(self, message: str, *, run_id: str, step: str, current: str | None) -> None:
        super().__init__(message, run_id=run_id, step=step, current=current)
        self.run_id, self.step, self.current = run_id, step, current


@dataclass(frozen=True, kw_only=True, slots=True)
class RunSummary:
    """What a run did; also written as ``report.json`` in the run directory."""

    run_id: str
    run_dir: str
    sources: list[dict[str, Any]]
    touchpoints: int
    persons: int
    linking: dict[str, Any]
    id_churn: dict[str, int]
    model: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def train(
    *, config: TetherConfig, workspace: Workspace, progress: Progress = NULL_PROGRESS
) -> Path:
    """Ingest the sources and (re)train the linkage model; returns the model path."""
    ingested = ingest_sources(
        sources=config.sources, default_region=config.linking.default_region, progress=progress
    )
    model = train_on_touchpoints(ingested.touchpoints, options=config.linking, progress=progress)
    save_model(model, workspace.model_path)
    logger.info("model trained on %d touchpoints", len(ingested.touchpoints))
    return workspace.model_path


def run_link(
    *,
    config: TetherConfig,
    workspace: Workspace,
    retrain: bool = False,
    progress: Progress = NULL_PROGRESS,
) -> RunSummary:
    """Ingest, link, assign person ids and publish a new current run."""
    with workspace.lock():
        workspace.discard_partial_runs()
        run_id = workspace.new_run_id()
        out = workspace.partial_dir(run_id)
        out.mkdir(parents=True)
        current = workspace.current_run_id()
        step = "ingest"
        seconds: dict[str, float] = {}
        try:
            started = time.perf_counter()
            ingested = ingest_sources(
                sources=config.sources,
                default_region=config.linking.default_region,
                progress=progress,
            )
            tp = ingested.touchpoints
            tp.to_parquet(out / "touchpoints.parquet", index=False)
            (out / "quarantine").mkdir()
            for source, rows in ingested.quarantine.items():
                rows.to_parquet(out / "quarantine" / f"{source}.parquet", index=False)
            for kind, frame in ingested.activity.items():
                frame.to_parquet(out / f"{kind}.parquet", index=False)
            seconds["ingest"] = time.perf_counter() - started

            step = "model"
            started = time.perf_counter()
            model, trained_now = _model(
                tp, workspace=workspace, config=config, retrain=retrain, progress=progress
            )
            seconds["model"] = time.perf_counter() - started

            step = "link"
            started = time.perf_counter()
            result = link_touchpoints(tp, model=model, options=config.linking, progress=progress)
            result.predictions.to_parquet(out / "predictions.parquet", index=False)
            build_links_table(tp, result).to_parquet(out / "links.parquet", index=False)
            result.junk.to_parquet(out / "blocked_identifiers.parquet", index=False)
            seconds["link"] = time.perf_counter() - started

            step = "person_ids"
            started = time.perf_counter()
            previous = workspace.read_current("identity_graph")
            registry = workspace.read_current("person_registry")
            records = tp[["source", "record_key"]].assign(cluster=result.cluster)
            ids = assign_person_ids(
                records=records,
                salt=workspace.salt,
                run_id=run_id,
                previous=None
                if previous is None
                else previous[["source", "record_key", "person_id"]],
                registry=registry,
            )
            graph = build_identity_graph(
                tp, cluster=result.cluster, person_of_cluster=ids.person_of_cluster
            )
            persons = build_persons(graph)
            graph.to_parquet(out / "identity_graph.parquet", index=False)
            persons.to_parquet(out / "persons.parquet", index=False)
            ids.registry.to_parquet(out / "person_registry.parquet", index=False)
            seconds["person_ids"] = time.perf_counter() - started

            step = "publish"
            summary = RunSummary(
                run_id=run_id,
                run_dir=str(workspace.run_dir(run_id)),
                sources=[{**asdict(c), "reconciles": c.reconciles} for c in ingested.counts],
                touchpoints=len(tp),
                persons=len(persons),
                linking=result.stats,
                id_churn=ids.churn,
                model={
                    "path": str(workspace.model_path),
                    "trained_this_run": trained_now,
                    "probability_two_random_records_match": model.probability_two_random_records_match,
                },
                seconds={k: round(v, 3) for k, v in seconds.items()},
            )
            (out / "report.json").write_text(json.dumps(summary.as_dict(), indent=2, default=str))
            workspace.complete_run(run_id)
        except TetherError:
            raise
        except Exception as exc:
            logger.exception("run %s failed at step %s", run_id, step)
            raise RunFailedError(
                f"run {run_id} failed at step `{step}` ({type(exc).__name__}); "
                f"{'run ' + current + ' is still current' if current else 'no run is current yet'}; "
                "fix the cause and rerun",
                run_id=run_id,
                step=step,
                current=current,
            ) from exc
        logger.info("run %s complete: %d persons", run_id, len(persons))
        return summary


def _model(
    tp: pd.DataFrame,
    *,
    workspace: Workspace,
    config: TetherConfig,
    retrain: bool,
    progress: Progress,
) -> tuple[TrainedModel, bool]:
    if not retrain:
        try:
            return load_model(workspace.model_path), False
        except ModelError:
            logger.info("no model in the workspace yet: training one")
    model = train_on_touchpoints(tp, options=config.linking, progress=progress)
    save_model(model, workspace.model_path)
    return model, True
