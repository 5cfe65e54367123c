"""Number formatting and inline-SVG charts for the run report (``api.report``).

No script, no fonts, no network: every chart is an ``<svg>`` sized from its
labels. Label widths are estimated from DejaVu Sans / Verdana advance widths
(the widest common sans faces), so a narrower face only leaves more room; the
report test measures the rendered text in Chromium.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "FONT_SIZE",
    "Bin",
    "Row",
    "StackRow",
    "bar_chart",
    "column_chart",
    "fmt_bool",
    "fmt_delta",
    "fmt_num",
    "fmt_seconds",
    "stacked_bar_chart",
    "text_width",
]

FONT_SIZE = 12
_NARROW = set("iljI.,:;'!|`")
_SEMI = set("ftr -()[]/\\")
_WIDE = set("mwMW%@")
_UPPER_PLUS = set("ABCDEFGHJKLNOPQRSTUVXYZ&#")


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """An upper estimate of the rendered width of ``text`` in pixels.

    >>> round(text_width("1,234"), 1)
    37.2
    >>> text_width("persons") < text_width("PERSONS")
    True
    """
    em = 0.0
    for ch in text:
        if ch in _NARROW:
            em += 0.34
        elif ch in _SEMI:
            em += 0.44
        elif ch in _WIDE:
            em += 1.02
        elif ch in _UPPER_PLUS:
            em += 0.8
        elif ch.isascii() and (ch.isalnum() or ch == "_"):
            em += 0.66
        else:  # arrows, minus signs, symbols, non-Latin letters
            em += 1.0
    return em * size * 1.04


def fmt_num(value: float | int | None, *, decimals: int = 2) -> str:
    """Thousands separators; whole numbers without decimals; ``–`` for nothing.

    >>> fmt_num(1234567), fmt_num(3.0), fmt_num(0.12345), fmt_num(1234.5, decimals=1)
    ('1,234,567', '3', '0.12', '1,234.5')
    >>> fmt_num(None)
    '–'
    """
    if value is None:
        return "–"
    if isinstance(value, bool):
        return fmt_bool(value)
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{decimals}f}"


def fmt_bool(value: bool) -> str:
    """A boolean in words.

    >>> fmt_bool(True), fmt_bool(False)
    ('yes', 'no')
    """
    return "yes" if value else "no"


def fmt_seconds(seconds: float) -> str:
    """A duration for people.

    >>> fmt_seconds(0.0123), fmt_seconds(6.546), fmt_seconds(75.2), fmt_seconds(3725)
    ('0.01 s', '6.5 s', '1 min 15 s', '1 h 2 min')
    """
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min {rest} s"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours} h {rest // 60} min"


def fmt_delta(now: float, before: float | None, *, decimals: int = 2) -> str:
    """The change from ``before``: signed, with the relative change when it means something.

    >>> fmt_delta(713, 700), fmt_delta(5, 5), fmt_delta(0, 12), fmt_delta(3, 0)
    ('+13 (+1.9%)', '±0', '−12 (−100%)', '+3')
    >>> fmt_delta(1, None)
    'no previous run'
    """
    if before is None:
        return "no previous run"
    diff = now - before
    if diff == 0:
        return "±0"
    sign = "+" if diff > 0 else "−"
    text = sign + fmt_num(abs(diff), decimals=decimals)
    if before:
        pct = 100 * diff / abs(before)
        digits = 0 if abs(pct) >= 10 or float(pct).is_integer() else 1
        text += f" ({sign}{abs(pct):.{digits}f}%)"
    return text


def _esc(text: object) -> str:
    return html.escape(str(text))


def _figure(chart_id: str, title: str, note: str, svg: str, extra: str = "") -> str:
    sub = f'<p class="note">{note}</p>' if note else ""
    return (
        f'<figure id="{chart_id}" class="chart"><figcaption>{_esc(title)}</figcaption>'
        f"{sub}{svg}{extra}</figure>"
    )


def _svg_open(title: str, width: float, height: float) -> str:
    w, h = math.ceil(width), math.ceil(height)
    return (
        f'<svg role="img" aria-label="{_esc(title)}" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg">'
    )


_GAP = 8


def _pair(value: str, comparison: str) -> str:
    """A bar's value, then (greyed, after a gap) how it compares with the previous run."""
    out = f'<tspan class="v">{_esc(value)}</tspan>'
    if comparison:
        out += f'<tspan class="was" dx="{_GAP}">{_esc(comparison)}</tspan>'
    return out


