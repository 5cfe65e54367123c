"""A second, harder synthetic world, written independently of Tether's resolver.

The demo world (``api.worlds.demo``) was written by the people who tuned
the resolver, so scores on it are optimistic. This generator models the data
of Tether's first users (Israeli and Russian-speaking businesses, plus UK and
US customers) from how such data really looks, to measure linking quality
and scale on data Tether was not tuned on:

* heavy-tailed name frequencies per locale (the top surname ~1 %, the top
  forename a few %), so "same name, different person" is common at scale;
* names in Hebrew, Cyrillic, Arabic and Latin script with competing
  transliterations, nicknames (Sasha, Yossi, Bill), initials, swapped
  fields, double and maiden surnames;
* coarse and missing postcodes, cities in many spellings, people
  concentrated in a few big cities;
* CRM duplicates (1-5 extra rows for a minority) and a second,
  duplicate-free customer source (``loyalty``) with its own id space;
* the web site of a bank (``web_regime="bank"``, the default): customers
  who bank online log in on most sessions of the browser they bank from
  (less on their other browsers, and in the app on almost all), while
  customers who do not bank online and prospects visit a few times,
  anonymously but for newsletter and lead forms; cookie churn (Safari's
  ITP), user agents that change with each browser release, household
  home IPs that change every few weeks to months and are handed on to
  other households, shared office and carrier NAT addresses;
* app installs with zeroed ad ids; messaging contacts on WhatsApp, Viber,
  Telegram and Messenger;
* national phone formats (IL, RU, UA, GB, US), changed and recycled numbers;
* labelled hard cases that must never be merged (``hard_cases``).

About 12 linked touchpoints per person. Large worlds are generated and
written chunk by chunk (bounded memory); the same seed gives byte-identical
files.

Why a bank by default: a linking-quality benchmark needs a world in which
good linking is possible. An oracle that links a person's records only by
shared identifiers, the same first and last name and the same (IP, user
agent) reaches a pairwise recall of 0.87 on 3 000 persons in the bank
regime (0.82-0.91 over ten seeds: a few heavy visitors hold many of the
pairs; the demo world: 0.89), so a linker's misses there are its own.
``web_regime="anonymous"`` keeps the world as it was first written: any
business's site where four sessions in five are anonymous and a quarter of
cookies ever identify. There the same oracle stops near 0.5, which caps any
linker's recall near 0.5 (and F1 near 0.67); it is kept to stress browser
stitching, not to score linking. For one seed both regimes have the same
people, CRM, loyalty and app tables; the messaging contacts, events,
interactions and consents are drawn after the sessions, so they are other
draws from the same distributions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from api.worlds.demo.world import WORLD_NOW, DemoWorld
from api.worlds.harder.cases import HARD_CASES, hard_case_people, instances_for
from api.worlds.harder.people import Factory
from api.worlds.harder.sources import COLUMNS, WebRegime, build_chunk
from api.worlds.toml import world_config_toml

__all__ = [
    "HARDER_LINKED_SOURCES",
    "HARD_CASES",
    "HARDER_SOURCE_FILES",
    "generate_harder_world",
    "harder_config_toml",
    "iter_harder_world_chunks",
    "write_harder_world",
]

#: Source name -> (kind, file stem). ``harder_config_toml`` maps each to its file.
HARDER_SOURCE_FILES: dict[str, tuple[str, str]] = {
    "crm": ("customers", "crm"),
    "loyalty": ("customers", "loyalty"),
    "web": ("sessions", "web_sessions"),
    "app": ("devices", "app_devices"),
    "messaging": ("contacts", "messaging"),
    "events": ("events", "events"),
    "interactions": ("interactions", "interactions"),
    "consents": ("consents", "consents"),
}
#: The sources whose records take part in linking (and are labelled).
HARDER_LINKED_SOURCES = ("crm", "loyalty", "web", "app", "messaging")

Format = Literal["csv", "parquet"]


def iter_harder_world_chunks(
    *, persons: int, seed: int, chunk_persons: int = 50_000, web_regime: WebRegime = "bank"
) -> Iterator[DemoWorld]:
    """Generate the world in chunks of persons; each chunk is seeded by ``(seed, chunk)``.

    Ids, phone numbers, IP addresses and cookies are keyed bijections of
    global serial numbers, so chunks need no shared state for them; the only
    state carried from chunk to chunk is the set of emails and Telegram
    usernames already handed out (people pick their own, so uniqueness has
    to be checked). Memory is bounded by ``chunk_persons``.

    The hard cases are in the first chunk; placeholder values sprinkled over
    CRM rows of every chunk add to that chunk's ``placeholder_identifiers``.
    Note that ``DemoWorld.touchpoint_count`` counts the demo's linked sources
    only; this world's linked sources are ``HARDER_LINKED_SOURCES`` (with
    ``loyalty``).

    ``web_regime`` is how observable web visitors are: ``"bank"`` (customers
    log into online banking; the default) or ``"anonymous"`` (hardly anyone
    identifies; the world as first written, byte for byte). See the module
    docstring for why.
    """
    yield from _chunks(
        persons=persons,
        seed=seed,
        chunk_persons=chunk_persons,
        activity=True,
        web_regime=web_regime,
    )


def _chunks(
    *,
    persons: int,
    seed: int,
    chunk_persons: int,
    activity: bool,
    web_regime: WebRegime = "bank",
) -> Iterator[DemoWorld]:
    """Chunks of the world; ``activity=False`` skips events, interactions and consents."""
    if web_regime not in ("bank", "anonymous"):
        raise ValueError(f"web_regime must be 'bank' or 'anonymous', not {web_regime!r}")
    if persons < 1:
        raise ValueError("persons must be at least 1")
    if chunk_persons < 1:
        raise ValueError("chunk_persons must be at least 1")
    used_emails: set[str] = set()
    used_handles: set[str] = set()
    start = 0
    chunk = 0
    while start < persons:
        size = min(chunk_persons, persons - start)
        factory = Factory(seed=seed, chunk=chunk, used_emails=used_emails)
        people = []
        cases: dict[str, list[str]] = {}
        shared = []
        if chunk == 0:
            hard = hard_case_people(factory, first_gid=0, instances=instances_for(persons, size))
            people, shared = hard.people, hard.shared_devices
            cases = {case: ids for case, ids in hard.cases.items() if ids}
        people += factory.population(start + len(people), size - len(people))
        built = build_chunk(
            people,
            seed=seed,
            chunk=chunk,
            now=WORLD_NOW,
            used_handles=used_handles,
            shared_devices=shared,
            activity=activity,
            web_regime=web_regime,
        )
        sprinkled = [
            t
            for t in dict.fromkeys(built.placeholder_people)
            if t not in cases.get("placeholder_identifiers", [])
        ]
        if sprinkled:
            cases["placeholder_identifiers"] = cases.get("placeholder_identifiers", []) + sprinkled
        yield DemoWorld(tables=built.tables, labels=built.labels, hard_cases=cases)
        start += size
        chunk += 1


def generate_harder_world(
    *, persons: int = 3000, seed: int = 42, web_regime: WebRegime = "bank"
) -> DemoWorld:
    """Generate a whole harder world in memory (one chunk); ``web_regime`` as in
    ``iter_harder_world_chunks``.

    Examples:
        >>> world = generate_harder_world(persons=200, seed=1)
        >>> sorted(world.tables)[:4]
        ['app', 'consents', 'crm', 'events']
        >>> sorted(world.hard_cases) == sorted(HARD_CASES)
        True
    """
    (world,) = _chunks(
        persons=persons,
        seed=seed,
        chunk_persons=max(persons, 1),
        activity=True,
        web_regime=web_regime,
    )
    return world


def write_harder_world(
    directory: Path,
    *,
    persons: int = 3000,
    seed: int = 42,
    fmt: Format = "csv",
    chunk_persons: int = 50_000,
    activity: bool = True,
    web_regime: WebRegime = "bank",
) -> dict[str, Any]:
    """Write the world's sources, labels and hard cases into ``directory``.

    A world that fits one chunk is written as one file per source; larger
    worlds as a directory of ``part-NNNNN`` files per source (ingest reads
    both). ``labels.csv`` is always one file; ``hard_cases.csv`` has one row
    per (case, true id). With ``activity=False`` only the linked sources are
    written. ``web_regime`` as in ``iter_harder_world_chunks``.

    Returns rows per source (and labels), the number of linked records
    (touchpoints), the hard cases and a fingerprint of the written files.
    """
    directory.mkdir(parents=True, exist_ok=True)
    chunked = persons > chunk_persons
    sources = [s for s in HARDER_SOURCE_FILES if activity or s in HARDER_LINKED_SOURCES]
    counts = dict.fromkeys([*sources, "labels"], 0)
    hard_cases: dict[str, list[str]] = {}
    labels_path = directory / "labels.csv"
    labels_path.unlink(missing_ok=True)
    for number, world in enumerate(
        _chunks(
            persons=persons,
            seed=seed,
            chunk_persons=chunk_persons,
            activity=activity,
            web_regime=web_regime,
        )
    ):
        for case, ids in world.hard_cases.items():
            hard_cases.setdefault(case, []).extend(ids)
        for source in sources:
            frame = world.tables[source]
            _write(
                frame,
                COLUMNS[source],
                directory,
                HARDER_SOURCE_FILES[source][1],
                fmt,
                number if chunked else None,
            )
            counts[source] += len(frame)
        _append_labels(world.labels, labels_path, header=number == 0)
        counts["labels"] += len(world.labels)
    (directory / "hard_cases.csv").write_text(
        "case,true_id\n"
        + "".join(f"{case},{tid}\n" for case, ids in sorted(hard_cases.items()) for tid in ids)
    )
    return {
        "rows": counts,
        "touchpoints": sum(counts[s] for s in HARDER_LINKED_SOURCES),
        "hard_cases": hard_cases,
        "fingerprint": _fingerprint(directory),
    }


def _table(frame: pd.DataFrame, columns: list[str]) -> pa.Table:
    """``frame`` as an Arrow table of strings in the canonical column order."""
    schema = pa.schema([(c, pa.string()) for c in columns])
    return pa.Table.from_pandas(frame[columns], schema=schema, preserve_index=False)


def _write(
    frame: pd.DataFrame, columns: list[str], directory: Path, stem: str, fmt: str, part: int | None
) -> None:
    """Write one source of one chunk: ``stem.fmt``, or ``stem/part-NNNNN.fmt`` when chunked."""
    if part is None:
        path = directory / f"{stem}.{fmt}"
    else:
        (directory / stem).mkdir(exist_ok=True)
        path = directory / stem / f"part-{part:05d}.{fmt}"
    table = _table(frame, columns)
    if fmt == "csv":
        pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    else:
        pq.write_table(table, path)


def _append_labels(labels: pd.DataFrame, path: Path, *, header: bool) -> None:
    """Append one chunk's labels to the single ``labels.csv``."""
    table = _table(labels, ["source", "record_key", "true_id"])
    with path.open("ab") as out:
        pacsv.write_csv(
            table, out, pacsv.WriteOptions(include_header=header, quoting_style="needed")
        )


def _fingerprint(directory: Path) -> str:
    """A short digest of every written file (names and bytes), for determinism checks."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.name != "tether.toml":
            digest.update(str(path.relative_to(directory)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def harder_config_toml(
    *, data_dir: str, fmt: Format = "csv", chunked: bool = False, activity: bool = True
) -> str:
    """The ``tether.toml`` that reads a written harder world (paths relative to the toml).

    With ``activity=False`` only the linked sources are configured and, as
    there is no consent source, identity linking is allowed by default.

    Examples:
        >>> print(harder_config_toml(data_dir="data", activity=False).splitlines()[3:6])
        ['[sources.crm]', 'kind = "customers"', 'path = "data/crm.csv"']
    """
    return world_config_toml(
        title="harder world (api.worlds.harder)",
        source_files=HARDER_SOURCE_FILES,
        linked=HARDER_LINKED_SOURCES,
        region="IL",
        data_dir=data_dir,
        fmt=fmt,
        chunked=chunked,
        activity=activity,
    )
