"""The run report: one self-contained HTML page (inline SVG and CSS; no script, font,
image or network) and the same figures as JSON (``report_figures.json``).

The page opens with what the run was: as-of, duration, status, the linking
options and model it used (file digests), Tether's version, and the previous
completed run of the workspace it is compared with. Then: person-id churn,
persons by size, link decisions by rule and reason, the match-weight
distribution of every scored pair (those below the score floor as one bar)
with the threshold marked, guard-rails, blocking, sources and quarantine,
consent coverage, segment sizes, exports with members added and removed, and
step timings. Every figure that has a counterpart in the previous run shows
it (a dark tick, and the signed change). Counts and ids only: no personal data.

Everything is rendered from the run's own files (``report.json``'s summary,
``links.parquet``, ``predictions.parquet``, ``persons.parquet``,
``linking.json``) and the previous run's, so a report can be written again
for any kept run.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from api.report_svg import (
    Bin,
    Row,
    StackRow,
    bar_chart,
    column_chart,
    fmt_bool,
    fmt_delta,
    fmt_num,
    fmt_seconds,
    stacked_bar_chart,
)

__all__ = ["previous_run_dir", "report_figures", "write_report"]

Bars = list[tuple[str, float]]

#: Scores kept in ``predictions.parquet`` (``resolver.link.SCORE_FLOOR``, restated to keep
#: this module free of the resolver's imports; the report test checks they agree).
SCORE_FLOOR = 0.01
CHURN_KINDS = ("new", "kept", "merged", "split", "retired")
CHURN_HELP = {
    "new": "persons whose records were never in an earlier person",
    "kept": "earlier person ids carried over",
    "merged": "earlier ids folded into another kept id",
    "split": "new ids for records split off an earlier person",
    "retired": "earlier ids with no records left",
}
_ACCEPTED = "accepted"
_REFUSAL_COLOURS = ["#e07b39", "#c8453b", "#8e5ab5", "#d4a72c", "#5b8c5a", "#888888", "#b5577e"]


def _histogram(values: np.ndarray, edges: list[float], labels: list[str]) -> Bars:
    counts, _ = np.histogram(values, bins=edges)
    return [(label, int(c)) for label, c in zip(labels, counts, strict=True)]


def _logit2(p: float) -> float:
    """The match weight (log2 odds) of a probability.

    >>> round(_logit2(0.9), 3), round(_logit2(0.01), 3)
    (3.17, -6.629)
    """
    return math.log2(p / (1 - p))


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def previous_run_dir(run_dir: Path, run_id: str) -> Path | None:
    """The workspace's completed run before ``run_id`` (``None`` for the first run).

    Run ids start with their UTC start time, so the latest completed run whose
    id sorts before this one is the previous one; runs being written
    (``.partial``) and runs without a ``report.json`` never completed.
    """
    runs = run_dir.parent
    earlier = [
        p
        for p in runs.iterdir()
        if p.is_dir()
        and not p.name.endswith(".partial")
        and p.name < run_id
        and (p / "report.json").is_file()
    ]
    return max(earlier, key=lambda p: p.name) if earlier else None


# --- figures -----------------------------------------------------------------------------


def _link_decisions(run_dir: Path) -> dict[str, dict[str, int]]:
    """Edges per rule and decision (``accepted`` or the reason it was refused)."""
    path = run_dir / "links.parquet"
    if not path.is_file():
        return {}
    links = pd.read_parquet(path, columns=["rule", "decision"])
    counts = links.groupby(["rule", "decision"]).size().reset_index(name="n")
    out: dict[str, dict[str, int]] = {}
    for rule, decision, n in zip(counts["rule"], counts["decision"], counts["n"], strict=True):
        out.setdefault(str(rule), {})[str(decision)] = int(n)
    return out


def _threshold_weight(predictions: pd.DataFrame, threshold: float) -> float:
    """The match weight at which a pair reaches the threshold.

    The threshold applies to ``probability``; without a calibration that is
    Splink's own (weight = log2 odds). With one, the boundary is read off the
    scores: halfway between the strongest pair below and the weakest at or above.
    """
    if "model_probability" not in predictions or not len(predictions):
        return _logit2(threshold)
    p = predictions["probability"].to_numpy(dtype=float)
    if np.allclose(p, predictions["model_probability"].to_numpy(dtype=float)):
        return _logit2(threshold)
    w = predictions["match_weight"].to_numpy(dtype=float)
    above, below = w[p >= threshold], w[p < threshold]
    if len(above) and len(below):
        return float((above.min() + below.max()) / 2)
    return float(above.min()) if len(above) else float(below.max())


def _match_weights(run_dir: Path, *, scored: int, threshold: float) -> dict[str, Any]:
    """The scored pairs' match weights, the pairs below the floor, the threshold's weight."""
    path = run_dir / "predictions.parquet"
    predictions = (
        pd.read_parquet(path, columns=["probability", "model_probability", "match_weight"])
        if path.is_file()
        else pd.DataFrame({"probability": [], "model_probability": [], "match_weight": []})
    )
    weights = predictions["match_weight"].to_numpy(dtype=float)
    weights = weights[np.isfinite(weights)]
    probability = predictions["probability"].to_numpy(dtype=float)
    return {
        "weights": weights,
        "scored": int(scored),
        "kept": len(predictions),
        "below_floor": max(0, int(scored) - len(predictions)),
        "at_or_above_threshold": int((probability >= threshold).sum()),
        "threshold": threshold,
        "threshold_weight": round(_threshold_weight(predictions, threshold), 4),
        "floor": SCORE_FLOOR,
        "floor_weight": round(_logit2(SCORE_FLOOR), 4),
    }


def _weight_bins(
    weights: np.ndarray, previous: np.ndarray | None, *, marker: float, floor: float
) -> list[tuple[float, float, int, int | None]]:
    """Bins one match weight wide, with an edge on the threshold (no bin straddles it)."""
    every = [weights] + ([previous] if previous is not None else [])
    low = min([floor] + [float(w.min()) for w in every if len(w)])
    high = max([marker + 1] + [float(w.max()) for w in every if len(w)])
    start = marker + math.floor(low - marker)
    stop = marker + math.floor(high - marker) + 1
    edges = np.arange(start, stop + 0.5, 1.0)
    counts, _ = np.histogram(weights, bins=edges)
    before = np.histogram(previous, bins=edges)[0] if previous is not None else None
    return [
        (
            round(float(a), 4),
            round(float(b), 4),
            int(n),
            None if before is None else int(before[i]),
        )
        for i, (a, b, n) in enumerate(zip(edges[:-1], edges[1:], counts, strict=True))
    ]


def _core_figures(summary: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The figures of one run that another run's report compares with."""
    linking = summary.get("linking", {})
    blocking = linking.get("blocking", {})
    options = _read_json(run_dir / "linking.json")
    threshold = float(options.get("threshold", 0.9))
    persons = pd.read_parquet(run_dir / "persons.parquet", columns=["records"])
    size_edges = [1.0, 2, 3, 4, 6, 11, 21, 51, 1e9]
    size_labels = ["1", "2", "3", "4-5", "6-10", "11-20", "21-50", "51+"]
    exports = [
        {
            "segment": e["segment"],
            "destination": e["destination"],
            **(
                e["counts"]
                if "counts" in e
                else {"refused": e.get("refused") or f"segment failed ({e['failed']}), skipped"}
            ),
        }
        for e in summary.get("exports", [])
    ]
    reasons: dict[str, int] = {}
    for s in summary.get("sources", []):
        for reason, n in s.get("reasons", {}).items():
            reasons[reason] = reasons.get(reason, 0) + int(n)
    return {
        "run_id": summary["run_id"],
        "touchpoints": summary["touchpoints"],
        "persons": summary["persons"],
        "id_churn": {k: int(summary.get("id_churn", {}).get(k, 0)) for k in CHURN_KINDS},
        "cluster_sizes": _histogram(
            persons["records"].to_numpy(dtype=float), size_edges, size_labels
        ),
        "link_decisions": _link_decisions(run_dir),
        "match_weights": _match_weights(
            run_dir, scored=int(blocking.get("comparisons", 0)), threshold=threshold
        ),
        "sources_used": {s["source"]: s["rows_used"] for s in summary.get("sources", [])},
        "quarantine_reasons": sorted(reasons.items(), key=lambda kv: -kv[1]),
        "guard_rails": {
            "identifier_limit_splits": linking.get("identifier_limit_splits", 0),
            "consent_refusals": linking.get("consent_refusals", 0),
            "conflict_refusals": linking.get("conflict_refusals", 0),
            "stitched_browsers": linking.get("stitched_browsers", 0),
        },
        "blocking_scored": {r["name"]: r.get("scored", 0) for r in blocking.get("rules", [])},
        "consent_coverage": sorted(summary.get("consent", {}).get("persons_allowed", {}).items()),
        "segments": sorted(summary.get("segments", {}).items()),
        "actions": sorted(summary.get("actions", {}).items()),
        "message_reads": _message_reads(run_dir),
        "actions_by_segment": sorted(summary.get("actions_by_segment", {}).items()),
        "exports": exports,
        "step_seconds": sorted(summary.get("seconds", {}).items(), key=lambda kv: -kv[1]),
    }