def _pair_width(value: str, comparison: str) -> float:
    return text_width(value) + (_GAP + text_width(comparison) if comparison else 0)


@dataclass(frozen=True, slots=True)
class Row:
    """One bar: its label, value and the previous run's value (``None``: not compared)."""

    label: str
    value: float
    previous: float | None = None


def bar_chart(
    chart_id: str,
    title: str,
    rows: Sequence[Row],
    *,
    note: str = "",
    unit: str = "",
    decimals: int = 2,
    compare: bool = False,
    empty: str = "nothing to show",
    extra: str = "",
) -> str:
    """Horizontal bars; with ``compare``, the previous run as a tick and a signed change.

    ``extra`` (HTML, e.g. the figure's table) goes under the chart, inside the figure.
    """
    row_h, pad = 22, 6

    def value_text(r: Row) -> tuple[str, str]:
        text = fmt_num(r.value, decimals=decimals) + unit
        if not compare:
            return text, ""
        if r.previous is None:
            return text, "new"
        if r.previous == r.value:
            return text, "unchanged"
        was = fmt_num(r.previous, decimals=decimals) + unit
        return text, f"was {was}, {fmt_delta(r.value, r.previous, decimals=decimals)}"

    if not rows:
        svg = _svg_open(title, text_width(empty) + 2 * pad, 30)
        svg += f'<text x="{pad}" y="19">{_esc(empty)}</text></svg>'
        return _figure(chart_id, title, note, svg, extra)
    labels = [r.label for r in rows]
    texts = [value_text(r) for r in rows]
    label_w = max(text_width(x) for x in labels) + 2 * pad
    value_w = max(_pair_width(*t) for t in texts) + 2 * pad
    bar_area = _bar_area(label_w, value_w)
    width = label_w + bar_area + value_w
    height = row_h * len(rows) + 8
    top = max([r.value for r in rows] + [r.previous or 0 for r in rows]) or 1
    parts = [_svg_open(title, width, height)]
    for i, (r, text) in enumerate(zip(rows, texts, strict=True)):
        y = 4 + i * row_h
        w = bar_area * max(r.value, 0) / top
        end = w
        parts.append(
            f'<text class="label" x="{label_w - pad:.1f}" y="{y + 15}" text-anchor="end">'
            f"{_esc(r.label)}</text>"
            f'<rect class="bar" x="{label_w:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}">'
            f"<title>{_esc(r.label)}: {_esc(' '.join(text))}</title></rect>"
        )
        if compare and r.previous:  # no tick for a previous zero: it would sit on the axis
            px = label_w + bar_area * max(r.previous, 0) / top
            end = max(end, px - label_w + 2)
            parts.append(
                f'<line class="prev" x1="{px:.1f}" x2="{px:.1f}" y1="{y}" y2="{y + row_h}"></line>'
            )
        parts.append(
            f'<text class="value" x="{label_w + end + pad:.1f}" y="{y + 15}">{_pair(*text)}</text>'
        )
    parts.append("</svg>")
    return _figure(chart_id, title, note, "".join(parts), extra)


def _bar_area(label_w: float, value_w: float) -> float:
    """The bars' length: what a 1,100-pixel figure leaves, between 300 and 600 pixels."""
    return max(300.0, min(600.0, 1100 - label_w - value_w))


@dataclass(frozen=True, slots=True)
class StackRow:
    """One stacked bar: its label, its parts by category, and the previous run's total."""

    label: str
    parts: dict[str, int]
    previous_total: int | None = None


