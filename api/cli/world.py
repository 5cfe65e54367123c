"""Generate a world, run the demo on it, write an example config: ``generate``, ``demo``, ``init``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.base import HomeOpt, JsonOpt, _emit, _tether, app, out

if TYPE_CHECKING:
    from api.worlds.demo import Format

logger = logging.getLogger(__name__)


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the world into.")],
    persons: Annotated[int, typer.Option("--persons", min=1, help="People in the world.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same world.")] = 42,
    world: Annotated[
        str,
        typer.Option(
            "--world",
            help="demo (the team's world) or harder (skewed multi-script names, coarse "
            "postcodes, CRM duplicates, a duplicate-free second customer list).",
        ),
    ] = "demo",
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    activity: Annotated[
        bool,
        typer.Option("--activity/--no-activity", help="Also write events, interactions, consents."),
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Generate a synthetic world's source files, labels, hard cases and a tether.toml."""
    from api.worlds.demo import demo_config_toml, write_demo_world

    if fmt not in ("csv", "parquet"):
        raise typer.BadParameter("--format must be csv or parquet")
    if world not in ("demo", "harder"):
        raise typer.BadParameter("--world must be demo or harder")
    file_format: Format = "parquet" if fmt == "parquet" else "csv"
    chunked = persons > 50_000
    if world == "harder":
        from api.worlds import harder_config_toml, write_harder_world

        summary = write_harder_world(
            out_dir, persons=persons, seed=seed, fmt=file_format, activity=activity
        )
        config = harder_config_toml(
            data_dir=".", fmt=file_format, chunked=chunked, activity=activity
        )
    else:
        summary = write_demo_world(
            out_dir, persons=persons, seed=seed, fmt=file_format, activity=activity
        )
        config = demo_config_toml(data_dir=".", fmt=file_format, chunked=chunked, activity=activity)
    (out_dir / "tether.toml").write_text(config)
    _emit(
        {**summary, "world": world, "config": str(out_dir / "tether.toml")},
        as_json=as_json,
        lines=[
            f"wrote the {world} world: {summary['touchpoints']:,} touchpoints for "
            f"{persons:,} persons to {out_dir}",
            f"labels: {out_dir / 'labels.csv'}   config: {out_dir / 'tether.toml'}",
        ],
    )


DEMO_AUDIENCES = """
# Audiences: the example segments, copied next to the data.
[audiences]
segments = "segments"

# The demo world is small (2,000 people): let its audiences export.
[destinations.google_customer_match]
min_size = 10

[destinations.meta_custom_audience]
min_size = 10

[destinations.csv_internal]
min_size = 1

# WhatsApp outside the 24-hour window takes only an approved template: name it.
[destinations.whatsapp]
template = "tether_demo_offer"
language = "en"
"""


def write_demo_audiences(data: Path) -> Path:
    """The demo's tether.toml with the example segments; returns the config path."""
    import shutil

    from api.worlds.demo import demo_config_toml
    from audiences.segments import EXAMPLES

    target = data / "segments"
    target.mkdir(exist_ok=True)
    for path in sorted(EXAMPLES.glob("*.yaml")):
        shutil.copyfile(path, target / path.name)
    config_path = data / "tether.toml"
    config_path.write_text(demo_config_toml(data_dir=".") + DEMO_AUDIENCES)
    return config_path


@app.command()
def demo(
    home: HomeOpt = None,
    persons: Annotated[int, typer.Option("--persons", min=20)] = 2000,
    seed: Annotated[int, typer.Option("--seed")] = 42,
    as_json: JsonOpt = False,
) -> None:
    """Generate the demo world, run the nightly batch on it, and print where everything is."""
    from api.progress_ui import ConsoleProgress
    from api.settings import resolve_home
    from api.worlds.demo import WORLD_NOW, write_demo_world

    data = resolve_home(home) / "demo"
    write_demo_world(data, persons=persons, seed=seed)
    config_path = write_demo_audiences(data)
    with _tether(home, config=config_path) as tether:
        # The demo world is a snapshot taken at WORLD_NOW: consent and segment windows are
        # judged then.
        summary = tether.runs.nightly(
            retrain=True, as_of=WORLD_NOW, progress=ConsoleProgress(quiet=as_json)
        )
        scores = tether.runs.evaluate(labels=data / "labels.csv", sweep=False).scores
    run_dir = Path(summary.run_dir)
    _emit(
        {"run": summary.as_dict(), "evaluation": scores.as_dict(), "config": str(config_path)},
        as_json=as_json,
        lines=[
            f"demo world: {summary.touchpoints:,} touchpoints -> {summary.persons:,} persons",
            f"pairwise precision {scores.pairwise_precision:.4f}  recall "
            f"{scores.pairwise_recall:.4f}  F1 {scores.pairwise_f1:.4f}",
            f"within the consent gate: recall {scores.gated_pairwise_recall:.4f}  "
            f"F1 {scores.gated_pairwise_f1:.4f}  "
            f"({summary.consent['records_without_linking_consent']:,} records without linking "
            f"consent; linked against it: {scores.unconsented_records_linked})",
            f"exports:        {len(summary.written)} written to {run_dir / 'exports'}",
            "next best actions: "
            + (", ".join(f"{k} {v:,}" for k, v in summary.actions.items()) or "none"),
            *(
                f"  {e.segment} -> {e.destination}: {(e.counts or {}).get('exported', 0):,} "
                "contacts to message"
                for e in summary.written
                if e.destination in ("whatsapp", "telegram", "viber", "messenger")
            ),
            f"identity graph: {run_dir / 'identity_graph.parquet'}",
            f"report:         {run_dir / 'report.html'}",
            f"config:         {config_path}",
        ],
    )


@app.command()
def init(
    path: Annotated[Path, typer.Option("--path", help="Where to write the example.")] = Path(
        "tether.toml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write an annotated example tether.toml and the example segment files beside it."""
    import shutil

    from api.settings import EXAMPLE_CONFIG
    from audiences.segments import EXAMPLES

    if path.exists() and not force:
        raise typer.BadParameter(f"{path} exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise typer.BadParameter(
            f"--path {path}: the folder {path.parent} does not exist; create it first"
        )
    path.write_text(EXAMPLE_CONFIG)
    segments_dir = path.parent / "segments"
    segments_dir.mkdir(exist_ok=True)
    written = []
    for example in sorted(EXAMPLES.glob("*.yaml")):
        target = segments_dir / example.name
        if not target.exists() or force:
            shutil.copyfile(example, target)
            written.append(target.name)
    out.print(f"wrote {path} and {len(written)} segment files in {segments_dir}")
