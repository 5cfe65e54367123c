"""Progress reporting without a UI library.

Domain code reports progress through this protocol; the CLI plugs in a rich
progress bar, cron gets log lines, notebooks and tests get ``NULL_PROGRESS``.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

logger = logging.getLogger(__name__)


class Progress(Protocol):
    """Receives step starts, increments and ends."""

    def start(self, step: str, *, total: int | None = None) -> None: ...

    def update(self, step: str, *, inc: int = 1) -> None: ...

    def finish(self, step: str, *, rows: int | None = None) -> None: ...


class NullProgress:
    """Reports nothing."""

    def start(self, step: str, *, total: int | None = None) -> None:
        return None

    def update(self, step: str, *, inc: int = 1) -> None:
        return None

    def finish(self, step: str, *, rows: int | None = None) -> None:
        return None


class LogProgress:
    """Writes one log line per step start and finish, with rows and elapsed time."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    def start(self, step: str, *, total: int | None = None) -> None:
        self._started[step] = time.perf_counter()
        logger.info("step %s started", step)

    def update(self, step: str, *, inc: int = 1) -> None:
        return None

    def finish(self, step: str, *, rows: int | None = None) -> None:
        elapsed = time.perf_counter() - self._started.pop(step, time.perf_counter())
        logger.info("step %s finished: rows=%s elapsed=%.2fs", step, rows, elapsed)


NULL_PROGRESS: Progress = NullProgress()
