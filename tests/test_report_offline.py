"""Offline reports: the self-contained page, marimo's shipped assets, and a real headless browser.

The browser tests open pages in Debian's Chromium through Playwright with every outside
request refused (marimo's CDN is answered from the marimo wheel) and assert that vega-embed
drew marks. They skip when no Chromium is installed; CI installs it (``apt-get install
chromium``). ``EEMO_CHROMIUM`` points them at another binary.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest

alt = pytest.importorskip("altair", reason="reports need the [notebooks] extra")
pl = pytest.importorskip("polars", reason="reports need the [notebooks] extra")
pytest.importorskip("marimo", reason="reports need the [notebooks] extra")

from eemo_rewards.report import (  # noqa: E402
    StandaloneReport,
    find_chromium,
    inspect_report,
    marimo_static_dir,
    serve_offline,
    static_asset_for_url,
)
from eemo_rewards.report.marimo_offline import MARIMO_CDN_PATTERN, rewrite_export  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MARIMO = [sys.executable, "-m", "marimo"]
needs_chromium = pytest.mark.skipif(
    find_chromium() is None or importlib.util.find_spec("playwright") is None,
    reason="no Chromium binary (apt-get install chromium, or set EEMO_CHROMIUM) or no "
    "Playwright (pip install playwright); CI installs both",
)

TINY_NOTEBOOK = textwrap.dedent(
    """
    import marimo

    app = marimo.App()

    with app.setup:
        import altair as alt
        import marimo as mo
        import polars as pl


    @app.cell
    def _():
        frame = pl.DataFrame({"x": [1, 2, 3], "y": [3, 1, 2]})
        chart = mo.ui.altair_chart(alt.Chart(frame).mark_point().encode(x="x", y="y"))
        chart
        return


    if __name__ == "__main__":
        app.run()
    """
)


def frame() -> pl.DataFrame:
    return pl.DataFrame({"design": ["binary", "soft", "<b>x</b>"], "auc": [0.8123, 0.93, 0.5]})


def bar_chart() -> alt.Chart:
    return alt.Chart(frame()).mark_bar().encode(x="design:N", y="auc:Q")


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    notebook = folder / "tiny.py"
    notebook.write_text(TINY_NOTEBOOK)
    out = folder / "tiny.html"
    subprocess.run([*MARIMO, "export", "html", str(notebook), "-o", str(out)], check=True)
    return out


# -- the self-contained report ---------------------------------------------------------------
def test_standalone_report_has_no_outside_references(tmp_path):
    report = StandaloneReport("Ablations <draft>")
    report.heading("Separation")
    report.text("First paragraph.\n\nSecond & last.")
    report.chart(bar_chart(), caption="AUC per design")
    report.table(frame())
    page = report.save(tmp_path / "nested" / "report.html").read_text()
    assert "<title>Ablations &lt;draft&gt;</title>" in page
    assert page.count("<p>") == 2 and "Second &amp; last." in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert "<td>0.812</td>" in page
    # nothing is fetched: no external script, stylesheet or image address
    assert not re.search(r"""(src|href)\s*=\s*["']https?://""", page)
    assert "window.vegaEmbed" in page or "vegaEmbed=" in page


def test_standalone_report_without_charts_carries_no_javascript():
    report = StandaloneReport("Tables only")
    report.table([{"a": 1, "b": "x"}, {"a": 2, "c": None}])
    page = report.to_html()
    assert "<script" not in page
    assert "<th>a</th><th>b</th><th>c</th>" in page


