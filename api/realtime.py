"""The current run, held in memory for the HTTP API and swapped when a new run is published.

``CurrentRun`` loads what requests read from the current run: the identity
index (``resolver.identify``), each person's segments and consent, their
subjects and the person registry (merged ids). A watcher thread looks at
the ``current`` symlink (and the store's segment definitions) every
``interval`` seconds; when either changed it builds a new ``RunView`` in the
background and swaps it in with one assignment. A request holds the view it
started with, so requests in flight finish on the old run and none fails
while the swap happens. A run that cannot be loaded leaves the old view in
place (and is logged by id).

Consent: the view carries each person's consent as the run judged it. If
the ledger received events for one of the person's subjects since that run
started, the person's consent is judged again from the ledger, now.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from api.lookup import PersonMatch, consent_of_person, erased_in_run, run_started
from api.workspace import Workspace
from audiences.definitions import segment_definitions
from audiences.segments import Segment, evaluate_segment
from consent.effective import person_subjects
from consent.erasure import erasures
from consent.ledger import Ledger, consent_events, stored_utc
from consent.purposes import ConsentPolicy
from resolver import TrainedModel, load_model, resolve_person_id
from resolver.errors import ModelError, NoCurrentRunError
from resolver.identify import IdentityIndex

__all__ = ["CurrentRun", "RunView"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class RunView:
    """One published run as requests see it. Never changes once built."""

    run_id: str
    run_dir: Path
    as_of: datetime
    """When the run judged consent and counted segment windows."""
    judged_at: datetime
    """When the run read the ledger: events ingested since then are news to it."""
    index: IdentityIndex
    records: pd.DataFrame
    """Graph columns plus the normalised email, one row per record."""
    rows_of: Mapping[str, np.ndarray]
    """Person id -> positions of its records in ``records``."""
    segments_of: Mapping[str, tuple[str, ...]]
    """Person id -> names of the segments the person is in."""
    consent: Mapping[str, Mapping[str, dict[str, Any]]]
    """Person id -> purpose -> ``allowed, status, reason, event_ids`` (as the run judged)."""
    registry: pd.DataFrame
    features: pd.DataFrame
    activity: pd.DataFrame
    subject_person: Mapping[tuple[str, str], str]
    """``(subject_type, subject_id)`` -> the person it is linked into."""
    subjects_of: Mapping[str, tuple[tuple[str, str], ...]]
    """Person id -> its consent subjects ``(subject_type, subject_id)``."""
    segment_names: tuple[str, ...] = ()
    segment_sizes: Mapping[str, int] = field(default_factory=dict)
    definitions: Mapping[str, Segment] = field(default_factory=dict)
    """Segment name -> its definition (action, priority, topic), for the next best action."""
    erased: frozenset[str] = frozenset()
    """Persons erased since the run: never answered, never targeted."""
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def person_of_subject(self, subject_type: str, subject_id: str) -> str | None:
        person_id = self.subject_person.get((subject_type, subject_id))
        return None if person_id is None or person_id in self.erased else person_id

    def resolve(self, person_id: str) -> tuple[str, str] | None:
        """``(current id, status)`` following merges; ``None`` for an id never issued or erased."""
        resolved = resolve_person_id(self.registry, person_id)
        if resolved is None or resolved[0] in self.erased:
            return None
        return resolved

    def person_records(self, person_id: str) -> pd.DataFrame:
        rows = self.rows_of.get(person_id)
        if rows is None:
            return self.records.iloc[0:0]
        return self.records.iloc[rows]

    def has_news(self, person_id: str, *, news: Collection[tuple[str, str]]) -> bool:
        """Whether a subject of the person has ledger events the run has not judged."""
        return any(subject in news for subject in self.subjects_of.get(person_id, ()))

    def person_consent(
        self,
        person_id: str,
        *,
        ledger: Ledger,
        policy: ConsentPolicy,
        news: Collection[tuple[str, str]] = frozenset(),
    ) -> dict[str, dict[str, Any]]:
        """The person's consent per purpose: the run's, or judged again if the ledger has news.

        ``news`` holds the subjects with ledger events ingested since the run
        read the ledger (``CurrentRun.news``); only their persons are judged
        again, now, from the ledger.
        """
        if not self.has_news(person_id, news=news):
            return {p: dict(v) for p, v in self.consent.get(person_id, {}).items()}
        match = PersonMatch(
            person_id=person_id, run_id=self.run_id, records=self.person_records(person_id)
        )
        decisions = consent_of_person(
            ledger=ledger, match=match, as_of=datetime.now(UTC), policy=policy
        )
        return {
            purpose: {
                "allowed": d.allowed,
                "status": d.status,
                "reason": d.reason,
                "event_ids": list(d.event_ids),
            }
            for purpose, d in decisions.items()
        }


class CurrentRun:
    """The current run's view, reloaded in the background when a new run is published."""

    def __init__(
        self,
        *,
        workspace: Workspace,
        store: Engine,
        segments_dir: Path | None,
        threshold: float,
        default_region: str,
        interval: float = 1.0,
    ) -> None:
        self._workspace = workspace
        self._store = store
        self._segments_dir = segments_dir
        self._threshold = threshold
        self._region = default_region
        self._interval = interval
        self._view: RunView | None = None
        self._seen: tuple[str | None, Any, Any] = (None, None, None)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reloads = 0
        self.failures = 0
        self._news: set[tuple[str, str]] = set()
        self._news_seen: datetime | None = None
        self._news_lock = threading.Lock()

    @property
    def news(self) -> Collection[tuple[str, str]]:
        """Subjects with ledger events ingested since the served run read the ledger.

        The live set, for membership tests only (``in`` is atomic under the GIL;
        copying it per request would cost more than the lookup).
        """
        return self._news

    def note_news(self, subjects: Iterable[tuple[str, str]]) -> None:
        """Events this process just appended: their persons are judged again at once."""
        with self._news_lock:
            self._news.update(subjects)

    def _poll_news(self, *, since: datetime, reset: bool = False) -> None:
        """Add the subjects of events ingested after ``since`` (by any process)."""
        with self._news_lock:
            start = since if reset or self._news_seen is None else max(since, self._news_seen)
        query = select(
            consent_events.c.subject_type, consent_events.c.subject_id, consent_events.c.ingested_at
        ).where(consent_events.c.ingested_at > start.astimezone(UTC))
        with self._store.connect() as connection:
            rows = connection.execute(query).all()
        latest = max((stored_utc(r[2]) for r in rows), default=start)
        with self._news_lock:
            if reset:
                self._news.clear()
            self._news.update((str(r[0]), str(r[1])) for r in rows)
            self._news_seen = latest

    def get(self) -> RunView:
        """The view of the current run; ``NoCurrentRunError`` before the first run.

        Without the watcher thread (a notebook, the CLI), each call looks for a
        new run, new segments and new erasures first (a few small queries), so
        an erasure made through ``Tether.consent.erase`` is honoured at once.
        """
        view = self._view
        if view is None or self._thread is None:
            self.refresh()
            view = self._view
        if view is None:
            self._workspace.current_dir()  # raises NoCurrentRunError with its message
            raise NoCurrentRunError("no current run")  # pragma: no cover
        return view

    def peek(self) -> RunView | None:
        """The loaded view, or ``None``; never loads."""
        return self._view

    def refresh(self, *, force: bool = False) -> bool:
        """Load the current run (or only its segments, or erasures) if changed; True if swapped."""
        with self._lock:  # one loader at a time; readers never wait for it
            run_id = self._workspace.current_run_id()
            segments = self._segments_fingerprint()
            erased = self._erased_fingerprint()
            seen = (run_id, segments, erased)
            if seen == self._seen and not force and self._view is not None:
                self._poll_news(since=self._view.judged_at)
                return False
            if run_id is None:
                self._seen = seen
                return False
            try:
                old = self._view
                if old is not None and old.run_id == run_id and not force:
                    view = replace(old, erased=self._erased(old))
                    if segments != self._seen[1] or view.erased != old.erased:
                        view = self._with_segments(view)
                else:
                    view = self._load(run_id)
            except Exception:  # noqa: BLE001 - keep serving the old run, say which failed
                self.failures += 1
                logger.exception("could not load run %s; keeping the previous one", run_id)
                return False
            self._poll_news(since=view.judged_at, reset=view.run_id != getattr(old, "run_id", None))
            self._view = view
            self._seen = seen
            self.reloads += 1
            # A view holds millions of small objects that never change: keep them out of
            # the cyclic GC, whose full passes over them would stall requests for tens of ms.
            gc.collect()
            gc.freeze()
            logger.info("serving run %s (%d persons)", view.run_id, len(view.rows_of))
            return True

    def mark_erased(self, person_id: str) -> None:
        """Stop answering for a person erased by this process (the watcher sees other ones)."""
        view = self._view
        if view is not None and person_id not in view.erased:
            sizes = dict(view.segment_sizes)
            for name in view.segments_of.get(person_id, ()):
                sizes[name] = max(sizes.get(name, 0) - 1, 0)
            self._view = replace(view, erased=view.erased | {person_id}, segment_sizes=sizes)

    def start(self) -> None:
        """Start the watcher thread (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="tether-run-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the watcher and release the served view's DuckDB connection (at shutdown)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        view, self._view = self._view, None
        if view is not None:
            view.index.close()
        gc.unfreeze()

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - the watcher must outlive a bad moment
                logger.exception("run watcher: refresh failed")

    def _erased_fingerprint(self) -> Any:
        with self._store.connect() as connection:
            return connection.execute(select(func.count()).select_from(erasures)).scalar_one()

    def _erased(self, view: RunView) -> frozenset[str]:
        """Persons erased (by any process) since the view's run started (``erased_in_run``),
        and those this process marked meanwhile."""
        found = erased_in_run(store=self._store, run_dir=view.run_dir, run_id=view.run_id)
        return found | view.erased

    def _with_segments(self, view: RunView) -> RunView:
        names, sizes, segments_of = self._memberships(
            view.features, view.activity, view.as_of, erased=view.erased
        )
        return replace(
            view,
            segment_names=names,
            segment_sizes=sizes,
            segments_of=segments_of,
            definitions=self._definitions(names),
            loaded_at=datetime.now(UTC),
        )

    def _definitions(self, names: tuple[str, ...]) -> dict[str, Segment]:
        defined = self.segments()
        return {name: defined[name] for name in names if name in defined}

    def _memberships(
        self,
        features: pd.DataFrame,
        activity: pd.DataFrame,
        as_of: datetime,
        *,
        erased: frozenset[str] = frozenset(),
    ) -> tuple[tuple[str, ...], dict[str, int], dict[str, tuple[str, ...]]]:
        segments_of: dict[str, list[str]] = {}
        names = []
        sizes = {}
        for name, segment in sorted(self.segments().items()):
            try:
                members = evaluate_segment(
                    segment, features=features, activity=activity, as_of=as_of
                )
            except Exception:  # noqa: BLE001 - one bad segment must not hide the others
                logger.warning("segment %s cannot be evaluated on this run", name)
                continue
            if erased:
                members = members[~members.astype(str).isin(erased)]
            names.append(name)
            sizes[name] = len(members)
            for person_id in members:
                segments_of.setdefault(person_id, []).append(name)
        return tuple(names), sizes, {k: tuple(v) for k, v in segments_of.items()}

    def _segments_fingerprint(self) -> Any:
        with self._store.connect() as connection:
            row = connection.execute(
                select(func.count(), func.max(segment_definitions.c.updated_at)).select_from(
                    segment_definitions
                )
            ).one()
        files: tuple[tuple[str, float], ...] = ()
        if self._segments_dir is not None and self._segments_dir.is_dir():
            files = tuple((p.name, p.stat().st_mtime) for p in sorted(self._segments_dir.glob("*")))
        return (tuple(row), files)

    def segments(self) -> dict[str, Segment]:
        """File and stored segments by name."""
        from api.tether.segments import defined_segments  # api.tether imports this module

        return defined_segments(segments_dir=self._segments_dir, store=self._store)

    def _load(self, run_id: str) -> RunView:
        started = time.perf_counter()
        run_dir = self._workspace.run_dir(run_id)
        report = json.loads((run_dir / "report.json").read_text())
        as_of = datetime.fromisoformat(report["consent"]["as_of"])
        graph = pd.read_parquet(run_dir / "identity_graph.parquet")
        touch = pd.read_parquet(run_dir / "touchpoints.parquet")
        model: TrainedModel | None
        try:
            model = load_model(self._workspace.model_path)
        except ModelError:
            model = None
        index = IdentityIndex.build(
            run_id=run_id,
            graph=graph,
            touchpoints=touch,
            model=model,
            threshold=self._threshold,
            default_region=self._region,
        )
        records = graph[
            [
                "source",
                "record_key",
                "kind",
                "person_id",
                "subject_type",
                "subject_id",
                "customer_id",
            ]
        ].assign(email=touch["email"].to_numpy())
        records["person_id"] = records["person_id"].astype(str)
        rows_of = {
            str(k): np.asarray(v)
            for k, v in records.groupby("person_id", sort=False).indices.items()
        }
        subjects = person_subjects(records=records)
        consent_table = pd.read_parquet(run_dir / "person_consent.parquet")
        consent: dict[str, dict[str, dict[str, Any]]] = {}
        for row in consent_table.to_dict(orient="records"):
            consent.setdefault(str(row["person_id"]), {})[str(row["purpose"])] = {
                "allowed": bool(row["allowed"]),
                "status": str(row["status"]),
                "reason": str(row["reason"]),
                "event_ids": [str(e) for e in row["event_ids"]],
            }
        features = pd.read_parquet(run_dir / "person_features.parquet")
        activity = pd.read_parquet(run_dir / "person_activity.parquet")
        erased = erased_in_run(store=self._store, run_dir=run_dir, run_id=run_id)
        names, sizes, segments_of = self._memberships(features, activity, as_of, erased=erased)
        subject_person: dict[tuple[str, str], str] = {}
        subjects_of: dict[str, list[tuple[str, str]]] = {}
        for person, kind, key in zip(
            subjects["person_id"], subjects["subject_type"], subjects["subject_id"], strict=True
        ):
            subject_person.setdefault((kind, key), person)
            subjects_of.setdefault(person, []).append((kind, key))
        # Runs before judged_at was recorded: their start is a safe (early) bound.
        judged = report["consent"].get("judged_at")
        judged_at = datetime.fromisoformat(judged) if judged else run_started(run_id)
        logger.info(
            "loaded run %s in %.2f s: %d records, %d segments",
            run_id,
            time.perf_counter() - started,
            len(records),
            len(names),
        )
        return RunView(
            run_id=run_id,
            run_dir=run_dir,
            as_of=as_of,
            judged_at=judged_at,
            index=index,
            records=records,
            rows_of=rows_of,
            segments_of=segments_of,
            consent=consent,
            registry=pd.read_parquet(run_dir / "person_registry.parquet"),
            features=features,
            activity=activity,
            subject_person=subject_person,
            subjects_of={k: tuple(v) for k, v in subjects_of.items()},
            segment_names=names,
            segment_sizes=sizes,
            definitions=self._definitions(names),
            erased=erased,
        )
