"""One chunk of a world being generated: its draws, its people, its rows and labels so far.

The record builders (``touchpoints``, ``messaging``, ``consents``,
``activity``, ``cases``) each take the ``Chunk`` and append to it; ``frames``
turns what they wrote into a ``DemoWorld``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from api.worlds.demo.draws import Draws
from api.worlds.demo.people import People
from api.worlds.demo.world import COLUMNS, SOURCE_FILES, DemoWorld

__all__ = ["Chunk"]


class Chunk:
    """The state of one chunk: seeded by ``(seed, chunk)``; emails and phones shared by the world."""

    def __init__(
        self, *, seed: int, chunk: int, used_emails: set[str], used_phones: set[str]
    ) -> None:
        self.draws = Draws(seed=seed, chunk=chunk)
        self.people = People(draws=self.draws, used_emails=used_emails, used_phones=used_phones)
        self.rows: dict[str, list[dict[str, Any]]] = {s: [] for s in SOURCE_FILES}
        self.labels: list[tuple[str, str, str]] = []
        """Ground truth: ``(source, record_key, true_id)`` for every linked record."""
        self.hard_cases: dict[str, list[str]] = {}
        """Hard case name -> the true ids that must stay distinct persons."""

    def add(self, source: str, row: dict[str, Any]) -> None:
        """Append one row to ``source``'s table."""
        self.rows[source].append(row)

    def label(self, source: str, key: str, true_id: str) -> None:
        """Record that ``source``'s record ``key`` belongs to true person ``true_id``."""
        self.labels.append((source, key, true_id))

    def frames(self) -> DemoWorld:
        """The chunk's tables, labels and hard cases as a ``DemoWorld``."""
        tables = {
            name: pd.DataFrame(rows, columns=COLUMNS[name]) for name, rows in self.rows.items()
        }
        labels = pd.DataFrame(self.labels, columns=["source", "record_key", "true_id"])
        return DemoWorld(tables=tables, labels=labels, hard_cases=self.hard_cases)
