"""Tables and charts of training runs: a stage's logged metrics over steps, and held-out
evaluations of several models or stages side by side.

The notebooks (``grpo.py``, ``eval.py``) and the run report draw with these, so a table or
chart means the same wherever it appears. Inputs are plain records: a run folder's
``metrics.parquet`` rows (:meth:`eemo_rewards.train.runs.RunFolder.read_metrics`) and the
evaluation rows of :func:`eemo_rewards.train.pipeline.evaluate_stages` or
``evaluate_folder``. Needs polars and altair (the ``[notebooks]`` extra).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

__all__ = [
    "GRPO_SERIES",
    "HEADLINE_METRICS",
    "change_table",
    "examples_frame",
    "grpo_charts",
    "grpo_series",
    "line_chart",
    "long_metrics",
    "metric_bars",
    "sft_loss",
    "sft_loss_chart",
]

#: The held-out metrics a reader looks at first, in this order.
HEADLINE_METRICS = (
    "reward_mean",
    "format_rate",
    "perception_acc",
    "emotion_acc",
    "emotion_f1",
    "ranking_score",
    "comparison_acc",
    "valence_srcc",
    "arousal_srcc",
    "dominance_srcc",
)

#: The GRPO curves: name → (logged columns, or a prefix/suffix pattern, and a title).
GRPO_SERIES: dict[str, tuple[tuple[str, ...], str]] = {
    "reward": (("reward", "rewards/*/mean"), "reward mean (total and per reward)"),
    "reward_std": (("reward_std", "rewards/*/std"), "reward std"),
    "zero_std": (("frac_reward_zero_std",), "groups with zero reward spread"),
    "completion_length": (
        ("completions/mean_length", "completions/clipped_ratio"),
        "completion length / clipped share",
    ),
    "kl": (("kl", "entropy"), "KL to reference (beta > 0) and entropy"),
    "learning_rate": (("learning_rate",), "learning rate"),
}

_EMPTY_LONG = {"step": pl.Int64, "series": pl.String, "value": pl.Float64}


def _columns(frame: pl.DataFrame, patterns: Iterable[str]) -> list[str]:
    out: list[str] = []
    for pattern in patterns:
        if "*" in pattern:
            head, tail = pattern.split("*", 1)
            out += [c for c in frame.columns if c.startswith(head) and c.endswith(tail)]
        elif pattern in frame.columns:
            out.append(pattern)
    return out


def _clean(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    # NaN cannot travel in a chart's JSON; a missing point is a gap either way
    return frame.with_columns(pl.col(column).cast(pl.Float64).fill_nan(None)).drop_nulls(column)


def sft_loss(records: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """``step``, ``loss`` of the logged SFT steps (empty frame when none were logged).

    Examples
    --------
    >>> sft_loss([{"step": 10, "loss": 2.0}, {"step": 20, "loss": float("nan")}]).rows()
    [(10, 2.0)]
    """
    frame = pl.DataFrame(list(records)) if records else pl.DataFrame()
    if "loss" not in frame.columns:
        return pl.DataFrame(schema={"step": pl.Int64, "loss": pl.Float64})
    return _clean(frame.select("step", "loss"), "loss")


def grpo_series(records: Sequence[Mapping[str, Any]]) -> dict[str, pl.DataFrame]:
    """One long frame (``step``, ``series``, ``value``) per curve of :data:`GRPO_SERIES`,
    from the logged GRPO steps; a curve whose columns were never logged is empty.

    Examples
    --------
    >>> logs = [{"step": 1, "reward": 0.5, "rewards/format_reward/mean": 1.0}]
    >>> grpo_series(logs)["reward"].rows()
    [(1, 'reward', 0.5), (1, 'rewards/format_reward/mean', 1.0)]
    >>> grpo_series(logs)["kl"].height
    0
    """
    frame = pl.DataFrame(list(records)) if records else pl.DataFrame()
    steps = frame.filter(pl.col("reward").is_not_null()) if "reward" in frame.columns else None
    out = {}
    for name, (patterns, _title) in GRPO_SERIES.items():
        present = _columns(steps, patterns) if steps is not None else []
        if not present:
            out[name] = pl.DataFrame(schema=_EMPTY_LONG)
            continue
        long = steps.select("step", *present).unpivot(index="step", variable_name="series")
        out[name] = _clean(long, "value")
    return out


def line_chart(frame: pl.DataFrame, title: str, *, y: str = "value", color: str | None = "series",
               width: int = 280, height: int = 180) -> Any:  # fmt: skip
    """A line chart over ``step`` (one line per ``color`` value)."""
    import altair as alt

    encoding = {"x": "step:Q", "y": f"{y}:Q"}
    if color is not None:
        encoding["color"] = f"{color}:N"
    return (
        alt.Chart(frame, title=title)
        .mark_line(point=True)
        .encode(**encoding)
        .properties(width=width, height=height)
    )


def sft_loss_chart(records: Sequence[Mapping[str, Any]]) -> tuple[Any, int]:
    """The SFT loss curve and its number of points."""
    frame = sft_loss(records)
    chart = line_chart(frame, "SFT loss", y="loss", color=None, width=600, height=200)
    return chart, frame.height


def grpo_charts(records: Sequence[Mapping[str, Any]]) -> dict[str, tuple[Any, int]]:
    """name → (chart, number of points) for every curve of :data:`GRPO_SERIES`."""
    series = grpo_series(records)
    return {
        name: (line_chart(series[name], title), series[name].height)
        for name, (_, title) in GRPO_SERIES.items()
    }


def long_metrics(rows: Sequence[Mapping[str, Any]], index: Sequence[str]) -> pl.DataFrame:
    """Evaluation rows (one per model or stage and decoding) as a long frame: the ``index``
    columns, ``metric`` and ``value``, for every numeric metric (``examples``, ``n`` and
    ``seconds`` left out).

    Examples
    --------
    >>> rows = [{"stage": "sft", "decoding": "greedy", "emotion_acc": 0.5, "examples": []}]
    >>> long_metrics(rows, ["stage", "decoding"]).rows()
    [('sft', 'greedy', 'emotion_acc', 0.5)]
    """
    frame = pl.DataFrame([{k: v for k, v in r.items() if k != "examples"} for r in rows])
    skip = {*index, "n", "seconds"}
    metrics = [c for c in frame.columns if c not in skip and frame[c].dtype.is_numeric()]
    long = frame.unpivot(index=list(index), on=metrics, variable_name="metric")
    return long.with_columns(pl.col("value").cast(pl.Float64).fill_nan(None))


def change_table(
    long: pl.DataFrame,
    *,
    on: str,
    index: Sequence[str],
    before: str | None = None,
    after: str | None = None,
    sort: Sequence[str] | None = None,
) -> pl.DataFrame:
    """One row per metric (and ``index`` key), one column per value of ``on``, and
    ``change`` = ``after`` − ``before`` when both are given; sorted by ``sort`` (default
    ``index``).

    Examples
    --------
    >>> long = pl.DataFrame({"stage": ["sft", "grpo"], "decoding": ["greedy"] * 2,
    ...                      "metric": ["emotion_acc"] * 2, "value": [0.5, 0.75]})
    >>> change_table(long, on="stage", index=["metric", "decoding"], before="sft",
    ...              after="grpo").row(0, named=True)["change"]
    0.25
    """
    table = long.pivot(on=on, index=list(index), values="value")
    if before is not None and after is not None and before != after:
        table = table.with_columns((pl.col(after) - pl.col(before)).alias("change"))
    return table.sort(*(sort or index))


def metric_bars(
    long: pl.DataFrame, *, x: str, row: str, metrics: Sequence[str] = HEADLINE_METRICS,
    width: int = 60, height: int = 120, labels: bool = True,
) -> Any:  # fmt: skip
    """Bars of the headline metrics: one small chart per metric (columns) and ``row``
    value (rows), one bar per ``x`` value."""
    import altair as alt

    frame = long.filter(pl.col("metric").is_in(list(metrics)))
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:N", title=None, axis=alt.Axis(labels=labels)),
            y=alt.Y("value:Q"),
            color=f"{x}:N",
            column=alt.Column("metric:N", title=None),
            row=alt.Row(f"{row}:N", title=None),
            tooltip=[c for c in frame.columns],
        )
        .properties(width=width, height=height)
    )


def examples_frame(
    rows: Sequence[Mapping[str, Any]], keys: Sequence[str], columns: Sequence[str]
) -> pl.DataFrame:
    """The example answers of evaluation rows, one row each, with the row's ``keys``.

    Examples
    --------
    >>> rows = [{"stage": "sft", "examples": [{"task": "emotion", "correct": True}]}]
    >>> examples_frame(rows, ["stage"], ["task", "correct"]).rows()
    [('sft', 'emotion', True)]
    """
    frame = pl.DataFrame([{k: r[k] for k in keys} | e for r in rows for e in r["examples"]])
    return frame.select(*keys, *[c for c in columns if c in frame.columns])
