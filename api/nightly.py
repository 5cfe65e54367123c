"""One run, as named steps: ingest → consent → model → link → person ids → person consent → publish.

The consent step appends the run's consent sources and the session signals
(TC strings, GPC) to the ledger, then judges every record's subject at the
run's ``as_of`` time: the linking gate gets, per record, whether it may be
linked (SPEC §5). After clustering, each person's effective consent per
purpose is written with the event ids that justify it.

Each step writes into ``runs/<run_id>.partial/``; the run becomes ``current``
only when every file is written (``Workspace.complete_run``). A failure at
any step leaves the previous current run as it was.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from sqlalchemy import Engine

from api.exports import RunTables, export_segment
from api.report import write_report
from api.runs import RunRegistry
from api.settings import TetherConfig
from api.storage import database_url, open_store
from api.workspace import Workspace
from audiences.errors import AudienceError
from audiences.features import build_person_tables
from audiences.segments import Segment, evaluate_segment
from consent.effective import linking_allowed, person_consent, person_subjects, subject_states
from consent.erasure import ErasureStore
from consent.ledger import AppendResult, Ledger, prepare_frame
from consent.signals import session_signal_events
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
from resolver.link import PreparedLinking, prepare_linking

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
    consent: dict[str, Any]
    id_churn: dict[str, int]
    model: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    segments: dict[str, int] = field(default_factory=dict)
    """Segment name -> persons in it."""
    exports: list[dict[str, Any]] = field(default_factory=list)
    """Per segment and destination: counts, or why it was refused."""

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
    workspace.protect_model()
    logger.info("model trained on %d touchpoints", len(ingested.touchpoints))
    return workspace.model_path


def run_link(
    *,
    config: TetherConfig,
    workspace: Workspace,
    retrain: bool = False,
    as_of: datetime | None = None,
    store: Engine | None = None,
    segments: dict[str, Segment] | None = None,
    progress: Progress = NULL_PROGRESS,
) -> RunSummary:
    """Ingest, apply consent, link, assign person ids, build features, export, publish.

    With ``segments`` (the nightly), every segment is evaluated and exported
    to each destination it lists, inside the run: the exports become visible
    with the run, atomically, or not at all.

    Args:
        config: sources, linking options and the consent policy.
        workspace: where the run is written and published.
        retrain: train a new model instead of reusing the saved one.
        as_of: the moment consent is judged at (default: now, UTC).
        store: the operational store; by default the workspace's
            (``TETHER_DATABASE_URL`` or SQLite in the workspace).
        segments: segments to evaluate and export (none: link only).
        progress: step reporting.
    """
    moment = as_of or datetime.now(UTC)
    engine = store or open_store(database_url(home=workspace.home))
    try:
        return _run(
            config=config,
            workspace=workspace,
            retrain=retrain,
            as_of=moment,
            engine=engine,
            segments=segments or {},
            progress=progress,
        )
    finally:
        if store is None:
            engine.dispose()


def _run(
    *,
    config: TetherConfig,
    workspace: Workspace,
    retrain: bool,
    as_of: datetime,
    engine: Engine,
    segments: dict[str, Segment],
    progress: Progress,
) -> RunSummary:
    ledger, erasures, run_registry = Ledger(engine), ErasureStore(engine), RunRegistry(engine)
    with workspace.lock():
        workspace.discard_partial_runs()
        run_id = workspace.new_run_id()
        out = workspace.partial_dir(run_id)
        out.mkdir(parents=True)
        current = workspace.current_run_id()
        run_registry.reconcile(current=current)
        run_registry.started(run_id)
        step = "ingest"
        seconds: dict[str, float] = {}
        try:
            started = time.perf_counter()
            ingested = ingest_sources(
                sources=config.sources,
                default_region=config.linking.default_region,
                suppression=erasures.suppression(key=workspace.salt),
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

            step = "consent"
            started = time.perf_counter()
            progress.start("consent")
            policy = config.consent
            imported = ingested.activity.get("consents")
            signals = session_signal_events(tp, policy=policy)
            appended = _append_consents(
                ledger, imported=imported, signals=signals.frame, quarantine=out / "quarantine"
            )
            judged_at = datetime.now(UTC)  # the ledger as read now is what the run knows
            # what judging reads (no evidence), in storage order: it is order-independent
            events = ledger.events(as_of=as_of, columns=Ledger.JUDGING_COLUMNS, ordered=False)
            states = subject_states(events, as_of=as_of)
            may_link = linking_allowed(records=tp, states=states, policy=policy)
            # the ledger as read and the imported rows are judged into states now: freed, as
            # every large table no later step reads is (the run's peak is in features)
            del events, imported
            ingested.activity.pop("consents", None)
            progress.finish("consent", rows=len(states))
            seconds["consent"] = time.perf_counter() - started

            step = "model"
            started = time.perf_counter()
            model, trained_now, prepared = _model(
                tp, workspace=workspace, config=config, retrain=retrain, progress=progress
            )
            seconds["model"] = time.perf_counter() - started

            step = "link"
            started = time.perf_counter()
            result = link_touchpoints(
                tp,
                model=model,
                options=config.linking,
                may_link=may_link,
                progress=progress,
                prepared=prepared,
            )
            result.predictions.to_parquet(out / "predictions.parquet", index=False)
            (out / "linking.json").write_text(
                json.dumps(asdict(config.linking), indent=1, sort_keys=True, default=list)
            )
            build_links_table(tp, result).to_parquet(out / "links.parquet", index=False)
            result.junk.to_parquet(out / "blocked_identifiers.parquet", index=False)
            del prepared  # the model input and deterministic edges
            for column in _LINKING_ONLY_COLUMNS:  # name forms only linking compares
                if column in tp.columns:
                    del tp[column]
            result = replace(
                result, predictions=result.predictions.iloc[:0], edges=result.edges.iloc[:0]
            )
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
                tp,
                cluster=result.cluster,
                person_of_cluster=ids.person_of_cluster,
                may_link=may_link,
            )
            persons = build_persons(graph)
            graph.to_parquet(out / "identity_graph.parquet", index=False)
            persons.to_parquet(out / "persons.parquet", index=False)
            ids.registry.to_parquet(out / "person_registry.parquet", index=False)
            del previous, registry, records
            seconds["person_ids"] = time.perf_counter() - started

            step = "person_consent"
            started = time.perf_counter()
            subjects = person_subjects(
                records=graph[["person_id", "subject_type", "subject_id", "customer_id"]].assign(
                    email=tp["email"].to_numpy()
                )
            )
            consent = person_consent(subjects=subjects, states=states, as_of=as_of, policy=policy)
            consent.to_parquet(out / "person_consent.parquet", index=False)
            del states, subjects
            gc.collect()
            seconds["person_consent"] = time.perf_counter() - started

            step = "features"
            started = time.perf_counter()
            progress.start("features", total=len(persons))
            tables = build_person_tables(
                graph=graph,
                touchpoints=tp,
                events=ingested.activity.get("events"),
                interactions=ingested.activity.get("interactions"),
                consent=consent,
                as_of=as_of,
            )
            tables.features.to_parquet(out / "person_features.parquet", index=False)
            tables.activity.to_parquet(out / "person_activity.parquet", index=False)
            tables.identifiers.to_parquet(out / "person_identifiers.parquet", index=False)
            progress.finish("features", rows=len(tables.features))
            seconds["features"] = time.perf_counter() - started

            step = "exports"
            started = time.perf_counter()
            sizes, exported = _exports(
                segments=segments,
                config=config,
                workspace=workspace,
                engine=engine,
                tables=RunTables(
                    run_id=run_id,
                    run_dir=out,
                    published_dir=workspace.run_dir(run_id),
                    as_of=as_of,
                    features=tables.features,
                    activity=tables.activity,
                    identifiers=tables.identifiers,
                    consent=consent,
                ),
                as_of=as_of,
                progress=progress,
            )
            seconds["exports"] = time.perf_counter() - started

            step = "publish"
            summary = RunSummary(
                run_id=run_id,
                run_dir=str(workspace.run_dir(run_id)),
                sources=[{**asdict(c), "reconciles": c.reconciles} for c in ingested.counts],
                touchpoints=len(tp),
                persons=len(persons),
                linking=result.stats,
                consent={
                    "as_of": as_of.isoformat(),
                    "judged_at": judged_at.isoformat(),
                    "events_received": appended.received,
                    "events_new": appended.inserted,
                    "events_duplicate": appended.duplicates,
                    "events_conflicting": appended.conflicts,
                    "sessions_with_tc_string": signals.sessions_with_tc_string,
                    "sessions_with_gpc": signals.sessions_with_gpc,
                    "invalid_tc_strings": signals.invalid_tc_strings,
                    "records_without_linking_consent": int((~may_link).sum()),
                    "persons_allowed": {
                        str(purpose): int(n)
                        for purpose, n in consent.groupby("purpose")["allowed"].sum().items()
                    },
                },
                id_churn=ids.churn,
                model={
                    "path": str(workspace.model_path),
                    "trained_this_run": trained_now,
                    "probability_two_random_records_match": model.probability_two_random_records_match,
                },
                seconds={k: round(v, 3) for k, v in seconds.items()},
                segments=sizes,
                exports=exported,
            )
            (out / "report.json").write_text(json.dumps(summary.as_dict(), indent=2, default=str))
            write_report(summary=json.loads((out / "report.json").read_text()), run_dir=out)
            workspace.complete_run(run_id)
            run_registry.finished(run_id, status="published", summary=_brief(summary))
        except TetherError:
            run_registry.finished(run_id, status="failed", step=step)
            raise
        except Exception as exc:
            run_registry.finished(run_id, status="failed", step=step)
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


#: Touchpoint columns that only linking reads (derived name forms); dropped after it.
_LINKING_ONLY_COLUMNS = (
    "first_latin",
    "last_latin",
    "first_skeleton",
    "last_skeleton",
    "first_translit",
    "last_translit",
    "first_forms",
    "first_canon",
)


def _append_consents(
    ledger: Ledger, *, imported: pd.DataFrame | None, signals: pd.DataFrame, quarantine: Path
) -> AppendResult:
    """Append the run's consent rows and session signals to the ledger, in bulk.

    An imported row reusing a stored ``event_id`` with different content is
    refused as a conflict (SPEC §5: never dropped silently): the refused rows
    go to ``quarantine/consent_conflicts.parquet`` with their reason and are
    counted in the run's report (``consent.events_conflicting``).
    """
    results = []
    refused = []
    for frame in (imported, signals):
        if frame is None or not len(frame):
            continue
        result = ledger.append_frame(frame)
        results.append(result)
        if result.conflicts:
            refused.append(_conflicting_rows(ledger, frame=frame, ids=set(result.conflict_ids)))
    if refused:
        rows = pd.concat(refused, ignore_index=True)
        rows.astype({c: str for c in rows.columns if rows[c].dtype == object}).to_parquet(
            quarantine / "consent_conflicts.parquet", index=False
        )
        logger.warning(
            "consent: %d event(s) refused as conflicts (an event_id already stored with "
            "other content), see quarantine/consent_conflicts.parquet",
            len(rows),
        )
    return AppendResult(
        received=sum(r.received for r in results),
        inserted=sum(r.inserted for r in results),
        duplicates=sum(r.duplicates for r in results),
        conflicts=sum(r.conflicts for r in results),
        conflict_ids=tuple(i for r in results for i in r.conflict_ids),
        invalid=sum(r.invalid for r in results),
    )


def _conflicting_rows(ledger: Ledger, *, frame: pd.DataFrame, ids: set[str]) -> pd.DataFrame:
    """The rows of ``frame`` whose ``event_id`` is stored with other content (the refused ones;
    a row equal to the stored event, or the one that was stored, is not)."""
    prepared = prepare_frame(frame).rows  # the same rows in the same order, with their hashes
    stored = ledger.events(columns=["event_id", "content_hash"], ordered=False)
    stored_hash = stored[stored["event_id"].isin(ids)].set_index("event_id")["content_hash"]
    differs = prepared["event_id"].isin(ids) & (
        prepared["event_id"].map(stored_hash) != prepared["content_hash"]
    )
    rows = frame.reset_index(drop=True).loc[differs.to_numpy()]
    return rows.assign(
        event_id=prepared.loc[differs, "event_id"].to_numpy(), reason="event_id_conflict"
    )


def _brief(summary: RunSummary) -> dict[str, Any]:
    return {
        "touchpoints": summary.touchpoints,
        "persons": summary.persons,
        "segments": summary.segments,
        "exports": len([e for e in summary.exports if "counts" in e]),
    }


def _exports(
    *,
    segments: dict[str, Segment],
    config: TetherConfig,
    workspace: Workspace,
    engine: Engine,
    tables: RunTables,
    as_of: datetime,
    progress: Progress,
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Evaluate every segment; export it to each destination it lists."""
    sizes: dict[str, int] = {}
    exported: list[dict[str, Any]] = []
    for name, segment in sorted(segments.items()):
        progress.start(f"segment:{name}")
        members = evaluate_segment(
            segment, features=tables.features, activity=tables.activity, as_of=as_of
        )
        sizes[name] = len(members)
        for destination_name in segment.destinations:
            try:
                result, _ = export_segment(
                    workspace=workspace,
                    store=engine,
                    segment=segment,
                    destination_name=destination_name,
                    policy=config.consent,
                    overrides=config.destinations.get(destination_name, {}),
                    as_of=as_of,
                    tables=tables,
                    consent=tables.consent,
                )
            except AudienceError as exc:
                logger.warning(
                    "segment %s not exported to %s: %s", name, destination_name, exc.code
                )
                exported.append(
                    {"segment": name, "destination": destination_name, "refused": exc.message}
                )
                continue
            exported.append(
                {
                    "segment": name,
                    "destination": destination_name,
                    "export_id": result.export_id,
                    "counts": result.counts,
                    "directory": str(tables.published_dir / "exports" / name / destination_name),
                }
            )
        progress.finish(f"segment:{name}", rows=len(members))
    return sizes, exported


def _model(
    tp: pd.DataFrame,
    *,
    workspace: Workspace,
    config: TetherConfig,
    retrain: bool,
    progress: Progress,
) -> tuple[TrainedModel, bool, PreparedLinking | None]:
    """The workspace's model, or a new one; what training prepared, for linking to reuse."""
    if not retrain:
        try:
            return load_model(workspace.model_path), False, None
        except ModelError as exc:
            if workspace.model_path.exists():
                raise  # a damaged model is an error to fix, never a silent retrain
            logger.info("no model in the workspace yet: training one (%s)", exc.code)
    prepared = prepare_linking(tp, options=config.linking, con=duckdb.connect())
    model = train_on_touchpoints(tp, options=config.linking, progress=progress, prepared=prepared)
    save_model(model, workspace.model_path)
    return model, True, prepared
