"""Segments and audience exports: ``segments list``, ``preview``, ``export``.

Each calls ``Tether.segments`` (file segments and those stored through the
API, as the nightly and the HTTP API see them) and ``Tether.exports``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from api.cli.base import HomeOpt, JsonOpt, OptionalConfigOpt, _emit, _tether, app

if TYPE_CHECKING:
    from api.tether import Tether

logger = logging.getLogger(__name__)


segments_app = typer.Typer(help="Segments and audience exports.", no_args_is_help=True)
app.add_typer(segments_app, name="segments")

SegmentsOpt = Annotated[
    Path | None,
    typer.Option("--segments", help="Directory of segment files (default: [audiences] segments)."),
]


@contextmanager
def _segments_tether(
    config: Path | None, segments: Path | None, home: Path | None
) -> Iterator[Tether]:
    """``Tether`` with the segment files of ``--segments``, else ``[audiences] segments``.

    Without either, ``./segments``; a folder that does not exist is a usage error.
    """
    from api.settings import load_config

    loaded = load_config(config) if config else None
    directory = segments or (loaded.segments if loaded else None) or Path("segments")
    if not directory.is_dir():
        raise typer.BadParameter(
            f"segment directory {directory} does not exist; pass --segments DIR or set "
            "[audiences] segments in tether.toml"
        )
    with _tether(home, config=loaded, segments=directory) as tether:
        yield tether


@segments_app.command("list")
def segments_list(
    config: OptionalConfigOpt = None,
    segments: SegmentsOpt = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The defined segments, with their size in the current run."""
    with _segments_tether(config, segments, home) as tether:
        rows = tether.segments.rows()
        run_id = tether.workspace.current_run_id()
    _emit(
        {"run_id": run_id, "segments": rows},
        as_json=as_json,
        lines=[
            f"{r['name']:<34} {r['size'] if r['size'] is not None else '-':>8}  "
            f"{escape(r['description'])}"
            for r in rows
        ],
    )


@segments_app.command("preview")
def segments_preview(
    name: Annotated[str, typer.Argument(help="The segment's name.")],
    config: OptionalConfigOpt = None,
    segments: SegmentsOpt = None,
    overlap: Annotated[
        str | None, typer.Option("--overlap", help="Another segment: how many are in both.")
    ] = None,
    person: Annotated[
        str | None, typer.Option("--person", help="A person id: why they are (not) eligible.")
    ] = None,
    destination_names: Annotated[
        list[str] | None, typer.Option("--destination", "-d", help="Repeatable; default: all.")
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Size, identifier coverage, overlap and consent-eligible size per destination."""
    with _segments_tether(config, segments, home) as tether:
        preview = tether.segments.preview(
            name=name, overlap=overlap, person=person, destinations=destination_names
        )
    lines = [
        f"segment {name} in run {preview['run_id']}: {preview['size']:,} persons",
        "coverage: " + ", ".join(f"{k} {v:,}" for k, v in preview["coverage"].items()),
    ]
    if "overlap" in preview:
        o = preview["overlap"]
        lines.append(f"overlap with {o['segment']} ({o['size']:,}): {o['both']:,} in both")
    for dest_name, d in preview["destinations"].items():
        lines.append(
            f"  {dest_name:<24} eligible {d['eligible']:>7,}  (held out {d['held_out']:,}, "
            f"no consent {d['refused_consent']:,}, unmatchable {d['unmatchable']:,}; "
            f"min {d['min_size']:,}{'' if d['exportable'] else ': too small'})"
        )
    if "person" in preview:
        p = preview["person"]
        lines.append(f"person {p['person_id']}: in segment {p['in_segment']}")
        for dest_name, verdict in p["destinations"].items():
            lines.append(
                f"  {dest_name:<24} "
                + (
                    "eligible"
                    if verdict["eligible"]
                    else "not eligible: " + "; ".join(verdict["reasons"])
                )
            )
    _emit(preview, as_json=as_json, lines=lines)


@segments_app.command("export")
def segments_export(
    name: Annotated[str, typer.Argument(help="The segment's name.")],
    destination_names: Annotated[
        list[str], typer.Option("--destination", "-d", help="Repeatable.")
    ],
    config: OptionalConfigOpt = None,
    segments: SegmentsOpt = None,
    min_size: Annotated[
        int | None, typer.Option("--min-size", min=1, help="Override the destination's minimum.")
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export a segment of the current run: files, payloads, add/remove deltas, manifest."""
    with _segments_tether(config, segments, home) as tether:
        segment = tether.segments.get(name)
        results = []
        for dest_name in destination_names:
            done = tether.exports.create(segment=segment, destination=dest_name, min_size=min_size)
            results.append(
                {
                    **done.result.manifest,
                    "created": done.created,
                    "directory": str(done.result.directory),
                }
            )
    lines = []
    for r in results:
        c = r["counts"]
        lines.append(
            f"{r['segment']} -> {r['destination']}: {c['exported']:,} exported "
            f"(+{c['added']:,} / -{c['removed']:,}; held out {c['held_out']:,}, "
            f"no consent {c['refused_consent']:,}, unmatchable {c['unmatchable']:,})"
            + ("" if r["created"] else " [already exported for this run]")
        )
        lines.append(f"  {r['directory']}")
    _emit(
        {"exports": [{k: v for k, v in r.items() if k != "consent_lineage"} for r in results]},
        as_json=as_json,
        lines=lines,
    )
