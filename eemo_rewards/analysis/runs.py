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

from eemo_rewards.data.frames import rows_frame

__all__ = [
    "GRPO_SERIES",
    "HEADLINE_METRICS",
    "SHORT_NAMES",
    "STAGE_COLORS",
    "change_table",
    "comparison_table",
    "examples_frame",
    "grpo_charts",
    "grpo_series",
    "line_chart",
    "long_metrics",
    "metric_bars",
    "metric_order",
    "results_card",
    "round_frame",
    "series_color",
    "sft_loss",
    "sft_loss_chart",
    "short_name",
    "smooth",
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
        "completion length (tokens, left) and clipped share (right)",
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
    frame = rows_frame(records)
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
    frame = rows_frame(records)
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


#: Short legend names of the logged GRPO columns (``rewards/<name>/mean`` → ``<name>``).
SHORT_NAMES = {
    "reward": "total",
    "reward_std": "total",
    "frac_reward_zero_std": "zero-std share",
    "completions/mean_length": "mean length (tokens)",
    "completions/clipped_ratio": "clipped share",
    "kl": "KL",
    "entropy": "entropy",
    "learning_rate": "learning rate",
    "loss": "loss",
}

# 20 distinct colours (Tableau 20, as Vega names it): the known series take the first ones in
# this fixed order, so a name has the same colour in every chart and every run
_PALETTE = (
    "#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6",
    "#9d755d", "#bab0ac", "#9ecae9", "#ffbf79", "#88d27a", "#ff9d98", "#83bcb6", "#f2cf5b",
    "#d6a5c9", "#fcbfd2", "#d8b5a5", "#79706e",
)  # fmt: skip
_KNOWN_SERIES = (
    "total", "format", "accuracy", "intensity", "ranking", "comparison", "description",
    "zero-std share", "mean length (tokens)", "clipped share", "KL", "entropy",
    "learning rate", "loss",
)  # fmt: skip
#: The stages of a run in reading order, with their colours.
STAGE_COLORS = {"sft": "#bab0ac", "grpo": "#4c78a8"}


def short_name(column: str) -> str:
    """The legend name of a logged column.

    Examples
    --------
    >>> short_name("rewards/accuracy_reward/mean"), short_name("reward"), short_name("xyz")
    ('accuracy', 'total', 'xyz')
    """
    if column in SHORT_NAMES:
        return SHORT_NAMES[column]
    if column.startswith("rewards/"):
        name = column.split("/")[1]
        return name.removesuffix("_reward")
    return column


def series_color(name: str) -> str:
    """The one colour of a series name, the same in every chart (unknown names get a stable
    colour of the rest of the palette)."""
    if name in _KNOWN_SERIES:
        return _PALETTE[_KNOWN_SERIES.index(name) % len(_PALETTE)]
    import zlib

    spare = _PALETTE[len(_KNOWN_SERIES) :] or _PALETTE
    return spare[zlib.crc32(name.encode()) % len(spare)]


def _color(names: Sequence[str]) -> Any:
    import altair as alt

    names = list(dict.fromkeys(names))
    return alt.Color(
        "series:N",
        title=None,
        scale=alt.Scale(domain=names, range=[series_color(n) for n in names]),
        legend=alt.Legend(orient="bottom", columns=3, symbolType="stroke", symbolStrokeWidth=3),
    )


def smooth(frame: pl.DataFrame, window: int, *, by: str = "series", y: str = "value"):
    """``frame`` with ``smoothed``: the rolling mean of ``y`` over ``window`` logged steps
    within each ``by`` group (``window`` 1 copies the raw values)."""
    if window < 1:
        raise ValueError(f"smoothing window {window}; use 1 (no smoothing) or more steps")
    frame = frame.sort(*([by] if by in frame.columns else []), "step")
    mean = pl.col(y).rolling_mean(window, min_samples=1)
    return frame.with_columns((mean.over(by) if by in frame.columns else mean).alias("smoothed"))


def line_chart(frame: pl.DataFrame, title: str, *, y: str = "value", color: str | None = "series",
               width: Any = "container", height: int = 180, window: int = 1,
               y_title: str | None = None) -> Any:  # fmt: skip
    """A line chart over ``step``: one line per ``color`` value (its own legend, short names,
    the colours of :func:`series_color`), the rolling mean over ``window`` logged steps drawn
    over faint raw points when ``window`` > 1."""
    import altair as alt

    frame = smooth(frame, window, by=color or "", y=y)
    encoding: dict[str, Any] = {"x": alt.X("step:Q", title="step", scale=alt.Scale(zero=False))}
    if color is not None:
        encoding["color"] = _color(frame[color].unique(maintain_order=True).to_list())
    base = alt.Chart(frame, title=title).encode(**encoding)
    line = base.mark_line(point=window == 1).encode(
        y=alt.Y("smoothed:Q", title=y_title or (y if color is None else None)),
        tooltip=["step", alt.Tooltip(f"{y}:Q", format=".3f"), *([color] if color else [])],
    )
    layers = [line]
    if window > 1:
        layers.insert(0, base.mark_circle(opacity=0.25, size=14).encode(y=f"{y}:Q"))
    return alt.layer(*layers).properties(width=width, height=height)


def sft_loss_chart(records: Sequence[Mapping[str, Any]], *, window: int = 1) -> tuple[Any, int]:
    """The SFT loss curve and its number of points."""
    frame = sft_loss(records)
    chart = line_chart(frame, "SFT loss", y="loss", color=None, window=window)
    return chart, frame.height


def _dual_axis(frame: pl.DataFrame, title: str, window: int) -> Any:
    """Completion length (tokens, left axis) and clipped share (0-1, right axis)."""
    charts = []
    for series in ("mean length (tokens)", "clipped share"):
        part = frame.filter(pl.col("series") == series)
        if not part.is_empty():
            # independent y scales of a layer: the second axis goes on the right
            charts.append(line_chart(part, title, window=window, y_title=series))
    if len(charts) < 2:
        return charts[0] if charts else line_chart(frame, title, window=window)
    import altair as alt

    return alt.layer(*charts).resolve_scale(y="independent")


def grpo_charts(
    records: Sequence[Mapping[str, Any]], *, window: int = 1
) -> dict[str, tuple[Any, int]]:
    """name → (chart, number of points) for every curve of :data:`GRPO_SERIES`: short
    legend names, one colour per series name everywhere, smoothed over ``window`` logged
    steps; completion length and clipped share on separate axes; the KL chart says when KL
    was not logged (beta = 0)."""
    series = grpo_series(records)
    out = {}
    for name, (_, title) in GRPO_SERIES.items():
        frame = series[name].with_columns(
            pl.col("series").map_elements(short_name, return_dtype=pl.String)
        )
        if name == "kl" and "KL" not in frame["series"].to_list():
            title = "entropy (KL is not logged when beta = 0)"
        chart = (
            _dual_axis(frame, title, window)
            if name == "completion_length"
            else line_chart(frame, title, window=window)
        )
        out[name] = (chart, frame.height)
    return out


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
    frame = rows_frame({k: v for k, v in r.items() if k not in ("examples", "items")} for r in rows)
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
    # sft before grpo, each stage in its own colour; other values (model names) after them
    values = frame[x].unique(maintain_order=True).to_list()
    order = [v for v in STAGE_COLORS if v in values] + [v for v in values if v not in STAGE_COLORS]
    scale = (
        alt.Scale(domain=order, range=[STAGE_COLORS[v] for v in order])
        if all(v in STAGE_COLORS for v in order)
        else alt.Scale(domain=order)
    )
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:N", title=None, axis=alt.Axis(labels=labels), sort=order),
            y=alt.Y("value:Q", title=None),
            color=alt.Color(f"{x}:N", title=None, sort=order, scale=scale),
            column=alt.Column("metric:N", title=None, sort=[m for m in metrics]),
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
    frame = rows_frame({k: r[k] for k in keys} | e for r in rows for e in r["examples"])
    return frame.select(*keys, *[c for c in columns if c in frame.columns])


def metric_order(names: Iterable[str]) -> list[str]:
    """``names`` with the :data:`HEADLINE_METRICS` first (in that order), then the rest
    alphabetically.

    Examples
    --------
    >>> metric_order(["b_acc", "emotion_acc", "a_acc", "reward_mean"])
    ['reward_mean', 'emotion_acc', 'a_acc', 'b_acc']
    """
    names = list(dict.fromkeys(names))
    head = [m for m in HEADLINE_METRICS if m in names]
    return head + sorted(n for n in names if n not in head)


def round_frame(frame: pl.DataFrame, digits: int = 3) -> pl.DataFrame:
    """Every float column rounded to ``digits`` (3: what a table shows)."""
    return frame.with_columns(pl.col(pl.Float32, pl.Float64).round(digits))


def comparison_table(
    long: pl.DataFrame, *, before: str = "sft", after: str = "grpo", on: str = "stage",
    index: Sequence[str] = ("metric", "decoding"), digits: int = 3,
) -> pl.DataFrame:  # fmt: skip
    """:func:`change_table` for a reader: main metrics first (:func:`metric_order`), then by
    the other ``index`` keys; columns ``index`` → ``before`` → ``after`` → ``change``;
    rounded to ``digits``."""
    table = change_table(long, on=on, index=list(index), before=before, after=after)
    order = {m: i for i, m in enumerate(metric_order(table["metric"].to_list()))}
    table = table.with_columns(pl.col("metric").replace_strict(order).alias("_order"))
    table = table.sort("_order", *[k for k in index if k != "metric"]).drop("_order")
    columns = list(
        dict.fromkeys([*index, before, after, *(["change"] if "change" in table.columns else [])])
    )
    rest = [c for c in table.columns if c not in columns]
    return round_frame(table.select(*columns, *rest), digits)


def _correlation_rows(
    evaluation: Sequence[Mapping[str, Any]], metrics: Sequence[str], *, decoding: str,
    seed: int, before: str = "sft", after: str = "grpo",
) -> list[dict[str, Any]]:  # fmt: skip
    """Card rows for correlation metrics (``<dim>_srcc``, ``<dim>_plcc``), paired by item."""
    from eemo_rewards.analysis.power import metric_kind, paired_difference, paired_values
    from eemo_rewards.analysis.stats import least_coverage, stage_coverage

    by_stage = {r["stage"]: r for r in evaluation if r.get("decoding") == decoding}
    if before not in by_stage or after not in by_stage:
        return []
    first, second = by_stage[before].get("items") or [], by_stage[after].get("items") or []
    if len(first) != len(second):
        return []
    rows = []
    for metric in metrics:
        b, a = paired_values(first, second, metric)
        if len(b) < 3:
            continue
        cover = stage_coverage(by_stage[before], by_stage[after], metric, before, after)
        out = paired_difference(
            [b], [a], kind=metric_kind(metric), seed=seed, coverage=least_coverage(cover.values())
        )
        rows.append({"metric": metric, "items": out["items"], before: out["before"],
                     after: out["after"], "change": out["change"], "low": out["low"],
                     "high": out["high"], **cover, "verdict": out["verdict"],
                     "regression": out["verdict"] == "hurts"})  # fmt: skip
    return rows


def results_card(
    evaluation: Sequence[Mapping[str, Any]], *, decoding: str = "greedy", seed: int = 0
) -> dict[str, Any]:
    """The headline of a run: GRPO against its SFT checkpoint on the held-out items.

    Returns ``table`` (one row per mean metric that both stages scored per item, main
    metrics first, rounded to 3 decimals: ``metric``, ``items``, ``sft``, ``grpo``,
    ``change``, ``low``, ``high`` of the 95% interval, ``verdict``), ``text`` (a markdown
    summary naming the regressions), ``regressions`` (metric names) and ``covers`` (what the
    interval covers). The V/A/D correlations (SRCC, PLCC) get the same paired interval,
    recomputed on every resample of items (:mod:`eemo_rewards.analysis.power`); macro-F1
    stays in the full table.
    """
    from eemo_rewards.analysis.power import (
        NO_ANSWERS,
        UNDEFINED,
        VERDICTS,
        metric_kind,
        metric_names,
    )
    from eemo_rewards.analysis.stats import INTERVAL_COVERS, results_card_rows

    # an assessment item's (truth, prediction) pair feeds its dimension's correlations
    names = metric_names([item for row in evaluation for item in row.get("items") or ()])
    means = [n for n in names if metric_kind(n) == "mean"]
    correlations = [n for n in names if metric_kind(n) != "mean"]
    rows = results_card_rows(evaluation, metrics=metric_order(means), decoding=decoding, seed=seed)
    rows[1:1] = _correlation_rows(evaluation, correlations, decoding=decoding, seed=seed)
    if not rows:
        return {
            "table": pl.DataFrame(),
            "text": "No per-item evaluation to compare (an older run folder, or no held-out "
            "rows): see the full table below.",
            "regressions": [],
            "covers": INTERVAL_COVERS,
        }
    table = round_frame(pl.DataFrame(rows, infer_schema_length=None).drop("regression"))
    regressions = [r["metric"] for r in rows if r["regression"]]
    by_verdict = {v: [r["metric"] for r in rows if r["verdict"] == v] for v in VERDICTS}
    items = max(r["items"] for r in rows)
    fewest = min(r["items"] for r in rows)
    lead = ""
    if by_verdict[NO_ANSWERS] or by_verdict[UNDEFINED]:
        # a metric nobody answered is no evidence either way: it leads, before any verdict
        parts = [
            f"**{what} on {len(by_verdict[v])}** ({', '.join(by_verdict[v])})"
            for v, what in ((NO_ANSWERS, "no answers"), (UNDEFINED, "undefined"))
            if by_verdict[v]
        ]
        lead = (
            "; ".join(parts) + ": a stage gave no readable answer (coverage 0) or a constant "
            "one, so these metrics get no verdict. "
        )
    judged = len(rows) - len(by_verdict[NO_ANSWERS]) - len(by_verdict[UNDEFINED])
    text = (
        lead + f"**GRPO against its SFT checkpoint** on up to {items} held-out items ({decoding} "
        f"decoding; {fewest}–{items} items per metric, see `items`; answered share per "
        f"stage in `coverage_*`), {judged} of {len(rows)} metrics judged: "
        f"helps on {len(by_verdict['helps'])}"
        + (f" ({', '.join(by_verdict['helps'])})" if by_verdict["helps"] else "")
        + f", hurts on {len(regressions)}"
        + (f" (**regressions: {', '.join(regressions)}**)" if regressions else "")
        + f", within noise on {len(by_verdict['within noise'])}."
    )
    return {"table": table, "text": text, "regressions": regressions, "covers": INTERVAL_COVERS}
