"""The reward-design study's tables and figures, from its saved arm results
(:func:`eemo_rewards.train.study.run_cells`): every GRPO arm against its SFT checkpoint
(``stage1``) and against the compute-matched SFT control, per reported metric, with a 95%
interval paired by seed and item (:mod:`eemo_rewards.analysis.power`) and a verdict.

:func:`write_outputs` writes the committed files (``scripts/run_study.py``);
:func:`headline_table`, :func:`load_study` and the chart functions serve the notebooks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import polars as pl

from eemo_rewards.analysis.power import (
    CORRELATIONS,
    NO_VERDICT,
    POWER_COVERS,
    VERDICTS,
    item_values,
    metric_coverage,
    metric_interval,
    metric_kind,
    metric_value,
    paired_difference,
    paired_values,
)
from eemo_rewards.data.frames import rows_frame

__all__ = [
    "METRICS",
    "POWER_COVERS",
    "arm_metrics",
    "diagnosis_chart",
    "diagnosis_frame",
    "headline_chart",
    "headline_markdown",
    "headline_table",
    "load_study",
    "reward_curves_chart",
    "write_outputs",
]

#: The held-out metrics each task reports (greedy decoding), headline metric first.
METRICS: dict[str, tuple[str, ...]] = {
    "emotion": ("emotion_acc", "format_rate", "consistency"),
    "assessment": ("valence_srcc", "arousal_srcc", "dominance_srcc", "format_rate",
                   "consistency"),
    "ranking": ("ranking_score", "format_rate", "consistency"),
}  # fmt: skip
#: Extra metrics of one setting.
SETTING_METRICS: dict[str, tuple[str, ...]] = {"ambiguous": ("reward/vote_share",)}


def _metrics_of(setting: str, task: str) -> list[str]:
    names = list(METRICS.get(task, ()))
    return names[:1] + list(SETTING_METRICS.get(setting, ())) + names[1:]


def _by_seed(
    done: Sequence[Mapping[str, Any]],
) -> dict[tuple[str, str], dict[int, Sequence[Mapping]]]:
    out: dict[tuple[str, str], dict[int, Sequence[Mapping]]] = {}
    for d in done:
        row = d["row"]
        out.setdefault((row["setting"], row["arm"]), {})[int(row["seed"])] = d["items"]
    return out


def _rows_by_seed(done: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], dict[int, Mapping]]:
    out: dict[tuple[str, str], dict[int, Mapping]] = {}
    for d in done:
        row = d["row"]
        out.setdefault((row["setting"], row["arm"]), {})[int(row["seed"])] = row
    return out


def _coverage(
    items_by_seed: Mapping[int, Sequence[Mapping]],
    rows_by_seed: Mapping[int, Mapping],
    seeds: Sequence[int],
    metric: str,
) -> float | None:
    """An arm's share of ``metric``'s items answered readably, pooled over ``seeds``: from
    the items' flags (:func:`~eemo_rewards.analysis.power.metric_coverage`) or, for a V/A/D
    correlation of results saved before items carried them, the row's
    ``eval_<dim>_coverage``; ``None`` when neither says."""
    values = []
    dim, _, suffix = metric.rpartition("_")
    for s in seeds:
        value = metric_coverage(items_by_seed[s], metric)
        row = rows_by_seed.get(s, {})
        if value is None and suffix in CORRELATIONS and f"eval_{dim}_coverage" in row:
            value = float(row[f"eval_{dim}_coverage"])
        if value is None:
            return None
        values.append(value)
    return sum(values) / len(values) if values else None


def _groups(items_by_seed: Mapping[int, Sequence[Mapping]], seeds: Sequence[int], metric: str):
    return [item_values(items_by_seed[s], metric) for s in seeds]


def arm_metrics(done: Sequence[Mapping[str, Any]], *, seed: int = 0) -> pl.DataFrame:
    """Every (setting, arm, metric): its value (mean over seeds), 95% interval, item count
    per seed and seed count."""
    from eemo_rewards.train.study import SETTINGS

    rows = []
    for (setting, arm), by_seed in _by_seed(done).items():
        task = SETTINGS[setting].task
        seeds = sorted(by_seed)
        for metric in _metrics_of(setting, task):
            groups = _groups(by_seed, seeds, metric)
            if not all(groups):
                continue
            out = metric_interval(groups, kind=metric_kind(metric), seed=seed)
            rows.append({"setting": setting, "arm": arm, "metric": metric, **out})
    return rows_frame(rows)


def headline_table(done: Sequence[Mapping[str, Any]], *, seed: int = 0) -> pl.DataFrame:
    """Per setting, arm and metric: the arm against the compute-matched SFT control
    (``vs_control_*``) and against its SFT checkpoint (``vs_stage1_*``): the change, its
    95% interval paired by seed and item, and the verdict (helps / hurts / within noise).
    The control itself appears against its checkpoint."""
    from eemo_rewards.train.study import SETTINGS, STUDY_SETTINGS

    by = _by_seed(done)
    saved_rows = _rows_by_seed(done)
    rows = []
    order = {s: i for i, s in enumerate(STUDY_SETTINGS)}
    for (setting, arm), by_seed in sorted(
        by.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][0], kv[0][1] != "sft")
    ):
        if arm == "stage1":
            continue
        task = SETTINGS[setting].task
        stage1 = by.get((setting, "stage1"), {})
        control = by.get((setting, "sft"), {})
        seeds = sorted(set(by_seed) & set(stage1) & (set(control) or set(by_seed)))
        if not seeds:
            continue
        for metric in _metrics_of(setting, task):
            scored = _groups(by_seed, seeds, metric)
            if not all(scored):
                continue
            kind = metric_kind(metric)
            coverage = _coverage(by_seed, saved_rows[(setting, arm)], seeds, metric)
            row: dict[str, Any] = {
                "setting": setting,
                "arm": arm,
                "metric": metric,
                "seeds": len(seeds),
                "items": min(len(g) for g in scored),
                "value": metric_value(scored, kind=kind),
                "coverage": coverage,
            }
            other_arm = {"stage1": "stage1", "control": "sft"}
            for name, other in (("stage1", stage1), ("control", control if arm != "sft" else {})):
                if not other:
                    continue
                # the items both arms scored (a judge may decide an item for one arm only)
                pairs = [paired_values(other[s], by_seed[s], metric) for s in seeds]
                before, after = [p[0] for p in pairs], [p[1] for p in pairs]
                if not all(before):
                    continue
                theirs = _coverage(other, saved_rows[(setting, other_arm[name])], seeds, metric)
                known = [c for c in (coverage, theirs) if c is not None]
                out = paired_difference(
                    before, after, kind=kind, seed=seed, coverage=min(known) if known else None
                )
                row[f"{name}_value"] = metric_value(_groups(other, seeds, metric), kind=kind)
                row[f"vs_{name}_items"] = min(len(b) for b in before)
                row[f"vs_{name}_change"] = out["change"]
                row[f"vs_{name}_low"] = out["low"]
                row[f"vs_{name}_high"] = out["high"]
                row[f"vs_{name}_verdict"] = out["verdict"]
            rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _interval(row: Mapping[str, Any], prefix: str) -> str:
    change = row.get(f"{prefix}_change")
    if change is None:
        return "—"
    return (
        f"{change:+.3f} [{row[f'{prefix}_low']:+.3f}, {row[f'{prefix}_high']:+.3f}] "
        f"{row[f'{prefix}_verdict']}"
    )


def headline_markdown(table: pl.DataFrame, *, metrics: Sequence[str] | None = None) -> str:
    """The headline table as Markdown: per setting and arm, the headline metric's value,
    the arm's coverage (share of the metric's items it answered readably), its change
    against the SFT control and against the SFT checkpoint, each with its 95% interval and
    verdict. ``metrics`` narrows the rows (default: each setting's first metric, plus V/A/D
    for assessment and the vote share for ambiguous). A first line counts the verdicts
    against the control, those without one (no answers, undefined) apart and first."""
    from eemo_rewards.train.study import SETTINGS

    lines = [
        "| setting | arm | metric | seeds × items | value | coverage | vs SFT control "
        "| vs SFT checkpoint |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    counts: dict[str, dict[str, int]] = {"vs_control": {}, "vs_stage1": {}}
    for row in table.iter_rows(named=True):
        wanted = metrics
        if wanted is None:
            task = SETTINGS[row["setting"]].task
            names = _metrics_of(row["setting"], task)
            wanted = [m for m in names if m not in ("format_rate", "consistency")]
        if row["metric"] not in wanted:
            continue
        for prefix, seen in counts.items():
            judged = row.get(f"{prefix}_verdict")
            if judged is not None:
                seen[judged] = seen.get(judged, 0) + 1
        lines.append(
            f"| {row['setting']} | {row['arm']} | {row['metric']} | "
            f"{row['seeds']} × {row['items']} | {_fmt(row.get('value'))} | "
            f"{_fmt(row.get('coverage'), 2)} | "
            f"{_interval(row, 'vs_control')} | {_interval(row, 'vs_stage1')} |"
        )
    return verdict_counts(counts) + "\n\n" + "\n".join(lines) + "\n"


def verdict_counts(counts: Mapping[str, Mapping[str, int]]) -> str:
    """One line counting the verdicts per comparison, the rows without one first.

    Examples
    --------
    >>> verdict_counts({"vs_control": {"helps": 2, "no answers": 1}})
    'Against the SFT control: **no answers 1**; helps 2, within noise 0, hurts 0.'
    """
    names = {"vs_control": "the SFT control", "vs_stage1": "the SFT checkpoint"}
    parts = []
    for prefix, seen in counts.items():
        if not seen:
            continue
        missing = [f"**{v} {seen[v]}**" for v in NO_VERDICT if seen.get(v)]
        judged = [f"{v} {seen.get(v, 0)}" for v in VERDICTS if v not in NO_VERDICT]
        lead = "; ".join(missing)
        parts.append(f"Against {names[prefix]}: " + (f"{lead}; " if lead else "")
                     + ", ".join(judged) + ".")  # fmt: skip
    return " ".join(parts)


def diagnosis_frame(
    watch: pl.DataFrame, scores: pl.DataFrame, *, settings: Sequence[str] = ("assessment",
    "diagnosis"), window: int = 10,
) -> pl.DataFrame:  # fmt: skip
    """What the policy answered while GRPO trained on V/A/D, per arm and window of
    ``window`` steps (pooled over seeds), in long form (``quantity``, ``value``):

    - ``spread vs truth``: std of the sampled scores over the window's images / std of their
      truths (1: as spread as the truth; below 1: regression to the mean);
    - ``spread within a prompt``: mean std of the scores sampled for one image (the policy's
      own diversity; 0: it answers one constant);
    - ``constant groups``: share of prompts whose completions all give one answer;
    - ``format rate``: share of well-formed samples.
    """
    frames = []
    if not scores.is_empty():
        readable = scores.filter(
            pl.col("setting").is_in(list(settings)) & pl.col("pred").is_not_null()
        ).with_columns(((pl.col("batch") - 1) // window * window + window).alias("step"))
        across = readable.group_by("setting", "arm", "step").agg(
            (pl.col("pred").std() / pl.col("truth").std()).alias("spread vs truth")
        )
        within = (
            readable.group_by("setting", "arm", "seed", "batch", "dimension", "step")
            .agg(pl.col("pred").std().alias("s"), pl.len().alias("k"))
            .filter(pl.col("k") >= 2)
            .group_by("setting", "arm", "step")
            .agg(pl.col("s").mean().alias("spread within a prompt"))
        )
        frames += [across, within]
    if not watch.is_empty():
        frames.append(
            watch.filter(pl.col("setting").is_in(list(settings)))
            .with_columns(((pl.col("batch") - 1) // window * window + window).alias("step"))
            .group_by("setting", "arm", "step")
            .agg(
                pl.col("constant_groups").mean().alias("constant groups"),
                pl.col("format_rate").mean().alias("format rate"),
            )
        )
    if not frames:
        return pl.DataFrame(schema={"setting": pl.String, "arm": pl.String, "step": pl.Int64,
                                    "quantity": pl.String, "value": pl.Float64})  # fmt: skip
    long = [
        f.unpivot(index=["setting", "arm", "step"], variable_name="quantity", value_name="value")
        for f in frames
    ]
    return (
        pl.concat([f.with_columns(pl.col("value").cast(pl.Float64)) for f in long])
        .drop_nulls("value")
        .sort("setting", "arm", "quantity", "step")
    )


def diagnosis_chart(frame: pl.DataFrame):
    """:func:`diagnosis_frame` as one panel per quantity, a line per arm."""
    import altair as alt

    from eemo_rewards.analysis.charts import SVG

    if frame.is_empty():
        return alt.Chart(pl.DataFrame({"x": []})).mark_point()
    return (
        alt.Chart(frame.with_columns((pl.col("arm")).alias("arm")))
        .mark_line(point=True)
        .encode(
            x=alt.X("step:Q", title="GRPO step (window end)"),
            y=alt.Y("value:Q", title=None),
            color=alt.Color("arm:N"),
            tooltip=["setting", "arm", "step", "quantity", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(width=230, height=170)
        .facet(facet=alt.Facet("quantity:N", title=None), columns=4)
        .resolve_scale(y="independent")
        .properties(
            title="V/A/D during GRPO: what the policy samples (pooled over seeds)", usermeta=SVG
        )
    )


def reward_curves_chart(results: pl.DataFrame):
    """Training reward per GRPO step, mean over seeds, per setting and arm."""
    import altair as alt

    from eemo_rewards.analysis.charts import SVG

    rows = []
    for r in results.filter(pl.col("arm").str.starts_with("grpo")).iter_rows(named=True):
        for step, value in enumerate(r.get("curve_reward") or [], start=1):
            rows.append({"setting": r["setting"], "arm": r["arm"], "step": step, "reward": value})
    frame = rows_frame(rows, empty={"setting": pl.String, "arm": pl.String, "step": pl.Int64,
                                    "reward": pl.Float64})  # fmt: skip
    frame = frame.group_by("setting", "arm", "step").agg(pl.col("reward").mean()).sort("step")
    return (
        alt.Chart(frame)
        .mark_line()
        .encode(
            x=alt.X("step:Q", title="GRPO step"),
            y=alt.Y("reward:Q", title="mean training reward"),
            color="arm:N",
            tooltip=["setting", "arm", "step", alt.Tooltip("reward:Q", format=".3f")],
        )
        .properties(width=220, height=160)
        .facet(facet=alt.Facet("setting:N", title=None), columns=3)
        .resolve_scale(y="independent")
        .properties(usermeta=SVG)
    )


_AGAINST = {"control": "SFT control", "stage1": "SFT checkpoint"}


def headline_chart(table: pl.DataFrame, *, against: str = "control"):
    """Each arm's change against the SFT control (or ``against="stage1"``) with its 95%
    interval: one panel per (setting, metric) holding **only that setting and metric's
    arms** (a point, a rule for the interval, 0 dashed), coloured by verdict; two panels a
    row, so the report's width shows them whole. Rendered as SVG (``usermeta``), so a
    browser check can read each panel's marks."""
    import altair as alt

    from eemo_rewards.analysis.charts import SVG

    prefix = f"vs_{against}"
    if f"{prefix}_change" not in table.columns:
        return alt.Chart(pl.DataFrame({"x": []})).mark_point()
    frame = table.filter(
        pl.col(f"{prefix}_change").is_not_null() & (pl.col("metric") != "format_rate")
    ).with_columns((pl.col("setting") + " · " + pl.col("metric")).alias("panel"))
    panels = frame["panel"].unique(maintain_order=True).to_list()  # the table's order
    # no layer carries data of its own: the facet's rows feed every layer, a panel its own
    base = alt.Chart()
    y = alt.Y("arm:N", title=None, axis=alt.Axis(labelLimit=180))
    color = alt.Color(
        f"{prefix}_verdict:N",
        title="verdict",
        legend=alt.Legend(orient="top"),
        scale=alt.Scale(
            domain=list(VERDICTS),
            range=["#1a9850", "#777777", "#d73027", "#7b3294", "#e08214"],
        ),
    )
    rule = base.mark_rule(strokeWidth=2).encode(
        y=y, x=alt.X(f"{prefix}_low:Q", title="change"), x2=f"{prefix}_high", color=color
    )
    point = base.mark_point(filled=True, size=60).encode(
        y=y,
        x=f"{prefix}_change:Q",
        color=color,
        tooltip=["panel", "arm", "seeds", "items",
                 alt.Tooltip(f"{prefix}_change:Q", format="+.3f"),
                 alt.Tooltip(f"{prefix}_low:Q", format="+.3f"),
                 alt.Tooltip(f"{prefix}_high:Q", format="+.3f"),
                 f"{prefix}_verdict"],
    )  # fmt: skip
    zero = base.mark_rule(strokeDash=[3, 3], color="#999999").encode(x=alt.datum(0))
    return (
        alt.layer(rule, point, zero)
        .properties(width=250, height=alt.Step(18))
        .facet(
            data=frame,
            facet=alt.Facet(
                "panel:N", title=None, sort=panels, header=alt.Header(labelFontWeight="bold")
            ),
            columns=2,
        )
        .resolve_scale(y="independent")
        .properties(
            title=f"change against the {_AGAINST[against]} (95% interval, seeds × items)",
            usermeta=SVG,
        )
    )