def stacked_bar_chart(
    chart_id: str,
    title: str,
    rows: Sequence[StackRow],
    *,
    categories: Sequence[str],
    colours: dict[str, str],
    legend_names: dict[str, str] | None = None,
    note: str = "",
    compare: bool = False,
    extra: str = "",
) -> str:
    """Horizontal stacked bars (one colour per category) with an HTML legend below."""
    row_h, pad = 22, 6
    legend_names = legend_names or {}
    if not rows:
        return bar_chart(chart_id, title, [], note=note, extra=extra)

    def total_text(r: StackRow) -> tuple[str, str]:
        total = sum(r.parts.values())
        if not compare:
            return fmt_num(total), ""
        if r.previous_total is None:
            return fmt_num(total), "new"
        return fmt_num(
            total
        ), f"was {fmt_num(r.previous_total)}, {fmt_delta(total, r.previous_total)}"

    texts = [total_text(r) for r in rows]
    label_w = max(text_width(r.label) for r in rows) + 2 * pad
    value_w = max(_pair_width(*t) for t in texts) + 2 * pad
    bar_area = _bar_area(label_w, value_w)
    width, height = label_w + bar_area + value_w, row_h * len(rows) + 8
    top = max(sum(r.parts.values()) for r in rows) or 1
    parts = [_svg_open(title, width, height)]
    for i, (r, text) in enumerate(zip(rows, texts, strict=True)):
        y = 4 + i * row_h
        x = label_w
        parts.append(
            f'<text class="label" x="{label_w - pad:.1f}" y="{y + 15}" text-anchor="end">'
            f"{_esc(r.label)}</text>"
        )
        for category in categories:
            n = r.parts.get(category, 0)
            if not n:
                continue
            w = max(bar_area * n / top, 1.0)
            parts.append(
                f'<rect class="bar seg" x="{x:.1f}" y="{y + 3}" width="{w:.1f}" '
                f'height="{row_h - 6}" style="fill:{colours[category]}">'
                f"<title>{_esc(r.label)}, {_esc(category)}: {fmt_num(n)}</title></rect>"
            )
            x += w
        parts.append(f'<text class="value" x="{x + pad:.1f}" y="{y + 15}">{_pair(*text)}</text>')
    parts.append("</svg>")
    legend = (
        '<ul class="legend">'
        + "".join(
            f'<li><span class="swatch" style="background:{colours[c]}"></span>'
            f"{_esc(legend_names.get(c, c))}</li>"
            for c in categories
        )
        + "</ul>"
    )
    return _figure(chart_id, title, note, "".join(parts), legend + extra)


@dataclass(frozen=True, slots=True)
class Bin:
    """A histogram bin ``[lo, hi)`` and its counts in this run and the previous one."""

    lo: float
    hi: float
    count: int
    previous: int | None = None


def _count_step(value: float) -> int:
    """The smallest whole 1-2-2.5-5 step at least ``value`` (a count axis has no fractions).

    >>> _count_step(0), _count_step(0.3), _count_step(7), _count_step(12.2), _count_step(132)
    (1, 1, 10, 20, 200)
    """
    if value <= 1:
        return 1
    exp = 10 ** math.floor(math.log10(value))
    for mult in (1, 2, 2.5, 5, 10):
        step = mult * exp
        if step >= value and float(step).is_integer():
            return int(step)
    return int(10 * exp)


