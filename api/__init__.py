"""Tether's edge: the ``Tether`` object, settings, workspace, the run pipeline, CLI and HTTP API.

``from api import Tether`` is the one import a notebook needs. It is loaded
on first use (PEP 562), so ``import api`` (and the CLI's start) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from api.tether import Tether

__all__ = ["Tether"]


def __getattr__(name: str) -> Any:
    if name == "Tether":
        from api.tether import Tether

        return Tether
    raise AttributeError(f"module 'api' has no attribute {name!r}")
