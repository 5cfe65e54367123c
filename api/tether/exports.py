"""``tether.exports``: export a segment of the current run; read exports, deltas and lineage.

An export is written exactly as the nightly writes one (``api.exports.
export_segment``): consent judged now from the ledger, the destination's
minimum size, deltas against the latest export of a published run, a
manifest with each exported person's consent events (the lineage).

Who may lower a destination's minimum audience: the configured minimum
(the platform's, or ``[destinations.NAME] min_size``) protects people from
being targeted in audiences small enough to single them out. An API key
may raise it but only an ``admin`` key may go below it; the operator (the
CLI and notebooks, who can edit ``tether.toml`` anyway) may too. Either
way the manifest records the minimum applied, the configured one and who
overrode it.
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Engine

from api.errors import Forbidden, NotFound
from api.exports import export_segment
from api.runs import RunRegistry
from api.workspace import Workspace
from audiences.destinations import destination as configured_destination
from audiences.export import ExportResult
from audiences.history import ExportHistory, export_directory
from audiences.segments import Segment
from consent.purposes import ConsentPolicy

__all__ = ["OPERATOR", "Caller", "CreatedExport", "Exports"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Caller:
    """Who asks for an export: the operator (CLI, notebook) or an API key (HTTP)."""

    kind: Literal["operator", "api_key"]
    key_id: str | None = None
    scopes: tuple[str, ...] = ()

    @property
    def may_lower_minimum(self) -> bool:
        """The operator and ``admin`` keys may export below the configured minimum size."""
        return self.kind == "operator" or "admin" in self.scopes

    def as_dict(self) -> dict[str, Any]:
        """What the manifest records of who overrode the minimum (ids and scopes, no secret)."""
        if self.kind == "operator":
            return {"by": "operator"}
        return {"by": "api_key", "key_id": self.key_id, "scopes": list(self.scopes)}


#: The caller of the CLI and of notebooks: whoever runs them can edit ``tether.toml``.
OPERATOR = Caller(kind="operator")


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
        caller: Caller = OPERATOR,
    ) -> CreatedExport:
        """Export ``segment`` of the current run to ``destination`` (``tether segments export``).

        ``min_size`` overrides the destination's configured minimum audience
        for this export; a smaller audience is refused with
        ``AudienceTooSmall``. Below the configured minimum only a ``caller``
        that ``may_lower_minimum`` is allowed (``Forbidden`` otherwise), and
        the manifest records who. Exporting the same run, segment and
        destination again returns the export already written; a concurrent
        export of the same segment and destination is waited for
        (``ExportInProgress`` if it takes too long).
        """
        overrides = self._overrides.get(destination, {})
        configured = configured_destination(destination, **overrides).min_size
        if min_size is not None and min_size < configured and not caller.may_lower_minimum:
            raise Forbidden(
                f"min_size {min_size} is below {destination}'s configured minimum of "
                f"{configured}: only an admin key may export below a destination's minimum "
                f"(key {caller.key_id} has {', '.join(caller.scopes)})",
                rule="min_size_below_configured_needs_admin",
                destination=destination,
                min_size=min_size,
                configured_min_size=configured,
                key_id=caller.key_id,
            )
        result, created = export_segment(
            workspace=self._workspace,
            store=self._store,
            segment=segment,
            destination_name=destination,
            policy=self._policy,
            overrides=overrides,
            as_of=as_of,
            min_size=min_size,
            min_size_by=caller.as_dict(),
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

    def directory(self, *, export_id: str) -> Path:
        """Where the export's files are in this workspace (``NotFound`` for an unknown id)."""
        return export_directory(self.get(export_id=export_id), home=self._workspace.home)

    def _directory(self, export_id: str) -> Path:
        return self.directory(export_id=export_id)
