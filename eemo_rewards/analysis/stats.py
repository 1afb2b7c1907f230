"""Paired comparisons of two models on the same held-out items: a seeded bootstrap interval
of the mean difference and a verdict (helps / hurts / within noise).

The interval covers **the resampling of items only**: it says how much the difference could
move if other items had been drawn from the same distribution, with the two models' answers
on each item held fixed. It does not cover the training seed or the sampling of answers
(another training run or another sampling seed can move the difference further). Pure
functions, standard library only.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "INTERVAL_COVERS",
    "least_coverage",
    "paired_bootstrap",
    "paired_items",
    "results_card_rows",
    "stage_coverage",
]

#: What the interval of :func:`paired_bootstrap` covers, in words for a card or a report.
INTERVAL_COVERS = (
    "95% paired bootstrap interval over held-out items (2000 resamples): it covers which "
    "items were drawn, not the training seed or the sampling of answers"
)


def paired_bootstrap(
    before: Sequence[float],
    after: Sequence[float],
    *,
    n_resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Mean of ``after - before`` over paired items, with a percentile bootstrap interval.

    Returns ``n``, ``before``, ``after`` (the two means), ``change``, ``low``, ``high`` and
    ``verdict``: ``"helps"`` when the whole interval is above 0, ``"hurts"`` when it is below,
    ``"within noise"`` otherwise. The same inputs and seed give the same interval.

    Raises
    ------
    ValueError
        When the lists differ in length, are empty, hold a non-finite value, or the level or
        resample count is out of range.

    Examples
    --------
    >>> out = paired_bootstrap([0, 0, 0, 0, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 0])
    >>> out["n"], out["change"], out["verdict"]
    (8, 0.75, 'helps')
    >>> paired_bootstrap([1, 0, 1, 0], [0, 1, 0, 1])["verdict"]
    'within noise'
    """
    if len(before) != len(after):
        raise ValueError(
            f"paired items must match: {len(before)} before and {len(after)} after; "
            "evaluate both models on the same rows"
        )
    if not before:
        raise ValueError("no paired items to compare; evaluate at least one held-out row")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level}; use a coverage between 0 and 1, e.g. 0.95")
    if n_resamples < 100:
        raise ValueError(f"n_resamples={n_resamples}; use at least 100 (2000 is usual)")
    diffs = []
    for b, a in zip(before, after, strict=True):
        if b is None or a is None or not (math.isfinite(b) and math.isfinite(a)):
            raise ValueError(
                f"non-finite paired value ({b!r}, {a!r}); drop unscored items before pairing"
            )
        diffs.append(float(a) - float(b))
    n = len(diffs)
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(diffs, k=n)) / n for _ in range(n_resamples))
    tail = (1.0 - level) / 2.0
    low = means[max(0, math.floor(tail * n_resamples))]
    high = means[min(n_resamples - 1, math.ceil((1.0 - tail) * n_resamples) - 1)]
    change = sum(diffs) / n
    # a difference that is exactly 0 on every resample is no evidence either way
    from eemo_rewards.analysis.power import verdict as judge

    verdict = judge(low, high)
    return {
        "n": n,
        "before": sum(before) / n,
        "after": sum(after) / n,
        "change": change,
        "low": low,
        "high": high,
        "verdict": verdict,
    }


def paired_items(
    before: Sequence[Mapping[str, float]], after: Sequence[Mapping[str, float]], metric: str
) -> tuple[list[float], list[float]]:
    """The values of ``metric`` on the items both evaluations scored, in item order.

    ``before`` and ``after`` are the ``items`` lists of two evaluations of the same rows (one
    mapping per row, see :func:`eemo_rewards.train.pipeline.evaluate_stages`).

    Examples
    --------
    >>> paired_items([{"a": 1.0}, {}], [{"a": 0.0}, {"a": 1.0}], "a")
    ([1.0], [0.0])
    """
    if len(before) != len(after):
        raise ValueError(
            f"{len(before)} items before and {len(after)} after: the evaluations did not "
            "answer the same rows, so they cannot be paired"
        )
    pairs = [(b[metric], a[metric]) for b, a in zip(before, after, strict=True)
             if metric in b and metric in a]  # fmt: skip
    return [b for b, _ in pairs], [a for _, a in pairs]


