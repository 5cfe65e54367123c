"""The run report as someone opens it: two nightlies on a small demo world, each report
rendered in headless Chromium, checked part by part, measured for clipped text, and
saved as a screenshot (``report-1.png``, ``report-2.png`` in the module's tmp dir).

The second nightly runs on changed inputs (fewer web sessions and customers), so its
report has something to compare with the first: persons, retired ids, exports.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytestmark = pytest.mark.e2e

PERSONS = 300
WIDTH = 1280

#: Runs in the page (a copy of it; the report itself has no script) and writes what it
#: measured into <pre id="layout-check">: every SVG text outside its SVG or overlapping
#: another text or a bar, every HTML box whose content overflows it, and the parts'
#: texts for the assertions.
LAYOUT_CHECK = """
<script>
(() => {
  const out = {outside: [], overlaps: [], overflow: [], texts: 0, figures: {}, header: {},
               kpis: {}, tables: {}};
  const hit = (a, b) => a.x < b.x + b.width - 0.5 && b.x < a.x + a.width - 0.5 &&
                        a.y < b.y + b.height - 0.5 && b.y < a.y + a.height - 0.5;
  for (const svg of document.querySelectorAll('svg')) {
    const id = svg.closest('figure').id;
    const vb = svg.viewBox.baseVal;
    const texts = [...svg.querySelectorAll('text')];
    const boxes = texts.map(t => t.getBBox());
    const bars = [...svg.querySelectorAll('rect.bar')].map(r => r.getBBox())
                   .filter(b => b.width > 0 && b.height > 0);
    texts.forEach((t, i) => {
      const b = boxes[i];
      out.texts++;
      if (b.x < -0.5 || b.y < -0.5 || b.x + b.width > vb.width + 0.5 ||
          b.y + b.height > vb.height + 0.5)
        out.outside.push([id, t.textContent, b.x, b.y, b.width, vb.width, vb.height]);
      for (let j = i + 1; j < texts.length; j++)
        if (hit(b, boxes[j])) out.overlaps.push([id, t.textContent, texts[j].textContent]);
      for (const bar of bars)
        if (hit(b, bar)) out.overlaps.push([id, t.textContent, 'a bar']);
    });
    out.figures[id] = {
      texts: texts.map(t => t.textContent),
      markers: svg.querySelectorAll('line.marker').length,
      prev: svg.querySelectorAll('.prev').length,
      legend: [...svg.closest('figure').querySelectorAll('.legend li')].map(li => li.textContent),
    };
  }
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('svg') || el.clientWidth === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1)
      out.overflow.push([el.tagName, el.id || el.className, el.textContent.slice(0, 80),
                         el.scrollWidth, el.clientWidth]);
  }
  for (const dd of document.querySelectorAll('#run-header dd'))
    out.header[dd.dataset.field] = dd.textContent;
  for (const kpi of document.querySelectorAll('.kpi'))
    out.kpis[kpi.dataset.kpi] = {value: kpi.querySelector('.kpi-value').textContent,
                                 delta: kpi.querySelector('.kpi-delta').textContent};
  for (const table of document.querySelectorAll('table[id]'))
    out.tables[table.id] = [...table.rows].map(r => [...r.cells].map(c => c.textContent));
  out.note = document.getElementById('comparison-note').textContent;
  const changed = document.getElementById('exports-changed');
  out.exportsChanged = changed ? changed.textContent : null;
  out.visibleText = document.querySelector('main').innerText;
  out.pageWidth = document.documentElement.scrollWidth;
  out.viewport = window.innerWidth;
  out.height = document.documentElement.scrollHeight;
  const pre = document.createElement('pre');
  pre.id = 'layout-check';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""

CHARTS = {
    "id-churn",
    "cluster-sizes",
    "link-decisions",
    "match-weight",
    "guard-rails",
    "blocking",
    "reconciliation",
    "quarantine-reasons",
    "consent-coverage",
    "segment-sizes",
    "message-reads",
    "next-best-actions",
    "actions-by-segment",
    "export-sizes",
    "step-timings",
}