def column_chart(
    chart_id: str,
    title: str,
    bins: Sequence[Bin],
    *,
    marker: float,
    marker_label: str,
    first_bar: tuple[str, int, int | None] | None = None,
    x_label: str,
    note: str = "",
    compare: bool = False,
) -> str:
    """A histogram with a marked x value (the threshold) and, left of the axis, one separate
    bar (``first_bar``: label, count, previous count) for what the bins do not hold."""
    height, pad = 316, 6
    band_top, plot_top, plot_bottom = 6, 34, 236
    counts = [b.count for b in bins] + [b.previous or 0 for b in bins]
    step = _count_step(max(counts or [0]) / 4)
    top = 4 * step
    tick_w = max(text_width(fmt_num(step * k)) for k in range(5)) + 2 * pad
    left = tick_w + 4
    first_w = 0.0
    first_lines: list[str] = []
    if first_bar is not None:
        label, n, prev = first_bar
        first_lines = [label, fmt_num(n)] + (
            [f"was {fmt_num(prev)}"] if compare and prev is not None else []
        )
        first_w = max(44.0, max(text_width(t) for t in first_lines) + 2 * pad)
    x0 = left + (first_w + 16 if first_bar is not None else 0)
    col_w = max(12.0, min(34.0, 680 / max(1, len(bins))))
    lo = bins[0].lo if bins else 0.0
    hi = bins[-1].hi if bins else 1.0
    plot_w = col_w * max(1, len(bins))
    width = max(x0 + plot_w + 2 * pad + 40, x0 + text_width(x_label) + 2 * pad)

    def y_of(n: float) -> float:
        return plot_bottom - (plot_bottom - plot_top) * min(n, top) / top

    def x_of(v: float) -> float:
        return x0 + plot_w * (v - lo) / ((hi - lo) or 1)

    parts = [_svg_open(title, width, height)]
    for k in range(5):  # y grid and ticks
        tick = top * k / 4
        y = y_of(tick)
        parts.append(
            f'<line class="grid" x1="{left:.1f}" x2="{x0 + plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}">'
            f'</line><text class="tick" x="{left - 4:.1f}" y="{y + 4:.1f}" text-anchor="end">'
            f"{fmt_num(tick)}</text>"
        )
    if first_bar is not None:
        label, n, prev = first_bar
        fx, fw = left + 8, first_w - 8
        # on the bins' scale; taller than the plot, it is drawn broken (its count is below it)
        y = plot_top - 4 if n > top else y_of(n)
        parts.append(
            f'<rect class="bar floor" x="{fx:.1f}" y="{y:.1f}" width="{fw:.1f}" '
            f'height="{plot_bottom - y:.1f}"><title>{_esc(label)}: {fmt_num(n)}</title></rect>'
        )
        if n > top:
            yb = plot_top + 16
            parts.append(
                f'<path class="break" d="M{fx - 2:.1f},{yb + 4} L{fx + fw + 2:.1f},{yb - 4} '
                f'M{fx - 2:.1f},{yb + 10} L{fx + fw + 2:.1f},{yb + 2}"></path>'
            )
        if compare and prev is not None and prev <= top:
            parts.append(
                f'<line class="prev" x1="{fx:.1f}" x2="{fx + fw:.1f}" y1="{y_of(prev):.1f}" '
                f'y2="{y_of(prev):.1f}"></line>'
            )
        for i, line in enumerate(first_lines):
            parts.append(
                f'<text class="tick{" strong" if i == 1 else ""}" x="{fx + fw / 2:.1f}" '
                f'y="{plot_bottom + 16 + 15 * i}" text-anchor="middle">{_esc(line)}</text>'
            )
    for b in bins:
        x = x_of(b.lo)
        w = x_of(b.hi) - x
        side = "above" if b.lo >= marker else "below"
        parts.append(
            f'<rect class="bar {side}" x="{x + 1:.1f}" y="{y_of(b.count):.1f}" '
            f'width="{max(w - 2, 1):.1f}" height="{plot_bottom - y_of(b.count):.1f}">'
            f"<title>{b.lo:.2f} to {b.hi:.2f}: {fmt_num(b.count)}</title></rect>"
        )
        if compare and b.previous is not None:
            y = y_of(b.previous)
            parts.append(
                f'<line class="prev" x1="{x + 1:.1f}" x2="{x + w - 1:.1f}" y1="{y:.1f}" '
                f'y2="{y:.1f}"></line>'
            )
    # x axis: whole match weights, spaced so that their labels never touch
    parts.append(
        f'<line class="axis" x1="{x0:.1f}" x2="{x0 + plot_w:.1f}" y1="{plot_bottom}" '
        f'y2="{plot_bottom}"></line>'
    )
    per_unit = plot_w / ((hi - lo) or 1)
    widest = max(text_width(fmt_num(v)) for v in (math.floor(lo), math.ceil(hi)))
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100) if s * per_unit >= widest + 10)
    v = math.ceil(lo / step) * step
    while v <= hi:
        x = x_of(v)
        parts.append(
            f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{plot_bottom}" '
            f'y2="{plot_bottom + 4}"></line><text class="tick" x="{x:.1f}" '
            f'y="{plot_bottom + 16}" text-anchor="middle">{fmt_num(v).replace("-", "−")}</text>'
        )
        v += step
    parts.append(
        f'<text class="axis-label" x="{x0:.1f}" y="{plot_bottom + 36}">{_esc(x_label)}</text>'
    )
    # the marker: a dashed line through the plot, its label in the band above
    mx = x_of(marker)
    label_w = text_width(marker_label)
    anchor, lx = ("start", mx + 4) if mx + 4 + label_w <= width - pad else ("end", mx - 4)
    parts.append(
        f'<line class="marker" x1="{mx:.1f}" x2="{mx:.1f}" y1="{band_top + 4}" '
        f'y2="{plot_bottom}"></line><text class="marker-label" x="{lx:.1f}" '
        f'y="{band_top + 14}" text-anchor="{anchor}">{_esc(marker_label)}</text>'
    )
    parts.append("</svg>")
    return _figure(chart_id, title, note, "".join(parts))
