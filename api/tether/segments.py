"""``tether.segments``: the defined segments, their sizes, previews and overlaps.

Segments come from two places: the files of ``[audiences] segments``
(changed by review, like code) and the operational store (written through
the API). ``defined_segments`` merges them; the nightly, the CLI, the HTTP
API and notebooks all see the same set.

A segment written to the store is first parsed (grammar, numbers, nesting
depth) and then dry-run on the current run (``Segments.create``,
``Segments.replace``): a definition that cannot be evaluated is refused
before it is stored, so it never reaches a preview or a nightly. Without a
current run, validation alone decides.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from api.exports import RunTables, consent_now, preview_segment
from api.lookup import without_erased
from api.tether.run import Run
from api.workspace import Workspace
from audiences.definitions import STORE_SOURCE, SegmentStore, all_segments
from audiences.destinations import DESTINATIONS, Destination, destination
from audiences.errors import SegmentConflict, SegmentInvalid, SegmentNotFound
from audiences.segments import Segment, evaluate_segment, load_segments, parse_segment
from consent.ledger import Ledger
from consent.purposes import ConsentPolicy

__all__ = ["DryRun", "Segments", "defined_segments", "destinations_for"]

logger = logging.getLogger(__name__)

DryRun = tuple[pd.DataFrame, pd.DataFrame, datetime]
"""What a new segment is dry-run on: a run's features, activity and ``as_of``."""


def defined_segments(*, segments_dir: Path | None, store: Engine) -> dict[str, Segment]:
    """File segments (when the directory exists) and stored segments, by name."""
    files = (
        load_segments(segments_dir) if segments_dir is not None and segments_dir.is_dir() else {}
    )
    return all_segments(files=files, store=SegmentStore(store))


def destinations_for(
    names: Sequence[str] | None, *, overrides: dict[str, dict[str, Any]]
) -> list[Destination]:
    """Destinations by name (all when ``None``) with ``[destinations.NAME]`` overrides applied."""
    return [destination(n, **overrides.get(n, {})) for n in (names or list(DESTINATIONS))]


