"""Export history in the operational store: what was sent where, for deltas and audit.

``exports`` holds one row per export (segment, destination, run, counts, the
manifest's hash); ``export_members`` the members of each export with the keys
needed to remove them later (hashed identifiers and ad ids: never clear
names or emails). The latest export of a segment to a destination is the
base of the next one's ``add`` and ``remove`` sets. An export id is derived
from (run, segment, destination), so exporting the same run again finds the
existing export instead of writing a second history entry.

An export's ``directory`` is stored relative to the workspace
(``runs/<run_id>/exports/<segment>/<destination>``), so a server or CLI
started from any working directory, or a workspace copied elsewhere, finds
the files; ``export_directory`` reads it back, rows written before included.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from sqlalchemy import JSON, Column, DateTime, Engine, Index, Integer, String, Table, select

from consent.ledger import metadata

__all__ = [
    "ExportHistory",
    "export_directory",
    "export_id_for",
    "export_members",
    "exports",
    "relative_export_directory",
]

exports = Table(
    "exports",
    metadata,
    Column("export_id", String(64), primary_key=True),
    Column("segment", String(64), nullable=False),
    Column("destination", String(64), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("exported", Integer, nullable=False),
    Column("added", Integer, nullable=False),
    Column("removed", Integer, nullable=False),
    Column("manifest_sha256", String(64), nullable=False),
    Column("directory", String(1024), nullable=False),
    Index("ix_exports_segment_destination", "segment", "destination", "created_at"),
)

export_members = Table(
    "export_members",
    metadata,
    Column("export_id", String(64), primary_key=True),
    Column("person_id", String(64), primary_key=True),
    Column("removal_keys", JSON, nullable=True),
)


def export_id_for(*, run_id: str, segment: str, destination: str) -> str:
    """The same run, segment and destination always give the same export id."""
    digest = hashlib.sha256(f"{run_id}\x1f{segment}\x1f{destination}".encode()).hexdigest()
    return f"ex_{digest[:24]}"


def relative_export_directory(*, run_id: str, segment: str, destination: str) -> str:
    """Where an export's files live, relative to the workspace: what the history stores."""
    return str(PurePosixPath("runs", run_id, "exports", segment, destination))


def export_directory(row: dict[str, Any], *, home: Path) -> Path:
    """The directory of an export's files in the workspace at ``home``.

    Rows store it relative to the workspace. Rows written before stored the
    path as the writer saw it (absolute, or relative to the working directory
    of the nightly); a workspace's layout is fixed, so the directory follows
    from the row's run, segment and destination whatever was stored.
    """
    return home / relative_export_directory(
        run_id=str(row["run_id"]), segment=str(row["segment"]), destination=str(row["destination"])
    )


class ExportHistory:
    """Exports and their members, on the operational store's engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, export_id: str) -> dict[str, Any] | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(exports).where(exports.c.export_id == export_id)
            ).first()
        return None if row is None else dict(row._asdict())

    def latest(
        self,
        *,
        segment: str,
        destination: str,
        before_run: str | None = None,
        runs: list[str] | None = None,
    ) -> dict[str, Any] | None:
        """The newest export of ``segment`` to ``destination``.

        Only exports of ``runs`` count when given (the published runs: a run
        that died never sent anything), never those of ``before_run``.
        """
        query = select(exports).where(
            exports.c.segment == segment, exports.c.destination == destination
        )
        if before_run is not None:
            query = query.where(exports.c.run_id != before_run)
        if runs is not None:
            query = query.where(exports.c.run_id.in_(runs))
        query = query.order_by(exports.c.created_at.desc(), exports.c.export_id.desc()).limit(1)
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else dict(row._asdict())

    def page(
        self,
        *,
        segment: str | None = None,
        destination: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of exports, newest first, and how many there are in all."""
        from sqlalchemy import func

        where = []
        if segment is not None:
            where.append(exports.c.segment == segment)
        if destination is not None:
            where.append(exports.c.destination == destination)
        query = (
            select(exports)
            .where(*where)
            .order_by(exports.c.created_at.desc(), exports.c.export_id)
            .limit(limit)
            .offset(offset)
        )
        with self._engine.connect() as connection:
            rows = [dict(r._asdict()) for r in connection.execute(query).all()]
            total = connection.execute(
                select(func.count()).select_from(exports).where(*where)
            ).scalar_one()
        return rows, int(total)

    def members(self, export_id: str) -> pd.DataFrame:
        """``person_id`` and the recorded removal keys of an export's members."""
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(export_members.c.person_id, export_members.c.removal_keys).where(
                    export_members.c.export_id == export_id
                )
            ).all()
        records = [
            {"person_id": pid, **(json.loads(k) if isinstance(k, str) else (k or {}))}
            for pid, k in rows
        ]
        return pd.DataFrame(records, columns=None if records else ["person_id"])

    def record(
        self,
        *,
        export_id: str,
        segment: str,
        destination: str,
        run_id: str,
        counts: dict[str, int],
        manifest_sha256: str,
        directory: str,
        members: pd.DataFrame,
        keys: list[str],
        created_at: datetime | None = None,
    ) -> None:
        """Store one export and its members in one transaction."""
        row = {
            "export_id": export_id,
            "segment": segment,
            "destination": destination,
            "run_id": run_id,
            "created_at": (created_at or datetime.now(UTC)).astimezone(UTC),
            "exported": counts["exported"],
            "added": counts["added"],
            "removed": counts["removed"],
            "manifest_sha256": manifest_sha256,
            "directory": directory,
        }
        member_rows = [
            {
                "export_id": export_id,
                "person_id": str(record["person_id"]),
                "removal_keys": {k: record.get(k) for k in keys if record.get(k) is not None},
            }
            for record in members[["person_id", *keys]].to_dict(orient="records")
        ]
        with self._engine.begin() as connection:
            connection.execute(exports.insert(), [row])
            for start in range(0, len(member_rows), 5000):
                connection.execute(export_members.insert(), member_rows[start : start + 5000])
