"""Synthetic worlds: the demo world, and a harder one for measuring Tether on data it was not tuned on.

``api.worlds.demo`` is the demo world the demo, tests, notebooks and
benchmarks share; ``api.worlds.harder`` is a second generator, written
independently of the resolver (see its docstring). Both write consents,
events and ``tether.toml`` as well as linked records, so they live in ``api``,
the layer that may know every package.
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
