"""``tether.exports``: export a segment of the current run; read exports, deltas and lineage.

An export is written exactly as the nightly writes one (``api.exports.
export_segment``): consent judged now from the ledger, the destination's
minimum size, deltas against the latest export of a published run, a
manifest with each exported person's consent events (the lineage).
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from api.errors import NotFound
from api.exports import export_segment
from api.runs import RunRegistry
from api.workspace import Workspace
from audiences.export import ExportResult
from audiences.history import ExportHistory
from audiences.segments import Segment
from consent.purposes import ConsentPolicy

__all__ = ["CreatedExport", "Exports"]


@dataclass(frozen=True, kw_only=True, slots=True)
class CreatedExport:
    """An export and whether this call wrote it (``False``: this run's export already existed)."""

    result: ExportResult
    created: bool


class Exports:
    """Audience exports: write one, list the history, open one's files."""

    def __init__(
        self,
        *,
        workspace: Workspace,
        store: Engine,
        policy: ConsentPolicy,
        overrides: dict[str, dict[str, Any]],
    ) -> None:
        self._workspace = workspace
        self._store = store
        self._policy = policy
        self._overrides = overrides

    def create(
        self,
        *,
        segment: Segment,
        destination: str,
        min_size: int | None = None,
        as_of: datetime | None = None,
    ) -> CreatedExport:
        """Export ``segment`` of the current run to ``destination`` (``tether segments export``).

        ``min_size`` overrides the destination's minimum audience (and the
        ``[destinations.NAME]`` one); a smaller audience is refused with
        ``AudienceTooSmall``. Exporting the same run, segment and destination
        again returns the export already written.
        """
        overrides = dict(self._overrides.get(destination, {}))
        if min_size is not None:
            overrides["min_size"] = min_size
        result, created = export_segment(
            workspace=self._workspace,
            store=self._store,
            segment=segment,
            destination_name=destination,
            policy=self._policy,
            overrides=overrides,
            as_of=as_of,
        )
        return CreatedExport(result=result, created=created)

    def list(
        self,
        *,
        segment: str | None = None,
        destination: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> pd.DataFrame:
        """The export history, newest first: run, counts, manifest hash, directory."""
        rows, _ = ExportHistory(self._store).page(
            segment=segment, destination=destination, limit=limit, offset=offset
        )
        return pd.DataFrame(rows)

    def get(self, *, export_id: str) -> dict[str, Any]:
        """One export's history entry; ``NotFound`` for an unknown id."""
        row = ExportHistory(self._store).get(export_id)
        if row is None:
            raise NotFound(f"no export {export_id}", export_id=export_id)
        return row

    def manifest(self, *, export_id: str) -> dict[str, Any]:
        """The export's ``manifest.json``: counts, purposes, file hashes, consent lineage."""
        manifest: dict[str, Any] = json.loads(
            (self._directory(export_id) / "manifest.json").read_text()
        )
        return manifest

    def deltas(self, *, export_id: str) -> dict[str, pd.DataFrame]:
        """``add`` and ``remove``: who joins and who leaves the audience since the last export.

        Rows carry person ids and the destination's hashed keys, never clear PII.
        """
        directory = self._directory(export_id)
        members = pd.read_parquet(directory / "members.parquet")
        removed = pd.read_csv(directory / "remove.csv", dtype=str)
        # add.csv is in the platform's upload format; the members table holds the person ids.
        previous = self._previous_members(export_id)
        added = members[~members["person_id"].isin(set(previous))].reset_index(drop=True)
        return {"add": added, "remove": removed}

    def lineage(self, *, export_id: str) -> pd.DataFrame:
        """Per exported person, the consent events that allowed the export (one row each)."""
        lineage = self.manifest(export_id=export_id).get("consent_lineage", {})
        rows = [
            {"person_id": person, "event_id": event}
            for person, events in sorted(lineage.items())
            for event in events
        ]
        return pd.DataFrame(rows, columns=["person_id", "event_id"])

    def _previous_members(self, export_id: str) -> builtins.list[str]:
        row = self.get(export_id=export_id)
        history = ExportHistory(self._store)
        previous = history.latest(
            segment=row["segment"],
            destination=row["destination"],
            before_run=row["run_id"],
            runs=RunRegistry(self._store).published(),
        )
        if previous is None:
            return []
        return [str(p) for p in history.members(previous["export_id"])["person_id"]]

    def _directory(self, export_id: str) -> Path:
        return Path(self.get(export_id=export_id)["directory"])