def write_outputs(
    done: Sequence[Mapping[str, Any]],
    out: str | Path,
    *,
    budget: Any,
    meta: Mapping[str, Any] | None = None,
    figures: bool = True,
) -> Path:
    """Write the study's tables, figures and ``study.json`` to ``out``; returns the JSON."""
    from eemo_rewards.train.runs import atomic_write_text
    from eemo_rewards.train.settings import JobSettings
    from eemo_rewards.train.study import ARMS, SETTINGS, items_frame, results_frame

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = results_frame(done, budget.name)
    results.write_parquet(out / "results.parquet")
    items_frame(done).write_parquet(out / "items.parquet")
    from eemo_rewards.train.study import watch_frame, watch_scores

    watch = watch_frame(done)
    watch.write_parquet(out / "watch.parquet")
    scores = watch_scores(done)
    scores.write_parquet(out / "watch_scores.parquet")
    diagnosis = diagnosis_frame(watch, scores)
    diagnosis.write_csv(out / "diagnosis.csv")
    table = headline_table(done)
    table.write_csv(out / "headline.csv")
    metrics = arm_metrics(done)
    metrics.write_csv(out / "metrics.csv")
    markdown = headline_markdown(table)
    atomic_write_text(out / "headline.md", markdown)
    if figures:
        for name, chart in (
            ("headline", headline_chart(table)),
            ("headline_vs_stage1", headline_chart(table, against="stage1")),
            ("reward_curves", reward_curves_chart(results)),
            ("assessment_diagnosis", diagnosis_chart(diagnosis)),
        ):
            chart.save(str(out / f"{name}.svg"))
    settings = sorted(results["setting"].unique().to_list())
    items = (
        table.group_by("setting", "metric").agg(pl.col("items").min(), pl.col("seeds").min())
        if table.height
        else pl.DataFrame()
    )
    runs = meta or {}
    root_invocations = runs.get("invocations", [])
    study = {
        **runs,
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "budget": asdict(budget),
        # the recipe every arm ran: the main job's shipped defaults, the budget's scale, and
        # each arm's own changes
        "job_defaults": JobSettings().to_dict(),
        "budget_settings": budget.settings().to_dict(),
        "arm_changes": {
            a: dict(ARMS[a].changes)
            for a in sorted(set(results["arm"].to_list()))
            if a in ARMS and ARMS[a].changes
        },
        "settings": {s: asdict(SETTINGS[s]) for s in settings},
        "seeds": sorted({int(s) for s in results["seed"].to_list()}),
        "arms": results.height,
        "items_per_metric": items.rows(named=True) if items.height else [],
        "interval": POWER_COVERS,
        "verdicts": (
            table.group_by("vs_control_verdict").len().rows(named=True)
            if "vs_control_verdict" in table.columns
            else []
        ),
        "wall": {
            "train_seconds": round(float(results["train_seconds"].sum()), 1),
            "invocations": root_invocations,
            "study_wall_seconds": round(
                sum(i.get("seconds", 0.0) for i in root_invocations if i.get("arms_trained")), 1
            ),
        },
    }
    path = out / "study.json"
    atomic_write_text(path, json.dumps(study, indent=1, default=str))
    return path


def load_study(folder: str | Path) -> dict[str, Any]:
    """A written study: ``meta`` (study.json), ``results``, ``headline`` (the table),
    ``metrics``, ``diagnosis`` (:func:`diagnosis_frame`) and ``markdown``; raises a clear
    error when it is missing."""
    folder = Path(folder)
    path = folder / "study.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"no study at {folder}: run `python scripts/run_study.py --budget full` "
            "(or --budget smoke for a pipeline check)"
        )
    return {
        "meta": json.loads(path.read_text()),
        "results": pl.read_parquet(folder / "results.parquet"),
        "headline": pl.read_csv(folder / "headline.csv"),
        "metrics": pl.read_csv(folder / "metrics.csv"),
        "diagnosis": pl.read_csv(folder / "diagnosis.csv")
        if (folder / "diagnosis.csv").is_file()
        else pl.DataFrame(),
        "markdown": (folder / "headline.md").read_text(),
    }
