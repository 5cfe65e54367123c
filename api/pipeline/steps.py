"""The steps of a run, in order; each reads earlier results and returns its own.

Every step writes its files into the run's partial directory
(``RunContext.out``); none publishes anything. ``api.pipeline.run`` times
them, reports them and turns a failure into ``RunFailedError``.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from api.exports import RunTables, export_segment
from api.pipeline.context import RunContext
from api.pipeline.results import (
    ConsentJudged,
    Exported,
    ExportOutcome,
    Features,
    Ingested,
    Linked,
    ModelReady,
    PersonConsent,
    PersonIds,
    Published,
    Results,
    RunSummary,
    Segmented,
)
from api.pipeline.stored_rows import RowsWriter, StoredRows
from api.report import write_report
from audiences.actions import assign_actions
from audiences.errors import AudienceError, SegmentInvalid
from audiences.features import ACTIVITY_COLUMNS, build_person_tables
from audiences.history import relative_export_directory
from audiences.segments import Segment, evaluate_segment
from consent.effective import (
    GATE_COLUMNS,
    linking_allowed,
    person_consent,
    person_subjects,
    subject_states,
)
from consent.erasure import ErasureStore
from consent.ledger import (
    PREPARE_ROWS,
    AppendResult,
    Ledger,
    PreparedEvents,
    events_after_append,
    prepare_frame,
    prepare_slices,
)
from consent.signals import SESSION_COLUMNS, session_signal_events
from resolver.errors import ModelError, TetherError
from resolver.frames import no_rows
from resolver.graph import (
    GRAPH_COLUMNS,
    LINKS_TABLE_COLUMNS,
    build_identity_graph,
    build_links_table,
    build_persons,
)
from resolver.link import (
    link_touchpoints,
    prepare_linking,
    train_on_touchpoints,
)
from resolver.model import load_model, save_model
from resolver.person_ids import assign_person_ids
from resolver.sources import TOUCHPOINT_SCHEMA, ingest_sources

__all__ = [
    "consent",
    "exports",
    "features",
    "segments",
    "ingest",
    "link",
    "model",
    "person_consent_step",
    "person_ids",
    "publish",
]

logger = logging.getLogger(__name__)


_TOUCHPOINTS_WRITTEN: dict[str, Any] = {
    "schema": TOUCHPOINT_SCHEMA,
    # times in microseconds, as Spark reads Parquet (it refuses TIMESTAMP(NANOS)); ingest
    # keeps no finer time than that
    "coerce_timestamps": "us",
    "allow_truncated_timestamps": True,
}


def ingest(ctx: RunContext, done: Results) -> Ingested:
    """Read every source; erased subjects are dropped here (the suppression list)."""
    writers: dict[str, RowsWriter] = {}
    touch_writer = RowsWriter(ctx.out / "touchpoints.parquet", **_TOUCHPOINTS_WRITTEN)

    def write_activity(kind: str, frame: pd.DataFrame) -> bool:
        """Write a chunk of a kind's rows to the run as soon as ingest has it, and hold none:
        the consent step reads the consents back, the features step the others."""
        if kind not in writers:
            writers[kind] = RowsWriter(ctx.out / f"{kind}.parquet")
        writers[kind].append(frame)
        return True

    def write_touchpoints(frame: pd.DataFrame) -> bool:
        """Write a chunk of touchpoints as soon as ingest has it, and hold none; each later
        step reads back the columns it reads."""
        touch_writer.append(frame)
        return True

    try:
        ingested = ingest_sources(
            sources=ctx.config.sources,
            default_region=ctx.config.linking.default_region,
            suppression=ErasureStore(ctx.store).suppression(key=ctx.workspace.salt),
            progress=ctx.progress,
            on_activity=write_activity,
            on_touchpoints=write_touchpoints,
        )
    finally:  # a source that fails leaves no file open (the partial run is discarded)
        closed = {kind: writer.close() for kind, writer in writers.items()}
        touchpoints = touch_writer.close()
    on_disk = {kind: stored for kind, stored in closed.items() if stored is not None}
    if touchpoints is None:  # no linked source: no rows, the columns
        touchpoints = StoredRows.write(
            ingested.touchpoints, path=ctx.out / "touchpoints.parquet", **_TOUCHPOINTS_WRITTEN
        )
    (ctx.out / "quarantine").mkdir()
    for source, rows in ingested.quarantine.items():
        rows.to_parquet(ctx.out / "quarantine" / f"{source}.parquet", index=False)
    return Ingested(
        touchpoints=touchpoints,
        activity_on_disk=on_disk,
        counts=ingested.counts,
    )


def _read_activity(ingested: Ingested, kind: str) -> pd.DataFrame | None:
    """The validated ``kind`` rows ingest wrote to the run, or ``None`` when no source of
    that kind was read. Only the columns the features read (``ACTIVITY_COLUMNS``): an
    event's URL and value stay on disk. The text is read as codes (``read_coded``): the
    features look the keys up and take the types, a distinct value at a time."""
    stored = ingested.activity_on_disk.get(kind)
    return None if stored is None else stored.read_coded(columns=ACTIVITY_COLUMNS[kind])


def consent(ctx: RunContext, done: Results) -> ConsentJudged:
    """Append the run's consent rows and session signals; judge every subject at ``as_of``.

    The ledger is read once, before the append (``Ledger.snapshot``). Judging works from that
    read and the run's own checked rows (``events_after_append``), and the ledger is not read
    back. A worker thread writes the rows, imported consents and session signals in one
    append; once they are handed to the database, the run's events are merged with the
    ledger's, so that the database's remaining work (index builds, the commit), which needs
    no Python, runs beside it, and judging waits for the write to end, so that the checked
    rows the worker holds are gone. (Begun at once, the merge and the write's binding of
    every row took turns at the interpreter's lock and both ran slower:
    ``bench/RESULTS.md``.) Should the write insert other than what
    was judged (another writer stored one of these ids since the read), the run judges again
    from the ledger as written.
    """
    ingested = done.of(Ingested)
    ctx.progress.start("consent")
    policy = ctx.config.consent
    ledger = Ledger(ctx.store)
    signals = session_signal_events(
        ingested.touchpoints.read(columns=SESSION_COLUMNS), policy=policy
    )
    # the run's consent rows, as the worker may read them again (``_append_consents``): the
    # step itself holds no reference to the signals' rows once they are checked
    run_rows = partial(_run_rows, ingested.activity_on_disk.get("consents"), signals.frame)
    # one append: what appending them one after the other stores (``prepare_slices``);
    # refuses the run on an invalid row (numbered from the first consent row on, through
    # the signals). The consents are read a slice at a time and checked as read, and the
    # slices stacked column by column (held, the 11 M imported at 10 M touchpoints were
    # 2.3 GiB under the step's peak; stacked at once, 0.6 GiB more, issue #14).
    prepared = prepare_slices(run_rows())
    judged_at = datetime.now(UTC)  # the ledger as read now, and the run's events, are judged
    stored = ledger.snapshot()
    rows_in = threading.Event()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-append") as pool:
        appending = pool.submit(
            _append_consents,
            ledger,
            rows=run_rows,
            prepared=prepared,
            stored=stored[["event_id", "content_hash"]],
            quarantine=ctx.out / "quarantine",
            rows_written=rows_in.set,
        )
        appending.add_done_callback(lambda _: rows_in.set())  # however the worker ends
        del run_rows  # the worker's
        started = time.perf_counter()
        rows_in.wait()
        logger.info(
            "consent: %d rows handed to the ledger in %.1f s",
            len(prepared.rows),
            time.perf_counter() - started,
        )
        events = events_after_append(stored=stored, prepared=[prepared])
        expected = len(events) - len(stored)
        del stored
        # the run's rows are in the ledger's hands and in ``events`` now: the step lets go of
        # them before judging (the worker, of its own when the write ends), not after it
        # (at 10 M touchpoints the imported consents, the signals and their checked rows
        # were 4-5 GiB of the step's peak, at the end of judging)
        del prepared
        signals = replace(signals, frame=no_rows(signals.frame))  # appended: counts are read
        # judged once the write ends: the worker holds the checked rows to its commit (an
        # insert that fails is retried row by row), and at 10 M touchpoints they were 2.2 GiB
        # under judging's peak, 8.1 GiB, whenever the index builds outlasted the events'
        # merge (issue #14); the merge runs beside them still
        waited = time.perf_counter()
        appended = appending.result()
        logger.info(
            "consent: the run's events merged, then %.1f s waiting for the ledger's write",
            time.perf_counter() - waited,
        )
        states = _arrow_text(subject_states(events, as_of=ctx.as_of))
        del events
    if appended.inserted != expected:
        logger.info(
            "consent: the ledger changed while the run wrote to it (%d new events written, "
            "%d expected); judging again from the ledger",
            appended.inserted,
            expected,
        )
        events = ledger.events(
            as_of=ctx.as_of, columns=Ledger.JUDGING_COLUMNS, ordered=False, arrow_text=True
        )
        judged_at = datetime.now(UTC)
        states = _arrow_text(subject_states(events, as_of=ctx.as_of))
        del events
    # read again, not kept from the signals' read: its 7 columns of every record would be
    # held through judging, the step's peak, for the 3 read here
    may_link = linking_allowed(
        records=ingested.touchpoints.read(columns=GATE_COLUMNS), states=states, policy=policy
    )
    ctx.progress.finish("consent", rows=len(states))
    # on disk until person consent reads them: held, 18 M states at 10 M touchpoints were
    # 1.3 GiB under the model's, linking's and person ids' peaks (issue #14)
    stored_states = StoredRows.write(states, path=ctx.out / STATES_FILE)
    return ConsentJudged(
        appended=appended,
        signals=signals,
        judged_at=judged_at,
        states=stored_states,
        may_link=may_link,
    )


def model(ctx: RunContext, done: Results) -> ModelReady:
    """The workspace's model, or a new one (``--retrain``, or none saved yet).

    A damaged saved model is an error to fix, never a silent retrain.
    """
    if not ctx.retrain:
        try:
            return ModelReady(
                model=load_model(ctx.workspace.model_path), trained_now=False, prepared=None
            )
        except ModelError as exc:
            if ctx.workspace.model_path.exists():
                raise
            logger.info("no model in the workspace yet: training one (%s)", exc.code)
    spark, source = ctx.config.spark, ctx.out / "touchpoints.parquet"
    # the touchpoints ingest wrote: DuckDB reads the linking columns itself; Spark reads the
    # file on the [spark] session, and is handed the frame for what it reads beside it
    tp = done.of(Ingested).touchpoints.read() if _on_spark(ctx) else None
    prepared = prepare_linking(
        tp, options=ctx.config.linking, con=duckdb.connect(), spark=spark, source=source
    )
    trained = train_on_touchpoints(
        tp,
        options=ctx.config.linking,
        progress=ctx.progress,
        prepared=prepared,
        spark=spark,
        source=source,
    )
    save_model(trained, ctx.workspace.model_path)
    return ModelReady(model=trained, trained_now=True, prepared=prepared)


def link(ctx: RunContext, done: Results) -> Linked:
    """Score pairs, cluster them under the guard-rails and the consent gate; write the links."""
    ready = done.of(ModelReady)
    # the model input and deterministic edges are handed to linking, which lets go of the
    # model input once scored: the run keeps no other reference
    done.put(replace(ready, prepared=None))
    handed = [ready.prepared]
    model = ready.model
    del ready
    # on Spark the frame; on DuckDB each phase of linking reads its own columns, and lets go
    # of them (held whole, 2.6 GiB at 10 M touchpoints under scoring, the union and
    # stitching: issue #14)
    touchpoints = done.of(Ingested).touchpoints
    result = link_touchpoints(
        touchpoints.read() if _on_spark(ctx) else partial(_read_columns, touchpoints),
        model=model,
        options=ctx.config.linking,
        may_link=done.of(ConsentJudged).may_link,
        progress=ctx.progress,
        prepared=handed.pop(),
        spark=ctx.config.spark,
        source=ctx.out / "touchpoints.parquet",
    )
    result.predictions.to_parquet(ctx.out / "predictions.parquet", index=False)
    (ctx.out / "linking.json").write_text(
        json.dumps(asdict(ctx.config.linking), indent=1, sort_keys=True, default=list)
    )
    # the records' names, read once linking let go of its columns (10 M record keys, about
    # 0.9 GiB, were held through the clustering for this table alone)
    names = done.of(Ingested).touchpoints.read(columns=LINKS_TABLE_COLUMNS)
    build_links_table(names, result).to_parquet(ctx.out / "links.parquet", index=False)
    del names
    result.junk.to_parquet(ctx.out / "blocked_identifiers.parquet", index=False)
    return Linked(
        result=replace(result, predictions=no_rows(result.predictions), edges=no_rows(result.edges))
    )


def person_ids(ctx: RunContext, done: Results) -> PersonIds:
    """Stable person ids (kept across runs, merges and splits recorded); the identity graph."""
    tp = done.of(Ingested).touchpoints.read(columns=GRAPH_COLUMNS)
    cluster = done.of(Linked).result.cluster
    previous = ctx.workspace.read_current("identity_graph")
    ids = assign_person_ids(
        records=tp[["source", "record_key"]].assign(cluster=cluster),
        salt=ctx.workspace.salt,
        run_id=ctx.run_id,
        previous=None if previous is None else previous[["source", "record_key", "person_id"]],
        registry=ctx.workspace.read_current("person_registry"),
    )
    del previous
    graph = build_identity_graph(
        tp,
        cluster=cluster,
        person_of_cluster=ids.person_of_cluster,
        may_link=done.of(ConsentJudged).may_link,
    )
    persons = build_persons(graph)
    graph.to_parquet(ctx.out / "identity_graph.parquet", index=False)
    persons.to_parquet(ctx.out / "persons.parquet", index=False)
    ids.registry.to_parquet(ctx.out / "person_registry.parquet", index=False)
    # on disk now; later steps read only how many persons there are, and each record's
    # person (the other columns are the touchpoints' own: at 10 M touchpoints, held to person
    # consent, they were 3.5 GiB under its peak, issue #14)
    return PersonIds(
        ids=replace(ids, person_of_cluster={}, registry=no_rows(ids.registry)),
        graph=graph[["person_id"]],
        persons=len(persons),
    )


def person_consent_step(ctx: RunContext, done: Results) -> PersonConsent:
    """Each person's effective consent per purpose, from all of their subjects."""
    judged = done.of(ConsentJudged)
    # each record's subjects, as the graph copied them from the touchpoints
    records = done.of(Ingested).touchpoints.read(columns=SUBJECT_COLUMNS)
    records.insert(0, "person_id", done.of(PersonIds).graph["person_id"].to_numpy())
    subjects = person_subjects(records=records)
    del records
    table = person_consent(
        subjects=subjects, states=judged.states.read(), as_of=ctx.as_of, policy=ctx.config.consent
    )
    _write_parquet(table, ctx.out / "person_consent.parquet")
    judged.states.path.unlink()  # no later step reads them, and the run does not publish them
    del subjects
    # held on: who may be reached for what; the status, reason and event ids behind each
    # answer are read back by the exports alone (at 10 M touchpoints, 18 M rows whose event
    # id lists held about 3 GiB through the features)
    gate = table[list(PersonConsent.HELD_COLUMNS)]
    del table
    gc.collect()
    return PersonConsent(consent=gate)


