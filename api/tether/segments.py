"""``tether.segments``: the defined segments, their sizes, previews and overlaps.

Segments come from two places: the files of ``[audiences] segments``
(changed by review, like code) and the operational store (written through
the API). ``defined_segments`` merges them; the nightly, the CLI, the HTTP
API and notebooks all see the same set.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from api.exports import consent_now, preview_segment
from api.tether.run import Run
from api.workspace import Workspace
from audiences.definitions import SegmentStore, all_segments
from audiences.destinations import DESTINATIONS, Destination, destination
from audiences.errors import SegmentNotFound
from audiences.segments import Segment, evaluate_segment, load_segments
from consent.ledger import Ledger
from consent.purposes import ConsentPolicy

__all__ = ["Segments", "defined_segments", "destinations_for"]


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

    def get(self, name: str) -> Segment:
        """One segment; ``SegmentNotFound`` names the defined ones."""
        found = self.all()
        if name not in found:
            raise SegmentNotFound(
                f"no segment `{name}`; defined: {', '.join(sorted(found)) or 'none'}",
                segment=name,
            )
        return found[name]

    def members(self, *, name: str) -> pd.Series:
        """Person ids in the segment in the current run (windows end at the run's ``as_of``)."""
        tables = Run.current(self._workspace).run_tables()
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
        tables = (
            Run.current(self._workspace).run_tables() if self._workspace.current_run_id() else None
        )
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
        tables = Run.current(self._workspace).run_tables()
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
        tables = Run.current(self._workspace).run_tables()
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
