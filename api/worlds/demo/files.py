"""Writing a world to files: one file per source (or a folder of parts), labels, hard cases.

The files are what ``tether generate`` and ``tether demo`` leave in a folder,
and what the tests, notebooks and benchmarks read; the same seed writes the
same bytes (``fingerprint`` in the summary says which world a folder holds).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.worlds.demo.generate import iter_demo_world_chunks
from api.worlds.demo.world import LINKED_SOURCES, SOURCE_FILES, Format

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["write_demo_world"]


def write_demo_world(
    directory: Path,
    *,
    persons: int = 2000,
    seed: int = 42,
    fmt: Format = "csv",
    chunk_persons: int = 50_000,
    activity: bool = True,
) -> dict[str, Any]:
    """Write the world's sources, labels and hard cases into ``directory``.

    A world that fits one chunk is written as one file per source; larger
    worlds as a directory of part files per source (ingest reads both).
    With ``activity=False`` the events, interactions and consents are not
    written (benchmarks of linking do not need them).

    Returns a summary: rows per source, touchpoints, hard cases, fingerprint.
    """
    directory.mkdir(parents=True, exist_ok=True)
    chunked = persons > chunk_persons
    sources = [s for s in SOURCE_FILES if activity or s in LINKED_SOURCES]
    counts = dict.fromkeys([*sources, "labels"], 0)
    hard_cases: dict[str, list[str]] = {}
    for number, world in enumerate(
        iter_demo_world_chunks(persons=persons, seed=seed, chunk_persons=chunk_persons)
    ):
        hard_cases.update(world.hard_cases)
        for source in sources:
            frame = world.tables[source]
            _write(frame, directory, SOURCE_FILES[source][1], fmt, number if chunked else None)
            counts[source] += len(frame)
        _write(world.labels, directory, "labels", "csv", number if chunked else None)
        counts["labels"] += len(world.labels)
    if chunked:
        _concat_labels(directory)
    (directory / "hard_cases.csv").write_text(
        "case,true_id\n"
        + "".join(f"{case},{tid}\n" for case, ids in sorted(hard_cases.items()) for tid in ids)
    )
    return {
        "rows": counts,
        "touchpoints": sum(counts[s] for s in LINKED_SOURCES),
        "hard_cases": hard_cases,
        "fingerprint": _fingerprint(directory),
    }


def _write(frame: pd.DataFrame, directory: Path, stem: str, fmt: str, part: int | None) -> None:
    if part is None:
        path = directory / f"{stem}.{fmt}"
    else:
        (directory / stem).mkdir(exist_ok=True)
        path = directory / stem / f"part-{part:05d}.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


def _concat_labels(directory: Path) -> None:
    parts = sorted((directory / "labels").glob("part-*.csv"))
    with (directory / "labels.csv").open("w") as out:
        for n, part in enumerate(parts):
            lines = part.read_text().splitlines(keepends=True)
            out.writelines(lines if n == 0 else lines[1:])
            part.unlink()
    (directory / "labels").rmdir()


def _fingerprint(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.name != "tether.toml":
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