def features(ctx: RunContext, done: Results) -> Features:
    """The per-person features, activity and identifiers that segments and exports read.

    The activity, identifiers and contacts are written as soon as each is built, and read
    back by the steps that read them (``Features``): the step holds the features alone.
    """
    ingested = done.of(Ingested)
    ctx.progress.start("features", total=done.of(PersonIds).persons)
    stored: dict[str, StoredRows] = {}

    def write(name: str, table: pd.DataFrame) -> bool:
        stored[name] = StoredRows.write(table, path=ctx.out / f"person_{name}.parquet")
        return True

    tables = build_person_tables(
        graph=done.of(PersonIds).graph,
        # each part of the features reads its own columns (``RecordRows``)
        touchpoints=partial(_read_columns, ingested.touchpoints),
        # read inside, and let go once the activity and contacts are built
        events=lambda: _read_activity(ingested, "events"),
        interactions=lambda: _read_activity(ingested, "interactions"),
        consent=done.of(PersonConsent).consent,
        as_of=ctx.as_of,
        hand_over=write,
    )
    tables.features.to_parquet(ctx.out / "person_features.parquet", index=False)
    ctx.progress.finish("features", rows=len(tables.features))
    return Features(tables=tables, stored=stored)


def segments(ctx: RunContext, done: Results) -> Segmented:
    """Evaluate every segment once; give each person their next best action.

    A segment that fails to evaluate is logged by error code, recorded and
    skipped: the others still count, act and export, and the run publishes
    (``tether nightly`` exits 1 to say so). Actions are judged on the run's
    person consent (``audiences.actions``) and written as ``person_actions``.
    """
    built = done.of(Features)
    features, activity = built.tables.features, built.table("activity")
    members: dict[str, pd.Series] = {}
    failed: dict[str, str] = dict(ctx.unusable_segments)
    for name in sorted(failed):
        logger.error("segment %s is unusable (%s): skipped, fix or delete it", name, failed[name])
    for name, segment in sorted(ctx.segments.items()):
        ctx.progress.start(f"segment:{name}")
        try:
            members[name] = evaluate_segment(
                segment, features=features, activity=activity, as_of=ctx.as_of
            )
        except Exception as exc:  # one segment never stops the others (issue #12)
            code = exc.code if isinstance(exc, TetherError) else type(exc).__name__
            logger.error("segment %s failed (%s): skipped, the other segments export", name, code)
            failed[name] = code
        ctx.progress.finish(f"segment:{name}", rows=len(members.get(name, ())))
    actions = assign_actions(
        members=members, segments=ctx.segments, consent=done.of(PersonConsent).consent
    )
    actions.to_parquet(ctx.out / "person_actions.parquet", index=False)
    return Segmented(members=members, failed=failed, actions=actions)