@dataclass(frozen=True)
class Rendered:
    run_dir: Path
    summary: dict[str, Any]
    figures: dict[str, Any]
    page: str
    layout: dict[str, Any]
    screenshot: Path


def _chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed for this test (.ci/run installs it)"
    result = subprocess.run(
        ["nice", "-n", "10", chromium, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         f"--user-data-dir={tmp / 'chromium'}", "--enable-logging=stderr", "--v=0", *args],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _render(run_dir: Path, out: Path, name: str) -> Rendered:
    """Measure the report in Chromium (on a copy with the check script), then screenshot the
    report itself, the whole page at 1,280 pixels wide."""
    page = (run_dir / "report.html").read_text()
    checked = out / f"{name}-checked.html"
    checked.write_text(page.replace("</body>", LAYOUT_CHECK + "</body>"))
    result = _chromium(out, f"--window-size={WIDTH},1000", "--dump-dom", checked.as_uri())
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console[:3]
    found = re.search(r'<pre id="layout-check">(.*?)</pre>', result.stdout, re.S)
    assert found, "the layout check did not run"
    layout = json.loads(html.unescape(found.group(1)))
    screenshot = out / f"{name}.png"
    _chromium(
        out,
        f"--window-size={WIDTH},{int(layout['height']) + 20}",
        f"--screenshot={screenshot}",
        (run_dir / "report.html").as_uri(),
    )
    return Rendered(
        run_dir=run_dir,
        summary=json.loads((run_dir / "report.json").read_text()),
        figures=json.loads((run_dir / "report_figures.json").read_text()),
        page=page,
        layout=layout,
        screenshot=screenshot,
    )


def _shrink(path: Path, rows: int) -> None:
    """Drop the last ``rows`` data rows of a CSV: the next night's source lost some records."""
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-rows]))


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Rendered, Rendered]:
    from api.cli import write_demo_audiences
    from api.pipeline import run_link
    from api.settings import load_config
    from api.workspace import Workspace
    from api.worlds.demo import WORLD_NOW, write_demo_world
    from audiences.segments import load_segments

    root = tmp_path_factory.mktemp("report")
    data = root / "home" / "demo"
    write_demo_world(data, persons=PERSONS, seed=7)
    config_path = write_demo_audiences(data)
    # a small world: let every audience export, so the report has exports to compare
    config_path.write_text(config_path.read_text().replace("min_size = 10", "min_size = 1"))
    workspace = Workspace.open(root / "home")

    def nightly() -> Path:
        config = load_config(config_path)
        assert config.segments is not None
        summary = run_link(
            config=config,
            workspace=workspace,
            as_of=WORLD_NOW,
            segments=load_segments(config.segments),
        )
        return Path(summary.run_dir)

    first = nightly()
    _shrink(data / "web_sessions.csv", 300)
    _shrink(data / "crm.csv", 12)
    _shrink(data / "messaging.csv", 60)  # engaged WhatsApp contacts leave: exports change
    second = nightly()
    return _render(first, root, "report-1"), _render(second, root, "report-2")


def test_the_report_is_self_contained(reports: tuple[Rendered, Rendered]) -> None:
    for r in reports:
        page = r.page
        assert not re.search(r"<(link|img|iframe|object|embed)\b", page, re.I)
        assert not re.search(r"\bsrc\s*=|@import|url\(", page, re.I)
        urls = re.findall(r"https?://[^\s\"'<]+", page)
        assert urls == ["http://www.w3.org/2000/svg"] * len(CHARTS), "only the SVG namespace"
        scripts = re.findall(r"<script\b[^>]*>", page)
        assert scripts == ['<script type="application/json" id="figures">'], scripts


