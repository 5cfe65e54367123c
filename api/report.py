"""The run report: one self-contained HTML page (inline SVG charts, no script, no network)
and the same figures as JSON (``report_figures.json``).

Charts: match-probability distribution, cluster-size histogram, per-source
reconciliation and quarantine reasons, guard-rail splits and refusals,
pairs scored per blocking rule and the values capped as oversized blocks,
consent coverage per purpose, segment sizes and export deltas per
destination, step timings. Counts and ids only: no personal data.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["report_figures", "write_report"]

Bars = list[tuple[str, float]]


def _histogram(values: np.ndarray, edges: list[float], labels: list[str]) -> Bars:
    counts, _ = np.histogram(values, bins=edges)
    return [(label, int(c)) for label, c in zip(labels, counts, strict=True)]


def report_figures(*, summary: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """Every figure of the report, as plain data."""
    predictions = pd.read_parquet(run_dir / "predictions.parquet", columns=["probability"])
    persons = pd.read_parquet(run_dir / "persons.parquet", columns=["records"])
    edges = [round(x, 1) for x in np.linspace(0, 1, 11)]
    probability = _histogram(
        predictions["probability"].to_numpy(dtype=float),
        edges,
        [f"{a:.1f}-{b:.1f}" for a, b in zip(edges[:-1], edges[1:], strict=True)],
    )
    size_edges = [1.0, 2, 3, 4, 6, 11, 21, 51, 1e9]
    size_labels = ["1", "2", "3", "4-5", "6-10", "11-20", "21-50", "51+"]
    sizes = _histogram(persons["records"].to_numpy(dtype=float), size_edges, size_labels)
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
    reasons: dict[str, int] = {}
    for s in sources:
        for reason, n in s["reasons"].items():
            reasons[reason] = reasons.get(reason, 0) + int(n)
    decisions = summary["linking"].get("edges_by_decision", {})
    consent = summary.get("consent", {})
    exports = [
        {
            "segment": e["segment"],
            "destination": e["destination"],
            **({"refused": e["refused"]} if "refused" in e else e["counts"]),
        }
        for e in summary.get("exports", [])
    ]
    return {
        "run_id": summary["run_id"],
        "touchpoints": summary["touchpoints"],
        "persons": summary["persons"],
        "match_probability": probability,
        "cluster_sizes": sizes,
        "sources": sources,
        "quarantine_reasons": sorted(reasons.items(), key=lambda kv: -kv[1]),
        "guard_rails": {
            "identifier_limit_splits": summary["linking"].get("identifier_limit_splits", 0),
            "consent_refusals": summary["linking"].get("consent_refusals", 0),
            "conflict_refusals": summary["linking"].get("conflict_refusals", 0),
            "stitched_browsers": summary["linking"].get("stitched_browsers", 0),
            "edges_by_decision": decisions,
        },
        "consent_coverage": sorted(consent.get("persons_allowed", {}).items()),
        "segments": sorted(summary.get("segments", {}).items()),
        "exports": exports,
        "blocking": _blocking(summary["linking"].get("blocking", {})),
        "step_seconds": sorted(summary.get("seconds", {}).items(), key=lambda kv: -kv[1]),
        "id_churn": summary.get("id_churn", {}),
    }


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


def _bar_chart(title: str, bars: Bars, *, chart_id: str, unit: str = "") -> str:
    """A horizontal bar chart as inline SVG."""
    width, row, label_w = 900, 22, 330
    height = row * max(1, len(bars)) + 30
    top = max([v for _, v in bars] or [1]) or 1
    parts = [
        f'<figure id="{chart_id}" class="chart"><figcaption>{html.escape(title)}</figcaption>',
        f'<svg role="img" aria-label="{html.escape(title)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
    ]
    for i, (label, value) in enumerate(bars):
        y = 10 + i * row
        w = (width - label_w - 90) * (value / top)
        text = (
            f"{value:,.2f}{unit}"
            if isinstance(value, float) and not value.is_integer()
            else f"{int(value):,}{unit}"
        )
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{html.escape(str(label))}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 6}"></rect>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 14}">{text}</text>'
        )
    if not bars:
        parts.append('<text x="10" y="24">nothing to show</text>')
    parts.append("</svg></figure>")
    return "".join(parts)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(*, summary: dict[str, Any], run_dir: Path) -> Path:
    """Write ``report.html`` and ``report_figures.json`` into ``run_dir``; returns the page."""
    figures = report_figures(summary=summary, run_dir=run_dir)
    (run_dir / "report_figures.json").write_text(json.dumps(figures, indent=1, default=str))
    guard = figures["guard_rails"]
    exports_ok = [e for e in figures["exports"] if "refused" not in e]
    sections = [
        _bar_chart(
            "Match probability of scored pairs",
            figures["match_probability"],
            chart_id="match-probability",
        ),
        _bar_chart(
            "Persons by number of records", figures["cluster_sizes"], chart_id="cluster-sizes"
        ),
        _bar_chart(
            "Rows per source: used",
            [(s["source"], s["rows_used"]) for s in figures["sources"]],
            chart_id="reconciliation",
        ),
        _table(
            figures["sources"],
            [
                "source",
                "kind",
                "rows_in",
                "rows_used",
                "rows_quarantined",
                "rows_suppressed",
                "reconciles",
            ],
        ),
        _bar_chart(
            "Quarantine reasons", figures["quarantine_reasons"], chart_id="quarantine-reasons"
        ),
        _bar_chart(
            "Guard-rails",
            [(k, v) for k, v in guard.items() if k != "edges_by_decision"],
            chart_id="guard-rails",
        ),
        _bar_chart(
            "Pairs scored per blocking rule",
            [(r["rule"], r["scored"]) for r in figures["blocking"]["rules"]],
            chart_id="blocking",
        ),
        f"<p>{figures['blocking']['comparisons']:,} pairs scored: "
        f"{figures['blocking']['comparisons_per_record']} per record of the model's input "
        f"(bound {figures['blocking']['comparison_bound_per_record']}); "
        f"{figures['blocking']['capped_values']:,} values not blocked on because their block "
        f"held more than {figures['blocking']['max_block_size']} records.</p>",
        _table(
            figures["blocking"]["rules"],
            [
                "rule",
                "blocks",
                "comparisons",
                "scored",
                "capped_values",
                "capped_records",
                "largest_capped",
            ],
        ),  # fmt: skip
        _bar_chart(
            "Persons allowed per purpose", figures["consent_coverage"], chart_id="consent-coverage"
        ),
        _bar_chart("Segment sizes", figures["segments"], chart_id="segment-sizes"),
        _bar_chart(
            "Exports: persons exported per segment and destination",
            [(f"{e['segment']} → {e['destination']}", e["exported"]) for e in exports_ok],
            chart_id="export-sizes",
        ),
        _table(
            figures["exports"],
            [
                "segment",
                "destination",
                "exported",
                "added",
                "removed",
                "held_out",
                "refused_consent",
                "refused",
            ],
        ),
        _bar_chart("Step timings", figures["step_seconds"], chart_id="step-timings", unit=" s"),
    ]
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Tether run {html.escape(figures["run_id"])}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }}
.chart svg text {{ font: 12px system-ui, sans-serif; fill: #333; }}
.bar {{ fill: #3b7dd8; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 2px 8px; text-align: right; }}
figcaption {{ font-weight: 600; margin: 1em 0 .3em; }}
</style></head><body>
<h1>Tether run {html.escape(figures["run_id"])}</h1>
<p>{figures["touchpoints"]:,} touchpoints → {figures["persons"]:,} persons.</p>
{"".join(sections)}
<script type="application/json" id="figures">{html.escape(json.dumps(figures, default=str))}</script>
</body></html>
"""
    path = run_dir / "report.html"
    path.write_text(page)
    return path