def exports(ctx: RunContext, done: Results) -> Exported:
    """Export every segment that evaluated to each destination it lists.

    An audience rule refusing an export (too small) is an outcome; an export
    that fails is recorded as failed for its segment and skipped like a
    segment that failed to evaluate.
    """
    built = done.of(Features)
    segmented = done.of(Segmented)
    # the whole judgement (status, reason, the event ids behind it), as the run wrote it and a
    # published run's exports read it
    consent_table = pd.read_parquet(ctx.out / "person_consent.parquet")
    run_tables = RunTables(
        run_id=ctx.run_id,
        run_dir=ctx.out,
        published_dir=ctx.workspace.run_dir(ctx.run_id),
        as_of=ctx.as_of,
        features=built.tables.features,
        # no rows: every export is handed its segment's members (``_export``), evaluated by
        # the segments step, so no segment is evaluated here (read back, the activity was
        # 1.4 GiB at 10 M touchpoints for nothing)
        activity=built.tables.activity,
        identifiers=built.table("identifiers"),
        consent=consent_table,
        contacts=built.table("contacts"),
        actions=segmented.actions,
    )
    outcomes: list[ExportOutcome] = []
    failed = dict(segmented.failed)
    for name, segment in sorted(ctx.segments.items()):
        if name in failed:
            outcomes += [
                ExportOutcome(segment=name, destination=d, failed=failed[name])
                for d in segment.destinations
            ]
            continue
        mine: list[ExportOutcome] = []
        for destination_name in segment.destinations:
            try:
                mine.append(
                    _export(
                        ctx,
                        segment_name=name,
                        destination=destination_name,
                        segment=segment,
                        tables=run_tables,
                        members=segmented.members[name],
                    )
                )
            except Exception as exc:
                code = exc.code if isinstance(exc, TetherError) else type(exc).__name__
                logger.error("segment %s failed at %s (%s): skipped", name, destination_name, code)
                failed[name] = code
                mine.append(ExportOutcome(segment=name, destination=destination_name, failed=code))
        outcomes.extend(mine)
    sizes = {name: len(ids) for name, ids in segmented.members.items()}
    return Exported(sizes=sizes, outcomes=tuple(outcomes), failed=failed)


