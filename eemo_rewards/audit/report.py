"""The audit's report: markdown for a terminal or a pull request, and one self-contained
HTML page with charts (:class:`~eemo_rewards.report.standalone.StandaloneReport`: the
chart libraries inlined, opens offline from disk).

Both lead with the one-line summary and a verdict per check, then each check's findings,
chart, tables and worst examples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import altair as alt
import polars as pl

from eemo_rewards.report.standalone import StandaloneReport

if TYPE_CHECKING:
    from eemo_rewards.audit.core import AuditResult

__all__ = ["audit_charts", "to_html", "to_markdown"]

_MARK = {"pass": "✅ pass", "warn": "⚠️ warn", "fail": "❌ fail", "skip": "– skip"}
_VERDICT_COLOURS = alt.Scale(
    domain=["pass", "warn", "fail"], range=["#2da44e", "#bf8700", "#cf222e"]
)


def _markdown_table(frame: pl.DataFrame, digits: int = 3, limit: int = 200) -> str:
    if frame.is_empty():
        return "(none)"
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = []
    for row in frame.head(limit).iter_rows():
        cells = []
        for value in row:
            if isinstance(value, float):
                cells.append(f"{value:.{digits}f}")
            else:
                text = "" if value is None else str(value)
                cells.append(text.replace("|", "\\|").replace("\n", " ")[:160])
        rows.append("| " + " | ".join(cells) + " |")
    more = f"\n\n({frame.height - limit} more rows)" if frame.height > limit else ""
    return "\n".join([head, rule, *rows]) + more


def to_markdown(result: AuditResult) -> str:
    """The report as markdown."""
    lines = [
        f"# Reward audit: `{result.reward}`",
        "",
        f"**{result.summary()}**",
        "",
        f"Tasks: {', '.join(result.tasks)}; group size {result.group_size}; completions as "
        f"{result.shape}; {result.seconds:.1f} s.",
        "",
        "| check | verdict | headline |",
        "| --- | --- | --- |",
        *(f"| {name} | {_MARK[c.verdict]} | {c.headline} |" for name, c in result.checks.items()),
    ]
    for note in result.notes:
        lines += ["", f"Note: {note}"]
    for name, check in result.checks.items():
        lines += ["", f"## {name}: {check.verdict}", ""]
        lines += [f"- {f}" for f in check.findings] or ["- nothing to report"]
        for title, table in check.tables.items():
            lines += ["", f"### {title}", "", _markdown_table(table)]
        if check.worst is not None and not check.worst.is_empty():
            lines += ["", "### worst examples", "", _markdown_table(check.worst)]
    return "\n".join(lines) + "\n"


def audit_charts(result: AuditResult) -> dict[str, Any]:
    """One altair chart per check that has something to draw (data inline)."""
    charts: dict[str, Any] = {}
    gaming = result.checks.get("gaming")
    if gaming is not None and "hacks by class" in gaming.tables:
        data = gaming.tables["hacks by class"]
        charts["gaming"] = (
            alt.Chart(data)
            .mark_bar()
            .encode(
                x=alt.X(
                    "share_beating:Q",
                    title="share of hacks beating a wrong answer",
                    scale=alt.Scale(domain=[0, 1]),
                ),
                y=alt.Y("hack_class:N", title=None),
                row=alt.Row("task:N", title=None),
                color=alt.condition(
                    "datum.share_beating > 0", alt.value("#cf222e"), alt.value("#2da44e")
                ),
                tooltip=["task", "hack_class", "hacks", "beat_wrong", "largest_margin"],
            )
            .properties(width=360, title="Gaming: hacks that beat a well-formed wrong answer")
        )
    separation = result.checks.get("separation")
    if separation is not None and "separation" in separation.tables:
        data = separation.tables["separation"].filter(pl.col("auc_correct_vs_wrong").is_not_null())
        if data.height:
            bars = (
                alt.Chart(data)
                .mark_bar()
                .encode(
                    x=alt.X(
                        "auc_correct_vs_wrong:Q",
                        title="ROC AUC, correct vs wrong",
                        scale=alt.Scale(domain=[0, 1]),
                    ),
                    y=alt.Y("task:N", title=None),
                    color=alt.Color("source:N", title="answers"),
                    yOffset="source:N",
                    tooltip=[
                        "source",
                        "task",
                        "n",
                        "auc_correct_vs_wrong",
                        "auc_near_vs_wrong",
                        "srcc_quality",
                    ],
                )
            )
            from eemo_rewards.audit.checks import AUC_FAIL

            rule = (
                alt.Chart(pl.DataFrame({"x": [AUC_FAIL]}))
                .mark_rule(color="#cf222e")
                .encode(x="x:Q")
            )
            charts["separation"] = (bars + rule).properties(
                width=420, title="Separation: correct vs wrong answers (red: the fail line)"
            )
    signal = result.checks.get("signal")
    if signal is not None and "zero spread by accuracy" in signal.tables:
        data = signal.tables["zero spread by accuracy"]
        charts["signal"] = (
            alt.Chart(data)
            .mark_line(point=True)
            .encode(
                x=alt.X("p_correct:Q", title="policy accuracy"),
                y=alt.Y(
                    "zero_variance_share:Q",
                    title="groups with no reward spread",
                    scale=alt.Scale(domain=[0, 1]),
                ),
                color=alt.Color("task:N"),
                tooltip=["task", "p_correct", "group_size", "zero_variance_share"],
            )
            .properties(width=420, title=f"Signal: zero-spread groups of {result.group_size}")
        )
    totality = result.checks.get("totality")
    if totality is not None and "growth" in totality.tables:
        data = totality.tables["growth"].with_columns(pl.col("seconds").clip(lower_bound=1e-7))
        charts["totality"] = (
            alt.Chart(data)
            .mark_line(point=True)
            .encode(
                x=alt.X("characters:Q", scale=alt.Scale(type="log"), title="completion size"),
                y=alt.Y("seconds:Q", scale=alt.Scale(type="log"), title="seconds per completion"),
                color=alt.Color("input:N"),
                tooltip=["input", "characters", "seconds"],
            )
            .properties(width=420, title="Speed: time against completion size (log-log)")
        )
    return charts


def to_html(result: AuditResult) -> str:
    """The report as one self-contained HTML page."""
    page = StandaloneReport(f"Reward audit: {result.reward}")
    page.text(result.summary())
    page.table(
        [
            {"check": name, "verdict": c.verdict, "headline": c.headline}
            for name, c in result.checks.items()
        ]
    )
    page.text(
        f"Tasks: {', '.join(result.tasks)}; group size {result.group_size}; completions as "
        f"{result.shape}; {result.seconds:.1f} s." + "".join(f"\n\nNote: {n}" for n in result.notes)
    )
    charts = audit_charts(result)
    for name, check in result.checks.items():
        page.heading(f"{name}: {check.verdict}")
        page.text("\n\n".join(check.findings) or "Nothing to report.")
        if name in charts:
            page.chart(charts[name])
        for title, table in check.tables.items():
            page.table(table, caption=title, max_rows=60)
        if check.worst is not None and not check.worst.is_empty():
            page.table(check.worst, caption="worst examples", max_rows=20)
    return page.to_html()


#: What each monitored value means, for the monitor's chart.
_SIGNAL_VALUES = {
    "reward": "mean reward",
    "format_mean": "format terms (share of range)",
    "task_mean": "task terms (mean)",
    "top_auxiliary_share": "variance share of the top auxiliary term",
    "noncommittal_share": "answers committing to nothing",
    "answer_collapse": "top answer's share above the top truth's",
}


def signals_chart(signals: Any) -> Any:
    """The hacking monitor's values per step (one line each) with a red rule and label at
    every flag: what :class:`~eemo_rewards.audit.monitor.HackingMonitor` saw, beside the
    training curves.

    Examples
    --------
    >>> from eemo_rewards.audit.signals import HackingSignals
    >>> signals = HackingSignals(warn=False)
    >>> for step in range(3):
    ...     _ = signals.observe(step, metrics={"reward": 1.0, "rewards/format_reward/mean": 1.0})
    >>> signals_chart(signals).to_dict()["layer"][0]["mark"]["type"]
    'line'
    """
    rows = [
        {"step": row["step"], "value": _SIGNAL_VALUES[key], "y": float(row[key])}
        for row in signals.history
        for key in _SIGNAL_VALUES
        if isinstance(row.get(key), int | float) and row.get(key) == row.get(key)
    ]
    frame = pl.DataFrame(rows, schema={"step": pl.Int64, "value": pl.String, "y": pl.Float64})
    lines = (
        alt.Chart(frame)
        .mark_line(point=False)
        .encode(
            x=alt.X("step:Q", title="GRPO step"),
            y=alt.Y("y:Q", title=None),
            color=alt.Color("value:N", title="monitored"),
            tooltip=["step", "value", alt.Tooltip("y:Q", format=".3f")],
        )
    )
    flags = pl.DataFrame(
        [{"step": f.step, "signal": f.signal, "message": f.message} for f in signals.flags],
        schema={"step": pl.Int64, "signal": pl.String, "message": pl.String},
    )
    rules = (
        alt.Chart(flags)
        .mark_rule(color="#cf222e", strokeDash=[4, 3])
        .encode(x="step:Q", tooltip=["signal", "message"])
    )
    labels = (
        alt.Chart(flags)
        .mark_text(color="#cf222e", align="left", dx=3, dy=-4, y=0)
        .encode(x="step:Q", text="signal:N")
    )
    return alt.layer(lines, rules, labels).properties(
        width="container", height=220, title="Reward-hacking monitor (red: flagged)"
    )
