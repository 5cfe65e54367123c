"""Progress renderers for the CLI: rich on a terminal, plain lines otherwise.

On a terminal the running step shows a live spinner with its elapsed time,
and each finished step a line with rows, rate and time; elsewhere (cron,
CI, pipes) only the finished-step lines, plain, one per step.
"""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.status import Status

__all__ = ["ConsoleProgress"]


class ConsoleProgress:
    """One line per finished step, with rows and elapsed time (stderr)."""

    def __init__(self, *, quiet: bool = False) -> None:
        self._console = Console(stderr=True, highlight=False, soft_wrap=True)
        self._plain = not sys.stderr.isatty()
        self._quiet = quiet
        self._started: dict[str, float] = {}
        self._status: Status | None = None

    def start(self, step: str, *, total: int | None = None) -> None:
        self._started[step] = time.perf_counter()
        if not self._plain and not self._quiet:
            if self._status is not None:
                self._status.stop()
            rows = f" ({total:,} rows)" if total else ""
            self._status = self._console.status(f"{step}{rows}…")
            self._status.start()

    def update(self, step: str, *, inc: int = 1) -> None:
        return None

    def finish(self, step: str, *, rows: int | None = None) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        if self._quiet:
            return
        elapsed = time.perf_counter() - self._started.pop(step, time.perf_counter())
        rate = f" ({rows / elapsed:,.0f}/s)" if rows and elapsed > 0.01 else ""
        text = f"{step:<24} {rows if rows is not None else '':>10} rows {elapsed:7.2f}s{rate}"
        if self._plain:
            self._console.print(text, markup=False)
        else:
            self._console.print(f"[green]✓[/green] {text}")