def _export(
    ctx: RunContext,
    *,
    segment_name: str,
    destination: str,
    segment: Segment,
    tables: RunTables,
    members: pd.Series,
) -> ExportOutcome:
    """One export inside the run; an audience rule's refusal is an outcome, not a failure."""
    try:
        result, _ = export_segment(
            workspace=ctx.workspace,
            store=ctx.store,
            segment=segment,
            destination_name=destination,
            policy=ctx.config.consent,
            overrides=ctx.config.destinations.get(destination, {}),
            as_of=ctx.as_of,
            tables=tables,
            consent=tables.consent,
            members=members,
        )
    except SegmentInvalid:
        raise  # the segment itself cannot be evaluated: a failure, not a refusal
    except AudienceError as exc:
        logger.warning("segment %s not exported to %s: %s", segment_name, destination, exc.code)
        return ExportOutcome(segment=segment_name, destination=destination, refused=exc.message)
    return ExportOutcome(
        segment=segment_name,
        destination=destination,
        export_id=result.export_id,
        counts=result.counts,
        directory=relative_export_directory(
            run_id=tables.run_id, segment=segment_name, destination=destination
        ),
    )


def publish(ctx: RunContext, done: Results) -> Published:
    """Write ``report.json`` and the report; make the run current (an atomic switch).

    Then redact erasures that landed while the run was written, and prune
    published runs beyond ``[workspace] keep_runs`` (the current one is kept).
    """
    ingested, linked = done.of(Ingested), done.of(Linked)
    judged, ids, ready = done.of(ConsentJudged), done.of(PersonIds), done.of(ModelReady)
    consent_table = done.of(PersonConsent).consent
    exported = done.get(Exported) or Exported(sizes={}, outcomes=(), failed={})
    segmented = done.get(Segmented)
    actions = segmented.actions if segmented is not None else pd.DataFrame(columns=["action"])
    summary = RunSummary(
        run_id=ctx.run_id,
        run_dir=str(ctx.workspace.run_dir(ctx.run_id)),
        sources=[{**asdict(c), "reconciles": c.reconciles} for c in ingested.counts],
        touchpoints=ingested.touchpoints.rows,
        persons=ids.persons,
        linking=linked.result.stats,
        consent={
            "as_of": ctx.as_of.isoformat(),
            "judged_at": judged.judged_at.isoformat(),
            "events_received": judged.appended.received,
            "events_new": judged.appended.inserted,
            "events_duplicate": judged.appended.duplicates,
            "events_conflicting": judged.appended.conflicts,
            "sessions_with_tc_string": judged.signals.sessions_with_tc_string,
            "sessions_with_gpc": judged.signals.sessions_with_gpc,
            "invalid_tc_strings": judged.signals.invalid_tc_strings,
            "records_without_linking_consent": int((~judged.may_link).sum()),
            "persons_allowed": {
                str(purpose): int(n)
                for purpose, n in consent_table.groupby("purpose")["allowed"].sum().items()
            },
        },
        id_churn=ids.ids.churn,
        model={
            "path": str(ctx.workspace.model_path),
            "trained_this_run": ready.trained_now,
            "probability_two_random_records_match": (
                ready.model.probability_two_random_records_match
            ),
        },
        seconds=dict(done.seconds),
        peak_rss_gb=dict(done.peak_rss_gb),
        held_rss_gb=dict(done.held_rss_gb),
        segments=exported.sizes,
        exports=list(exported.outcomes),
        segments_failed=exported.failed,
        actions={str(k): int(v) for k, v in actions["action"].value_counts().sort_index().items()},
        actions_by_segment={
            str(k): int(v)
            for k, v in actions.get("segment", pd.Series(dtype=object))
            .value_counts()
            .sort_index()
            .items()
        },
    )
    data = summary.as_dict()
    (ctx.out / "report.json").write_text(json.dumps(data, indent=2, default=str))
    write_report(summary=json.loads(json.dumps(data, default=str)), run_dir=ctx.out)
    ctx.workspace.complete_run(ctx.run_id)
    # an erasure that landed while this run was written: its rows leave the run's files now
    from api.tether.consent import Consent

    Consent(
        workspace=ctx.workspace,
        store=ctx.store,
        policy=ctx.config.consent,
        default_region=ctx.config.linking.default_region,
    ).apply_erasures()
    ctx.workspace.prune_runs(keep=ctx.config.workspace.keep_runs)  # [workspace] keep_runs
    return Published(summary=summary)


