"""Segments and audience exports: ``segments list``, ``preview``, ``export``."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from api.cli.base import (
    HomeOpt,
    JsonOpt,
    OptionalConfigOpt,
    _emit,
    _load_config,
    _with_stored,
    _workspace,
    app,
)

logger = logging.getLogger(__name__)


segments_app = typer.Typer(help="Segments and audience exports.", no_args_is_help=True)
app.add_typer(segments_app, name="segments")

SegmentsOpt = Annotated[
    Path | None,
    typer.Option("--segments", help="Directory of segment files (default: [audiences] segments)."),
]


def _segment_context(
    config: Path | None, segments: Path | None, home: Path | None = None
) -> tuple[Any, dict[str, Any]]:
    from audiences.segments import load_segments
    from consent.purposes import DEFAULT_POLICY

    loaded = _load_config(config) if config else None
    directory = segments or (loaded.segments if loaded else None) or Path("segments")
    if not directory.is_dir():
        raise typer.BadParameter(
            f"segment directory {directory} does not exist; pass --segments DIR or set "
            "[audiences] segments in tether.toml"
        )
    policy = loaded.consent if loaded else DEFAULT_POLICY
    return (loaded, policy), _with_stored(load_segments(directory), _workspace(home))


def _one_segment(found: dict[str, Any], name: str) -> Any:
    if name not in found:
        raise typer.BadParameter(
            f"no segment `{name}`; defined: {', '.join(sorted(found)) or 'none'}"
        )
    return found[name]


@segments_app.command("list")
def segments_list(
    config: OptionalConfigOpt = None,
    segments: SegmentsOpt = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The defined segments, with their size in the current run."""
    from api.exports import load_run_tables
    from audiences.segments import evaluate_segment

    _, found = _segment_context(config, segments, home)
    ws = _workspace(home)
    tables = load_run_tables(ws) if ws.current_run_id() else None
    rows = []
    for name, segment in sorted(found.items()):
        size = (
            len(evaluate_segment(segment, features=tables.features, activity=tables.activity,
                                 as_of=tables.as_of))
            if tables else None
        )  # fmt: skip
        rows.append(
            {
                "name": name,
                "description": segment.description,
                "size": size,
                "holdout": segment.holdout,
                "destinations": list(segment.destinations),
                "source": segment.source,
            }
        )
    _emit(
        {"run_id": tables.run_id if tables else None, "segments": rows},
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
    from api.exports import consent_now, load_run_tables, preview_segment
    from api.storage import database_url, open_store
    from audiences.destinations import DESTINATIONS, destination
    from consent.ledger import Ledger

    (loaded, policy), found = _segment_context(config, segments, home)
    segment = _one_segment(found, name)
    other = _one_segment(found, overlap) if overlap else None
    overrides = loaded.destinations if loaded else {}
    names = destination_names or list(DESTINATIONS)
    dests = [destination(n, **overrides.get(n, {})) for n in names]
    ws = _workspace(home)
    tables = load_run_tables(ws)
    engine = open_store(database_url(home=ws.home))
    try:
        consent = consent_now(
            tables=tables, ledger=Ledger(engine), as_of=datetime.now(UTC), policy=policy
        )
    finally:
        engine.dispose()
    preview = preview_segment(
        segment=segment,
        tables=tables,
        consent=consent,
        destinations=dests,
        overlap_with=other,
        person_id=person,
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
    from api.exports import export_segment
    from api.storage import database_url, open_store

    (loaded, policy), found = _segment_context(config, segments, home)
    segment = _one_segment(found, name)
    ws = _workspace(home)
    engine = open_store(database_url(home=ws.home))
    results = []
    try:
        for dest_name in destination_names:
            overrides = dict(loaded.destinations.get(dest_name, {})) if loaded else {}
            if min_size is not None:
                overrides["min_size"] = min_size
            result, created = export_segment(
                workspace=ws,
                store=engine,
                segment=segment,
                destination_name=dest_name,
                policy=policy,
                overrides=overrides,
            )
            results.append(
                {**result.manifest, "created": created, "directory": str(result.directory)}
            )
    finally:
        engine.dispose()
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
