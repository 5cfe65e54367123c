"""Generating a world: chunk by chunk, each seeded, the hard cases in the first."""

from __future__ import annotations

from collections.abc import Iterator

from api.worlds.demo.cases import hard_cases_block
from api.worlds.demo.chunk import Chunk
from api.worlds.demo.life import life
from api.worlds.demo.world import DemoWorld

__all__ = ["generate_demo_world", "iter_demo_world_chunks"]


def iter_demo_world_chunks(
    *, persons: int, seed: int, chunk_persons: int = 50_000
) -> Iterator[DemoWorld]:
    """Generate the world in chunks of persons; each chunk is independent and seeded.

    The hard cases are in the first chunk (when the world has 20 persons or
    more). Ids are unique across chunks, and so are emails and phones: the
    chunks share the sets of those handed out. Memory is bounded by
    ``chunk_persons``.
    """
    if persons < 1:
        raise ValueError("persons must be at least 1")
    start = 0
    chunk = 0
    used_emails: set[str] = set()
    used_phones: set[str] = set()
    while start < persons:
        size = min(chunk_persons, persons - start)
        c = Chunk(seed=seed, chunk=chunk, used_emails=used_emails, used_phones=used_phones)
        index = start
        if chunk == 0 and persons >= 20:
            index = hard_cases_block(c, index)
        while index < start + size:
            life(c, c.people.person(index))
            index += 1
        yield c.frames()
        start += size
        chunk += 1


def generate_demo_world(*, persons: int = 2000, seed: int = 42) -> DemoWorld:
    """Generate a whole demo world in memory (one chunk).

    Examples:
        >>> world = generate_demo_world(persons=50, seed=1)
        >>> sorted(world.tables)[:3]
        ['app', 'consents', 'crm']
    """
    chunks = list(iter_demo_world_chunks(persons=persons, seed=seed, chunk_persons=max(persons, 1)))
    (world,) = chunks
    return world