def test_standalone_report_cuts_long_tables_and_says_so():
    report = StandaloneReport("Long")
    report.table([{"i": i} for i in range(30)], max_rows=10)
    page = report.to_html()
    assert page.count("<tr>") == 11  # header + 10 rows
    assert "showing 10 of 30 rows" in page


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: r.chart("bars"), "altair chart or a Vega-Lite dict"),
        (lambda r: r.chart({"data": {"values": []}}), "no mark"),
        (lambda r: r.chart({"mark": "bar", "data": {"values": [{"a": float("nan")}]}}), "NaN"),
        (lambda r: r.table("a,b"), "polars DataFrame or a list of dicts"),
        (lambda r: r.table([1, 2]), "must all be mappings"),
        (lambda r: r.table(frame(), max_rows=0), "max_rows"),
        (lambda r: r.heading("x", level=1), "heading level"),
    ],
)
def test_standalone_report_rejects_bad_input(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call(StandaloneReport("t"))


def test_standalone_report_needs_a_title():
    with pytest.raises(ValueError, match="non-empty title"):
        StandaloneReport("  ")


# -- marimo's shipped assets -----------------------------------------------------------------
def test_cdn_addresses_map_to_shipped_files_only():
    base = "https://cdn.jsdelivr.net/npm/@marimo-team/frontend@0.25.2/dist/"
    assert static_asset_for_url(base + "index.html") == marimo_static_dir() / "index.html"
    assert static_asset_for_url(base + "assets/../../__init__.py") is None  # no escape
    assert static_asset_for_url(base + "assets/no-such-file.js") is None
    assert static_asset_for_url("https://cdn.jsdelivr.net/npm/vega@5/build/vega.js") is None


def test_every_asset_of_a_real_export_is_shipped(tiny_export):
    html = tiny_export.read_text()
    urls = {m.group(0) for m in MARIMO_CDN_PATTERN.finditer(html)}
    assert len(urls) > 10, "the export no longer references marimo's CDN; revisit this module"
    missing = sorted(u for u in urls if static_asset_for_url(u) is None)
    assert not missing, f"marimo's wheel lacks {missing[:5]}"
    rewritten = rewrite_export(html)
    assert "cdn.jsdelivr.net/npm/@marimo-team" not in rewritten
    assert "/_marimo/assets/" in rewritten


def test_offline_server_serves_the_report_and_the_assets(tiny_export):
    with serve_offline(tiny_export) as server:
        page = urllib.request.urlopen(server.url).read().decode()
        asset = re.search(r'src="(/_marimo/assets/[^"]+\.js)"', page).group(1)
        response = urllib.request.urlopen(server.url.rstrip("/") + asset)
        assert "javascript" in response.headers["Content-Type"]
        assert response.read()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(server.url + "_marimo/../../etc/passwd")
        assert missing.value.code == 404


def test_offline_server_says_how_to_make_a_missing_report(tmp_path):
    with pytest.raises(FileNotFoundError, match="marimo export html"):
        serve_offline(tmp_path / "absent.html")


# -- a real headless browser -----------------------------------------------------------------
@pytest.mark.slow
@needs_chromium
def test_standalone_report_renders_offline_in_chromium(tmp_path):
    report = StandaloneReport("Rendering check")
    report.chart(bar_chart())
    report.chart(alt.Chart(frame()).mark_point().encode(x="auc:Q", y="design:N"))
    report.table(frame())
    check = inspect_report(report.save(tmp_path / "r.html"), expect_charts=2)
    assert check.ok, check.summary()
    assert check.charts == 2 and check.marks >= 6  # 3 bars + 3 points
    assert not check.refused_requests, check.summary()
    assert "Rendering check" in check.text


@pytest.mark.slow
@needs_chromium
def test_a_broken_chart_is_reported_not_blank(tmp_path):
    report = StandaloneReport("Broken")
    report.chart(bar_chart())
    report.chart({"mark": "no-such-mark", "data": {"values": [{"a": 1}]}})
    check = inspect_report(report.save(tmp_path / "r.html"), expect_charts=2, timeout_s=10)
    assert not check.ok
    assert check.error_texts and "chart failed to render" in check.error_texts[0]


@pytest.mark.slow
@needs_chromium
def test_raw_marimo_export_is_blank_without_its_cdn(tiny_export):
    check = inspect_report(tiny_export, serve_marimo_assets=False, timeout_s=8)
    assert check.charts_drawn == 0
    assert any("@marimo-team/frontend" in u for u in check.refused_requests)


@pytest.mark.slow
@needs_chromium
def test_marimo_export_renders_with_shipped_assets(tiny_export):
    check = inspect_report(tiny_export)
    assert check.ok, check.summary()
    assert not check.refused_requests, check.summary()
    with serve_offline(tiny_export) as server:
        served = inspect_report(server.url)
    assert served.ok, served.summary()
    assert not served.refused_requests, served.summary()


@pytest.mark.slow
@needs_chromium
def test_ablations_notebook_export_renders_every_chart(tmp_path):
    out = tmp_path / "ablations.html"
    files = tmp_path / "files"
    subprocess.run(
        [
            *MARIMO,
            "export",
            "html",
            str(REPO / "notebooks" / "ablations.py"),
            "-o",
            str(out),
            "--",
            "--n-images",
            "14",
            "--out",
            str(files),
            "--train",
            "none",
        ],
        check=True,
        cwd=REPO,
    )
    check = inspect_report(out, expect_charts=7)
    assert check.ok, check.summary()
    assert check.charts >= 7, check.summary()
    assert "Reward ablations" in check.text
    # the report leads with the committed study's headline (its interval and diagnosis
    # charts), then the five offline-analysis charts
    standalone = inspect_report(files / "report.html", expect_charts=7)
    assert standalone.ok and standalone.charts == 7, standalone.summary()
    assert standalone.text.index("The study's headline") < standalone.text.index(
        "one line per design"
    )
    for name in ("summary.parquet", "summary.csv", "zero_variance.svg", "hackability.png"):
        assert (files / name).stat().st_size > 0, name


@pytest.mark.slow
@needs_chromium
def test_command_line_check_fails_when_charts_are_missing(tmp_path, capsys):
    from eemo_rewards.report.__main__ import main

    report = StandaloneReport("CLI")
    report.chart(bar_chart())
    path = report.save(tmp_path / "r.html")
    assert main(["check", str(path), "--expect", "1"]) == 0
    assert main(["check", str(path), "--expect", "2", "--timeout", "3"]) == 1
    assert "1/1 charts drew" in capsys.readouterr().out
