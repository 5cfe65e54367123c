"""The ``tether.toml`` of a written demo world: its sources, linking settings, and defaults."""

from __future__ import annotations

from api.worlds.demo.world import LINKED_SOURCES, SOURCE_FILES, Format
from api.worlds.toml import world_config_toml

__all__ = ["demo_config_toml"]


def demo_config_toml(
    *, data_dir: str, fmt: Format = "csv", chunked: bool = False, activity: bool = True
) -> str:
    """The ``tether.toml`` that reads a written demo world (paths relative to it).

    With ``activity=False`` only the linked sources are configured, as
    ``write_demo_world(activity=False)`` writes only those. Such a world has
    no consent records, so its config allows linking by default (resolver
    benchmarks measure linking, not the consent gate).
    """
    return world_config_toml(
        title="demo world",
        source_files=SOURCE_FILES,
        linked=LINKED_SOURCES,
        region="GB",
        data_dir=data_dir,
        fmt=fmt,
        chunked=chunked,
        activity=activity,
    )
