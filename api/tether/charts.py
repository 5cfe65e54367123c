"""Charts that render offline: Splink's own, and small Vega-Lite charts of Tether's tables.

Splink draws its charts with Vega-Lite and ships the JavaScript in its wheel.
``chart.to_html()`` and a notebook's default display load that JavaScript
from a CDN, which a CI machine or an air-gapped laptop cannot reach; here
every chart is a complete HTML document with the JavaScript inlined
(``inline=True``, about 1 MB), shown in a notebook inside an ``<iframe
srcdoc>`` so that its scripts run without the notebook being trusted.

This is the one module that reaches into ``splink.internals`` (for the
bundled Vega renderer): if Splink moves it, only this file changes.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["OfflineChart", "offline", "vega_lite"]


@dataclass(frozen=True, kw_only=True, slots=True)
class OfflineChart:
    """A self-contained HTML chart: no network needed to draw it."""

    title: str
    html: str
    """A complete HTML document with Vega, Vega-Lite and vega-embed inlined."""
    height: int = 420

    def save(self, path: Path) -> Path:
        """Write the chart as a standalone HTML file; returns ``path``."""
        path.write_text(self.html, encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        # srcdoc: the document runs in its own frame, scripts included, in any front end.
        return (
            f'<iframe data-tether-chart="{html.escape(self.title)}" '
            f'title="{html.escape(self.title)}" sandbox="allow-scripts" '
            f'style="width:100%;height:{self.height}px;border:0" '
            f'srcdoc="{html.escape(self.html, quote=True)}"></iframe>'
        )


def offline(chart: Any, *, title: str = "Splink chart", height: int = 420) -> OfflineChart:
    """A Splink chart (``linker.visualisations.*``) as offline HTML.

    Examples:
        >>> chart = offline(_Fake(), title="m and u")
        >>> chart.title, "<script>" in chart.html
        ('m and u', True)
    """
    return OfflineChart(title=title, html=chart.to_html(inline=True), height=height)


def vega_lite(
    spec: Mapping[str, Any],
    *,
    data: Sequence[Mapping[str, Any]],
    title: str,
    height: int = 360,
) -> OfflineChart:
    """A Vega-Lite chart of ``data`` (records), drawn by Splink's bundled renderer.

    ``spec`` is a Vega-Lite specification without its data; ``data`` is a
    list of plain records (``frame.to_dict(orient="records")``).
    """
    from splink.internals.html_utils import chart_html

    full = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": title,
        **spec,
        "data": {"values": [_plain(row) for row in data]},
    }
    return OfflineChart(
        title=title,
        html=str(chart_html(full, inline=True, fullhtml=True)),  # type: ignore[no-untyped-call]
        height=height,
    )


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-ready values: numpy scalars become Python ones, timestamps ISO text, NaN null."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif hasattr(value, "item"):
            value = value.item()
        if isinstance(value, float) and value != value:
            value = None
        out[str(key)] = value
    return out


class _Fake:
    """Stands in for a Splink chart in the doctest."""

    def to_html(self, *, inline: bool) -> str:
        return "<html><script>vegaEmbed</script></html>" if inline else ""
