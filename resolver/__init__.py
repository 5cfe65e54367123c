"""Tether's resolver: sources to a stable identity graph.

The notebook-facing API; everything else in the package is internal.

Importing the package is cheap: the errors, the progress protocol and the
linking options are loaded at once, every other name on first use (PEP 562),
so that ``tether --help`` or ``from resolver import TetherError`` does not
load Splink, SciPy or DuckDB (issue #13); mypy sees the real imports below.
The demo world is not here: it writes consents, events and configuration,
so it lives in ``api.worlds.demo``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from resolver.errors import (
    ConfigError,
    InputError,
    LabelsError,
    ModelError,
    NoCurrentRunError,
    SourceSchemaError,
    TetherError,
    WorkspaceError,
)
from resolver.options import LinkingOptions
from resolver.progress import NULL_PROGRESS, LogProgress, Progress

if TYPE_CHECKING:
    from resolver.baseline import exact_identifier_components
    from resolver.evaluate import Evaluation, evaluate_graph, read_labels
    from resolver.explain import Explanation, explain_records
    from resolver.graph import build_identity_graph, build_links_table, build_persons
    from resolver.link import LinkResult, link_touchpoints, train_on_touchpoints
    from resolver.model import TrainedModel, load_model, save_model
    from resolver.person_ids import IdAssignment, assign_person_ids, resolve_person_id
    from resolver.sources import IngestResult, SourceConfig, SourceCounts, ingest_sources

__all__ = [
    "NULL_PROGRESS",
    "ConfigError",
    "Evaluation",
    "Explanation",
    "IdAssignment",
    "IngestResult",
    "InputError",
    "LabelsError",
    "LinkResult",
    "LinkingOptions",
    "LogProgress",
    "ModelError",
    "NoCurrentRunError",
    "Progress",
    "SourceConfig",
    "SourceCounts",
    "SourceSchemaError",
    "TetherError",
    "TrainedModel",
    "WorkspaceError",
    "assign_person_ids",
    "build_identity_graph",
    "build_links_table",
    "build_persons",
    "evaluate_graph",
    "exact_identifier_components",
    "explain_records",
    "ingest_sources",
    "link_touchpoints",
    "load_model",
    "read_labels",
    "resolve_person_id",
    "save_model",
    "train_on_touchpoints",
]

# Name -> the module that defines it, imported when the name is first asked for.
_LAZY: dict[str, str] = {
    "exact_identifier_components": "resolver.baseline",
    "Evaluation": "resolver.evaluate",
    "evaluate_graph": "resolver.evaluate",
    "read_labels": "resolver.evaluate",
    "Explanation": "resolver.explain",
    "explain_records": "resolver.explain",
    "build_identity_graph": "resolver.graph",
    "build_links_table": "resolver.graph",
    "build_persons": "resolver.graph",
    "LinkResult": "resolver.link",
    "link_touchpoints": "resolver.link",
    "train_on_touchpoints": "resolver.link",
    "TrainedModel": "resolver.model",
    "load_model": "resolver.model",
    "save_model": "resolver.model",
    "IdAssignment": "resolver.person_ids",
    "assign_person_ids": "resolver.person_ids",
    "resolve_person_id": "resolver.person_ids",
    "IngestResult": "resolver.sources",
    "SourceConfig": "resolver.sources",
    "SourceCounts": "resolver.sources",
    "ingest_sources": "resolver.sources",
}

# Hidden from mypy: with a module ``__getattr__`` in sight it would accept any name
# (``resolver.typo``) as ``Any``; the TYPE_CHECKING imports above type the real ones.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # later lookups skip this function
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
