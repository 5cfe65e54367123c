"""How good the linking is: ``evaluate``, ``review sample``, ``calibrate``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from api.cli.base import HomeOpt, JsonOpt, _emit, _tether, app

logger = logging.getLogger(__name__)


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
    with _tether(home) as tether:
        evaluation = tether.runs.evaluate(labels=labels, min_precision=min_precision, sweep=sweep)
    values = evaluation.scores.as_dict()
    payload: dict[str, Any] = {"run_id": evaluation.run_id, **values}
    lines = [f"run {evaluation.run_id}"] + [f"{k:<24} {v}" for k, v in values.items()]
    result = evaluation.sweep
    if result is not None:
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
    with _tether(home) as tether:
        run = tether.runs.require_current()
        pairs = tether.model.review_pairs(n=n, seed=seed, run=run)
    pairs.to_csv(out_path, index=False)
    _emit(
        {"run_id": run.run_id, "pairs": len(pairs), "path": str(out_path)},
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
    if method not in (None, "isotonic", "logistic"):
        raise typer.BadParameter("--method is isotonic or logistic")
    with _tether(home) as tether:
        fit = tether.model.calibrate(
            labels=labels,
            method=method,  # type: ignore[arg-type]
            force=force,
        )
    calibration, report, saved = fit.calibration, fit.report, fit.saved
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
