"""A self-contained HTML report: headings, text, altair charts and tables in one file.

The Vega, Vega-Lite and vega-embed libraries are bundled once by vl-convert and inlined, so
the file opens from disk in any browser with no network, and a report with many charts
carries the ~1 MB of JavaScript only once. Each chart's specification (with its data) is
embedded as JSON; a chart that fails to draw shows its error in place instead of leaving a
blank space.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["StandaloneReport"]

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;
color:#1f2328;line-height:1.45}
h1{font-size:1.7rem}h2{font-size:1.3rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.85rem}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:right}
th{background:#f6f8fa}td.text{text-align:left}
figure{margin:1rem 0}figcaption,.caption{color:#57606a;font-size:.85rem}
.report-error{color:#b42318;white-space:pre-wrap}
"""

_EMBED = """
for (const node of document.querySelectorAll("script[data-chart-for]")) {
  const target = document.getElementById(node.dataset.chartFor);
  vegaEmbed(target, JSON.parse(node.textContent), {renderer: "svg", actions: false})
    .catch((error) => {
      target.classList.add("report-error");
      target.textContent = "chart failed to render: " + error;
    });
}
"""


class StandaloneReport:
    """Build a report page block by block, then :meth:`save` it as one HTML file.

    Parameters
    ----------
    title : str
        The page title and top heading.

    Examples
    --------
    >>> import altair as alt, polars as pl
    >>> frame = pl.DataFrame({"design": ["binary", "soft"], "auc": [0.81, 0.93]})
    >>> report = StandaloneReport("Reward ablations")
    >>> report.text("Soft accuracy separates near misses from wrong answers.")
    >>> report.chart(alt.Chart(frame).mark_bar().encode(x="design", y="auc"), caption="AUC")
    >>> report.table(frame)
    >>> page = report.to_html()
    >>> page.count('data-chart-for="chart-'), '<td class="text">soft</td>' in page
    (1, True)
    """

    def __init__(self, title: str):
        if not isinstance(title, str) or not title.strip():
            raise ValueError("StandaloneReport needs a non-empty title string")
        self.title = title.strip()
        self._blocks: list[str] = []
        self._charts = 0

    def heading(self, text: str, level: int = 2) -> None:
        """Add a section heading (``level`` 2 to 4; 1 is the page title)."""
        if level not in (2, 3, 4):
            raise ValueError(f"heading level must be 2, 3 or 4, got {level!r}")
        self._blocks.append(f"<h{level}>{html.escape(str(text))}</h{level}>")

    def text(self, text: str) -> None:
        """Add paragraphs of plain text (blank lines separate paragraphs)."""
        for paragraph in str(text).strip().split("\n\n"):
            if paragraph.strip():
                self._blocks.append(f"<p>{html.escape(paragraph.strip())}</p>")

    def markup(self, block: str) -> None:
        """Add a block of HTML this project built itself (escaped text, no script), e.g. the
        completion cards of :mod:`eemo_rewards.analysis.cards`."""
        if "<script" in block.lower():
            raise ValueError("a markup block may not hold a script; add charts with chart()")
        self._blocks.append(str(block))

    def chart(self, chart: Any, *, caption: str | None = None) -> None:
        """Add an altair chart (or a Vega-Lite specification as a dict).

        The chart's data must be inline (altair's default): a chart reading a URL would
        need the network.
        """
        spec = _vega_lite_spec(chart)
        chart_id = f"chart-{self._charts}"
        self._charts += 1
        try:
            payload = json.dumps(spec, allow_nan=False, default=str)
        except ValueError:
            raise ValueError(
                "the chart's data holds NaN or infinity, which JSON cannot carry; replace them "
                "with nulls first (polars: frame.fill_nan(None))"
            ) from None
        payload = payload.replace("</", "<\\/")
        block = [
            "<figure>",
            f'<div class="chart" id="{chart_id}"></div>',
            f'<script type="application/json" data-chart-for="{chart_id}">{payload}</script>',
        ]
        if caption:
            block.append(f"<figcaption>{html.escape(caption)}</figcaption>")
        block.append("</figure>")
        self._blocks.append("\n".join(block))

    def table(
        self,
        rows: Any,
        *,
        caption: str | None = None,
        max_rows: int = 500,
        digits: int = 3,
    ) -> None:
        """Add a table from a polars DataFrame or a sequence of mappings.

        Floats are rounded to ``digits`` decimals. A table longer than ``max_rows`` is cut,
        and the page says how many rows were left out.
        """
        columns, records = _records(rows)
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        shown = records[:max_rows]
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
        body = "\n".join(
            "<tr>" + "".join(_cell(record.get(c), digits) for c in columns) + "</tr>"
            for record in shown
        )
        block = [f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"]
        if len(records) > len(shown):
            block.append(
                f'<p class="caption">showing {len(shown)} of {len(records)} rows; '
                "the full table is in the metrics files next to this report</p>"
            )
        if caption:
            block.insert(0, f'<p class="caption">{html.escape(caption)}</p>')
        self._blocks.append("\n".join(block))

    def to_html(self) -> str:
        """The whole page as a string (the JavaScript bundle is added only with charts)."""
        script = ""
        if self._charts:
            script = f"<script>{_vega_bundle()}</script>\n<script>{_EMBED}</script>"
        title = html.escape(self.title)
        body = "\n".join(self._blocks)
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{title}</title><style>{_STYLE}</style></head>\n"
            f"<body><h1>{title}</h1>\n{body}\n{script}\n</body></html>\n"
        )

    def save(self, path: str | Path) -> Path:
        """Write the page (creating parent folders); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_html(), encoding="utf-8")
        return path


def _vega_lite_spec(chart: Any) -> dict[str, Any]:
    if isinstance(chart, Mapping):
        spec = dict(chart)
    elif hasattr(chart, "to_dict"):
        spec = chart.to_dict()
    else:
        raise TypeError(
            f"chart must be an altair chart or a Vega-Lite dict, got {type(chart).__name__}"
        )
    if not any(k in spec for k in ("mark", "layer", "hconcat", "vconcat", "concat", "facet")):
        raise ValueError("the chart specification has no mark, layer or concatenation")
    return spec


def _records(rows: Any) -> tuple[list[str], list[Mapping[str, Any]]]:
    if hasattr(rows, "to_dicts") and hasattr(rows, "columns"):  # a polars DataFrame
        return list(rows.columns), rows.to_dicts()
    if isinstance(rows, Sequence) and not isinstance(rows, str | bytes):
        if not all(isinstance(r, Mapping) for r in rows):
            raise TypeError("table rows must all be mappings (column name -> value)")
        columns: list[str] = []
        for record in rows:
            columns.extend(k for k in record if k not in columns)
        return columns, list(rows)
    raise TypeError(f"table needs a polars DataFrame or a list of dicts, got {type(rows).__name__}")


def _cell(value: Any, digits: int) -> str:
    if isinstance(value, float):
        return f"<td>{value:.{digits}f}</td>"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"<td>{value}</td>"
    return f'<td class="text">{html.escape("" if value is None else str(value))}</td>'


_bundle_cache: dict[str, str] = {}


def _vega_bundle() -> str:
    # bundling takes about a second; one report build may save several pages
    if "bundle" not in _bundle_cache:
        try:
            import vl_convert
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                "vl-convert is needed to inline the chart libraries; install the notebooks "
                "extra: pip install 'eemo-rewards[notebooks]'"
            ) from exc
        # the bundle's closing script tag must not end the page's <script> element early
        _bundle_cache["bundle"] = vl_convert.javascript_bundle().replace("</script", "<\\/script")
    return _bundle_cache["bundle"]