def results_card_rows(
    evaluation: Sequence[Mapping[str, Any]],
    *,
    metrics: Sequence[str],
    before: str = "sft",
    after: str = "grpo",
    decoding: str = "greedy",
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One row per metric in ``metrics`` that both stages scored per item: ``metric``,
    ``items``, ``before`` (named by the stage), ``after``, ``change``, ``low``, ``high``,
    ``coverage_<before>`` / ``coverage_<after>`` (the share of the metric's items each stage
    answered readably; ``None`` for evaluations that did not record it), ``verdict`` and
    ``regression`` (the interval lies below 0). A stage that answered none of a metric's
    items gives the verdict ``"no answers"`` (:func:`eemo_rewards.analysis.power.verdict`).
    Evaluations without per-item values (older run folders) give no rows.

    Examples
    --------
    >>> ev = [{"stage": "sft", "decoding": "greedy", "items": [{"m": 0.0}] * 6},
    ...       {"stage": "grpo", "decoding": "greedy", "items": [{"m": 1.0}] * 6}]
    >>> row = results_card_rows(ev, metrics=["m"])[0]
    >>> row["items"], row["sft"], row["grpo"], row["verdict"]
    (6, 0.0, 1.0, 'helps')
    """
    from eemo_rewards.analysis.power import verdict

    by_stage = {r["stage"]: r for r in evaluation if r.get("decoding") == decoding}
    if before not in by_stage or after not in by_stage:
        return []
    first, second = by_stage[before].get("items"), by_stage[after].get("items")
    if not first or not second:
        return []
    rows = []
    for metric in metrics:
        b, a = paired_items(first, second, metric)
        if not b:
            continue
        out = paired_bootstrap(b, a, seed=seed)
        cover = stage_coverage(by_stage[before], by_stage[after], metric, before, after)
        judged = verdict(out["low"], out["high"], coverage=least_coverage(cover.values()))
        rows.append(
            {
                "metric": metric,
                "items": out["n"],
                before: out["before"],
                after: out["after"],
                "change": out["change"],
                "low": out["low"],
                "high": out["high"],
                **cover,
                "verdict": judged,
                "regression": judged == "hurts",
            }
        )
    return rows


def stage_coverage(
    first: Mapping[str, Any], second: Mapping[str, Any], metric: str, before: str, after: str
) -> dict[str, float | None]:
    """``{"coverage_<before>": ..., "coverage_<after>": ...}``: each evaluation row's share
    of ``metric``'s items answered readably, from its items' flags
    (:func:`eemo_rewards.analysis.power.metric_coverage`) or, for a V/A/D correlation of an
    older evaluation, its ``<dim>_coverage``; ``None`` where neither says.

    Examples
    --------
    >>> stage_coverage({"valence_coverage": 0.0}, {"items": [{"valence_answered": 1.0}]},
    ...                "valence_srcc", "sft", "grpo")
    {'coverage_sft': 0.0, 'coverage_grpo': 1.0}
    """
    from eemo_rewards.analysis.power import CORRELATIONS, metric_coverage

    out = {}
    for name, row in ((before, first), (after, second)):
        value = metric_coverage(row.get("items") or (), metric)
        dim, _, suffix = metric.rpartition("_")
        if value is None and suffix in CORRELATIONS and f"{dim}_coverage" in row:
            value = float(row[f"{dim}_coverage"])
        out[f"coverage_{name}"] = value
    return out


def least_coverage(values: Any) -> float | None:
    """The smallest known coverage (``None`` values are unknown), or ``None``.

    Examples
    --------
    >>> least_coverage([None, 0.5, 1.0]), least_coverage([None])
    (0.5, None)
    """
    known = [v for v in values if v is not None]
    return min(known) if known else None
