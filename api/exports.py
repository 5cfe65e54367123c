"""Segments and exports on the current run: what ``tether segments`` and the API call.

Segment windows count back from the run's time (the moment its consent was
judged, ``report.json``); consent for an export is judged again at export
time from the ledger, so a withdrawal recorded after the run already keeps a
person out. Exports are written into ``runs/<run_id>/exports/<segment>/
<destination>/`` and recorded in the store's export history, with that
directory relative to the workspace (a server started anywhere finds it).

Writers of one run's export of a segment to a destination are serialised by
a file lock in the workspace (``locks/``), across threads and processes
alike: a second writer waits for the first and then finds its export, or
gives up with ``ExportInProgress`` (409) after ``wait_seconds``. The lock is
per export id (run, segment, destination): what shares a directory and a
history row; a nightly writing a new run never waits for the API.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from api.errors import ExportInProgress
from api.lookup import without_erased
from api.runs import RunRegistry
from api.workspace import DIR_MODE, FILE_MODE, Workspace
from audiences.destinations import Destination, destination
from audiences.export import (
    ExportResult,
    holdout_mask,
    plan_export,
    removal_keys,
    write_export,
)
from audiences.history import ExportHistory, export_id_for, relative_export_directory
from audiences.segments import Segment, evaluate_segment
from consent.effective import person_consent, person_subjects, subject_states
from consent.ledger import Ledger
from consent.purposes import ConsentPolicy

__all__ = [
    "EXPORT_WAIT_SECONDS",
    "RunTables",
    "export_lock",
    "export_segment",
    "load_run_tables",
    "preview_segment",
]

#: How long a writer waits for another writer of the same export before ``ExportInProgress``.
EXPORT_WAIT_SECONDS = 30.0


def _no_contacts() -> pd.DataFrame:
    from audiences.contacts import CONTACT_COLUMNS

    return pd.DataFrame(columns=list(CONTACT_COLUMNS))


def _no_actions() -> pd.DataFrame:
    from audiences.actions import ACTION_COLUMNS

    return pd.DataFrame(columns=list(ACTION_COLUMNS))


def members_to_export(
    *, segment: Segment, tables: RunTables, members: pd.Series | None = None
) -> tuple[pd.Series, int]:
    """The members an export of ``segment`` sends, and how many a higher action took.

    A member whose next best action comes from a higher-priority segment of
    the same topic (an advisor's call instead of this ad) is left out
    (``audiences.actions.suppressed``).
    """
    from audiences.actions import suppressed

    if members is None:
        members = evaluate_segment(
            segment, features=tables.features, activity=tables.activity, as_of=tables.as_of
        )
    drop = suppressed(members=members, segment=segment, actions=tables.actions)
    return members[~drop].reset_index(drop=True), int(drop.sum())


@dataclass(frozen=True, kw_only=True, slots=True)
class RunTables:
    """The current run's tables that segments and exports read."""

    run_id: str
    run_dir: Path
    """Where the run's files are now (``runs/<id>.partial`` while it is written)."""
    published_dir: Path
    """Where they live once the run is published."""
    as_of: datetime
    features: pd.DataFrame
    activity: pd.DataFrame
    identifiers: pd.DataFrame
    consent: pd.DataFrame
    contacts: pd.DataFrame = field(default_factory=_no_contacts)
    """``person_contacts``: messaging contacts, for the messaging destinations."""
    actions: pd.DataFrame = field(default_factory=_no_actions)
    """``person_actions``: each person's next best action (``audiences.actions``)."""


def load_run_tables(workspace: Workspace) -> RunTables:
    """The current run's tables for segments and exports (``Run.run_tables``)."""
    from api.tether.run import Run  # api.tether imports this module

    return Run.current(workspace).run_tables()


def consent_now(
    *, tables: RunTables, ledger: Ledger, as_of: datetime, policy: ConsentPolicy
) -> pd.DataFrame:
    """Every person's consent judged at ``as_of`` from the ledger (the gate at export)."""
    graph = pd.read_parquet(tables.run_dir / "identity_graph.parquet")
    touch = pd.read_parquet(tables.run_dir / "touchpoints.parquet", columns=["email"])
    subjects = person_subjects(
        records=graph[["person_id", "subject_type", "subject_id", "customer_id"]].assign(
            email=touch["email"].to_numpy()
        )
    )
    states = subject_states(ledger.events(as_of=as_of), as_of=as_of)
    return person_consent(subjects=subjects, states=states, as_of=as_of, policy=policy)


def preview_segment(
    *,
    segment: Segment,
    tables: RunTables,
    consent: pd.DataFrame,
    destinations: list[Destination],
    overlap_with: Segment | None = None,
    person_id: str | None = None,
) -> dict[str, Any]:
    """Size, identifier coverage, overlap, eligible size per destination, one person's why."""
    members = evaluate_segment(
        segment, features=tables.features, activity=tables.activity, as_of=tables.as_of
    )
    ids = tables.identifiers[tables.identifiers["person_id"].isin(set(members))]
    out: dict[str, Any] = {
        "segment": segment.name,
        "run_id": tables.run_id,
        "as_of": tables.as_of.isoformat(),
        "size": len(members),
        "coverage": {
            "email": int(ids["email"].notna().sum()),
            "phone": int(ids["phone"].notna().sum()),
            "ad_id": int(ids["ad_id"].notna().sum()),
        },
        "holdout": segment.holdout,
        "destinations": {},
    }
    sent, _ = members_to_export(segment=segment, tables=tables, members=members)
    for dest in destinations:
        plan = plan_export(
            segment=segment.name,
            members=sent,
            destination=dest,
            consent=consent,
            identifiers=tables.identifiers,
            holdout=segment.holdout,
            min_size=0,  # a preview shows the size; only an export refuses it
            contacts=tables.contacts,
            as_of=tables.as_of,
        )
        out["destinations"][dest.name] = {
            "purposes": list(dest.purposes),
            "eligible": plan.exported,
            "held_out": plan.held_out,
            "refused_consent": plan.refused_consent,
            "unmatchable": plan.unmatchable,
            "min_size": dest.min_size,
            "exportable": plan.exported >= dest.min_size,
        }
    if overlap_with is not None:
        other = evaluate_segment(
            overlap_with, features=tables.features, activity=tables.activity, as_of=tables.as_of
        )
        out["overlap"] = {"segment": overlap_with.name, "size": len(other),
                          "both": len(set(members) & set(other))}  # fmt: skip
    if person_id is not None:
        out["person"] = _why(person_id, segment, members, consent, destinations)
    return out


def _why(
    person_id: str,
    segment: Segment,
    members: pd.Series,
    consent: pd.DataFrame,
    destinations: list[Destination],
) -> dict[str, Any]:
    inside = person_id in set(members)
    held = bool(
        holdout_mask(pd.Series([person_id]), segment=segment.name, share=segment.holdout)[0]
    )
    mine = consent[consent["person_id"] == person_id].set_index("purpose")
    verdicts = {}
    for dest in destinations:
        reasons = []
        if not inside:
            reasons.append(f"not in segment {segment.name}")
        if held:
            reasons.append("in the holdout")
        for purpose in dest.purposes:
            if purpose not in mine.index or not bool(mine.loc[purpose, "allowed"]):
                status = str(mine.loc[purpose, "status"]) if purpose in mine.index else "unknown"
                reasons.append(f"{purpose} not allowed ({status})")
        verdicts[dest.name] = {"eligible": not reasons, "reasons": reasons}
    return {
        "person_id": person_id,
        "in_segment": inside,
        "held_out": held,
        "destinations": verdicts,
    }


@contextmanager
def export_lock(
    *, workspace: Workspace, run_id: str, segment: str, destination: str, wait_seconds: float
) -> Iterator[None]:
    """Hold the lock of run ``run_id``'s export of ``segment`` to ``destination``.

    An exclusive ``flock`` on ``locks/<export id>.lock``: it holds
    between threads (each opens its own descriptor) and processes alike, and
    the kernel releases it when a holder dies. Waits up to ``wait_seconds``,
    then raises ``ExportInProgress``.
    """
    folder = workspace.home / "locks"
    folder.mkdir(mode=DIR_MODE, exist_ok=True)
    export_id = export_id_for(run_id=run_id, segment=segment, destination=destination)
    fd = os.open(folder / f"{export_id}.lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ExportInProgress(
                        f"an export of segment `{segment}` to {destination} is being written "
                        f"by another request and took longer than {wait_seconds:g} s; "
                        "try again shortly: the same run's export is then returned",
                        segment=segment,
                        destination=destination,
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def export_segment(
    *,
    workspace: Workspace,
    store: Engine,
    segment: Segment,
    destination_name: str,
    policy: ConsentPolicy,
    overrides: dict[str, Any] | None = None,
    as_of: datetime | None = None,
    tables: RunTables | None = None,
    consent: pd.DataFrame | None = None,
    min_size: int | None = None,
    min_size_by: dict[str, Any] | None = None,
    wait_seconds: float = EXPORT_WAIT_SECONDS,
    members: pd.Series | None = None,
) -> tuple[ExportResult, bool]:
    """Export a segment of the current run (or of ``tables``, a run being written).

    Returns ``(result, created)``: exporting the same run, segment and
    destination again returns the export already written (``created`` false)
    instead of a second history entry, also when another writer finished it
    while this one waited for the lock. Deltas are against the latest export
    of a published run. ``consent`` (person consent at export time) is
    computed from the ledger when not given.

    ``overrides`` are the configured ``[destinations.NAME]`` values; the
    destination's minimum size is theirs unless ``min_size`` overrides it
    for this export (who may do so is the caller's rule: ``Exports.create``).
    The manifest records the minimum applied, the configured one and
    ``min_size_by`` (who asked) when overridden. ``members`` (the segment
    evaluated on ``tables``) saves evaluating it again; members whose next
    best action is another of the topic's are left out and counted
    (``suppressed_by_action``).
    """
    dest = destination(destination_name, **(overrides or {}))
    tables = without_erased(tables or load_run_tables(workspace), store=store)
    export_id = export_id_for(run_id=tables.run_id, segment=segment.name, destination=dest.name)
    directory = tables.run_dir / "exports" / segment.name / dest.name
    with export_lock(
        workspace=workspace,
        run_id=tables.run_id,
        segment=segment.name,
        destination=dest.name,
        wait_seconds=wait_seconds,
    ):
        history = ExportHistory(store)
        existing = history.get(export_id)
        if existing is not None and (directory / "manifest.json").exists():
            manifest = json.loads((directory / "manifest.json").read_text())
            return ExportResult(export_id=export_id, directory=directory, manifest=manifest), False
        moment = as_of or datetime.now(UTC)
        if consent is None:
            consent = consent_now(tables=tables, ledger=Ledger(store), as_of=moment, policy=policy)
        members, held_by_action = members_to_export(segment=segment, tables=tables, members=members)
        applied = dest.min_size if min_size is None else min_size
        plan = plan_export(
            segment=segment.name,
            members=members,
            destination=dest,
            consent=consent,
            identifiers=tables.identifiers,
            holdout=segment.holdout,
            min_size=applied,
            contacts=tables.contacts,
            as_of=moment,
            suppressed=held_by_action,
        )
        minimum: dict[str, Any] = {"configured": dest.min_size, "applied": applied}
        if min_size is not None:
            minimum["override"] = dict(min_size_by or {"by": "unknown"})
        previous_export = history.latest(
            segment=segment.name,
            destination=dest.name,
            before_run=tables.run_id,
            runs=RunRegistry(store).published(),
        )
        previous = history.members(previous_export["export_id"]) if previous_export else None
        result = write_export(
            plan=plan,
            destination=dest,
            run_id=tables.run_id,
            export_id=export_id,
            previous=previous,
            directory=directory,
            holdout=segment.holdout,
            as_of=moment,
            min_size=minimum,
        )
        manifest_sha = hashlib.sha256((directory / "manifest.json").read_bytes()).hexdigest()
        history.record(
            export_id=export_id,
            segment=segment.name,
            destination=dest.name,
            run_id=tables.run_id,
            counts=result.counts,
            manifest_sha256=manifest_sha,
            directory=relative_export_directory(
                run_id=tables.run_id, segment=segment.name, destination=dest.name
            ),
            members=plan.rows,
            keys=removal_keys(dest),
        )
    return result, True
