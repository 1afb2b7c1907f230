"""Open a report in headless Chromium and check that its charts drew.

Used by the tests and CI (``python -m eemo_rewards.report check REPORT.html --expect N``)
to prove that an exported report renders with no network: every
request to marimo's CDN is answered from the marimo wheel
(:func:`~eemo_rewards.report.marimo_offline.static_asset_for_url`), every other outside
request is refused and recorded. A chart counts as drawn when vega-embed produced an SVG
with at least one data mark, or a canvas with coloured pixels (axes and labels are grey;
data marks are drawn in colour). marimo draws charts inside shadow DOM,
so the page is searched through shadow roots. A faceted chart drawn as SVG whose panels all
show the same marks (:func:`~eemo_rewards.report.panels.identical_panels`: its facet drew
every row in every panel) fails the check.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from eemo_rewards.report.marimo_offline import static_asset_for_url
from eemo_rewards.report.panels import identical_panels

__all__ = ["CHROMIUM_ARGS", "RenderCheck", "find_chromium", "inspect_report"]

#: Flags for a root user's headless Chromium on a machine that refuses outside connections.
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)

_COUNT_CHARTS = """
() => {
  const found = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.classList && el.classList.contains("vega-embed")) found.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  const charts = found.map((el) => {
    const marks = el.querySelectorAll("svg g.role-mark > *").length;
    // on a canvas, axes and text are grey; data marks are coloured (chromatic) pixels
    let colour = 0;
    for (const c of el.querySelectorAll("canvas")) {
      if (c.width * c.height === 0) continue;
      const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      for (let i = 0; i < px.length; i += 4) {
        const hi = Math.max(px[i], px[i + 1], px[i + 2]);
        const lo = Math.min(px[i], px[i + 1], px[i + 2]);
        if (px[i + 3] > 0 && hi - lo > 40) colour++;
      }
    }
    // a faceted SVG chart comes back whole, so that its panels can be compared
    const svg = el.querySelector("svg");
    const faceted = svg && svg.querySelector("g.role-scope.cell");
    return {marks: marks, colour: colour, svg: faceted ? svg.outerHTML : null};
  });
  const errors = [];
  const walkErrors = (root) => {
    for (const el of root.querySelectorAll(".report-error, .vega-embed .error, [role=alert]")) {
      if (el.textContent.trim()) errors.push(el.textContent.trim().slice(0, 300));
    }
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) walkErrors(el.shadowRoot);
  };
  walkErrors(document);
  return {charts: charts, errors: errors, text: document.body ? document.body.innerText : ""};
}
"""


@dataclass
class RenderCheck:
    """What a headless browser saw on a report page."""

    url: str
    charts: int = 0
    charts_drawn: int = 0
    marks: int = 0
    coloured_pixels: int = 0
    #: faceted charts whose panels all show the same marks (each holds every row)
    identical_panel_charts: int = 0
    error_texts: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    refused_requests: list[str] = field(default_factory=list)
    text: str = ""

    @property
    def ok(self) -> bool:
        """Every chart drew, no faceted chart repeats one panel, and the page showed or
        threw no error."""
        return (
            self.charts > 0
            and self.charts_drawn == self.charts
            and not self.identical_panel_charts
            and not self.error_texts
            and not self.page_errors
        )

    def summary(self) -> str:
        """One line for a test failure message or a log."""
        return (
            f"{self.url}: {self.charts_drawn}/{self.charts} charts drew ({self.marks} SVG marks, "
            f"{self.coloured_pixels} coloured canvas pixels); "
            f"{self.identical_panel_charts} faceted chart(s) with identical panels; "
            f"errors shown: {self.error_texts[:3]}; page errors: {self.page_errors[:3]}; "
            f"refused requests: {self.refused_requests[:3]}"
        )


def find_chromium(explicit: str | None = None) -> str | None:
    """The path of a Chromium binary, or ``None`` when there is none.

    Looks at ``explicit``, then ``$EEMO_CHROMIUM``, then ``chromium``, ``chromium-browser``
    and ``google-chrome`` on the ``PATH`` (Debian: ``apt-get install chromium``).

    Examples
    --------
    >>> find_chromium("/nonexistent/chromium") is None
    True
    """
    if explicit:
        return explicit if Path(explicit).is_file() else None
    env = os.environ.get("EEMO_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def inspect_report(
    target: str | Path,
    *,
    chromium: str | None = None,
    expect_charts: int = 1,
    timeout_s: float = 60.0,
    screenshot: str | Path | None = None,
    serve_marimo_assets: bool = True,
) -> RenderCheck:
    """Load a report (a file path or an ``http://`` address) and count the drawn charts.

    Waits until at least ``expect_charts`` charts have drawn and the count is stable, or
    until ``timeout_s``; then returns what it saw (it does not raise on a blank page: the
    caller asserts on :attr:`RenderCheck.ok` and the counts). With
    ``serve_marimo_assets=False`` marimo's CDN requests are refused too, which shows what
    a reader without network would see on a raw export.

    Raises
    ------
    RuntimeError
        No Chromium binary or no Playwright (say how to install them).
    """
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            "Playwright is needed to check reports in a browser: pip install playwright"
        ) from exc
    executable = find_chromium(chromium)
    if executable is None:
        raise RuntimeError(
            "no Chromium binary found; install Debian's package (apt-get install chromium) "
            "or set EEMO_CHROMIUM to a Chromium executable"
        )
    url = str(target) if str(target).startswith("http") else Path(target).resolve().as_uri()
    check = RenderCheck(url=url)
    with tempfile.TemporaryDirectory(prefix="eemo-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            headless=True,
            args=list(CHROMIUM_ARGS),
            viewport={"width": 1280, "height": 4000},
        )
        try:
            context.route("**/*", lambda route: _answer_offline(route, check, serve_marimo_assets))
            page = context.new_page()
            page.on("pageerror", lambda error: check.page_errors.append(str(error)))
            page.goto(url, wait_until="load", timeout=timeout_s * 1000)
            seen = _wait_for_charts(page, expect_charts, timeout_s)
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            context.close()
    check.charts = len(seen["charts"])
    check.charts_drawn = sum(1 for c in seen["charts"] if _drew(c))
    check.marks = sum(c["marks"] for c in seen["charts"])
    check.coloured_pixels = sum(c["colour"] for c in seen["charts"])
    check.identical_panel_charts = sum(
        1 for c in seen["charts"] if c.get("svg") and identical_panels(c["svg"])
    )
    check.error_texts = list(seen["errors"])
    check.text = seen["text"]
    return check


def _drew(chart: dict) -> bool:
    return chart["marks"] > 0 or chart["colour"] > 0


def _answer_offline(route, check: RenderCheck, serve_marimo_assets: bool) -> None:
    url = route.request.url
    if url.startswith(("file:", "data:", "blob:", "http://127.0.0.1", "http://localhost")):
        route.continue_()
        return
    local = static_asset_for_url(url) if serve_marimo_assets else None
    if local is not None:
        route.fulfill(path=str(local))
        return
    check.refused_requests.append(url)
    route.abort()


def _wait_for_charts(page, expect_charts: int, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    previous = None
    while True:
        seen = page.evaluate(_COUNT_CHARTS)
        drawn = sum(1 for c in seen["charts"] if _drew(c))
        state = (len(seen["charts"]), drawn)
        # stable for one polling interval after enough charts drew: the page is done
        if drawn >= expect_charts and state == previous:
            return seen
        if time.monotonic() > deadline:
            return seen
        previous = state
        page.wait_for_timeout(500)
