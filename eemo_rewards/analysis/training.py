"""Tables over the training study's results (:mod:`eemo_rewards.train.study` runs it):
the headline metric of each setting and each GRPO arm's gain over the SFT control.

The study runner's names are re-exported here, where they lived before it moved to the
training layer.
"""

from __future__ import annotations

import polars as pl

from eemo_rewards.train.study import (
    ARMS,
    BUDGETS,
    SETTINGS,
    Arm,
    Budget,
    Setting,
    arms_for,
    run_study,
    setting_data,
    write_study,
)

__all__ = [
    "ARMS",
    "BUDGETS",
    "HEADLINE",
    "SETTINGS",
    "Arm",
    "Budget",
    "Setting",
    "arms_for",
    "gains_over_sft",
    "run_study",
    "setting_data",
    "with_headline",
    "write_study",
]

#: The held-out metric that answers "did it learn the task", per task (greedy decoding).
HEADLINE = {
    "emotion": "eval_emotion_acc",
    "assessment": "eval_assessment_srcc",  # mean SRCC over the V/A/D dimensions present
    "ranking": "eval_ranking_score",
}


def with_headline(results: pl.DataFrame) -> pl.DataFrame:
    """Add ``headline`` (the value of its setting's :data:`HEADLINE` metric) and
    ``headline_metric`` (its name) to study results.

    Examples
    --------
    >>> rows = pl.DataFrame({"setting": ["scarce", "assessment"], "eval_emotion_acc": [0.5, None],
    ...     "eval_valence_srcc": [None, 0.4], "eval_arousal_srcc": [None, 0.2]})
    >>> with_headline(rows)["headline"].to_list()
    [0.5, 0.30000000000000004]
    """
    srcc = [c for c in results.columns if c.startswith("eval_") and c.endswith("_srcc")]
    mean_srcc = pl.mean_horizontal(srcc) if srcc else pl.lit(None, dtype=pl.Float64)
    frame = results.with_columns(mean_srcc.alias("eval_assessment_srcc"))
    metric_of = {name: HEADLINE[s.task] for name, s in SETTINGS.items()}
    frame = frame.with_columns(
        pl.col("setting").replace_strict(metric_of, default=None).alias("headline_metric")
    )
    value = pl.lit(None, dtype=pl.Float64)
    for metric in sorted(set(metric_of.values())):
        if metric in frame.columns:
            value = (
                pl.when(pl.col("headline_metric") == metric).then(pl.col(metric)).otherwise(value)
            )
    return frame.with_columns(value.alias("headline"))


def gains_over_sft(results: pl.DataFrame, *, metric: str) -> pl.DataFrame:
    """Each GRPO arm's metric minus the SFT control's, per setting and seed, with the mean
    and the spread across seeds.

    Examples
    --------
    >>> results = pl.DataFrame({"setting": ["s"] * 4, "seed": [0, 0, 1, 1],
    ...     "arm": ["sft", "grpo_soft"] * 2, "eval_emotion_acc": [0.5, 0.6, 0.5, 0.4]})
    >>> gains_over_sft(results, metric="eval_emotion_acc").row(0, named=True)["gain_mean"]
    0.0
    """
    if metric not in results.columns:
        raise ValueError(f"no column {metric!r} in the results; have {results.columns}")
    control = results.filter(pl.col("arm") == "sft").select(
        "setting", "seed", pl.col(metric).alias("_control")
    )
    per_seed = (
        results.filter(~pl.col("arm").is_in(["sft", "stage1"]))
        .join(control, on=["setting", "seed"])
        .with_columns((pl.col(metric) - pl.col("_control")).alias("gain"))
    )
    return (
        per_seed.group_by(["setting", "arm"])
        .agg(
            pl.col("gain").mean().alias("gain_mean"),
            pl.col("gain").min().alias("gain_min"),
            pl.col("gain").max().alias("gain_max"),
            pl.len().alias("seeds"),
        )
        .sort(["setting", "arm"])
    )
