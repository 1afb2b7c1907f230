"""Score a completion pool with several reward designs and compare them.

Every table is a polars DataFrame. Scores are compared on each design's own range mapped
to ``[0, 1]`` (``score01 = (score − low) / (high − low)``), so that a composite reward
whose range is ``[0, 1.5]`` and a ``[0, 1]`` reward can share a chart.

The zero-variance share is exact, not simulated: a GRPO group of ``G`` rollouts drawn
i.i.d. from a policy that answers correctly with probability ``p`` (and otherwise gives
one of the other kinds of the pool, uniformly) has all-equal rewards with probability
``Σ_v P(score = v)^G``; the table averages that over questions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from eemo_rewards.analysis.designs import DESIGNS
from eemo_rewards.data.frames import rows_frame
from eemo_rewards.metrics import srcc

__all__ = [
    "hackability",
    "kernel_curves",
    "kind_means",
    "pairwise_auc",
    "roc_auc",
    "score_pool",
    "separation",
    "summary",
    "task_range",
    "zero_variance",
]

_POOL_COLUMNS = ("question_id", "source", "task", "solution", "kind", "quality", "completion")


def score_pool(pool: pl.DataFrame, designs: Mapping[str, Any]) -> pl.DataFrame:
    """Score every completion of ``pool`` with every design (TRL's batch call, one per design).

    Parameters
    ----------
    pool : polars.DataFrame
        As made by :func:`~eemo_rewards.analysis.pool.perturbation_pool` or
        :func:`~eemo_rewards.analysis.pool.reference_response_pool` (or both concatenated).
    designs : mapping
        Design name → reward (see :func:`~eemo_rewards.analysis.designs.build_designs`).

    Returns
    -------
    polars.DataFrame
        The pool's rows once per design that scores their task, with ``design``,
        ``family``, ``origin``, ``score`` and ``score01`` added. The question id doubles as
        ``image_id``, so batch-level rewards (Thurstone) rank a question's completions
        against the other questions' completions of the same pool.

    Examples
    --------
    >>> from eemo_rewards.analysis import build_designs, perturbation_pool
    >>> qa = pl.DataFrame({"question_id": ["q"], "task": ["emotion"], "solution": ["joy"]})
    >>> designs, _ = build_designs(["format"])
    >>> scored = score_pool(perturbation_pool(qa), designs)
    >>> # format alone pays hacks that keep the tags: 3 of the 7 hacked variants
    >>> scored.group_by("kind").agg(pl.col("score").mean()).sort("kind").rows()[:3]
    [('correct', 1.0), ('hacked', 0.42857142857142855), ('hedged', 1.0)]
    """
    missing = [c for c in _POOL_COLUMNS if c not in pool.columns]
    if missing:
        raise ValueError(f"pool lacks column(s) {missing}; build it with perturbation_pool")
    if not designs:
        raise ValueError("no designs to score; pass build_designs()[0]")
    info = {d.name: d for d in DESIGNS}
    columns = {
        "completions": pool["completion"].to_list(),
        "solution": pool["solution"].to_list(),
        "task": pool["task"].to_list(),
        "options": _column_or_none(pool, "options"),
        "taxonomy": _column_or_none(pool, "taxonomy"),
        "dimension": _column_or_none(pool, "dimension"),
        "image_id": pool["question_id"].to_list(),
    }
    frames = []
    for name, reward in designs.items():
        scores = reward(**columns)
        ranges = {task: task_range(reward, task) for task in pool["task"].unique().to_list()}
        low = pl.col("task").replace_strict({t: r[0] for t, r in ranges.items()})
        high = pl.col("task").replace_strict({t: r[1] for t, r in ranges.items()})
        design = info.get(name)
        frames.append(
            pool.with_columns(
                pl.lit(name).alias("design"),
                pl.lit(design.family if design else "custom").alias("family"),
                pl.lit(design.origin if design else "custom").alias("origin"),
                pl.Series("score", scores, dtype=pl.Float64),
            )
            .filter(pl.col("score").is_not_null())
            .with_columns(((pl.col("score") - low) / (high - low)).alias("score01"))
        )
    return pl.concat(frames)


def task_range(reward: Any, task: str) -> tuple[float, float]:
    """The range a reward can reach on one task.

    A composite's declared range spans all its terms (format + accuracy + intensity +
    ranking), but a sample of one task meets only the terms routed to it; normalising by
    the declared range would cap a perfect answer far below 1.
    """
    terms = getattr(reward, "rewards", None)
    weights = getattr(reward, "weights", None)
    if not terms or weights is None or getattr(reward, "aggregation", "sum") != "sum":
        return float(reward.low), float(reward.high)
    routed = [(r, w) for r, w in zip(terms, weights, strict=True) if r.applies_to(task)]
    if not routed:
        return float(reward.low), float(reward.high)
    low = sum(min(0.0, w * r.low) for r, w in routed)
    high = sum(max(0.0, w * r.high) for r, w in routed)
    return (float(low), float(high)) if high > low else (float(reward.low), float(reward.high))


def _column_or_none(frame: pl.DataFrame, name: str) -> list[Any]:
    return frame[name].to_list() if name in frame.columns else [None] * frame.height


def roc_auc(y_true: Sequence[Any], y_score: Sequence[float], *, zero_division: Any = None) -> Any:
    """ROC AUC of scores against binary labels, scikit-learn's ``roc_auc_score(y_true,
    y_score)`` convention: the chance that a positive (``y_true`` truthy) outscores a
    negative, ties counting half.

    Undefined when only one class is present; then ``zero_division`` is returned
    (``None`` by default, where scikit-learn raises).

    Examples
    --------
    >>> roc_auc([1, 1, 0, 0], [1.0, 0.5, 0.0, 0.5])
    0.875
    >>> roc_auc([1, 1], [0.2, 0.9]) is None
    True
    """
    labels = np.asarray(y_true, dtype=bool)
    scores = np.asarray(y_score, dtype=float)
    if labels.shape != scores.shape:
        raise ValueError(
            f"y_true has {labels.size} labels and y_score {scores.size} scores; pass one label "
            "per score"
        )
    value = pairwise_auc(scores[labels], scores[~labels])
    return zero_division if value is None else value


def pairwise_auc(positive: Sequence[float], negative: Sequence[float]) -> float | None:
    """The same AUC from two groups of scores: the chance that a score of ``positive``
    outscores one of ``negative``, ties counting half; ``None`` when a group is empty.

    Examples
    --------
    >>> pairwise_auc([1.0, 0.5], [0.0, 0.5])
    0.875
    >>> pairwise_auc([1.0], []) is None
    True
    """
    pos = np.asarray(positive, dtype=float)
    neg = np.asarray(negative, dtype=float)
    if pos.size == 0 or neg.size == 0:
        return None
    if not (np.isfinite(pos).all() and np.isfinite(neg).all()):
        raise ValueError("the AUC needs finite scores; drop missing scores first")
    ranks = pl.Series(np.concatenate([pos, neg])).rank("average").to_numpy()
    rank_sum = ranks[: pos.size].sum()
    return float((rank_sum - pos.size * (pos.size + 1) / 2) / (pos.size * neg.size))


def separation(scored: pl.DataFrame) -> pl.DataFrame:
    """How well each design separates quality levels, per design, task and source.

    Columns: ``auc_correct_vs_wrong``; ``auc_near_vs_wrong`` (does a near miss beat a
    clear miss: the graded signal binary rewards lack); ``auc_correct_vs_rest`` (correct
    against every other kind, hacked and malformed included); ``srcc_quality``
    (Spearman's ρ of the score with the graded quality; null when either is constant).
    """
    rows = []
    for (design, task, source), group in scored.group_by(
        ["design", "task", "source"], maintain_order=True
    ):
        score = {k: g["score01"].to_numpy() for (k,), g in group.group_by(["kind"])}
        empty = np.array([])
        rest = [v for k, v in score.items() if k != "correct"]
        rows.append(
            {
                "design": design,
                "family": group["family"][0],
                "task": task,
                "source": source,
                "n": group.height,
                "auc_correct_vs_wrong": pairwise_auc(
                    score.get("correct", empty), score.get("wrong", empty)
                ),
                "auc_near_vs_wrong": pairwise_auc(
                    score.get("near_miss", empty), score.get("wrong", empty)
                ),
                "auc_correct_vs_rest": pairwise_auc(
                    score.get("correct", empty), np.concatenate(rest) if rest else empty
                ),
                "srcc_quality": _spearman(group["score01"], group["quality"]),
            }
        )
    return rows_frame(rows, schema_overrides={"srcc_quality": pl.Float64})


def _spearman(x: pl.Series, y: pl.Series) -> float | None:
    # one Spearman for the whole project; undefined (a constant input) shows as null
    return srcc(x.to_list(), y.to_list(), zero_division=None)


def kind_means(scored: pl.DataFrame, *, by_variant: bool = False) -> pl.DataFrame:
    """Mean normalised score of each kind (and variant) of completion, per design and task."""
    keys = ["design", "family", "task", "source", "kind", *(["variant"] if by_variant else [])]
    return (
        scored.lazy()
        .group_by(keys)
        .agg(pl.col("score01").mean().alias("mean_score01"), pl.len().alias("n"))
        .sort(keys)
        .collect()
    )


def zero_variance(
    scored: pl.DataFrame,
    *,
    group_sizes: Sequence[int] = (2, 4, 8, 16),
    p_correct: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9),
) -> pl.DataFrame:
    """The share of GRPO groups whose rewards are all equal (no advantage, no gradient).

    For each design, task, group size ``G`` and policy accuracy ``p``, the exact
    probability (averaged over questions of the perturbation pool) that ``G`` i.i.d.
    rollouts all score the same. Scores equal to 9 decimals count as equal.

    Examples
    --------
    >>> scored = pl.DataFrame({"design": "d", "task": "t", "source": "perturbation",
    ...     "question_id": "q", "kind": ["correct", "wrong"], "score01": [1.0, 0.0]})
    >>> zero_variance(scored, group_sizes=[2], p_correct=[0.5])["zero_variance_share"].item()
    0.5
    """
    for g in group_sizes:
        if isinstance(g, bool) or not isinstance(g, int) or g < 2:
            raise ValueError(f"group sizes must be integers >= 2, got {g!r}")
    for p in p_correct:
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"p_correct values must lie in [0, 1], got {p!r}")
    rows = scored.lazy().filter(pl.col("source") == "perturbation")
    per_question = ["design", "task", "question_id"]
    # each kind is equally likely among the wrong kinds; variants share their kind's mass
    rows = rows.with_columns(
        pl.len().over([*per_question, "kind"]).alias("_variants"),
        pl.col("kind")
        .filter(pl.col("kind") != "correct")
        .n_unique()
        .over(per_question)
        .alias("_other_kinds"),
    )
    grid = pl.LazyFrame({"p_correct": [float(p) for p in p_correct]})
    probability = pl.when(pl.col("kind") == "correct").then(pl.col("p_correct")).otherwise(
        (1 - pl.col("p_correct")) / pl.col("_other_kinds")
    ) / pl.col("_variants")
    values = (
        rows.join(grid, how="cross")
        .with_columns(probability.alias("_p"), pl.col("score01").round(9).alias("_value"))
        .group_by([*per_question, "p_correct", "_value"])
        .agg(pl.col("_p").sum())
    )
    sizes = pl.LazyFrame({"group_size": [int(g) for g in group_sizes]})
    return (
        values.join(sizes, how="cross")
        .group_by([*per_question, "p_correct", "group_size"])
        .agg((pl.col("_p") ** pl.col("group_size")).sum().alias("_same"))
        .group_by(["design", "task", "p_correct", "group_size"])
        .agg(pl.col("_same").mean().alias("zero_variance_share"), pl.len().alias("questions"))
        .sort(["design", "task", "p_correct", "group_size"])
        .collect()
    )


def hackability(scored: pl.DataFrame, *, threshold: float = 0.5) -> pl.DataFrame:
    """How much the hacked completions of the perturbation pool score, per design and task.

    ``hack_rate`` is the share of hacked completions scoring at least ``threshold`` of the
    design's range; ``worst_variant`` is the hack with the highest mean score.
    """
    hacked = scored.filter((pl.col("source") == "perturbation") & (pl.col("kind") == "hacked"))
    per_variant = (
        hacked.group_by(["design", "task", "variant"])
        .agg(pl.col("score01").mean().alias("_mean"))
        .sort(["_mean", "variant"], descending=[True, False])
        .group_by(["design", "task"], maintain_order=True)
        .agg(pl.col("variant").first().alias("worst_variant"), pl.col("_mean").first())
    )
    correct = (
        scored.filter((pl.col("source") == "perturbation") & (pl.col("kind") == "correct"))
        .group_by(["design", "task"])
        .agg(pl.col("score01").mean().alias("correct_mean"))
    )
    return (
        hacked.group_by(["design", "family", "task"])
        .agg(
            pl.col("score01").mean().alias("hacked_mean"),
            (pl.col("score01") >= threshold).mean().alias("hack_rate"),
            pl.len().alias("n"),
        )
        .join(per_variant.select("design", "task", "worst_variant"), on=["design", "task"])
        .join(correct, on=["design", "task"], how="left")
        .sort(["design", "task"])
    )


def kernel_curves(
    designs: Mapping[str, Any],
    *,
    truth: float = 0.3,
    predictions: Sequence[float] | None = None,
    dimension: str = "valence",
) -> pl.DataFrame:
    """Score of an answered V/A/D value against a fixed true value, per intensity design.

    Only designs that score the assessment task are drawn; the others are skipped because
    they have no curve (this is their meaning, not a failure).

    Examples
    --------
    >>> from eemo_rewards.analysis import build_designs
    >>> designs, _ = build_designs(["intensity_linear"])
    >>> curve = kernel_curves(designs, truth=0.5, predictions=[0.5, 0.75])
    >>> curve["score"].to_list()
    [1.0, 0.75]
    """
    if not 0.0 <= truth <= 1.0:
        raise ValueError(f"truth must lie on the 0–1 scale, got {truth}")
    xs = [round(float(x), 4) for x in (predictions or np.linspace(0.0, 1.0, 101))]
    completions = [f"<think>cues</think><answer>{dimension}: {x:.4f}</answer>" for x in xs]
    rows = []
    for name, reward in designs.items():
        scores = reward(
            completions=completions,
            solution=[f"{dimension}: {truth}"] * len(xs),
            task=["assessment"] * len(xs),
            dimension=[dimension] * len(xs),
            image_id=["curve"] * len(xs),
        )
        if all(s is None for s in scores):
            continue
        rows.extend(
            {"design": name, "predicted": x, "error": round(x - truth, 4), "score": s}
            for x, s in zip(xs, scores, strict=True)
        )
    return pl.DataFrame(
        rows,
        schema={
            "design": pl.String,
            "predicted": pl.Float64,
            "error": pl.Float64,
            "score": pl.Float64,
        },
    )


def summary(
    separation_table: pl.DataFrame,
    zero_variance_table: pl.DataFrame,
    hackability_table: pl.DataFrame,
    *,
    group_size: int = 8,
    p_correct: float = 0.5,
) -> pl.DataFrame:
    """One row per design: its mean separation, learning signal and hackability.

    ``auc_builtin`` and ``srcc_builtin`` average over the perturbation pool's tasks;
    ``auc_real`` over the real EEmo-Bench answers (null when the design does not score
    them or they were not loaded); ``zero_variance`` is the share at ``group_size`` and
    ``p_correct``; ``hack_rate`` averages over tasks.
    """
    built = (
        separation_table.filter(pl.col("source") == "perturbation")
        .group_by(["design", "family"])
        .agg(
            pl.col("auc_correct_vs_wrong").mean().alias("auc_builtin"),
            pl.col("auc_near_vs_wrong").mean().alias("auc_near_vs_wrong"),
            pl.col("srcc_quality").mean().alias("srcc_builtin"),
            pl.col("task").sort().str.join(",").alias("tasks"),
        )
    )
    real = (
        separation_table.filter(pl.col("source") != "perturbation")
        .group_by("design")
        .agg(pl.col("auc_correct_vs_wrong").mean().alias("auc_real"))
    )
    zero = (
        zero_variance_table.filter(
            (pl.col("group_size") == group_size) & ((pl.col("p_correct") - p_correct).abs() < 1e-9)
        )
        .group_by("design")
        .agg(pl.col("zero_variance_share").mean().alias("zero_variance"))
    )
    hack = hackability_table.group_by("design").agg(pl.col("hack_rate").mean())
    return (
        built.join(real, on="design", how="left")
        .join(zero, on="design", how="left")
        .join(hack, on="design", how="left")
        .sort("design")
    )
