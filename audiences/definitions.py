"""Segment definitions kept in the operational store (written through the HTTP API).

Segments come from two places: files in the ``[audiences] segments``
directory (reviewed like code) and this table (written by marketing tools
through ``/v1/segments``). A name lives in one place only: the API refuses
to create a segment whose name a file already defines, and a file-defined
segment is read-only over HTTP. ``all_segments`` is what the nightly
evaluates: both, by name.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Engine, Integer, String, Table, delete, select

from audiences.errors import SegmentConflict, SegmentInvalid, SegmentNotFound
from audiences.segments import Segment, parse_segment
from consent.ledger import metadata, stored_utc

logger = logging.getLogger(__name__)

__all__ = ["STORE_SOURCE", "SegmentStore", "all_segments", "segment_definitions"]

segment_definitions = Table(
    "segment_definitions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("definition", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

STORE_SOURCE = "store"
"""``Segment.source`` of a segment kept in the store."""


class SegmentStore:
    """Segment definitions on the operational store's engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def list(self) -> list[tuple[Segment, int, datetime]]:
        """Every stored segment with its version and last update, by name.

        A definition stored by an earlier version that today's validation
        refuses (a number DuckDB cannot hold, nesting too deep) is left out
        and logged by name and error code, so one bad row never stops a
        listing or a nightly; ``unusable`` names them.
        """
        out = []
        for row in self._rows():
            try:
                segment = self._segment(row.definition)
            except SegmentInvalid as exc:
                logger.warning("stored segment %s is unusable (%s): skipped", row.name, exc.code)
                continue
            out.append((segment, int(row.version), stored_utc(row.updated_at)))
        return out

    def unusable(self) -> dict[str, str]:
        """Stored segments that no longer validate: name -> error code (``list`` skips them)."""
        out = {}
        for row in self._rows():
            try:
                self._segment(row.definition)
            except SegmentInvalid as exc:
                out[str(row.name)] = exc.code
        return out

    def _rows(self) -> tuple[Any, ...]:
        with self._engine.connect() as connection:
            return tuple(
                connection.execute(
                    select(segment_definitions).order_by(segment_definitions.c.name)
                ).all()
            )

    def get(self, name: str) -> tuple[Segment, int, datetime] | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(segment_definitions).where(segment_definitions.c.name == name)
            ).first()
        if row is None:
            return None
        return self._segment(row.definition), int(row.version), stored_utc(row.updated_at)

    def create(self, definition: Mapping[str, Any]) -> Segment:
        """Store a new segment (parsed first: a bad definition is refused with its rule path)."""
        segment = parse_segment(definition, source=STORE_SOURCE)
        now = datetime.now(UTC)
        with self._engine.begin() as connection:
            exists = connection.execute(
                select(segment_definitions.c.name).where(segment_definitions.c.name == segment.name)
            ).first()
            if exists is not None:
                raise SegmentConflict(
                    f"segment `{segment.name}` exists already; update it with PUT",
                    segment=segment.name,
                )
            connection.execute(
                segment_definitions.insert(),
                [
                    {
                        "name": segment.name,
                        "definition": dict(definition),
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                ],
            )
        return segment

    def replace(self, name: str, definition: Mapping[str, Any]) -> tuple[Segment, int]:
        """Replace a stored segment's definition; its name cannot change."""
        segment = parse_segment(definition, source=STORE_SOURCE)
        if segment.name != name:
            raise SegmentConflict(
                f"the definition is named `{segment.name}`, not `{name}`: a segment keeps its name",
                segment=name,
            )
        with self._engine.begin() as connection:
            row = connection.execute(
                select(segment_definitions.c.version).where(segment_definitions.c.name == name)
            ).first()
            if row is None:
                raise SegmentNotFound(f"no stored segment `{name}`", segment=name)
            version = int(row.version) + 1
            connection.execute(
                segment_definitions.update()
                .where(segment_definitions.c.name == name)
                .values(definition=dict(definition), version=version, updated_at=datetime.now(UTC))
            )
        return segment, version

    def delete(self, name: str) -> bool:
        with self._engine.begin() as connection:
            result = connection.execute(
                delete(segment_definitions).where(segment_definitions.c.name == name)
            )
        return bool(result.rowcount)

    @staticmethod
    def _segment(definition: Any) -> Segment:
        return parse_segment(definition, source=STORE_SOURCE)


def all_segments(*, files: Mapping[str, Segment], store: SegmentStore) -> dict[str, Segment]:
    """File segments and stored segments by name; a name in both is refused."""
    merged = dict(files)
    for segment, _, _ in store.list():
        if segment.name in merged:
            raise SegmentConflict(
                f"segment `{segment.name}` is defined both in {merged[segment.name].source} and "
                "in the store; delete one of them",
                segment=segment.name,
            )
        merged[segment.name] = segment
    return merged
