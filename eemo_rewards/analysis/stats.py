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

__all__ = ["INTERVAL_COVERS", "paired_bootstrap", "paired_items", "results_card_rows"]

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
    verdict = "helps" if low > 0 else "hurts" if high < 0 else "within noise"
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
    ``verdict`` and ``regression`` (the interval lies below 0). Evaluations without per-item
    values (older run folders) give no rows.

    Examples
    --------
    >>> ev = [{"stage": "sft", "decoding": "greedy", "items": [{"m": 0.0}] * 6},
    ...       {"stage": "grpo", "decoding": "greedy", "items": [{"m": 1.0}] * 6}]
    >>> row = results_card_rows(ev, metrics=["m"])[0]
    >>> row["items"], row["sft"], row["grpo"], row["verdict"]
    (6, 0.0, 1.0, 'helps')
    """
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
        rows.append(
            {
                "metric": metric,
                "items": out["n"],
                before: out["before"],
                after: out["after"],
                "change": out["change"],
                "low": out["low"],
                "high": out["high"],
                "verdict": out["verdict"],
                "regression": out["verdict"] == "hurts",
            }
        )
    return rows
