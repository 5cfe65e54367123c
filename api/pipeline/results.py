"""What each step of a run returns: frozen, typed results, and the run's summary.

A step reads the results of the steps before it from ``Results`` by type
(``done.of(Ingested)``), never from a ``dict[str, Any]``. Large frames a later
step no longer needs are released by putting back a result without them
(``done.put(replace(...))``), so the run's peak memory stays where it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd

from api.pipeline.stored_rows import StoredRows
from audiences.features import PersonTables
from consent.ledger import AppendResult
from consent.signals import SignalEvents
from resolver.link import LinkResult, PreparedLinking
from resolver.model import TrainedModel
from resolver.person_ids import IdAssignment
from resolver.sources import SourceCounts

__all__ = [
    "ConsentJudged",
    "ExportOutcome",
    "Exported",
    "Features",
    "Ingested",
    "Linked",
    "ModelReady",
    "PersonConsent",
    "PersonIds",
    "Published",
    "Results",
    "Segmented",
    "RunSummary",
]

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True, slots=True)
class Ingested:
    """The sources read, normalised and validated (``touchpoints.parquet``, quarantine)."""

    touchpoints: StoredRows
    """The normalised records (``touchpoints.parquet``): each step reads the columns it reads
    (at 10 M touchpoints all 39 columns were about 4 GiB under every step, issue #14)."""
    activity_on_disk: dict[str, StoredRows] = field(default_factory=dict)
    """Kind (events, interactions, consents) -> its validated rows (``<kind>.parquet``): the
    consent step reads the consents back a slice at a time, the features step the others
    (held, at 10 M touchpoints the 11 M consents were 2.3 GiB under the consent step's peak
    and the events 2 GiB under every step's, issue #14)."""
    counts: list[SourceCounts]


@dataclass(frozen=True, kw_only=True, slots=True)
class ConsentJudged:
    """The ledger after the run's appends, judged at the run's ``as_of``."""

    appended: AppendResult
    signals: SignalEvents
    judged_at: datetime
    """When the ledger was read: what the run knows of consent."""
    states: StoredRows
    """Per subject and purpose, the state at ``as_of``: in the partial run until person
    consent reads it, then removed."""
    may_link: np.ndarray
    """Per touchpoint, whether its subject allows identity linking (the gate)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelReady:
    """The Splink model this run scores with."""

    model: TrainedModel
    trained_now: bool
    prepared: PreparedLinking | None
    """What training prepared for linking to reuse: handed to linking (the run keeps none),
    which lets go of the model input once scored."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Linked:
    """Scored pairs and guard-railed clusters (predictions are on disk, not kept)."""

    result: LinkResult


@dataclass(frozen=True, kw_only=True, slots=True)
class PersonIds:
    """Stable person ids, the identity graph and one row per person."""

    ids: IdAssignment
    """Only its ``churn`` is kept: the registry is on disk (``person_registry.parquet``), and
    no later step reads it or the person of each cluster."""
    graph: pd.DataFrame
    """Each record's ``person_id`` (the identity graph's other columns are on disk,
    ``identity_graph.parquet``, or the touchpoints' own)."""
    persons: int
    """How many persons (their rows are on disk, ``persons.parquet``; no later step reads
    them, and at 10 M touchpoints they held about a gigabyte)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PersonConsent:
    """Each person's effective consent per purpose: who may be reached for what.

    ``consent`` holds ``HELD_COLUMNS`` only, what the features, the actions and the report
    read. The whole table, with the status, reason and event ids behind each answer, is on
    disk (``person_consent.parquet``), where the exports read it.
    """

    HELD_COLUMNS: ClassVar[tuple[str, ...]] = ("person_id", "purpose", "allowed")

    consent: pd.DataFrame


@dataclass(frozen=True, kw_only=True, slots=True)
class Features:
    """The per-person tables segments and exports read.

    The features are held; the activity, identifiers and contacts are on disk, each written
    as soon as it was built (``stored``; in ``tables`` without rows): a step that reads one
    reads it back (``table``), as it was. Held together they were about 3 GiB of the
    features' peak at 10 M touchpoints (issue #14).
    """

    tables: PersonTables
    stored: Mapping[str, StoredRows] = field(default_factory=dict)
    """Table name (``activity``, ``identifiers``, ``contacts``) -> its rows in the run."""

    def table(self, name: str) -> pd.DataFrame:
        """The table ``name`` (``features``, ``activity``, ``identifiers``, ``contacts``),
        read back from the run when it is on disk."""
        stored = self.stored.get(name)
        if stored is not None:
            return stored.read()
        frame: pd.DataFrame = getattr(self.tables, name)
        return frame


@dataclass(frozen=True, kw_only=True, slots=True)
class Segmented:
    """Every segment evaluated once, and each person's next best action."""

    members: dict[str, pd.Series]
    """Segment name -> its members' person ids (segments that evaluated)."""
    failed: dict[str, str]
    """Segment -> error code, for segments that could not be evaluated (skipped)."""
    actions: pd.DataFrame
    """``person_actions`` (``audiences.actions.ACTION_COLUMNS``)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ExportOutcome:
    """One segment to one destination: written (counts), refused (a rule), or failed."""

    segment: str
    destination: str
    export_id: str | None = None
    counts: dict[str, int] | None = None
    directory: str | None = None
    refused: str | None = None
    """Why an audience rule refused it (too small, no consent), in words."""
    failed: str | None = None
    """The error code of a segment that could not be evaluated or written."""

    @property
    def written(self) -> bool:
        return self.counts is not None

    def as_dict(self) -> dict[str, Any]:
        """The ``report.json`` form: only the fields that apply."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True, kw_only=True, slots=True)
class Exported:
    """Every segment evaluated and exported, or reported as failed and skipped."""

    sizes: dict[str, int]
    outcomes: tuple[ExportOutcome, ...]
    failed: dict[str, str]
    """Segment -> error code, for segments skipped because they failed."""


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
    peak_rss_gb: dict[str, float] = field(default_factory=dict)
    """Step name -> the process's peak resident memory while the step ran (GiB, Linux)."""
    held_rss_gb: dict[str, float] = field(default_factory=dict)
    """Step name -> resident memory after the step: what the run holds into the next (GiB)."""
    segments: dict[str, int] = field(default_factory=dict)
    """Segment name -> persons in it."""
    exports: list[ExportOutcome] = field(default_factory=list)
    """Per segment and destination: counts, or why it was refused or failed."""
    segments_failed: dict[str, str] = field(default_factory=dict)
    """Segments that failed and were skipped (name -> error code): the run still published."""
    actions: dict[str, int] = field(default_factory=dict)
    """Next best action -> persons given it this run."""
    actions_by_segment: dict[str, int] = field(default_factory=dict)
    """Segment -> persons whose action it decided."""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["exports"] = [e.as_dict() for e in self.exports]
        return data

    @property
    def written(self) -> list[ExportOutcome]:
        return [e for e in self.exports if e.written]

    @property
    def refused(self) -> list[ExportOutcome]:
        return [e for e in self.exports if e.refused is not None]


@dataclass(frozen=True, kw_only=True, slots=True)
class Published:
    """The run made current."""

    summary: RunSummary


class Results:
    """The results of the steps run so far, by type."""

    def __init__(self) -> None:
        self._by_type: dict[type, object] = {}
        self.seconds: dict[str, float] = {}
        """Step name -> wall seconds, for the steps finished so far."""
        self.peak_rss_gb: dict[str, float] = {}
        """Step name -> the process's peak resident memory while the step ran, in GiB
        (Linux; empty elsewhere)."""
        self.held_rss_gb: dict[str, float] = {}
        """Step name -> the process's resident memory once the step's result is kept and
        what it freed is released: what the run holds into the next step (GiB, Linux)."""

    def of(self, kind: type[T]) -> T:
        """The result of type ``kind``; a ``LookupError`` if its step has not run."""
        try:
            found = self._by_type[kind]
        except KeyError:
            raise LookupError(f"no {kind.__name__} yet: its step has not run") from None
        assert isinstance(found, kind)
        return found

    def get(self, kind: type[T]) -> T | None:
        found = self._by_type.get(kind)
        return found if isinstance(found, kind) else None

    def put(self, result: object) -> None:
        """Store (or replace) the result of its type."""
        self._by_type[type(result)] = result