def test_every_part_is_there_and_nothing_is_clipped(reports: tuple[Rendered, Rendered]) -> None:
    for r in reports:
        layout = r.layout
        assert set(layout["figures"]) == CHARTS
        assert layout["texts"] > 100
        assert not layout["outside"], layout["outside"][:5]
        assert not layout["overlaps"], layout["overlaps"][:5]
        assert not layout["overflow"], layout["overflow"][:5]
        assert layout["pageWidth"] <= layout["viewport"]
        png = r.screenshot.read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000


def test_the_header_says_what_the_run_was(reports: tuple[Rendered, Rendered]) -> None:
    from api.worlds.demo import WORLD_NOW

    for r in reports:
        header = r.layout["header"]
        assert header["as_of"] == WORLD_NOW.strftime("%Y-%m-%d %H:%M:%S UTC")
        assert header["status"].startswith("complete")
        steps = sum(r.summary["seconds"].values())
        assert re.fullmatch(r"\d+\.\d s \(steps \d+\.\d s\)", header["duration"]), header
        assert header["duration"].endswith(f"(steps {steps:.1f} s)")
        linking = hashlib.sha256((r.run_dir / "linking.json").read_bytes()).hexdigest()
        assert f"sha256:{linking[:12]}" in header["config"]
        assert "threshold 0.90" in header["config"]
        model = hashlib.sha256(Path(r.summary["model"]["path"]).read_bytes()).hexdigest()
        assert f"sha256:{model[:12]}" in header["model"]
        trained = "yes" if r.summary["model"]["trained_this_run"] else "no"
        assert f"trained this run: {trained}" in header["model"]
        assert header["tether_version"] == metadata.version("tether")
    first, second = reports
    assert (
        first.summary["model"]["trained_this_run"]
        and not second.summary["model"]["trained_this_run"]
    )


def test_id_churn_and_link_decisions_by_rule_and_reason(reports: tuple[Rendered, Rendered]) -> None:
    for r in reports:
        churn = r.summary["id_churn"]
        texts = r.layout["figures"]["id-churn"]["texts"]
        for kind in ("new", "kept", "merged", "split", "retired"):
            i = texts.index(kind)
            assert texts[i + 1].startswith(f"{churn[kind]:,}"), (kind, texts[i + 1])
        links = pd.read_parquet(r.run_dir / "links.parquet", columns=["rule", "decision"])
        counts = links.groupby(["rule", "decision"]).size().reset_index(name="n")
        table = r.layout["tables"]["link-decisions-table"]
        head = table[0]
        cells = {
            (row[0], col): value for row in table[1:] for col, value in zip(head, row, strict=True)
        }
        for rule, decision, n in counts.itertuples(index=False):
            assert cells[(rule, decision.replace("_", " ").replace(":", ": "))] == f"{n:,}"
        assert {row[0] for row in table[1:]} == set(links["rule"])
        legend = r.layout["figures"]["link-decisions"]["legend"]
        assert legend[0] == "accepted" and "consent" in legend and "threshold" in legend
        assert set(r.layout["figures"]["link-decisions"]["texts"]) >= set(links["rule"])
    _, second = reports
    assert second.summary["id_churn"]["kept"] > 0 and second.summary["id_churn"]["retired"] > 0


def test_the_match_weights_include_the_pairs_below_the_floor(
    reports: tuple[Rendered, Rendered],
) -> None:
    from api.report import SCORE_FLOOR as REPORT_FLOOR
    from resolver.link import SCORE_FLOOR

    assert REPORT_FLOOR == SCORE_FLOOR
    for r in reports:
        weights = r.figures["match_weights"]
        predictions = pd.read_parquet(r.run_dir / "predictions.parquet")
        scored = r.summary["linking"]["blocking"]["comparisons"]
        assert weights["scored"] == scored and weights["kept"] == len(predictions)
        assert sum(b["count"] for b in weights["bins"]) == len(predictions)
        assert weights["below_floor"] == scored - len(predictions) > 0
        # the threshold is a bin edge: no bin holds pairs on both sides of it
        at = weights["threshold_weight"]
        above = predictions["probability"] >= weights["threshold"]
        assert (predictions.loc[above, "match_weight"] >= at).all()
        assert (predictions.loc[~above, "match_weight"] < at).all()
        figure = r.layout["figures"]["match-weight"]
        assert figure["markers"] == 1
        assert any(
            t.startswith("threshold: probability 0.90 = weight 3.17") for t in figure["texts"]
        )
        texts = figure["texts"]
        assert texts[texts.index("below floor") + 1] == f"{scored - len(predictions):,}"


