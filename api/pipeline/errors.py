"""The pipeline's one error: a run that stopped part-way (exit code 1, HTTP 500)."""

from __future__ import annotations

from resolver.errors import TetherError

__all__ = ["RunFailedError"]


class RunFailedError(TetherError):
    """A run stopped part-way; the previous current run is untouched."""

    code = "run_failed"

    def __init__(self, message: str, *, run_id: str, step: str, current: str | None) -> None:
        super().__init__(message, run_id=run_id, step=step, current=current)
        self.run_id, self.step, self.current = run_id, step, current
