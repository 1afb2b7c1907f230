"""altair charts of the reward comparison tables (data inline, so reports work offline).

Each function takes a table from :mod:`eemo_rewards.analysis.compare` and returns an altair
chart; the charts that compare designs carry a point selection on the design
(``param name="design_pick"``), which marimo's ``mo.ui.altair_chart`` turns into a
selection the notebook can read back.
"""

from __future__ import annotations

import altair as alt
import polars as pl

__all__ = [
    "auc_heatmap",
    "hackability_chart",
    "kernel_chart",
    "kind_means_chart",
    "training_chart",
    "zero_variance_chart",
]

_TASK_ORDER = ["emotion", "multiple_choice", "yes_no", "ranking", "assessment", "comparison"]


def _design_pick() -> alt.Parameter:
    return alt.selection_point(fields=["design"], name="design_pick")


def auc_heatmap(separation_table: pl.DataFrame, *, metric: str = "auc_correct_vs_wrong"):
    """Design × task heat map of a separation metric on the perturbation pool.

    Examples
    --------
    >>> table = pl.DataFrame({"design": ["a"], "task": ["emotion"], "source": ["perturbation"],
    ...                       "auc_correct_vs_wrong": [0.9]})
    >>> auc_heatmap(table).to_dict()["mark"]["type"]
    'rect'
    """
    if metric not in separation_table.columns:
        raise ValueError(f"no column {metric!r}; use one of {separation_table.columns}")
    data = separation_table.filter(pl.col("source") == "perturbation").drop_nulls(metric)
    pick = _design_pick()
    base = alt.Chart(data).encode(
        x=alt.X("task:N", sort=_TASK_ORDER, title=None),
        y=alt.Y("design:N", title=None),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(f"{metric}:Q", scale=alt.Scale(domain=[0, 1], scheme="blues")),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.3)),
        tooltip=["design", "task", alt.Tooltip(f"{metric}:Q", format=".3f")],
    )
    return cells.add_params(pick).properties(title=metric.replace("_", " "), width=360)


def zero_variance_chart(zero_variance_table: pl.DataFrame, *, group_size: int = 8):
    """Zero-variance share against policy accuracy, one line per design, a panel per task."""
    data = zero_variance_table.filter(pl.col("group_size") == group_size)
    if data.is_empty():
        raise ValueError(f"no rows for group size {group_size}; compute zero_variance with it")
    pick = _design_pick()
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("p_correct:Q", title="policy accuracy p"),
            y=alt.Y("zero_variance_share:Q", title=f"groups of {group_size} with no signal"),
            color=alt.Color("design:N", scale=alt.Scale(scheme="category20")),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.15)),
            tooltip=[
                "design",
                "task",
                "p_correct",
                alt.Tooltip("zero_variance_share:Q", format=".3f"),
            ],
        )
        .add_params(pick)
        .properties(width=180, height=150)
        .facet(facet=alt.Facet("task:N", sort=_TASK_ORDER), columns=3)
    )


def hackability_chart(hackability_table: pl.DataFrame):
    """Design × task heat map of the mean normalised score of hacked completions."""
    pick = _design_pick()
    return (
        alt.Chart(hackability_table)
        .mark_rect()
        .encode(
            x=alt.X("task:N", sort=_TASK_ORDER, title=None),
            y=alt.Y("design:N", title=None),
            color=alt.Color(
                "hacked_mean:Q",
                title="hacked score (0–1)",
                scale=alt.Scale(domain=[0, 1], scheme="reds"),
            ),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.3)),
            tooltip=[
                "design",
                "task",
                "worst_variant",
                alt.Tooltip("hacked_mean:Q", format=".2f"),
                alt.Tooltip("hack_rate:Q", format=".2f"),
            ],
        )
        .add_params(pick)
        .properties(title="what hacked completions earn", width=360)
    )


def kind_means_chart(kind_table: pl.DataFrame, *, task: str):
    """Mean normalised score per kind of completion, one row per design, for one task."""
    from eemo_rewards.analysis.pool import KINDS

    data = kind_table.filter((pl.col("task") == task) & (pl.col("source") == "perturbation"))
    if data.is_empty():
        raise ValueError(
            f"no scores for task {task!r}; tasks: {kind_table['task'].unique().to_list()}"
        )
    return (
        alt.Chart(data)
        .mark_circle(size=90)
        .encode(
            x=alt.X("mean_score01:Q", title="mean score (0–1)", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("design:N", title=None),
            color=alt.Color("kind:N", sort=list(KINDS)),
            tooltip=["design", "kind", alt.Tooltip("mean_score01:Q", format=".3f"), "n"],
        )
        .properties(title=f"{task}: score by kind of completion", width=360)
    )


def kernel_chart(curves: pl.DataFrame):
    """Intensity reward against the answered value (true value marked by the peak)."""
    pick = _design_pick()
    return (
        alt.Chart(curves)
        .mark_line()
        .encode(
            x=alt.X("predicted:Q", title="answered value"),
            y=alt.Y("score:Q", title="reward"),
            color=alt.Color("design:N", scale=alt.Scale(scheme="category20")),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.2)),
            tooltip=["design", "predicted", alt.Tooltip("score:Q", format=".3f")],
        )
        .add_params(pick)
        .properties(width=360, height=220)
    )


def training_chart(results: pl.DataFrame, *, metric: str = "headline"):
    """A metric per arm across seeds, one panel per setting: the seeds as points, a min–max
    rule and a tick at the mean (``headline``: each setting's own task metric, see
    :func:`eemo_rewards.analysis.training.with_headline`)."""
    if metric not in results.columns:
        raise ValueError(f"no column {metric!r} in the training results; have {results.columns}")
    data = results.drop_nulls(metric)
    if data.is_empty():
        raise ValueError(f"every {metric!r} value is missing; nothing to draw")
    pick = alt.selection_point(fields=["arm"], name="arm_pick")
    title = "held-out task metric" if metric == "headline" else metric
    base = alt.Chart().encode(y=alt.Y("arm:N", title=None))
    spread = base.mark_rule().encode(
        x=alt.X(f"min({metric}):Q", title=title), x2=f"max({metric}):Q"
    )
    mean = base.mark_tick(thickness=3, size=16).encode(x=f"mean({metric}):Q")
    seeds = base.mark_circle(size=50).encode(
        x=f"{metric}:Q",
        color=alt.Color("arm:N", legend=None),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.3)),
        tooltip=["setting", "arm", "seed", alt.Tooltip(f"{metric}:Q", format=".3f")],
    )
    layers = alt.layer(spread, mean, seeds.add_params(pick), data=data).properties(width=320)
    facets = layers.facet(row=alt.Row("setting:N", title=None))
    return facets.resolve_scale(x="independent", y="independent")