def test_numbers_are_formatted_and_booleans_are_words(reports: tuple[Rendered, Rendered]) -> None:
    for r in reports:
        text = r.layout["visibleText"]
        assert not re.search(r"\b(True|False|None|nan)\b", text)
        # run ids, digests, dates and times aside, every number of four digits or more has
        # its thousands separator, and no number has more than four decimals
        plain = re.sub(
            r"sha256:[0-9a-f]+|\d{8}T\d{6}-[0-9a-f]+|\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d", "", text
        )
        assert not re.search(r"(?<![\d,.])\d{4,}", plain), re.findall(r".{20}\d{4,}.{5}", plain)
        assert not re.search(r"\.\d{5,}", plain)
        assert r.layout["kpis"]["touchpoints"]["value"] == f"{r.summary['touchpoints']:,}"
        sources = r.layout["tables"]["sources-table"]
        assert {row[-1] for row in sources[1:]} <= {"yes", "no"} and sources[0][-1] == "reconciles"


def test_the_first_report_says_there_is_no_previous_run(reports: tuple[Rendered, Rendered]) -> None:
    first, _ = reports
    assert first.figures["previous"] is None
    assert first.layout["header"]["previous_run"].startswith("none")
    assert "no previous run" in first.layout["note"]
    assert all(k["delta"] == "no previous run" for k in first.layout["kpis"].values())
    assert first.layout["exportsChanged"] is None
    assert not any(f["prev"] for f in first.layout["figures"].values())


def test_the_second_report_compares_with_the_first(reports: tuple[Rendered, Rendered]) -> None:
    first, second = reports
    layout = second.layout
    assert second.figures["previous"]["run_id"] == first.summary["run_id"]
    assert layout["header"]["previous_run"] == first.summary["run_id"]
    assert f'href="../{first.summary["run_id"]}/report.html"' in second.page
    assert first.summary["run_id"] in layout["note"]
    # persons: the change in the tile and a tick on the charts
    diff = second.summary["persons"] - first.summary["persons"]
    assert diff < 0
    assert layout["kpis"]["persons"]["delta"].startswith(f"vs previous: −{-diff:,}")
    for chart in ("id-churn", "cluster-sizes", "guard-rails", "consent-coverage", "segment-sizes"):
        assert layout["figures"][chart]["prev"] > 0, chart
    assert layout["figures"]["match-weight"]["prev"] > 0
    # segment sizes: each bar says what it was
    texts = layout["figures"]["segment-sizes"]["texts"]
    before = dict(first.summary["segments"])
    for name, size in second.summary["segments"].items():
        said = texts[texts.index(name) + 1]
        expected = "unchanged" if before[name] == size else f"was {before[name]:,}"
        assert said.startswith(f"{size:,}") and expected in said, (name, said)
    # exports: members added and removed, the previous run's count, new or dropped exports
    table = layout["tables"]["exports-table"]
    head = table[0]
    assert {"added", "removed", "previous run"} <= set(head)
    rows = [dict(zip(head, row, strict=True)) for row in table[1:]]
    written = [e for e in second.summary["exports"] if "counts" in e]
    assert written
    for export in written:
        row = next(
            r
            for r in rows
            if (r["segment"], r["destination"]) == (export["segment"], export["destination"])
        )
        assert row["added"] == f"{export['counts']['added']:,}"
        assert row["removed"] == f"{export['counts']['removed']:,}"
    assert sum(e["counts"]["added"] + e["counts"]["removed"] for e in written) > 0
    assert layout["exportsChanged"].startswith("Exports since the previous run:")
