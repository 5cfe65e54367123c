"""Synthetic worlds for measuring Tether on data it was not tuned on.

``api.worlds.harder`` is a second world generator, written independently of
the resolver (see its docstring); the demo world stays in
``resolver.demo_world``.
"""

from api.worlds.harder import (
    HARDER_LINKED_SOURCES,
    HARDER_SOURCE_FILES,
    generate_harder_world,
    harder_config_toml,
    iter_harder_world_chunks,
    write_harder_world,
)

__all__ = [
    "HARDER_LINKED_SOURCES",
    "HARDER_SOURCE_FILES",
    "generate_harder_world",
    "harder_config_toml",
    "iter_harder_world_chunks",
    "write_harder_world",
]
