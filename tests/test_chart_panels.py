"""Charts that show their data: each panel of the study's headline chart holds only its
setting and metric's arms, and the report check fails on a chart whose panels are the same."""

from __future__ import annotations

import importlib.util
import re

import polars as pl
import pytest

alt = pytest.importorskip("altair")
vlc = pytest.importorskip("vl_convert")

from eemo_rewards.analysis.study import headline_chart  # noqa: E402
from eemo_rewards.report.panels import chart_panels, identical_panels  # noqa: E402

ARMS = {
    ("noisy", "emotion_acc"): ["sft", "grpo_binary", "grpo_soft"],
    ("ambiguous", "emotion_acc"): ["sft", "grpo_binary", "grpo_soft", "grpo_topk"],
    ("assessment", "valence_srcc"): ["sft", "grpo_intensity", "grpo_thurstone"],
    ("assessment", "arousal_srcc"): ["sft", "grpo_intensity", "grpo_thurstone"],
    ("ranking", "ranking_score"): ["sft", "grpo_ranking"],
}


def _table(arms=ARMS) -> pl.DataFrame:
    rows = []
    for i, ((setting, metric), names) in enumerate(arms.items()):
        for j, arm in enumerate(names):
            change = (i - j) / 20
            rows.append({"setting": setting, "arm": arm, "metric": metric, "seeds": 5,
                         "items": 200, "vs_control_change": None if arm == "sft" else change,
                         "vs_control_low": change - 0.05, "vs_control_high": change + 0.05,
                         "vs_control_verdict": "within noise", "vs_stage1_change": change,
                         "vs_stage1_low": change - 0.1, "vs_stage1_high": change + 0.1,
                         "vs_stage1_verdict": "within noise"})  # fmt: skip
    return pl.DataFrame(rows)


def _svg(chart) -> str:
    return vlc.vegalite_to_svg(chart.to_json())


def _broken_chart(table: pl.DataFrame):
    """The old headline chart: layers that carry their own data, which a facet cannot split
    (every panel drew every row)."""
    frame = table.filter(pl.col("vs_control_change").is_not_null()).with_columns(
        (pl.col("setting") + " · " + pl.col("metric")).alias("panel")
    )
    base = alt.Chart(frame).encode(y="arm:N")
    rule = base.mark_rule().encode(x="vs_control_low:Q", x2="vs_control_high")
    point = base.mark_point().encode(x="vs_control_change:Q", tooltip=["arm"])
    zero = alt.Chart(pl.DataFrame({"x": [0.0]})).mark_rule().encode(x="x:Q")
    return alt.layer(rule, point, zero, data=frame).facet(facet="panel:N", columns=3)


@pytest.mark.parametrize("against", ["control", "stage1"])
def test_each_panel_holds_only_its_setting_and_metric_arms(against):
    table = _table()
    panels = chart_panels(_svg(headline_chart(table, against=against)))
    expected = {
        f"{s} · {m}": {a for a in names if against == "stage1" or a != "sft"}
        for (s, m), names in ARMS.items()
    }
    assert len(panels) == len(expected)
    seen = {}
    for marks in panels:
        named = [m for m in marks if "panel: " in m]
        titles = {re.search(r"panel: ([^;]+)", m).group(1) for m in named}
        assert len(titles) == 1, f"a panel mixes {titles}"
        (title,) = titles
        seen[title] = {re.search(r"arm: ([^;]+)", m).group(1) for m in named}
        # one point per arm, nothing else of another panel
        assert len(named) == len(seen[title]), (title, named)
    assert seen == expected
    assert not identical_panels(_svg(headline_chart(table, against=against)))


def test_identical_panels_are_detected_on_a_facet_that_did_not_split():
    broken = _svg(_broken_chart(_table()))
    assert identical_panels(broken)
    assert len(chart_panels(broken)) == len(ARMS)


def test_a_chart_without_facets_has_no_panels():
    chart = alt.Chart(pl.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
    assert chart_panels(_svg(chart)) == [] and not identical_panels(_svg(chart))


needs_chromium = pytest.mark.skipif(
    importlib.util.find_spec("playwright") is None
    or __import__("eemo_rewards.report", fromlist=["find_chromium"]).find_chromium() is None,
    reason="no Chromium or Playwright; CI installs both",
)


@pytest.mark.slow
@needs_chromium
def test_the_report_check_fails_on_a_chart_whose_panels_are_identical(tmp_path):
    from eemo_rewards.report import StandaloneReport, inspect_report

    broken = StandaloneReport("Broken facet")
    broken.chart(_broken_chart(_table()))
    check = inspect_report(broken.save(tmp_path / "broken.html"), expect_charts=1)
    assert check.charts_drawn == 1 and check.identical_panel_charts == 1
    assert not check.ok and "identical panels" in check.summary()
    good = StandaloneReport("Headline")
    good.chart(headline_chart(_table()))
    check = inspect_report(good.save(tmp_path / "good.html"), expect_charts=1)
    assert check.ok and check.identical_panel_charts == 0, check.summary()


def test_the_notebook_shows_the_headline_table_whole():
    """The ablations notebook's study cell renders the whole headline table: marimo cuts a
    cell's output to a scroll box unless the cell expands its output."""
    import ast
    from pathlib import Path

    source = (Path(__file__).resolve().parents[1] / "notebooks" / "ablations.py").read_text()
    cells = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef) and "study['markdown']" in ast.unparse(node)
    ]
    assert cells, "no notebook cell shows the study's headline table"
    for cell in cells:
        flags = {
            kw.arg: ast.literal_eval(kw.value)
            for dec in cell.decorator_list
            if isinstance(dec, ast.Call)
            for kw in dec.keywords
        }
        assert flags.get("expand_output") is True, ast.unparse(cell.decorator_list[0])


def test_every_faceted_study_chart_is_drawn_as_svg():
    """The report check reads panels from SVG; a canvas hides them, so every faceted chart
    of the study asks vega-embed for SVG."""
    from eemo_rewards.analysis.charts import SVG
    from eemo_rewards.analysis.study import diagnosis_chart, reward_curves_chart

    results = pl.DataFrame({"setting": ["noisy"], "arm": ["grpo_binary"], "seed": [0],
                            "curve_reward": [[0.1, 0.2]]})  # fmt: skip
    diagnosis = pl.DataFrame({"setting": ["assessment"], "arm": ["grpo_intensity"], "step": [10],
                              "quantity": ["format rate"], "value": [0.9]})  # fmt: skip
    for chart in (headline_chart(_table()), headline_chart(_table(), against="stage1"),
                  reward_curves_chart(results), diagnosis_chart(diagnosis)):  # fmt: skip
        spec = chart.to_dict()
        assert "facet" in spec and spec.get("usermeta") == SVG