class Segments:
    """Segments of the current run: what they are, how big, who is eligible where."""

    def __init__(
        self,
        *,
        workspace: Workspace,
        store: Engine,
        segments_dir: Path | None,
        policy: ConsentPolicy,
        overrides: dict[str, dict[str, Any]],
    ) -> None:
        self._workspace = workspace
        self._store = store
        self._dir = segments_dir
        self._policy = policy
        self._overrides = overrides

    def all(self) -> dict[str, Segment]:
        """Every defined segment by name (files and store)."""
        return defined_segments(segments_dir=self._dir, store=self._store)

    def unusable(self) -> dict[str, str]:
        """Stored segments that no longer validate (name -> error code): never evaluated,
        reported as failed by each nightly until they are fixed or deleted."""
        return SegmentStore(self._store).unusable()

    def get(self, name: str) -> Segment:
        """One segment; ``SegmentNotFound`` names the defined ones."""
        found = self.all()
        if name not in found:
            raise SegmentNotFound(
                f"no segment `{name}`; defined: {', '.join(sorted(found)) or 'none'}",
                segment=name,
            )
        return found[name]

    def create(self, *, definition: Mapping[str, Any], run: DryRun | None = None) -> Segment:
        """Store a new segment once it is valid and evaluates on the current run.

        ``run`` is the run to dry-run on (the server passes the one it has in
        memory); by default the current run is read, and without one
        validation alone decides. ``SegmentInvalid`` (nothing stored) when the
        definition breaks a rule or fails to evaluate; ``SegmentConflict`` when
        a file or the store already defines the name.
        """
        segment = parse_segment(definition, source=STORE_SOURCE)
        existing = self.all().get(segment.name)
        if existing is not None and existing.source != STORE_SOURCE:
            raise SegmentConflict(
                f"segment `{segment.name}` is defined by a file; choose another name",
                segment=segment.name,
            )
        self.dry_run(segment=segment, run=run)
        return SegmentStore(self._store).create(definition)

    def replace(
        self, *, name: str, definition: Mapping[str, Any], run: DryRun | None = None
    ) -> tuple[Segment, int]:
        """Replace a stored segment's definition, checked and dry-run as ``create`` does.

        Returns the segment and its new version; a file-defined segment is
        read-only (``SegmentConflict``).
        """
        current = self.get(name)
        if current.source != STORE_SOURCE:
            raise SegmentConflict(
                f"segment `{name}` is defined by a file; edit the file instead", segment=name
            )
        segment = parse_segment(definition, source=STORE_SOURCE)
        if segment.name == name:
            self.dry_run(segment=segment, run=run)
        return SegmentStore(self._store).replace(name, definition)

    def delete(self, *, name: str) -> None:
        """Delete a stored segment; exports already written stay in their runs.

        Only the segment files are read to refuse a file-defined name
        (``SegmentConflict``), never the stored definitions: one stored before
        a validation limit existed, which no longer parses, can still be deleted.
        """
        files = load_segments(self._dir) if self._dir is not None and self._dir.is_dir() else {}
        if name in files:
            raise SegmentConflict(
                f"segment `{name}` is defined by a file; edit the file instead", segment=name
            )
        if not SegmentStore(self._store).delete(name):
            raise SegmentNotFound(f"no segment `{name}`", segment=name)

    def dry_run(self, *, segment: Segment, run: DryRun | None = None) -> int | None:
        """Evaluate ``segment`` on ``run`` (default: the current run); its size, or ``None``.

        ``None`` when there is no run to try it on. Any failure to evaluate
        becomes ``SegmentInvalid`` naming the segment and the run, so a
        definition that would break previews and nightlies is never stored.
        """
        if run is None:
            run_id = self._workspace.current_run_id()
            if run_id is None:
                return None
            tables = Run.current(self._workspace).run_tables()
            run = (tables.features, tables.activity, tables.as_of)
        features, activity, as_of = run
        try:
            members = evaluate_segment(segment, features=features, activity=activity, as_of=as_of)
        except SegmentInvalid:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever DuckDB raises, the answer is "no"
            logger.warning(
                "segment %s fails to evaluate on the current run (%s)",
                segment.name,
                type(exc).__name__,
            )
            raise SegmentInvalid(
                f"segment `{segment.name}` cannot be evaluated on the current run "
                f"({type(exc).__name__}); nothing was stored",
                segment=segment.name,
            ) from exc
        return len(members)

    def _tables(self) -> RunTables:
        """The current run's tables without the persons erased since it (``without_erased``)."""
        return without_erased(Run.current(self._workspace).run_tables(), store=self._store)

    def members(self, *, name: str) -> pd.Series:
        """Person ids in the segment in the current run (windows end at the run's ``as_of``)."""
        tables = self._tables()
        return evaluate_segment(
            self.get(name), features=tables.features, activity=tables.activity, as_of=tables.as_of
        )

    def list(self) -> pd.DataFrame:
        """One row per segment: description, size in the current run (if any), destinations."""
        return pd.DataFrame(
            self.rows(),
            columns=["name", "description", "size", "holdout", "destinations", "source"],
        )

    def rows(self) -> builtins.list[dict[str, Any]]:
        """``list()``'s rows as dicts of plain values (``size`` is ``None`` without a run)."""
        tables = self._tables() if self._workspace.current_run_id() else None
        rows = []
        for name, segment in sorted(self.all().items()):
            size = None
            if tables is not None:
                size = len(
                    evaluate_segment(
                        segment,
                        features=tables.features,
                        activity=tables.activity,
                        as_of=tables.as_of,
                    )
                )
            rows.append(
                {
                    "name": name,
                    "description": segment.description,
                    "size": size,
                    "holdout": segment.holdout,
                    "destinations": list(segment.destinations),
                    "source": segment.source,
                }
            )
        return rows

    def preview(
        self,
        *,
        name: str,
        overlap: str | None = None,
        person: str | None = None,
        destinations: Sequence[str] | None = None,
        as_of: datetime | None = None,
    ) -> dict[str, Any]:
        """Size, identifier coverage, overlap and the consent-eligible size per destination.

        Consent is judged at ``as_of`` (default: now) from the ledger, as an
        export would judge it, so a withdrawal recorded after the run already
        counts. ``person`` adds why that person is (not) eligible.
        """
        segment = self.get(name)
        other = self.get(overlap) if overlap else None
        tables = self._tables()
        consent = consent_now(
            tables=tables,
            ledger=Ledger(self._store),
            as_of=as_of or datetime.now(UTC),
            policy=self._policy,
        )
        return preview_segment(
            segment=segment,
            tables=tables,
            consent=consent,
            destinations=destinations_for(destinations, overrides=self._overrides),
            overlap_with=other,
            person_id=person,
        )

    def overlap(self, *, names: Sequence[str] | None = None) -> pd.DataFrame:
        """Persons in both of each pair of segments (the diagonal is each segment's size)."""
        found = self.all()
        chosen = sorted(names) if names is not None else sorted(found)
        tables = self._tables()
        members = {
            n: set(
                evaluate_segment(
                    found[n] if n in found else self.get(n),
                    features=tables.features,
                    activity=tables.activity,
                    as_of=tables.as_of,
                )
            )
            for n in chosen
        }
        return pd.DataFrame(
            [[len(members[a] & members[b]) for b in chosen] for a in chosen],
            index=pd.Index(chosen, name="segment"),
            columns=chosen,
        )