def _message_reads(run_dir: Path) -> list[tuple[str, float]]:
    """Persons messaged per channel whose reads are visible, and whose are unknown
    (hidden by the person, or never reported by the channel): ``docs/messaging.md``."""
    path = run_dir / "person_features.parquet"
    if not path.is_file():
        return []
    import pyarrow.parquet as pq

    names = [n for n in pq.read_schema(path).names if n.startswith("msg_reads_")]
    if not names:
        return []
    reads = pd.read_parquet(path, columns=names)
    out: list[tuple[str, float]] = []
    for name in sorted(names):
        channel = name.removeprefix("msg_reads_")
        column = reads[name]
        out.append((f"{channel}: reads visible", float((column == "visible").sum())))
        out.append(
            (f"{channel}: reads unknown", float(column.isin(["hidden", "unobservable"]).sum()))
        )
    return out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _identity(summary: dict[str, Any], run_dir: Path, *, written: datetime) -> dict[str, Any]:
    """As-of, timing, status, config and model identity of the run."""
    consent = summary.get("consent", {})
    started: datetime | None
    try:
        started = datetime.strptime(summary["run_id"][:15], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        started = None
    options = _read_json(run_dir / "linking.json")
    model = summary.get("model", {})
    model_path = Path(model["path"]) if model.get("path") else None
    model_mtime = None
    if model_path is not None and model_path.is_file():
        model_mtime = datetime.fromtimestamp(model_path.stat().st_mtime, UTC)
    training = _read_json(model_path.with_name("training.json")) if model_path is not None else {}
    refused = [e for e in summary.get("exports", []) if "refused" in e]
    unreconciled = [s["source"] for s in summary.get("sources", []) if not s.get("reconciles")]
    warnings = []
    if unreconciled:
        warnings.append(f"rows do not reconcile for {', '.join(unreconciled)}")
    if refused:
        warnings.append(f"{len(refused)} export(s) refused")
    failed = sorted(summary.get("segments_failed", {}))
    if failed:
        warnings.append(f"{len(failed)} segment(s) failed and were skipped: {', '.join(failed)}")
    quarantined = sum(s.get("rows_quarantined", 0) for s in summary.get("sources", []))
    if quarantined:
        warnings.append(f"{fmt_num(quarantined)} row(s) quarantined")
    try:
        version = metadata.version("tether")
    except metadata.PackageNotFoundError:
        version = "unknown"
    steps = float(sum(summary.get("seconds", {}).values()))
    return {
        "run_id": summary["run_id"],
        "status": "complete" if not warnings else "complete, with warnings",
        "warnings": warnings,
        "as_of": consent.get("as_of"),
        "judged_at": consent.get("judged_at"),
        "started_at": started.isoformat() if started else None,
        "report_written_at": written.isoformat(),
        "duration_seconds": (
            round((written - started).total_seconds(), 3) if started else round(steps, 3)
        ),
        "steps_seconds": round(steps, 3),
        "linking_options_sha256": _sha256(run_dir / "linking.json"),
        "threshold": options.get("threshold"),
        "max_block_size": options.get("max_block_size"),
        "model_sha256": _sha256(model_path) if model_path is not None else None,
        "model_trained_this_run": bool(model.get("trained_this_run", False)),
        "model_written_at": model_mtime.isoformat() if model_mtime else None,
        "model_training_rows": training.get("rows"),
        "model_comparisons": training.get("comparisons", []),
        "probability_two_random_records_match": model.get("probability_two_random_records_match"),
        "tether_version": version,
    }


def report_figures(*, summary: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """Every figure of the report, as plain data, with the previous run's beside it."""
    return _figures(summary=summary, run_dir=run_dir, written=datetime.now(UTC))[0]


@dataclass(frozen=True, slots=True)
class _Weights:
    now: np.ndarray
    before: np.ndarray | None


def _figures(
    *, summary: dict[str, Any], run_dir: Path, written: datetime
) -> tuple[dict[str, Any], _Weights]:
    core = _core_figures(summary, run_dir)
    prev_dir = previous_run_dir(run_dir, summary["run_id"])
    prev: dict[str, Any] | None = None
    if prev_dir is not None:
        prev = _core_figures(_read_json(prev_dir / "report.json"), prev_dir)
    weights = _Weights(
        now=core["match_weights"].pop("weights"),
        before=None if prev is None else prev["match_weights"].pop("weights"),
    )
    mw = core["match_weights"]
    bins = _weight_bins(
        weights.now, weights.before, marker=mw["threshold_weight"], floor=mw["floor_weight"]
    )
    mw["bins"] = [{"lo": a, "hi": b, "count": n, "previous": p} for a, b, n, p in bins]
    predictions = pd.read_parquet(run_dir / "predictions.parquet", columns=["probability"])
    edges = [round(x, 1) for x in np.linspace(0, 1, 11)]
    blocking = _blocking(summary.get("linking", {}).get("blocking", {}))
    sources = [
        {
            "source": s["source"],
            "kind": s["kind"],
            "rows_in": s["rows_in"],
            "rows_used": s["rows_used"],
            "rows_quarantined": s["rows_quarantined"],
            "rows_suppressed": s.get("rows_suppressed", 0),
            "reconciles": s["reconciles"],
            "reasons": s["reasons"],
        }
        for s in summary["sources"]
    ]
    figures: dict[str, Any] = {
        **core,
        "run": _identity(summary, run_dir, written=written),
        "match_probability": _histogram(
            predictions["probability"].to_numpy(dtype=float),
            edges,
            [f"{a:.1f}-{b:.1f}" for a, b in zip(edges[:-1], edges[1:], strict=True)],
        ),
        "sources": sources,
        "guard_rails": {
            **core["guard_rails"],
            "edges_by_decision": summary.get("linking", {}).get("edges_by_decision", {}),
        },
        "blocking": blocking,
        "previous": prev,
    }
    return figures, weights


def _blocking(stats: dict[str, Any]) -> dict[str, Any]:
    """Comparisons per blocking rule, per record, and the values capped as oversized blocks."""
    rules = [
        {
            "rule": r["name"],
            "blocks": r.get("blocks", 0),
            "comparisons": r.get("comparisons", 0),
            "scored": r.get("scored", 0),
            "capped_values": r.get("capped_values", 0),
            "capped_records": r.get("capped_records", 0),
            "largest_capped": r.get("largest_capped", 0),
        }
        for r in stats.get("rules", [])
    ]
    return {
        "comparisons": stats.get("comparisons", 0),
        "comparisons_per_record": stats.get("comparisons_per_record", 0.0),
        "comparison_bound_per_record": stats.get("comparison_bound_per_record"),
        "max_block_size": stats.get("max_block_size"),
        "capped_values": stats.get("capped_values", 0),
        "rules": rules,
    }


# --- page --------------------------------------------------------------------------------


def _words(name: str) -> str:
    """A column or key name for people.

    >>> _words("rows_quarantined"), _words("blocked_value:auto")
    ('rows quarantined', 'blocked value: auto')
    """
    return name.replace("_", " ").replace(":", ": ")


def _cell(value: Any) -> tuple[str, str]:
    """A table cell's text and class (numbers right-aligned, zeros quiet)."""
    if isinstance(value, bool):
        return fmt_bool(value), "word"
    if isinstance(value, int | float):
        return fmt_num(value), "num zero" if value == 0 else "num"
    if value is None or value == "":
        return "–", "none"
    return str(value), "text"


def _table(rows: list[dict[str, Any]], columns: list[str], *, table_id: str = "") -> str:
    ident = f' id="{table_id}"' if table_id else ""
    head = "".join(f"<th>{html.escape(_words(c))}</th>" for c in columns)
    body = []
    for r in rows:
        cells = []
        for c in columns:
            text, cls = _cell(r.get(c))
            cells.append(f'<td class="{cls}">{html.escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<div class="table-wrap"><table{ident}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _when(iso: str | None) -> str:
    if not iso:
        return "–"
    moment = datetime.fromisoformat(iso).astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _short(digest: str | None) -> str:
    return f"sha256:{digest[:12]}" if digest else "–"


def _header(figures: dict[str, Any]) -> str:
    run = figures["run"]
    prev = figures["previous"]
    lam = run["probability_two_random_records_match"]
    fields = [
        ("status", "Status", run["status"] + (": " + "; ".join(run["warnings"]) if run["warnings"] else "")),
        ("as_of", "As of", _when(run["as_of"])),
        ("started_at", "Started", _when(run["started_at"])),
        ("report_written_at", "Report written", _when(run["report_written_at"])),
        (
            "duration",
            "Duration",
            f"{fmt_seconds(run['duration_seconds'])} (steps {fmt_seconds(run['steps_seconds'])})",
        ),
        ("judged_at", "Consent judged at", _when(run["judged_at"])),
        (
            "config",
            "Config: linking options",
            f"{_short(run['linking_options_sha256'])} · threshold {fmt_num(run['threshold'])}"
            f" · max block size {fmt_num(run['max_block_size'])}",
        ),
        (
            "model",
            "Model",
            f"{_short(run['model_sha256'])} · written {_when(run['model_written_at'])}"
            f" · trained this run: {fmt_bool(run['model_trained_this_run'])}"
            f" · {len(run['model_comparisons'])} comparisons"
            + (f" · trained on {fmt_num(run['model_training_rows'])} records" if run["model_training_rows"] else "")
            + (f" · prior {lam:.2g}" if isinstance(lam, float) else ""),
        ),
        ("tether_version", "Tether", run["tether_version"]),
        (
            "previous_run",
            "Previous run",
            "none: this is the workspace's first completed run"
            if prev is None
            else prev["run_id"],
        ),
    ]  # fmt: skip
    items = []
    for key, name, text in fields:
        value = html.escape(str(text))
        if key == "previous_run" and prev is not None:
            value = f'<a href="../{html.escape(prev["run_id"])}/report.html">{value}</a>'
        items.append(f'<div><dt>{name}</dt><dd data-field="{key}">{value}</dd></div>')
    return f'<dl id="run-header">{"".join(items)}</dl>'


def _kpis(figures: dict[str, Any]) -> str:
    prev = figures["previous"]

    def accepted(f: dict[str, Any]) -> int:
        return sum(d.get(_ACCEPTED, 0) for d in f["link_decisions"].values())

    def exported(f: dict[str, Any]) -> int:
        return len([e for e in f["exports"] if "refused" not in e])

    tiles: list[tuple[str, str, Callable[[dict[str, Any]], int]]] = [
        ("touchpoints", "Touchpoints", lambda f: f["touchpoints"]),
        ("persons", "Persons", lambda f: f["persons"]),
        ("pairs_scored", "Pairs scored", lambda f: f["match_weights"]["scored"]),
        ("edges_accepted", "Links accepted", accepted),
        ("segments", "Segments", lambda f: len(f["segments"])),
        ("exports", "Exports written", exported),
    ]
    out = []
    for key, name, get in tiles:
        now = get(figures)
        before = None if prev is None else get(prev)
        delta = fmt_delta(now, before)
        out.append(
            f'<div class="kpi" data-kpi="{key}"><div class="kpi-name">{name}</div>'
            f'<div class="kpi-value">{fmt_num(now)}</div>'
            f'<div class="kpi-delta">{"" if before is None else "vs previous: "}'
            f"{html.escape(delta)}</div></div>"
        )
    return f'<div id="kpis">{"".join(out)}</div>'


def _rows(
    now: list[tuple[str, float]] | dict[str, float],
    before: Any,
    compare: bool,
    *,
    words: bool = False,
) -> list[Row]:
    """Bars for ``now``, each with the previous run's value; keys only the previous run has
    are shown at zero. ``words``: the keys are names for people, not identifiers."""
    current = dict(now)
    previous = dict(before) if compare and before is not None else {}
    labels = list(current) + [k for k in previous if k not in current]
    return [
        Row(
            _words(k) if words else k,
            float(current.get(k, 0)),
            previous.get(k) if compare else None,
        )
        for k in labels
    ]


def _decisions_chart(figures: dict[str, Any], compare: bool) -> str:
    decisions = figures["link_decisions"]
    prev = figures["previous"]["link_decisions"] if compare else {}
    totals: dict[str, int] = {}
    for parts in decisions.values():
        for d, n in parts.items():
            totals[d] = totals.get(d, 0) + n
    categories = sorted(totals, key=lambda d: (d != _ACCEPTED, -totals[d], d))
    colours = {_ACCEPTED: "#3b7dd8"}
    for i, d in enumerate(c for c in categories if c != _ACCEPTED):
        colours[d] = _REFUSAL_COLOURS[i % len(_REFUSAL_COLOURS)]
    rules = sorted(decisions, key=lambda r: -sum(decisions[r].values()))
    rows = [
        StackRow(
            rule,
            decisions[rule],
            sum(prev[rule].values()) if compare and rule in prev else None,
        )
        for rule in rules
    ]
    table_rows = []
    for rule in rules:
        row: dict[str, Any] = {"rule": rule, "total": sum(decisions[rule].values())}
        row.update({d: decisions[rule].get(d, 0) for d in categories})
        if compare:
            row["previous total"] = sum(prev.get(rule, {}).values()) if rule in prev else None
        table_rows.append(row)
    columns = ["rule", "total", *categories] + (["previous total"] if compare else [])
    return stacked_bar_chart(
        "link-decisions",
        "Link decisions by rule: accepted, or the reason refused",
        rows,
        categories=categories,
        colours=colours,
        legend_names={c: _words(c) for c in categories},
        note="Every edge considered, from links.parquet; the number is the rule's total"
        + (", with its change since the previous run." if compare else "."),
        compare=compare,
        extra=_table(table_rows, columns, table_id="link-decisions-table"),
    )


def _weights_chart(figures: dict[str, Any], compare: bool) -> str:
    mw = figures["match_weights"]
    before = figures["previous"]["match_weights"] if compare else None
    bins = [Bin(b["lo"], b["hi"], b["count"], b["previous"]) for b in mw["bins"]]
    below = mw["below_floor"]
    kept_below = mw["kept"] - mw["at_or_above_threshold"]
    note = (
        f"{fmt_num(mw['scored'])} pairs scored: {fmt_num(below)} below the score floor "
        f"(probability {fmt_num(mw['floor'])}, weight {_signed(mw['floor_weight'])}; "
        "counted, not kept), "
        f"{fmt_num(kept_below)} kept below the threshold, {fmt_num(mw['at_or_above_threshold'])} "
        f"at or above it (dark bars; light bars are below it)."
    )
    if before is not None:
        note += (
            f" Previous run: {fmt_num(before['scored'])} scored, "
            f"{fmt_num(before['at_or_above_threshold'])} at or above the threshold (dark ticks)."
        )
    return column_chart(
        "match-weight",
        "Match weight of every scored pair, threshold marked",
        bins,
        marker=mw["threshold_weight"],
        marker_label=f"threshold: probability {fmt_num(mw['threshold'])} = weight "
        f"{_signed(mw['threshold_weight'])}",
        first_bar=(
            "below floor",
            below,
            None if before is None else before["below_floor"],
        ),
        x_label="match weight (log2 odds that the two records are one person)",
        note=note,
        compare=compare,
    )


def _signed(weight: float) -> str:
    """A match weight with a true minus sign.

    >>> _signed(-6.629), _signed(3.17)
    ('−6.63', '3.17')
    """
    return f"{weight:.2f}".replace("-", "−")


def _exports_section(figures: dict[str, Any], compare: bool) -> str:
    """Persons exported per segment and destination, members added and removed (against the
    destination's previous export), and the exports written or dropped since the previous run."""
    prev = figures["previous"]

    def key(e: dict[str, Any]) -> tuple[str, str]:
        return e["segment"], e["destination"]

    before = {key(e): e for e in prev["exports"]} if compare else {}
    written = [e for e in figures["exports"] if "refused" not in e]
    rows = []
    for e in figures["exports"]:
        row = {k: v for k, v in e.items() if k != "refused"}
        row["outcome"] = "refused" if "refused" in e else "written"
        if compare:
            was = before.get(key(e))
            row["previous run"] = (
                "not exported"
                if was is None
                else ("refused" if "refused" in was else int(was.get("exported", 0)))
            )
        rows.append(row)
    columns = [
        "segment", "destination", "outcome", "exported", "added", "removed", "held_out",
        "refused_consent", "unmatchable",
    ] + (["previous run"] if compare else [])  # fmt: skip
    extra = _table(rows, columns, table_id="exports-table")
    refused = [e for e in figures["exports"] if "refused" in e]
    if refused:
        extra += (
            '<ul id="export-refusals" class="note">'
            + "".join(
                f"<li><b>{html.escape(e['segment'])} → {html.escape(e['destination'])}</b> "
                f"refused: {html.escape(e['refused'])}</li>"
                for e in refused
            )
            + "</ul>"
        )
    if compare:
        now_keys = {key(e) for e in written}
        was_keys = {key(e) for e in prev["exports"] if "refused" not in e}
        added = sorted(now_keys - was_keys)
        removed = sorted(was_keys - now_keys)
        extra += html.escape(
            "Exports since the previous run: "
            f"{len(added)} new"
            + (f" ({', '.join(f'{s} → {d}' for s, d in added)})" if added else "")
            + f", {len(removed)} no longer written"
            + (f" ({', '.join(f'{s} → {d}' for s, d in removed)})" if removed else "")
            + "."
        ).join(['<p id="exports-changed" class="note">', "</p>"])

    def previous_exported(e: dict[str, Any]) -> float | None:
        was = before.get(key(e))
        return None if was is None or "refused" in was else float(was.get("exported", 0))

    return bar_chart(
        "export-sizes",
        "Exports: persons exported per segment and destination",
        [
            Row(
                f"{e['segment']} → {e['destination']}",
                float(e.get("exported", 0)),
                previous_exported(e) if compare else None,
            )
            for e in written
        ],  # fmt: skip
        compare=compare,
        note="The table's added and removed are members against the destination's previous export.",
        empty="no export was written",
        extra=extra,
    )


_CSS = """
body { font: 14px/1.45 "DejaVu Sans", Verdana, system-ui, sans-serif; margin: 0; color: #222;
       background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 1.5em 2em 3em; }
h1 { font-size: 22px; margin: 0 0 .6em; overflow-wrap: anywhere; }
h2 { font-size: 17px; margin: 2em 0 .4em; padding-bottom: .2em; border-bottom: 2px solid #dde2ea; }
section { margin-bottom: 1em; }
#run-header { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr));
  gap: .4em 1.4em; margin: 0; background: #fff; border: 1px solid #dde2ea; border-radius: 6px;
  padding: .8em 1em; }
#run-header div { min-width: 0; }
#run-header dt { font-size: 12px; color: #667; text-transform: uppercase; letter-spacing: .04em; }
#run-header dd { margin: 0; overflow-wrap: anywhere; }
#kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: .8em;
  margin: 1em 0; }
.kpi { background: #fff; border: 1px solid #dde2ea; border-radius: 6px; padding: .6em .8em;
  min-width: 0; }
.kpi-name { font-size: 12px; color: #667; }
.kpi-value { font-size: 22px; font-weight: 600; }
.kpi-delta { font-size: 12px; color: #445; overflow-wrap: anywhere; }
figure { margin: 1em 0; background: #fff; border: 1px solid #dde2ea; border-radius: 6px;
  padding: .6em 1em; overflow-x: auto; }
figcaption { font-weight: 600; margin-bottom: .2em; }
.note { margin: 0 0 .5em; color: #556; font-size: 13px; }
svg { display: block; max-width: none; }
svg text { font: 12px "DejaVu Sans", Verdana, system-ui, sans-serif; fill: #333; }
svg .marker-label { fill: #b3261e; font-weight: 600; }
svg .axis-label { fill: #556; }
.bar { fill: #3b7dd8; }
.bar.below { fill: #9db8de; }
.bar.floor { fill: #c9ced6; }
.prev { stroke: #1b1b1b; stroke-width: 2.5; }
.grid { stroke: #eceff3; }
.axis { stroke: #889; }
.marker { stroke: #b3261e; stroke-width: 2; stroke-dasharray: 5 3; }
.legend { list-style: none; padding: 0; margin: .4em 0 0; display: flex; flex-wrap: wrap;
  gap: .3em 1.2em; font-size: 13px; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: .35em;
  vertical-align: -1px; border-radius: 2px; }
.table-wrap { overflow-x: auto; }
td.zero { color: #aab; }
svg .strong { font-weight: 600; }
svg .was { fill: #777; }
.break { stroke: #fff; stroke-width: 3; fill: none; }
table { border-collapse: collapse; margin: .6em 0 1em; background: #fff; font-size: 13px; }
td, th { border: 1px solid #d5dae2; padding: 3px 8px; }
th { background: #eef1f5; text-align: left; font-weight: 600; vertical-align: bottom; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.word { text-align: center; }
td.text { text-align: left; }
#export-refusals { padding-left: 1.2em; }
td.none { text-align: center; color: #aab; }
p { overflow-wrap: anywhere; }
a { color: #1f5fb8; }
"""


def render_page(figures: dict[str, Any]) -> str:
    """The report page for ``figures`` (as ``report_figures`` returns them)."""
    prev = figures["previous"]
    compare = prev is not None
    p = prev or {}
    since = (
        f"Compared with the previous run, {prev['run_id']}: a dark tick marks its value on "
        "each bar, and the grey text after the value says what it was."
        if prev is not None
        else "There is no previous run to compare with: this is the workspace's first."
    )
    churn = figures["id_churn"]
    blocking = figures["blocking"]
    guard = figures["guard_rails"]
    sections = {
        "Person ids": [
            bar_chart(
                "id-churn",
                "Person-id churn since the previous run",
                [Row(k, float(churn[k]), p["id_churn"].get(k) if compare else None) for k in CHURN_KINDS],
                compare=compare,
                note=" · ".join(f"<b>{k}</b>: {v}" for k, v in CHURN_HELP.items()),
            ),
            bar_chart(
                "cluster-sizes",
                "Persons by number of records",
                _rows(figures["cluster_sizes"], p.get("cluster_sizes"), compare),
                compare=compare,
            ),
        ],
        "Linking": [
            _decisions_chart(figures, compare),
            _weights_chart(figures, compare),
            bar_chart(
                "guard-rails",
                "Guard-rails",
                _rows({k: v for k, v in guard.items() if k != "edges_by_decision"}, p.get("guard_rails"), compare, words=True),
                compare=compare,
            ),
            bar_chart(
                "blocking",
                "Pairs scored per blocking rule",
                [Row(r["rule"], float(r["scored"]), p["blocking_scored"].get(r["rule"]) if compare else None) for r in blocking["rules"]],
                compare=compare,
                note=html.escape(
                    f"{fmt_num(blocking['comparisons'])} pairs scored: "
                    f"{fmt_num(blocking['comparisons_per_record'])} per record of the model's input "
                    f"(bound {fmt_num(blocking['comparison_bound_per_record'])}); "
                    f"{fmt_num(blocking['capped_values'])} values not blocked on because their block "
                    f"held more than {fmt_num(blocking['max_block_size'])} records."
                ),
                empty="no pairs were blocked",
                extra=_table(blocking["rules"], ["rule", "blocks", "comparisons", "scored", "capped_values", "capped_records", "largest_capped"]),
            ),
        ],
        "Sources": [
            bar_chart(
                "reconciliation",
                "Rows used per source",
                _rows({s["source"]: s["rows_used"] for s in figures["sources"]}, p.get("sources_used"), compare),
                compare=compare,
                extra=_table(figures["sources"], ["source", "kind", "rows_in", "rows_used", "rows_quarantined", "rows_suppressed", "reconciles"], table_id="sources-table"),
            ),
            bar_chart(
                "quarantine-reasons",
                "Quarantine reasons",
                _rows(figures["quarantine_reasons"], p.get("quarantine_reasons"), compare, words=True),
                compare=compare,
                empty="no row was quarantined",
            ),
        ],
        "Consent": [
            bar_chart(
                "consent-coverage",
                "Persons allowed per purpose",
                _rows(figures["consent_coverage"], p.get("consent_coverage"), compare),
                compare=compare,
            ),
        ],
        "Audiences": [
            bar_chart(
                "segment-sizes",
                "Segment sizes (persons)",
                _rows(figures["segments"], p.get("segments"), compare),
                compare=compare,
                empty="no segment was evaluated",
            ),
            bar_chart(
                "message-reads",
                "Persons messaged, by whether their reads can be seen",
                _rows(figures.get("message_reads", []), p.get("message_reads"), compare),
                compare=compare,
                empty="no messages in this run",
                note="Unknown: the person hid reads (receipts off) or the channel never reports them; their read rate is unknown, not 0.",
            ),
            bar_chart(
                "next-best-actions",
                "Next best action (persons)",
                _rows(figures.get("actions", []), p.get("actions"), compare, words=True),
                compare=compare,
                empty="no segment declares an action",
                note="One per person: the highest-priority segment whose purposes the person's consent allows.",
            ),
            bar_chart(
                "actions-by-segment",
                "Actions decided per segment (persons)",
                _rows(figures.get("actions_by_segment", []), p.get("actions_by_segment"), compare),
                compare=compare,
                empty="no segment declares an action",
            ),
            _exports_section(figures, compare),
        ],
        "Timings": [
            bar_chart(
                "step-timings",
                "Step timings",
                _rows(figures["step_seconds"], p.get("step_seconds"), compare, words=True),
                compare=compare,
                unit=" s",
            ),
        ],
    }  # fmt: skip
    body = "".join(
        f'<section id="{title.lower().replace(" ", "-")}"><h2>{title}</h2>{"".join(parts)}</section>'
        for title, parts in sections.items()
    )
    run_id = html.escape(figures["run_id"])
    data = html.escape(json.dumps(figures, default=str))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tether run {run_id}</title>
<style>{_CSS}</style></head><body><main>
<h1>Tether run {run_id}</h1>
{_header(figures)}
{_kpis(figures)}
<p id="comparison-note" class="note">{html.escape(since)}</p>
{body}
<script type="application/json" id="figures">{data}</script>
</main></body></html>
"""


def write_report(*, summary: dict[str, Any], run_dir: Path) -> Path:
    """Write ``report.html`` and ``report_figures.json`` into ``run_dir``; returns the page."""
    figures = report_figures(summary=summary, run_dir=run_dir)
    (run_dir / "report_figures.json").write_text(json.dumps(figures, indent=1, default=str))
    path = run_dir / "report.html"
    path.write_text(render_page(figures))
    return path
