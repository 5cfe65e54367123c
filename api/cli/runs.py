"""Make runs and find their report: ``train``, ``link``, ``nightly``, ``report``.

Each calls ``Tether.runs``: the same ``run_link`` as a notebook's
``tether.runs.link()``, consent gate and erasures included.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from api.cli.base import ConfigOpt, HomeOpt, JsonOpt, _as_of, _emit, _tether, app, out
from api.errors import EXIT_FAILED_RUN

if TYPE_CHECKING:
    from api.settings import TetherConfig

logger = logging.getLogger(__name__)

RetrainOpt = Annotated[bool, typer.Option("--retrain", help="Train a new model first.")]
EngineOpt = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="Link on duckdb or spark (overrides linking.engine; spark: docs/scale.md).",
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of", help="Judge consent and count windows at this ISO time (default: now)."
    ),
]


def _with_engine(config: Path, engine: str | None) -> Path | TetherConfig:
    """The config file, or the config parsed with ``linking.engine`` set to ``--engine``."""
    if engine is None:
        return config
    from dataclasses import replace

    from api.settings import load_config

    parsed = load_config(config)
    # LinkingOptions validates the engine (and that pyspark is installed): ConfigError, exit 2
    return replace(parsed, linking=replace(parsed.linking, engine=engine))  # type: ignore[arg-type]


@app.command("train")
def train_cmd(config: ConfigOpt, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Retrain the linkage model on the configured sources and save it in the workspace."""
    from api.progress_ui import ConsoleProgress

    with _tether(home, config=config) as tether:
        path = tether.runs.train(progress=ConsoleProgress(quiet=as_json))
    _emit({"model": str(path)}, as_json=as_json, lines=[f"model saved to {path}"])


@app.command()
def link(
    config: ConfigOpt,
    home: HomeOpt = None,
    retrain: RetrainOpt = False,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = None,
) -> None:
    """Ingest, apply consent, link and cluster the sources into a new current run."""
    from api.progress_ui import ConsoleProgress

    with _tether(home, config=_with_engine(config, engine)) as tether:
        summary = tether.runs.link(
            retrain=retrain, as_of=_as_of(as_of), progress=ConsoleProgress(quiet=as_json)
        )
    quarantined = sum(s["rows_quarantined"] for s in summary.sources)
    _emit(
        summary.as_dict(),
        as_json=as_json,
        lines=[
            f"run {summary.run_id}: {summary.touchpoints:,} touchpoints -> "
            f"{summary.persons:,} persons ({quarantined:,} rows quarantined)",
            "ids: " + ", ".join(f"{k} {v}" for k, v in summary.id_churn.items()),
            f"results in {summary.run_dir}",
        ],
    )


@app.command()
def nightly(
    config: ConfigOpt,
    home: HomeOpt = None,
    retrain: RetrainOpt = False,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    engine: EngineOpt = None,
) -> None:
    """The nightly batch: ingest, consent, link, ids, features, segments, exports, publish.

    The run becomes current only when every step has finished; a run that
    fails or is killed leaves the previous run current and readable.
    """
    from api.progress_ui import ConsoleProgress

    with _tether(home, config=_with_engine(config, engine)) as tether:
        summary = tether.runs.nightly(
            retrain=retrain, as_of=_as_of(as_of), progress=ConsoleProgress(quiet=as_json)
        )
    run_dir = Path(summary.run_dir)
    lines = [
        f"run {summary.run_id}: {summary.touchpoints:,} touchpoints -> {summary.persons:,} persons",
        f"segments: {len(summary.segments)}; exports: {len(summary.written)} written, "
        f"{len(summary.refused)} refused",
    ]
    for e in summary.written:
        c = e.counts or {}
        lines.append(
            f"  {e.segment} -> {e.destination}: {c['exported']:,} "
            f"(+{c['added']:,} / -{c['removed']:,})"
        )
    for e in summary.refused:
        lines.append(f"  {e.segment} -> {e.destination}: refused: {escape(e.refused or '')}")
    if summary.actions:
        lines.append(
            "next best actions: " + ", ".join(f"{k} {v:,}" for k, v in summary.actions.items())
        )
    for name, code in sorted(summary.segments_failed.items()):
        lines.append(f"  {name}: FAILED ({code}), skipped; the other segments exported")
    lines += [f"report:  {run_dir / 'report.html'}", f"exports: {run_dir / 'exports'}"]
    _emit(summary.as_dict(), as_json=as_json, lines=lines)
    if summary.segments_failed:
        # the run is published, but a cron job must see that segments were skipped
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"{len(summary.segments_failed)} segment(s) failed and were skipped: "
            f"{', '.join(sorted(summary.segments_failed))}; run {summary.run_id} is current"
        )
        raise typer.Exit(EXIT_FAILED_RUN)


@app.command()
def report(
    home: HomeOpt = None,
    open_it: Annotated[bool, typer.Option("--open", help="Open it in a browser.")] = False,
) -> None:
    """Print the path of the current run's HTML report (or open it)."""
    with _tether(home) as tether:
        run = tether.runs.require_current()
    path = run.directory / "report.html"
    if not path.exists():
        raise typer.BadParameter(f"run {run.run_id} has no report.html")
    if open_it:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    out.print(str(path))
