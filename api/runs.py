"""The run registry in the operational store: which runs started, failed, were published.

Export deltas are computed against the previous export *of a published
run* only: a run that died after writing its exports never became current,
so nothing of it was sent. The registry is also what the HTTP API lists.
A run that died between switching ``current`` and recording it is repaired
at the next run's start (``reconcile``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Engine, String, Table, select, update

from consent.ledger import metadata

__all__ = ["RunRegistry", "runs"]

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("failed_step", String(32), nullable=True),
    Column("summary", JSON, nullable=True),
)


class RunRegistry:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def started(self, run_id: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                runs.insert(),
                [{"run_id": run_id, "status": "running", "started_at": datetime.now(UTC)}],
            )

    def finished(
        self,
        run_id: str,
        *,
        status: str,
        summary: dict[str, Any] | None = None,
        step: str | None = None,
    ) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(runs)
                .where(runs.c.run_id == run_id)
                .values(
                    status=status, finished_at=datetime.now(UTC), summary=summary, failed_step=step
                )
            )

    def reconcile(self, *, current: str | None) -> None:
        """Runs still marked running died; the current one among them was published."""
        with self._engine.begin() as connection:
            if current is not None:
                connection.execute(
                    update(runs)
                    .where(runs.c.run_id == current, runs.c.status == "running")
                    .values(status="published", finished_at=datetime.now(UTC))
                )
            connection.execute(update(runs).where(runs.c.status == "running").values(status="died"))

    def published(self) -> list[str]:
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(runs.c.run_id).where(runs.c.status == "published").order_by(runs.c.run_id)
            ).all()
        return [r[0] for r in rows]

    def get(self, run_id: str) -> dict[str, Any] | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(runs).where(runs.c.run_id == run_id)).first()
        return None if row is None else dict(row._asdict())

    def count(self) -> int:
        from sqlalchemy import func

        with self._engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(runs)).scalar_one())

    def list(self, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(runs).order_by(runs.c.run_id.desc()).limit(limit).offset(offset)
            ).all()
        return [dict(r._asdict()) for r in rows]
