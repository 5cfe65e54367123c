"""Tether's resolver: sources to a stable identity graph.

The notebook-facing API; everything else in the package is internal.
"""

from resolver.baseline import exact_identifier_components
from resolver.demo_world import DemoWorld, generate_demo_world, write_demo_world
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
from resolver.evaluate import Evaluation, evaluate_graph, read_labels
from resolver.explain import Explanation, explain_records
from resolver.graph import build_identity_graph, build_links_table, build_persons
from resolver.link import LinkResult, link_touchpoints, train_on_touchpoints
from resolver.model import TrainedModel, load_model, save_model
from resolver.options import LinkingOptions
from resolver.person_ids import IdAssignment, assign_person_ids, resolve_person_id
from resolver.progress import NULL_PROGRESS, LogProgress, Progress
from resolver.sources import IngestResult, SourceConfig, SourceCounts, ingest_sources

__all__ = [
    "NULL_PROGRESS",
    "ConfigError",
    "DemoWorld",
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
    "generate_demo_world",
    "ingest_sources",
    "link_touchpoints",
    "load_model",
    "read_labels",
    "resolve_person_id",
    "save_model",
    "train_on_touchpoints",
    "write_demo_world",
]
