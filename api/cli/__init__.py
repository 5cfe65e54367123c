"""The ``tether`` command line (Typer). Thin: parse, call the domain, render.

``main()`` is the one error boundary: a ``TetherError`` prints its message
and exits 2 (bad input or usage) or 1 (a run failed); ``--debug`` shows the
traceback. Tracebacks never show local variables: they hold personal data.

Startup is kept light (issue #13): ``tether --help`` and ``tether consent
decode`` must start in well under a second, so this module imports only Typer,
rich and the cheap error classes at the top. Each command imports the pandas,
Splink, SQLAlchemy or Faker code it needs inside its body;
``bench/bench_startup.py`` measures it and ``tests/test_imports.py`` guards it.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from api.errors import EXIT_USAGE, exit_code_for
from resolver.errors import TetherError

if TYPE_CHECKING:
    from api.settings import TetherConfig
    from api.workspace import Workspace
    from resolver.demo_world import Format

app = typer.Typer(
    name="tether",
    help="Identity resolution and consent-gated retargeting audiences.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
out = Console(highlight=False, soft_wrap=True)

HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", help="Workspace directory (env TETHER_HOME; default ./tether-data)."),
]
ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Path to tether.toml.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]

_state: dict[str, Any] = {"debug": False}
logger = logging.getLogger(__name__)


@app.callback()
def _root(
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info, warning or error.")
    ] = "warning",
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    _state["debug"] = debug
    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Splink logs SQL at INFO and training advice at WARNING: errors only unless debugging.
    logging.getLogger("splink").setLevel(logging.DEBUG if log_level == "debug" else logging.ERROR)


def _workspace(home: Path | None) -> Workspace:
    """The workspace at ``--home``, else ``TETHER_HOME``, else ``./tether-data``."""
    from api.settings import resolve_home
    from api.workspace import Workspace

    return Workspace.open(resolve_home(home))


def _load_config(path: Path) -> TetherConfig:
    from api.settings import load_config

    return load_config(path)


def _emit(payload: dict[str, Any], *, as_json: bool, lines: list[str]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
    else:
        for line in lines:
            out.print(line)


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
    from resolver.demo_world import demo_config_toml, write_demo_world

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
"""


def write_demo_audiences(data: Path) -> Path:
    """The demo's tether.toml with the example segments; returns the config path."""
    import shutil

    from audiences.segments import EXAMPLES
    from resolver.demo_world import demo_config_toml

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
    from api.nightly import run_link
    from api.progress_ui import ConsoleProgress
    from audiences.segments import load_segments
    from resolver.demo_world import WORLD_NOW, write_demo_world
    from resolver.evaluate import evaluate_graph, read_labels

    ws = _workspace(home)
    data = ws.home / "demo"
    write_demo_world(data, persons=persons, seed=seed)
    config_path = write_demo_audiences(data)
    config = _load_config(config_path)
    assert config.segments is not None
    # The demo world is a snapshot taken at WORLD_NOW: consent and segment windows are judged then.
    summary = run_link(
        config=config,
        workspace=ws,
        retrain=True,
        as_of=WORLD_NOW,
        segments=load_segments(config.segments),
        progress=ConsoleProgress(quiet=as_json),
    )
    graph = ws.read_current("identity_graph")
    assert graph is not None
    scores = evaluate_graph(graph=graph, labels=read_labels(data / "labels.csv"))
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
            f"exports:        {len([e for e in summary.exports if 'counts' in e])} written to "
            f"{run_dir / 'exports'}",
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


