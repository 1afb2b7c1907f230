"""altair charts of the reward comparison tables (data inline, so reports work offline).

Each function takes a table from :mod:`eemo_rewards.analysis.compare` and returns an altair
chart; the charts that compare designs carry a point selection on the design
(``param name="design_pick"``), which marimo's ``mo.ui.altair_chart`` turns into a
selection the notebook can read back.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import polars as pl

__all__ = [
    "NOT_APPLICABLE",
    "SVG",
    "auc_heatmap",
    "class_counts_chart",
    "hackability_chart",
    "kernel_chart",
    "kind_means_chart",
    "picked_designs",
    "training_chart",
    "vad_histograms",
    "zero_variance_chart",
]

#: ``usermeta`` that makes vega-embed (marimo's charts, the standalone report) draw a chart
#: as SVG rather than canvas: every faceted chart carries it, so that a browser check can
#: read what each panel shows (:mod:`eemo_rewards.report.panels`)
SVG = {"embedOptions": {"renderer": "svg"}}

_TASK_ORDER = ["emotion", "multiple_choice", "yes_no", "ranking", "assessment", "comparison"]


def _design_pick() -> alt.Parameter:
    return alt.selection_point(fields=["design"], name="design_pick")


#: Colour of a heat-map cell with no value (the design does not score that task): grey and
#: labelled, never the colour of 0.
NOT_APPLICABLE = "#d9d9d9"


def picked_designs(selections: Any) -> list[str]:
    """The designs picked in a chart's ``design_pick`` selection (``mo.ui.altair_chart``'s
    ``selections``), sorted; ``[]`` when nothing is picked.

    Examples
    --------
    >>> picked_designs({"design_pick": {"design": ["b", "a"], "vlPoint": {}}})
    ['a', 'b']
    >>> picked_designs({})
    []
    """
    chosen = (selections or {}).get("design_pick") or {}
    return sorted({str(d) for d in chosen.get("design", []) or []})


def _heat_map(data: pl.DataFrame, value: str, *, scheme: str, legend: str, tooltip: list,
              title: str) -> alt.LayerChart:  # fmt: skip
    """Design × task cells coloured by ``value`` (0 is a light tint of ``scheme``, not white);
    every design × task pair without a value is a grey cell marked ``n/a``."""
    designs = data["design"].unique(maintain_order=True)
    tasks = data["task"].unique(maintain_order=True)
    grid = pl.DataFrame({"design": designs}).join(pl.DataFrame({"task": tasks}), how="cross")
    scored = data.drop_nulls(value)
    missing = grid.join(scored.select("design", "task"), on=["design", "task"], how="anti")
    pick = _design_pick()
    axes = {
        "x": alt.X("task:N", sort=_TASK_ORDER, title=None),
        "y": alt.Y("design:N", title=None, sort=designs.to_list()),
    }
    cells = (
        alt.Chart(scored)
        .mark_rect()
        .encode(
            **axes,
            color=alt.Color(
                f"{value}:Q",
                title=legend,
                scale=alt.Scale(domain=[0, 1], scheme={"name": scheme, "extent": [0.12, 1]}),
            ),
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.3)),
            tooltip=tooltip,
        )
        .add_params(pick)
    )
    blank = alt.Chart(missing).encode(**axes)
    layers = [cells]
    if missing.height:
        layers += [
            blank.mark_rect(color=NOT_APPLICABLE),
            blank.mark_text(text="n/a", color="#555", fontSize=10),
        ]
    return alt.layer(*layers).properties(title=title, width=360)


def auc_heatmap(separation_table: pl.DataFrame, *, metric: str = "auc_correct_vs_wrong"):
    """Design × task heat map of a separation metric on the perturbation pool; a task a
    design does not score is a grey ``n/a`` cell (not the colour of 0).

    Examples
    --------
    >>> table = pl.DataFrame({"design": ["a", "b"], "task": ["emotion", "ranking"],
    ...                       "source": ["perturbation"] * 2,
    ...                       "auc_correct_vs_wrong": [0.9, 0.0]})
    >>> [layer["mark"] for layer in auc_heatmap(table).to_dict()["layer"]][0]["type"]
    'rect'
    >>> len(auc_heatmap(table).to_dict()["layer"])  # values, then the n/a cells and labels
    3
    """
    if metric not in separation_table.columns:
        raise ValueError(f"no column {metric!r}; use one of {separation_table.columns}")
    data = separation_table.filter(pl.col("source") == "perturbation")
    return _heat_map(
        data, metric, scheme="blues", legend=metric.replace("_", " "),
        tooltip=["design", "task", alt.Tooltip(f"{metric}:Q", format=".3f")],
        title=metric.replace("_", " "),
    )  # fmt: skip


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
        .properties(usermeta=SVG)
    )


def hackability_chart(hackability_table: pl.DataFrame):
    """Design × task heat map of the mean normalised score of hacked completions (grey
    ``n/a`` where a design does not score the task)."""
    return _heat_map(
        hackability_table, "hacked_mean", scheme="reds", legend="hacked score (0–1)",
        tooltip=["design", "task", "worst_variant", alt.Tooltip("hacked_mean:Q", format=".2f"),
                 alt.Tooltip("hack_rate:Q", format=".2f")],
        title="what hacked completions earn",
    )  # fmt: skip


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
    return facets.resolve_scale(x="independent", y="independent").properties(usermeta=SVG)


def class_counts_chart(counts: pl.DataFrame) -> alt.FacetChart:
    """Samples per class: one panel per task, each as tall as its classes need (14 px a bar)
    with its own class axis, so ~35 emotion labels do not crowd into a fixed 80 px.

    ``counts`` has ``task``, ``class`` and ``len`` (``frame.group_by("task", "class").len()``).

    Examples
    --------
    >>> counts = pl.DataFrame({"task": ["emotion", "yes_no"], "class": ["joy", "yes"],
    ...                        "len": [3, 2]})
    >>> spec = class_counts_chart(counts).to_dict()
    >>> spec["resolve"]["scale"]["y"], spec["spec"]["height"]["step"]
    ('independent', 14)
    """
    missing = {"task", "class", "len"} - set(counts.columns)
    if missing:
        raise ValueError(f"class counts need columns task, class, len; missing {sorted(missing)}")
    return (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("len:Q", title="samples"),
            y=alt.Y("class:N", sort="-x", title=None, axis=alt.Axis(labelLimit=160)),
            tooltip=["task", "class", "len"],
        )
        .properties(width=380, height=alt.Step(14))
        .facet(row=alt.Row("task:N", title=None, header=alt.Header(labelAngle=0,
                                                                    labelAlign="left")))
        .resolve_scale(y="independent")
        .properties(title="Samples per class", usermeta=SVG)
    )  # fmt: skip


def vad_histograms(records: pl.DataFrame) -> alt.HConcatChart:
    """Histograms of valence, arousal and dominance side by side, each with its own axis
    of few, short labels (they overlapped on one shared facet axis).

    Examples
    --------
    >>> vad = pl.DataFrame({"valence": [0.1, 0.9], "arousal": [0.5, 0.5],
    ...                     "dominance": [None, 0.3]})
    >>> len(vad_histograms(vad).to_dict()["hconcat"])
    3
    """
    panels = []
    for dim in ("valence", "arousal", "dominance"):
        if dim not in records.columns:
            raise ValueError(f"no {dim} column; the records need valence, arousal, dominance")
        values = records.select(pl.col(dim).cast(pl.Float64)).drop_nulls()
        panels.append(
            alt.Chart(values, title=dim)
            .mark_bar()
            .encode(
                x=alt.X(f"{dim}:Q", bin=alt.Bin(maxbins=20), title=None,
                        axis=alt.Axis(tickCount=5, format="~g", labelOverlap=True)),
                y=alt.Y("count():Q", title="records" if not panels else None),
            )
            .properties(width=200, height=140)
        )  # fmt: skip
    return alt.hconcat(*panels).properties(title="V/A/D of the records (source scale)")
