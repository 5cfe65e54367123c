"""``StepHook``: what sees each pipeline step begin and end.

The loop calls ``before(step)`` just before a step runs and ``after(step,
result)`` once it returned, inside the run's failure boundary: an exception
raised by a hook fails the run at that step exactly as one raised by the step
would (a ``BaseException`` such as ``KeyboardInterrupt`` passes through, as a
kill does). Tests inject faults here; nothing monkeypatches the pipeline.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["NULL_HOOK", "StepHook"]


class StepHook(Protocol):
    """Called around every step of a run."""

    def before(self, step: str) -> None: ...

    def after(self, step: str, result: object) -> None: ...


class _NullHook:
    def before(self, step: str) -> None:
        return None

    def after(self, step: str, result: object) -> None:
        return None


NULL_HOOK: StepHook = _NullHook()
