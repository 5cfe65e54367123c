"""``RunContext``: what every step of one run reads (settings, store, where, when)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from api.settings import TetherConfig
from api.workspace import Workspace
from audiences.segments import Segment
from resolver.progress import Progress

__all__ = ["RunContext"]


@dataclass(frozen=True, kw_only=True, slots=True)
class RunContext:
    """One run's fixed inputs; steps return results and never change it."""

    run_id: str
    out: Path
    """``runs/<run_id>.partial/``: every step writes here; publishing renames it."""
    current: str | None
    """The run current when this one started (still current if it fails)."""
    config: TetherConfig
    workspace: Workspace
    store: Engine
    as_of: datetime
    """When consent is judged and segment windows end."""
    retrain: bool
    segments: Mapping[str, Segment]
    unusable_segments: Mapping[str, str]
    """Stored segments that no longer validate (name -> error code): failed, never run."""
    progress: Progress