@app.command("train")
def train_cmd(config: ConfigOpt, home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Retrain the linkage model on the configured sources and save it in the workspace."""
    from api.nightly import train
    from api.progress_ui import ConsoleProgress

    ws = _workspace(home)
    path = train(config=_load_config(config), workspace=ws, progress=ConsoleProgress(quiet=as_json))
    _emit({"model": str(path)}, as_json=as_json, lines=[f"model saved to {path}"])


@app.command()
def link(
    config: ConfigOpt,
    home: HomeOpt = None,
    retrain: Annotated[bool, typer.Option("--retrain", help="Train a new model first.")] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Judge consent and count windows at this ISO time (default: now)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest, apply consent, link and cluster the sources into a new current run."""
    from api.nightly import run_link
    from api.progress_ui import ConsoleProgress

    ws = _workspace(home)
    summary = run_link(
        config=_load_config(config),
        workspace=ws,
        retrain=retrain,
        as_of=_as_of(as_of),
        progress=ConsoleProgress(quiet=as_json),
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
    retrain: Annotated[bool, typer.Option("--retrain", help="Train a new model first.")] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Judge consent and count windows at this ISO time (default: now)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The nightly batch: ingest, consent, link, ids, features, segments, exports, publish.

    The run becomes current only when every step has finished; a run that
    fails or is killed leaves the previous run current and readable.
    """
    from api.nightly import run_link
    from api.progress_ui import ConsoleProgress
    from audiences.segments import load_segments

    loaded = _load_config(config)
    ws = _workspace(home)
    segments = _with_stored(load_segments(loaded.segments) if loaded.segments else {}, ws)
    summary = run_link(
        config=loaded,
        workspace=ws,
        retrain=retrain,
        as_of=_as_of(as_of),
        segments=segments,
        progress=ConsoleProgress(quiet=as_json),
    )
    run_dir = Path(summary.run_dir)
    done = [e for e in summary.exports if "counts" in e]
    refused = [e for e in summary.exports if "refused" in e]
    lines = [
        f"run {summary.run_id}: {summary.touchpoints:,} touchpoints -> {summary.persons:,} persons",
        f"segments: {len(summary.segments)}; exports: {len(done)} written, {len(refused)} refused",
    ]
    for e in done:
        c = e["counts"]
        lines.append(
            f"  {e['segment']} -> {e['destination']}: {c['exported']:,} "
            f"(+{c['added']:,} / -{c['removed']:,})"
        )
    for e in refused:
        lines.append(f"  {e['segment']} -> {e['destination']}: refused: {escape(e['refused'])}")
    lines += [f"report:  {run_dir / 'report.html'}", f"exports: {run_dir / 'exports'}"]
    _emit(summary.as_dict(), as_json=as_json, lines=lines)


@app.command()
def report(
    home: HomeOpt = None,
    open_it: Annotated[bool, typer.Option("--open", help="Open it in a browser.")] = False,
) -> None:
    """Print the path of the current run's HTML report (or open it)."""
    ws = _workspace(home)
    path = ws.current_dir() / "report.html"
    if not path.exists():
        raise typer.BadParameter(f"run {ws.current_run_id()} has no report.html")
    if open_it:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    out.print(str(path))


@app.command()
def evaluate(
    labels: Annotated[Path, typer.Option("--labels", help="CSV: source,record_key,true_id.")],
    home: HomeOpt = None,
    min_precision: Annotated[
        float,
        typer.Option("--min-precision", help="Precision floor of the recommended threshold."),
    ] = 0.99,
    sweep: Annotated[
        bool,
        typer.Option("--sweep/--no-sweep", help="Re-cluster the run at other thresholds."),
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Score the current identity graph against labels, and recommend a threshold.

    The sweep re-clusters the run at each threshold from its stored scores, with
    the run's own guard-rails and consent gate, and recommends the best F1 whose
    precision reaches --min-precision.
    """
    import pandas as pd

    from resolver.evaluate import evaluate_graph, read_labels
    from resolver.threshold import sweep_thresholds

    ws = _workspace(home)
    graph = ws.read_current("identity_graph")
    if graph is None:
        ws.current_dir()  # raises NoCurrentRunError with its message
        return
    truth = read_labels(labels)
    scores = evaluate_graph(graph=graph, labels=truth)
    values = scores.as_dict()
    payload: dict[str, Any] = {"run_id": ws.current_run_id(), **values}
    lines = [f"run {ws.current_run_id()}"] + [f"{k:<24} {v}" for k, v in values.items()]
    if sweep:
        run_dir = ws.current_dir()
        touchpoints = pd.read_parquet(run_dir / "touchpoints.parquet")
        predictions = pd.read_parquet(run_dir / "predictions.parquet")
        result = sweep_thresholds(
            touchpoints=touchpoints,
            predictions=predictions,
            labels=truth,
            options=_run_linking_options(run_dir),
            may_link=graph["may_link"].to_numpy(dtype=bool) if "may_link" in graph else None,
            min_precision=min_precision,
        )
        payload["threshold_sweep"] = result.as_dict()
        lines += ["", "threshold  precision  recall   F1      persons"]
        lines += [
            f"{r['threshold']:<9}  {r['precision']:.4f}     {r['recall']:.4f}   {r['f1']:.4f}  "
            f"{r['persons']:,}"
            for r in result.scores.to_dict(orient="records")
        ]
        lines.append(
            escape(
                f"recommended threshold: {result.recommended} ({result.reason}); "
                f"the run used {result.current}: set [linking] threshold in tether.toml"
            )
        )
    _emit(payload, as_json=as_json, lines=lines)


def _run_linking_options(run_dir: Path) -> Any:
    """The linking options a run was made with (``linking.json``), defaults for older runs."""
    import dataclasses

    from resolver.options import LinkingOptions

    path = run_dir / "linking.json"
    if not path.exists():
        return LinkingOptions()
    raw = json.loads(path.read_text())
    known = {f.name for f in dataclasses.fields(LinkingOptions)}
    values: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in raw.items() if k in known
    }
    if "blocklist" in values:
        values["blocklist"] = {k: tuple(v) for k, v in dict(values["blocklist"]).items()}
    return LinkingOptions(**values)


review_app = typer.Typer(help="Clerical review of linked pairs.", no_args_is_help=True)
app.add_typer(review_app, name="review")


@review_app.command("sample")
def review_sample(
    home: HomeOpt = None,
    n: Annotated[int, typer.Option("--n", min=1, max=100_000, help="Pairs to draw.")] = 200,
    out_path: Annotated[Path, typer.Option("--out", help="Where to write the review CSV.")] = Path(
        "review_pairs.csv"
    ),
    seed: Annotated[int, typer.Option("--seed", help="Same run and seed: same pairs.")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Write pairs of the current run for a reviewer to label (fill the `label` column).

    Most pairs lie near the linking threshold, where labels teach the most; the
    rest cover every score range. Names, birth date, postcode and city are shown;
    emails and phones masked. Then: `tether calibrate --labels FILE`.
    """
    import pandas as pd

    from resolver.model import load_model
    from resolver.review import sample_review_pairs

    ws = _workspace(home)
    run_dir = ws.current_dir()
    options = _run_linking_options(run_dir)
    pairs = sample_review_pairs(
        predictions=pd.read_parquet(run_dir / "predictions.parquet"),
        touchpoints=pd.read_parquet(run_dir / "touchpoints.parquet"),
        threshold=options.threshold,
        model=load_model(ws.model_path),
        n=n,
        seed=seed,
    )
    pairs.to_csv(out_path, index=False)
    _emit(
        {"run_id": ws.current_run_id(), "pairs": len(pairs), "path": str(out_path)},
        as_json=as_json,
        lines=[f"{len(pairs):,} pairs to review written to {out_path}"],
    )


@app.command()
def calibrate(
    labels: Annotated[Path, typer.Option("--labels", help="The review CSV, labelled.")],
    home: HomeOpt = None,
    method: Annotated[
        str | None,
        typer.Option("--method", help="isotonic or logistic (default: the better held out)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Save it even if it does not improve held-out Brier.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Fit a calibration of the match probability on labelled pairs; the next run uses it.

    Every label is held out once (cross-validation): the Brier score and the
    reliability before and after on them say whether the calibration helps.
    """
    import dataclasses

    from resolver.calibration import fit_calibration
    from resolver.errors import LabelsError
    from resolver.model import load_model, save_model
    from resolver.review import model_fingerprint, read_pair_labels

    if method not in (None, "isotonic", "logistic"):
        raise typer.BadParameter("--method is isotonic or logistic")
    pairs = read_pair_labels(labels)
    ws = _workspace(home)
    model = load_model(ws.model_path)
    fingerprint = model_fingerprint(model)
    stale = set(pairs["model"]) - {fingerprint, ""}
    if stale:
        raise LabelsError(
            f"pair labels file {labels} was sampled with another model than the workspace's "
            "(it was retrained since): sample again with `tether review sample`",
            path=str(labels),
        )
    calibration = fit_calibration(
        probability=pairs["model_probability"].to_numpy(),
        label=pairs["label"].to_numpy(),
        method=method,  # type: ignore[arg-type]
        model_fingerprint=fingerprint,
        source=str(labels),
    )
    report = calibration.report
    saved = bool(report["improves"]) or force
    if saved:
        save_model(dataclasses.replace(model, calibration=calibration), ws.model_path)
    lines = [
        f"{report['labels']} labelled pairs ({report['same_person']} same person), "
        f"{report['folds']}-fold held out: Brier score {report['brier_before']} -> "
        f"{report['brier_after']} with {calibration.method} (lower is better)",
        "model probability  pairs  observed  model  calibrated (held out)",
    ]
    for row in report["reliability"]:
        lines.append(
            f"{row['bin']:<17}  {row['pairs']:>5}  {row['observed']:.3f}     "
            f"{row['predicted']:.3f}  {row['calibrated']:.3f}"
        )
    lines.append(
        "saved beside the model: the next `tether link` or `tether nightly` uses it"
        if saved
        else "not saved: it does not beat the model's own probability on held-out pairs "
        "(label more pairs, or --force)"
    )
    _emit({"saved": saved, **report}, as_json=as_json, lines=lines)


consent_app = typer.Typer(help="The consent ledger.", no_args_is_help=True)
app.add_typer(consent_app, name="consent")


@consent_app.command("import")
def consent_import(
    path: Annotated[Path, typer.Argument(help="A consents CSV or Parquet file (SPEC §3 columns).")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Append consent events to the ledger; events already there are skipped."""
    from api.storage import database_url, open_store
    from consent.ledger import Ledger, events_from_frame
    from resolver import SourceConfig, ingest_sources

    ws = _workspace(home)
    ingested = ingest_sources(sources=[SourceConfig(name="consents", kind="consents", path=path)])
    (counts,) = ingested.counts
    frame = ingested.activity.get("consents")
    events = events_from_frame(frame) if frame is not None else []
    engine = open_store(database_url(home=ws.home))
    try:
        result = Ledger(engine).append(events)
    finally:
        engine.dispose()
    payload = {
        "rows_in": counts.rows_in,
        "rows_quarantined": counts.rows_quarantined,
        "quarantine_reasons": counts.reasons,
        "inserted": result.inserted,
        "duplicates": result.duplicates,
    }
    _emit(
        payload,
        as_json=as_json,
        lines=[
            f"{counts.rows_in:,} rows: {result.inserted:,} events added, "
            f"{result.duplicates:,} already in the ledger, {counts.rows_quarantined:,} refused"
        ]
        + [f"  refused: {reason} x{n}" for reason, n in counts.reasons.items()],
    )


def _as_of(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"--as-of {text!r}: write an ISO 8601 time, e.g. 2026-11-01T12:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


SubjectTypeArg = Annotated[
    str,
    typer.Argument(help="customer, cookie, device, contact, email (hash or address) or person."),
]


@consent_app.command("show")
def consent_show(
    subject_type: SubjectTypeArg,
    subject_id: Annotated[str, typer.Argument(help="The subject's id (or a person id).")],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="tether.toml (its [consent] policy).")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Judge at this ISO 8601 time (default: now).")
    ] = None,
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Effective consent per purpose of a subject, and of the person it is linked into."""
    from api.lookup import consent_of_person, consent_of_subject, find_person
    from api.storage import database_url, open_store
    from consent.ledger import Ledger
    from consent.purposes import DEFAULT_POLICY

    moment = _as_of(as_of)
    policy = _load_config(config).consent if config else DEFAULT_POLICY
    ws = _workspace(home)
    engine = open_store(database_url(home=ws.home))
    try:
        ledger = Ledger(engine)
        subject = (
            None
            if subject_type == "person"
            else consent_of_subject(
                ledger=ledger,
                subject_type=subject_type,
                subject_id=subject_id,
                as_of=moment,
                policy=policy,
            )
        )
        match = (
            find_person(workspace=ws, subject_type=subject_type, subject_id=subject_id)
            if ws.current_run_id()
            else None
        )
        person = (
            consent_of_person(ledger=ledger, match=match, as_of=moment, policy=policy)
            if match
            else None
        )
    finally:
        engine.dispose()
    if subject is None and person is None:
        from consent.errors import SubjectNotFound

        raise SubjectNotFound(
            f"person {subject_id} is not in the current run", subject_type=subject_type
        )
    payload: dict[str, Any] = {
        "as_of": moment.isoformat(),
        "subject": {p: d.as_dict() for p, d in subject.items()} if subject else None,
        "person_id": match.person_id if match else None,
        "person": {p: d.as_dict() for p, d in person.items()} if person else None,
    }
    lines = [f"as of {moment.isoformat()}"]
    for title, answers in (("subject", subject), (f"person {payload['person_id']}", person)):
        if not answers:
            continue
        lines.append(f"{title}:")
        for purpose, decision in answers.items():
            verdict = (
                "[green]allowed[/green]" if decision.allowed else "[red]refused[/red]"
            ) + " " * 2
            events = ", ".join(decision.event_ids) or "-"
            lines.append(
                f"  {purpose:<20} {verdict} {decision.status:<9} {escape(decision.reason)}"
                f"  events: {escape(events)}"
            )
    if subject_type != "person" and match is None:
        lines.append("not linked into any person of the current run")
    _emit(payload, as_json=as_json, lines=lines)


@app.command()
def erase(
    subject_type: SubjectTypeArg,
    subject_id: Annotated[str, typer.Argument(help="The subject's id (or a person id).")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Erase a person: suppress their subjects and identifiers from the next run on.

    The subject is resolved to its person in the current run; every subject
    and identifier of that person goes on the suppression list, and an audit
    record with ids and counts only is kept.
    """
    import pandas as pd

    from api.lookup import find_person
    from api.storage import database_url, open_store
    from consent.erasure import ErasureStore

    ws = _workspace(home)
    match = (
        find_person(workspace=ws, subject_type=subject_type, subject_id=subject_id)
        if ws.current_run_id()
        else None
    )
    if subject_type == "person" and match is None:
        from consent.errors import SubjectNotFound

        raise SubjectNotFound(
            f"person {subject_id} is not in the current run: nothing to erase",
            subject_type="person",
        )
    engine = open_store(database_url(home=ws.home))
    try:
        receipt = ErasureStore(engine).erase(
            subject_type=subject_type,
            subject_id=subject_id,
            records=match.records if match else pd.DataFrame(),
            person_id=match.person_id if match else None,
            run_id=match.run_id if match else None,
            key=ws.salt,
        )
    finally:
        engine.dispose()
    logger.info(
        "erasure %s: person %s, %d records", receipt.erasure_id, receipt.person_id, receipt.records
    )
    _emit(
        receipt.as_dict(),
        as_json=as_json,
        lines=[
            f"erasure {receipt.erasure_id}: "
            + (
                f"person {receipt.person_id} ({receipt.records} records)"
                if receipt.person_id
                else "subject not in the current run; it is suppressed all the same"
            ),
            f"suppressed {receipt.subjects} subjects and {receipt.identifiers} identifiers "
            "from the next run on",
        ],
    )


@consent_app.command("decode")
def consent_decode(
    tc_string: Annotated[str, typer.Argument(help="An IAB TCF v2 TC string or a GPP string.")],
    as_json: JsonOpt = False,
) -> None:
    """Decode a TC or GPP string strictly (IAB field names); TC strings get the TCF 2.2 rules."""
    from consent.gpp import decode_gpp_string
    from consent.tcf import decode_tc_string, tcf22_violations

    if tc_string.strip().startswith("D"):  # a GPP header starts with type 3: "D"
        gpp = decode_gpp_string(tc_string).as_dict()
        _emit(gpp, as_json=as_json, lines=[f"{k:<12} {v}" for k, v in gpp.items()])
        return
    tc = decode_tc_string(tc_string)
    violations = tcf22_violations(tc)
    payload = {**tc.as_dict(), "tcf22Violations": violations, "warnings": tc.warnings}
    lines = [f"{name:<36} {value}" for name, value in tc.as_dict().items()]
    lines.append("TCF 2.2: " + ("valid" if not violations else "; ".join(violations)))
    _emit(payload, as_json=as_json, lines=lines)


@app.command("hash")
def hash_cmd(
    destination_name: Annotated[
        str, typer.Argument(metavar="DESTINATION", help="e.g. google_customer_match, uid2.")
    ],
    field: Annotated[str, typer.Argument(help="A canonical field: email, phone, first_name...")],
    values: Annotated[list[str], typer.Argument(metavar="VALUE...", help="Values to normalise.")],
    country: Annotated[
        str | None,
        typer.Option("--country", help="Region for national phone numbers and postcodes (GB, US)."),
    ] = None,
) -> None:
    """Normalise and hash values as DESTINATION does: one JSON object per line.

    Prints ``{"input", "normalized", "hash"}`` (plus ``key`` when a field feeds
    several platform keys, as a date of birth does for Meta); ``hash`` is null
    for values the platform takes in clear or that cannot be normalised.
    """
    from audiences.destinations import FIELDS, destination

    if field not in FIELDS:
        raise typer.BadParameter(f"{field!r}: FIELD is one of {', '.join(FIELDS)}")
    dest = destination(destination_name)
    for value in values:
        identifiers = dest.identify(field=field, value=value, region=country)
        for identifier in identifiers:
            record = {
                "input": identifier.input,
                "normalized": identifier.normalized,
                "hash": identifier.hash,
            }
            if len(identifiers) > 1:
                record["key"] = identifier.key
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")


segments_app = typer.Typer(help="Segments and audience exports.", no_args_is_help=True)
app.add_typer(segments_app, name="segments")

SegmentsOpt = Annotated[
    Path | None,
    typer.Option("--segments", help="Directory of segment files (default: [audiences] segments)."),
]
OptionalConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="tether.toml (segments, destinations, consent)."),
]


def _with_stored(files: dict[str, Any], ws: Workspace) -> dict[str, Any]:
    """File segments plus those written through the API (the operational store)."""
    from api.storage import database_url, open_store
    from audiences.definitions import SegmentStore, all_segments

    engine = open_store(database_url(home=ws.home))
    try:
        return all_segments(files=files, store=SegmentStore(engine))
    finally:
        engine.dispose()


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


@contextmanager
def _key_store(home: Path | None) -> Iterator[Any]:
    """The workspace's operational store as a ``KeyStore``, disposed afterwards."""
    from api.keys import KeyStore
    from api.storage import database_url, open_store

    ws = _workspace(home)
    engine = open_store(database_url(home=ws.home))
    try:
        yield KeyStore(engine)
    finally:
        engine.dispose()


keys_app = typer.Typer(help="API keys for the HTTP API (stored hashed).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who or what the key is for, e.g. crm-sync.")],
    scopes: Annotated[
        list[str],
        typer.Option("--scope", "-s", help="read, export, consent:write or admin (repeatable)."),
    ],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key; its secret is printed this once and only its hash is stored."""
    with _key_store(home) as keys:
        created = keys.create(name=name, scopes=scopes)
    _emit(
        {**created.key.as_dict(), "token": created.token},
        as_json=as_json,
        lines=[
            f"key {created.key.key_id} ({escape(name)}): {', '.join(created.key.scopes)}",
            created.token,
            "store it now: it is not shown again",
        ],
    )


@keys_app.command("list")
def keys_list(home: HomeOpt = None, as_json: JsonOpt = False) -> None:
    """Every API key (never its secret), revoked ones included."""
    with _key_store(home) as store:
        keys = store.list()
    _emit(
        {"keys": [k.as_dict() for k in keys]},
        as_json=as_json,
        lines=[
            f"{k.key_id}  {escape(k.name):<24} {','.join(k.scopes):<28} "
            f"{'revoked ' + k.revoked_at.isoformat() if k.revoked_at else 'active'}"
            for k in keys
        ]
        or ["no keys yet: `tether keys create NAME --scope read`"],
    )


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `tether keys list`).")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke an API key: a running server refuses it within a second."""
    with _key_store(home) as keys:
        key = keys.revoke(key_id)
    if key is None:
        raise typer.BadParameter(f"no key {key_id!r}; `tether keys list` shows them")
    _emit(key.as_dict(), as_json=as_json, lines=[f"key {key.key_id} revoked"])


@app.command()
def serve(
    config: OptionalConfigOpt = None,
    home: HomeOpt = None,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Processes (each loads the current run).")
    ] = 1,
) -> None:
    """Serve the HTTP API (uvicorn) on the workspace; it follows each newly published run."""
    import os

    import uvicorn

    ws = _workspace(home)
    os.environ["TETHER_HOME"] = str(ws.home.resolve())
    if config is not None:
        _load_config(config)  # refuse a bad file before binding the port
        os.environ["TETHER_CONFIG"] = str(config.resolve())
    logger.info("serving %s on %s:%d", ws.home, host, port)
    uvicorn.run(
        "api.server:app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # paths may hold emails: api.app logs route templates instead
        log_level=logging.getLevelName(logging.getLogger().level).lower(),
        loop="uvloop",
        http="httptools",
        timeout_keep_alive=75,  # clients and load balancers keep connections longer than 5 s
    )


def _record_ref(text: str) -> tuple[str, str]:
    source, sep, key = text.partition(":")
    if not sep or not source or not key:
        raise typer.BadParameter(f"{text!r}: write a record as SOURCE:RECORD_KEY, e.g. crm:C001")
    return source, key


@app.command()
def why(
    left: Annotated[str, typer.Argument(help="A record: SOURCE:RECORD_KEY.")],
    right: Annotated[str, typer.Argument(help="Another record: SOURCE:RECORD_KEY.")],
    home: HomeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Why two records are one person (the path of links), or not (the refused links)."""
    import pandas as pd

    from resolver.explain import explain_records

    ws = _workspace(home)
    run_dir = ws.current_dir()
    answer = explain_records(
        graph=pd.read_parquet(run_dir / "identity_graph.parquet"),
        links=pd.read_parquet(run_dir / "links.parquet"),
        left=_record_ref(left),
        right=_record_ref(right),
    )
    lines = [answer.summary()]
    for edge in answer.path or answer.refused:
        lines.append(
            f"  {edge['from']} -> {edge['to']}: {edge['rule']} p={edge['probability']:.3f} "
            f"{edge['decision']}"
        )
    _emit(answer.as_dict(), as_json=as_json, lines=lines)


def main() -> int:
    """Run the CLI; returns the process exit code."""
    try:
        app(standalone_mode=False)
    except TetherError as exc:
        if _state["debug"]:
            raise
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"[red]error[/red] {escape(f'[{exc.code}] {exc.message}')}"
        )
        return exit_code_for(exc)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        return 1
    except typer.TyperException as exc:  # usage errors: bad option, bad parameter
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            Console(stderr=True, highlight=False).print(escape(str(exc)))
        return EXIT_USAGE
    return 0