SUBJECT_COLUMNS = ("subject_type", "subject_id", "customer_id", "email")
"""The touchpoint columns ``person_subjects`` reads beside each record's person."""

STATES_FILE = "_subject_states.parquet"
"""The consent step's subject states, in the partial run until person consent reads them."""


def _read_columns(rows: StoredRows, columns: Sequence[str]) -> pd.DataFrame:
    """``rows.read(columns=columns)``: a ``RecordRows`` function of a run's table."""
    return rows.read(columns=columns)


def _on_spark(ctx: RunContext) -> bool:
    return ctx.config.linking.engine == "spark"


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """``frame.to_parquet(path, index=False)``, with its Arrow list columns (``event_ids``)
    written as a column of Python lists is: the same Parquet type, and pandas metadata that
    reads them back as it always did (object values). pandas cannot read back the metadata
    it writes for an Arrow list dtype (``list<item: string>[pyarrow]``)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = json.loads(table.schema.metadata[b"pandas"])
    for column in meta["columns"]:
        if str(column.get("numpy_type", "")).startswith(("list<", "large_list<")):
            column["numpy_type"] = "object"
    table = table.replace_schema_metadata({**table.schema.metadata, b"pandas": json.dumps(meta)})
    pq.write_table(table, path)


def _arrow_text(states: pd.DataFrame) -> pd.DataFrame:
    """The subject states with their text as Arrow strings, for the run to hold until person
    consent.

    As Python objects, a million states (0.16 GB of strings) kept 0.6 GiB of the ledger read's
    memory in the process, their strings scattered over its pages; Arrow copies the text into
    buffers of its own and every page of the read is returned. ``linking_allowed`` and
    ``person_consent`` give the same answers on either (``bench/RESULTS.md``, issue #14).
    """
    text = [
        c for c in ("subject_type", "subject_id", "purpose", "status", "event_id") if c in states
    ]
    return states.astype(dict.fromkeys(text, "string[pyarrow]"))


def _run_rows(consents: StoredRows | None, signals: pd.DataFrame) -> Iterator[pd.DataFrame]:
    """A run's consent rows as handed to the ledger, a slice at a time: the imported consents
    as ingest wrote them, then the session signals."""
    if consents is not None and consents.rows:
        yield from consents.read_slices(rows=PREPARE_ROWS)
    if len(signals):
        yield signals


def _append_consents(
    ledger: Ledger,
    *,
    rows: Callable[[], Iterable[pd.DataFrame]],
    prepared: PreparedEvents,
    stored: pd.DataFrame,
    quarantine: Path,
    rows_written: Callable[[], None] | None = None,
) -> AppendResult:
    """Append the run's checked consent rows and session signals to the ledger, in bulk.

    ``prepared`` are the run's consent rows checked as one table (``prepare_slices``);
    ``rows`` reads those rows again, a slice at a time, only when
    an append refuses some (held instead, they were gigabytes beside the write);
    ``stored`` the ledger's ids and fingerprints as read before (``Ledger.snapshot``);
    ``rows_written`` as ``Ledger.append_prepared``. An imported row reusing a stored
    ``event_id`` with different content is refused as a conflict (SPEC §5: never dropped
    silently): the refused rows go to ``quarantine/consent_conflicts.parquet`` with their
    reason and are counted in the run's report (``consent.events_conflicting``).
    """
    result = ledger.append_prepared(prepared, stored=stored, rows_written=rows_written)
    ids = set(result.conflict_ids)
    refused = []
    if ids:  # the ledger's fingerprints of those ids, read once for every frame
        stored_now = ledger.events(columns=["event_id", "content_hash"], ordered=False)
        known = stored_now[stored_now["event_id"].isin(ids)]
        stored_hash = known.set_index("event_id")["content_hash"]
        # each row is checked alone: a slice's conflicting rows are those of the whole
        refused = [r for f in rows() if len(r := _conflicting_rows(f, stored_hash=stored_hash))]
    if refused:
        conflicting = pd.concat(refused, ignore_index=True)
        conflicting.astype(
            {c: str for c in conflicting.columns if conflicting[c].dtype == object}
        ).to_parquet(quarantine / "consent_conflicts.parquet", index=False)
        logger.warning(
            "consent: %d event(s) refused as conflicts (an event_id already stored with "
            "other content), see quarantine/consent_conflicts.parquet",
            len(conflicting),
        )
    return result


def _conflicting_rows(frame: pd.DataFrame, *, stored_hash: pd.Series) -> pd.DataFrame:
    """The rows of ``frame`` whose ``event_id`` is stored with other content (the refused ones;
    a row equal to the stored event, or the one that was stored, is not). ``stored_hash``: the
    ledger's fingerprint of each conflicting id, by id."""
    prepared = prepare_frame(frame).rows  # the same rows in the same order, with their hashes
    differs = prepared["event_id"].isin(stored_hash.index) & (
        prepared["event_id"].map(stored_hash) != prepared["content_hash"]
    )
    rows = frame.reset_index(drop=True).loc[differs.to_numpy()]
    return rows.assign(
        event_id=prepared.loc[differs, "event_id"].to_numpy(), reason="event_id_conflict"
    )
