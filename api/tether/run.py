"""A published run, read lazily: its tables, its report, the options it linked with.

Every reader of a run goes through here instead of spelling out file names:
``run.table("identity_graph")`` reads ``runs/<id>/identity_graph.parquet``
once and keeps it. A run never changes once published, so what is read once
stays true.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from api.errors import NotFound
from api.workspace import Workspace
from resolver.options import LinkingOptions

if TYPE_CHECKING:
    from api.exports import RunTables

__all__ = ["Run"]


class Run:
    """One completed run of a workspace (``runs/<run_id>/``)."""

    def __init__(self, *, run_id: str, directory: Path) -> None:
        self.run_id = run_id
        self.directory = directory
        self._tables: dict[str, pd.DataFrame] = {}

    @classmethod
    def current(cls, workspace: Workspace) -> Run:
        """The workspace's current run; ``NoCurrentRunError`` before the first one."""
        directory = workspace.current_dir()
        return cls(run_id=directory.name, directory=directory)

    @classmethod
    def get(cls, workspace: Workspace, run_id: str) -> Run:
        """A completed run by id (kept runs only); ``NotFound`` otherwise."""
        directory = workspace.run_dir(run_id)
        if not (directory / "report.json").is_file():
            raise NotFound(f"no completed run {run_id} in {workspace.home}", run_id=run_id)
        return cls(run_id=run_id, directory=directory)

    def __repr__(self) -> str:
        return f"Run({self.run_id!r})"

    def has(self, name: str) -> bool:
        """Whether the run wrote the table ``name`` (activity tables are optional)."""
        return (self.directory / f"{name}.parquet").is_file()

    def table(self, name: str, *, columns: list[str] | None = None) -> pd.DataFrame:
        """A table of the run (``identity_graph``, ``touchpoints``, ``links``, ``events``...).

        Whole tables are read once and kept; a column subset is read each time
        (it is for big tables read in part). Callers must not modify the frame.
        """
        if columns is not None:
            if name in self._tables:
                return self._tables[name][columns]
            return pd.read_parquet(self.directory / f"{name}.parquet", columns=columns)
        if name not in self._tables:
            path = self.directory / f"{name}.parquet"
            if not path.is_file():
                raise NotFound(f"run {self.run_id} has no table {name}", run_id=self.run_id)
            self._tables[name] = pd.read_parquet(path)
        return self._tables[name]

    @cached_property
    def report(self) -> dict[str, Any]:
        """``report.json``: what the run did (sources, linking, consent, exports, seconds)."""
        loaded: dict[str, Any] = json.loads((self.directory / "report.json").read_text())
        return loaded

    @property
    def as_of(self) -> datetime:
        """The moment the run judged consent and counts segment windows from."""
        return datetime.fromisoformat(self.report["consent"]["as_of"])

    @property
    def judged_at(self) -> datetime | None:
        """When the run read the consent ledger (``None`` for runs before it was recorded)."""
        judged = self.report["consent"].get("judged_at")
        return datetime.fromisoformat(judged) if judged else None

    def linking_options(self) -> LinkingOptions:
        """The linking options the run was made with (``linking.json``; defaults for older runs)."""
        path = self.directory / "linking.json"
        if not path.exists():
            return LinkingOptions()
        raw = json.loads(path.read_text())
        known = {f.name for f in dataclasses.fields(LinkingOptions)}
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in raw.items() if k in known
        }
        if "blocklist" in values:
            values["blocklist"] = {k: tuple(v) for k, v in dict(values["blocklist"]).items()}
        return LinkingOptions(**values)

    def records(self) -> pd.DataFrame:
        """Every record with its person: the identity graph beside its touchpoint.

        The graph and the touchpoints are row-aligned (one row per usable input
        record, in the same order); this is the one place that joins them.
        """
        graph = self.table("identity_graph")
        touch = self.table("touchpoints")
        extra = [c for c in touch.columns if c not in graph.columns]
        return pd.concat(
            [graph.reset_index(drop=True), touch[extra].reset_index(drop=True)], axis=1
        )

    def run_tables(self) -> RunTables:
        """The tables segments and exports read (``api.exports.RunTables``)."""
        from api.exports import RunTables

        return RunTables(
            run_id=self.run_id,
            run_dir=self.directory,
            published_dir=self.directory,
            as_of=self.as_of,
            features=self.table("person_features"),
            activity=self.table("person_activity"),
            identifiers=self.table("person_identifiers"),
            consent=self.table("person_consent"),
            **({"contacts": self.table("person_contacts")} if self.has("person_contacts") else {}),
            **({"actions": self.table("person_actions")} if self.has("person_actions") else {}),
        )
