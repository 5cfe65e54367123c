"""The run pipeline: named, typed steps behind ``tether link`` and ``tether nightly``.

ingest → consent → model → link → person_ids → person_consent → features →
exports → publish. Each step is a function of the run's context and of the
results before it, and returns one frozen result (``api.pipeline.results``);
``run_steps`` loops over them with one timing and progress context and one
failure boundary. ``tether link`` runs the same steps without ``exports``.

A ``StepHook`` sees every step begin and end: the CLI's step lines, fault
injection in tests, and (later) metrics hang on it, never on a monkeypatch.

Importing this package is cheap; the steps (Splink, DuckDB, pandas) load on
first use of a name below (PEP 562), as ``resolver`` does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from api.pipeline.errors import RunFailedError

if TYPE_CHECKING:
    from api.pipeline.hooks import NULL_HOOK, StepHook
    from api.pipeline.results import ExportOutcome, RunSummary
    from api.pipeline.run import LINK_STEPS, NIGHTLY_STEPS, run_link, run_steps, train

__all__ = [
    "LINK_STEPS",
    "NIGHTLY_STEPS",
    "NULL_HOOK",
    "ExportOutcome",
    "RunFailedError",
    "RunSummary",
    "StepHook",
    "run_link",
    "run_steps",
    "train",
]

_LAZY = {
    "NULL_HOOK": "api.pipeline.hooks",
    "StepHook": "api.pipeline.hooks",
    "ExportOutcome": "api.pipeline.results",
    "RunSummary": "api.pipeline.results",
    "LINK_STEPS": "api.pipeline.run",
    "NIGHTLY_STEPS": "api.pipeline.run",
    "run_link": "api.pipeline.run",
    "run_steps": "api.pipeline.run",
    "train": "api.pipeline.run",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
