"""Intervals with power: a metric's bootstrap interval, and a paired difference of two arms
resampled by seed and by item, for mean metrics (accuracies, scores) and correlations (SRCC,
PLCC) alike.

Both arms must have answered the **same items** under each seed (the study evaluates every
arm of every seed on one fixed held-out set). The two-level bootstrap draws seeds with
replacement and, inside each drawn seed, items with replacement; the difference of the two
arms is computed on the same draw, so it is paired by seed and by item. With one seed it is
the item bootstrap of :func:`eemo_rewards.analysis.stats.paired_bootstrap`.

What the interval covers: which items were drawn and which training seeds were run. It
does not cover the sampling of answers (the evaluation is greedy) or other data
generators. Needs numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "CORRELATIONS",
    "NO_ANSWERS",
    "NO_VERDICT",
    "POWER_COVERS",
    "UNDEFINED",
    "VERDICTS",
    "item_values",
    "metric_coverage",
    "metric_interval",
    "metric_kind",
    "metric_names",
    "metric_value",
    "paired_difference",
    "paired_values",
    "verdict",
]

#: Metrics computed over items as a correlation of (truth, prediction), not as a mean.
CORRELATIONS = ("srcc", "plcc")

POWER_COVERS = (
    "95% bootstrap interval resampling seeds and, within each seed, held-out items "
    "(2000 resamples), paired by seed and item: it covers which items were drawn and which "
    "training seeds ran, not the sampling of answers"
)


#: A stage gave no readable answer to the metric's items (coverage 0): nothing to judge.
NO_ANSWERS = "no answers"
#: The metric does not exist on these answers (a correlation of a constant prediction).
UNDEFINED = "undefined"
#: What takes the place of a verdict when there is nothing to judge.
NO_VERDICT = (NO_ANSWERS, UNDEFINED)
#: Every verdict, in the order tables and charts show them.
VERDICTS = ("helps", "within noise", "hurts", *NO_VERDICT)


def verdict(low: float, high: float, *, coverage: float | None = None, defined: bool = True) -> str:
    """``"helps"`` when the interval is above 0, ``"hurts"`` below, else ``"within noise"``;
    but :data:`NO_ANSWERS` when a stage answered none of the metric's items (``coverage``,
    the smaller of the two stages', is 0) and :data:`UNDEFINED` when the metric is not
    ``defined`` on the answers (a correlation of a constant prediction): an interval of
    0.000 [0.000, 0.000] there is an artefact, not evidence of no change.

    Examples
    --------
    >>> verdict(0.1, 0.3), verdict(-0.2, 0.1)
    ('helps', 'within noise')
    >>> verdict(0.0, 0.0, coverage=0.0), verdict(0.0, 0.0, coverage=1.0, defined=False)
    ('no answers', 'undefined')
    """
    if coverage is not None and coverage <= 0:
        return NO_ANSWERS
    if not defined:
        return UNDEFINED
    return "helps" if low > 0 else "hurts" if high < 0 else "within noise"


def metric_coverage(items: Sequence[Mapping[str, Any]], metric: str) -> float | None:
    """The share of ``metric``'s items whose answer could be read: ``<dim>_answered`` for a
    ``<dim>_srcc``/``<dim>_plcc``, else ``answered`` over the items that carry ``metric``
    (:mod:`eemo_rewards.train.evaluate`). ``None`` when the items carry no such flag (older
    evaluations).

    Examples
    --------
    >>> items = [{"valence_true": 0.2, "valence_pred": 0.5, "valence_answered": 0.0},
    ...          {"valence_true": 0.7, "valence_pred": 0.6, "valence_answered": 1.0}]
    >>> metric_coverage(items, "valence_srcc"), metric_coverage(items, "emotion_acc")
    (0.5, None)
    """
    dim, _, suffix = metric.rpartition("_")
    if suffix in CORRELATIONS and dim:
        flags = [float(r[f"{dim}_answered"]) for r in items if f"{dim}_answered" in r]
    else:
        flags = [float(r["answered"]) for r in items if metric in r and "answered" in r]
    return sum(flags) / len(flags) if flags else None


def _kind(kind: str) -> str:
    if kind not in ("mean", *CORRELATIONS):
        raise ValueError(f"kind={kind!r}; use 'mean' or one of {list(CORRELATIONS)}")
    return kind


def _as_groups(groups: Sequence[Any], kind: str, what: str):
    import numpy as np

    if not groups:
        raise ValueError(f"{what}: no seeds; pass one list of item values per seed")
    out = []
    for g, values in enumerate(groups):
        arr = np.asarray(values, dtype=float)
        if kind == "mean" and arr.ndim != 1:
            raise ValueError(f"{what}: seed {g} must be a flat list of item values")
        if kind != "mean" and (arr.ndim != 2 or arr.shape[1] != 2):
            raise ValueError(
                f"{what}: seed {g} must be a list of (truth, prediction) pairs for {kind}"
            )
        if arr.shape[0] == 0:
            raise ValueError(f"{what}: seed {g} has no items; evaluate at least one row")
        if not np.all(np.isfinite(arr)):
            raise ValueError(
                f"{what}: seed {g} holds a non-finite value; score unreadable answers "
                "(e.g. as the scale midpoint) before computing intervals"
            )
        out.append(arr)
    return out


def _ranks(x):
    """Average ranks along the last axis (ties share their mean rank)."""
    import numpy as np

    try:
        from scipy.stats import rankdata

        return rankdata(x, axis=-1)
    except ImportError:  # pragma: no cover - scipy ships with the [metrics] and [train] extras
        out = np.empty_like(x, dtype=float)
        for i, row in enumerate(np.atleast_2d(x)):
            s = np.sort(row)
            left = np.searchsorted(s, row, "left")
            right = np.searchsorted(s, row, "right")
            out[i] = (left + right + 1) / 2.0
        return out.reshape(x.shape)


def _stat(values, idx, kind: str):
    """The metric on each resample: ``values`` (N,) or (N, 2), ``idx`` (B, N) -> (B,).
    A constant column leaves a correlation undefined: it counts as 0.0, as the evaluation
    reports it."""
    import numpy as np

    if kind == "mean":
        return values[idx].mean(axis=1)
    x, y = values[idx, 0], values[idx, 1]
    if kind == "srcc":
        x, y = _ranks(x), _ranks(y)
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    den = np.sqrt((x * x).sum(axis=1) * (y * y).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(den > 1e-12, (x * y).sum(axis=1) / np.where(den > 0, den, 1.0), 0.0)
    return r


def _point(values, kind: str) -> float:
    import numpy as np

    idx = np.arange(len(values))[None, :]
    return float(_stat(values, idx, kind)[0])


def _two_level(per_seed, n_resamples: int, rng):
    """Combine per-seed item resamples (S arrays of shape (B,)) with a seed resample."""
    import numpy as np

    table = np.stack(per_seed)  # (S, B)
    s, b = table.shape
    if s == 1:
        return table[0]
    seeds = rng.integers(0, s, size=(n_resamples, s))
    # a seed drawn twice takes two different item resamples
    cols = (np.arange(n_resamples)[:, None] + 7919 * np.arange(s)[None, :]) % b
    return table[seeds, cols].mean(axis=1)


def _check(n_resamples: int, level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level}; use a coverage between 0 and 1, e.g. 0.95")
    if n_resamples < 100:
        raise ValueError(f"n_resamples={n_resamples}; use at least 100 (2000 is usual)")


def _bounds(draws, level: float) -> tuple[float, float]:
    import numpy as np

    tail = (1.0 - level) / 2.0
    return float(np.quantile(draws, tail)), float(np.quantile(draws, 1.0 - tail))


def metric_interval(
    groups: Sequence[Any],
    *,
    kind: str = "mean",
    n_resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """A metric (mean over seeds of the per-seed metric) with its bootstrap interval.

    ``groups`` holds one entry per seed: a list of item values (``kind="mean"``) or of
    ``(truth, prediction)`` pairs (``"srcc"``, ``"plcc"``). Returns ``value``, ``low``,
    ``high``, ``items`` (per seed, the smallest count) and ``seeds``.

    Examples
    --------
    >>> out = metric_interval([[1, 0, 1, 1], [1, 1, 0, 1]])
    >>> out["value"], out["seeds"], out["items"]
    (0.75, 2, 4)
    """
    import numpy as np

    kind = _kind(kind)
    _check(n_resamples, level)
    data = _as_groups(groups, kind, "metric_interval")
    rng = np.random.default_rng(seed)
    per_seed = [_stat(v, rng.integers(0, len(v), (n_resamples, len(v))), kind) for v in data]
    draws = _two_level(per_seed, n_resamples, rng)
    low, high = _bounds(draws, level)
    value = float(np.mean([_point(v, kind) for v in data]))
    return {
        "value": value,
        "low": min(low, value),
        "high": max(high, value),
        "items": int(min(len(v) for v in data)),
        "seeds": len(data),
    }


def paired_difference(
    before: Sequence[Any],
    after: Sequence[Any],
    *,
    kind: str = "mean",
    n_resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    coverage: float | None = None,
) -> dict[str, Any]:
    """``after - before`` of a metric, paired by seed and item, with its interval.

    ``before[s]`` and ``after[s]`` are the two arms' item values under seed ``s``, in the
    same item order (for correlations, ``(truth, prediction)`` pairs: the truths must match).
    Returns ``before``, ``after`` (mean over seeds of each arm's metric), ``change``,
    ``low``, ``high``, ``verdict``, ``defined``, ``items`` and ``seeds``. ``coverage`` is
    the smaller share of answered items of the two arms (:func:`metric_coverage`): 0 gives
    :data:`NO_ANSWERS`. A correlation whose predictions (or truths) are constant under some
    seed in either arm is not defined there: :data:`UNDEFINED` (see :func:`verdict`).

    Raises
    ------
    ValueError
        When the seeds or items do not pair up, or a value is not finite.

    Examples
    --------
    >>> out = paired_difference([[0, 0, 1, 0] * 10], [[1, 1, 1, 0] * 10])
    >>> out["change"], out["verdict"], out["items"]
    (0.5, 'helps', 40)
    >>> paired_difference([[0, 1] * 10], [[1, 0] * 10])["verdict"]
    'within noise'
    >>> flat = [[(t / 10, 0.5) for t in range(10)]]
    >>> paired_difference(flat, flat, kind="srcc")["verdict"]
    'undefined'
    """
    import numpy as np

    kind = _kind(kind)
    _check(n_resamples, level)
    first = _as_groups(before, kind, "before")
    second = _as_groups(after, kind, "after")
    if len(first) != len(second):
        raise ValueError(
            f"{len(first)} seeds before and {len(second)} after; pair the arms seed by seed"
        )
    for s, (b, a) in enumerate(zip(first, second, strict=True)):
        if b.shape != a.shape:
            raise ValueError(
                f"seed {s}: {len(b)} items before and {len(a)} after; both arms must answer "
                "the same held-out rows"
            )
        if kind != "mean" and not np.allclose(b[:, 0], a[:, 0]):
            raise ValueError(f"seed {s}: the truths differ, so the items are not paired")
    rng = np.random.default_rng(seed)
    per_seed = []
    for b, a in zip(first, second, strict=True):
        idx = rng.integers(0, len(b), (n_resamples, len(b)))
        per_seed.append(_stat(a, idx, kind) - _stat(b, idx, kind))
    draws = _two_level(per_seed, n_resamples, rng)
    low, high = _bounds(draws, level)
    before_value = float(np.mean([_point(v, kind) for v in first]))
    after_value = float(np.mean([_point(v, kind) for v in second]))
    change = after_value - before_value
    low, high = min(low, change), max(high, change)
    if math.isclose(low, 0.0, abs_tol=1e-12) and math.isclose(high, 0.0, abs_tol=1e-12):
        low = high = 0.0
    defined = kind == "mean" or not any(
        np.ptp(v[:, 0]) <= 1e-12 or np.ptp(v[:, 1]) <= 1e-12 for v in (*first, *second)
    )
    return {
        "before": before_value,
        "after": after_value,
        "change": change,
        "low": low,
        "high": high,
        "verdict": verdict(low, high, coverage=coverage, defined=defined),
        "defined": defined,
        "items": int(min(len(v) for v in first)),
        "seeds": len(first),
    }


def item_values(rows: Sequence[Mapping[str, Any]], metric: str) -> list[Any]:
    """The values of ``metric`` per item from an evaluation's ``items``: floats for a mean
    metric, ``(truth, prediction)`` pairs for ``<dim>_srcc`` / ``<dim>_plcc`` (read from the
    items' ``<dim>_true`` and ``<dim>_pred``). Items without the metric are skipped, in order.

    Examples
    --------
    >>> item_values([{"valence_true": 0.2, "valence_pred": 0.5}, {}], "valence_srcc")
    [(0.2, 0.5)]
    """
    dim, _, suffix = metric.rpartition("_")
    if suffix in CORRELATIONS and dim:
        return [
            (float(r[f"{dim}_true"]), float(r[f"{dim}_pred"]))
            for r in rows
            if f"{dim}_true" in r and f"{dim}_pred" in r
        ]
    return [float(r[metric]) for r in rows if metric in r]


def paired_values(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]], metric: str
) -> tuple[list[Any], list[Any]]:
    """:func:`item_values` of two evaluations of the same rows, kept only where **both**
    scored the item (a judge may decide an item for one model and not the other), in row
    order.

    Examples
    --------
    >>> paired_values([{"c": 1.0}, {"c": 0.0}, {}], [{"c": 0.0}, {}, {"c": 1.0}], "c")
    ([1.0], [0.0])
    """
    if len(before) != len(after):
        raise ValueError(
            f"{len(before)} items before and {len(after)} after: the evaluations did not "
            "answer the same rows, so they cannot be paired"
        )
    first, second = [], []
    for b, a in zip(before, after, strict=True):
        x, y = item_values([b], metric), item_values([a], metric)
        if x and y:
            first.append(x[0])
            second.append(y[0])
    return first, second


def metric_value(groups: Sequence[Any], *, kind: str = "mean") -> float:
    """The metric (mean over seeds of the per-seed value), without an interval.

    Examples
    --------
    >>> metric_value([[1, 0], [1, 1]])
    0.75
    """
    kind = _kind(kind)
    return float(
        sum(_point(v, kind) for v in _as_groups(groups, kind, "metric_value")) / len(groups)
    )


def metric_names(items: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every metric per-item values support, in first-seen order: the mean metrics as they
    are, then ``<dim>_srcc`` and ``<dim>_plcc`` where items carry both ``<dim>_true`` and
    ``<dim>_pred``.

    Examples
    --------
    >>> metric_names([{"emotion_acc": 1.0, "valence_true": 0.2, "valence_pred": 0.4}])
    ['emotion_acc', 'valence_srcc', 'valence_plcc']
    """
    names: list[str] = []
    for item in items:
        names += [k for k in item if k not in names]
    # the truths, predictions and answered flags feed metrics; they are none themselves
    means = [n for n in names if not n.endswith(("_true", "_pred", "answered"))]
    dims = [n[: -len("_true")] for n in names
            if n.endswith("_true") and f"{n[: -len('_true')]}_pred" in names]  # fmt: skip
    return means + [f"{d}_{k}" for d in dims for k in CORRELATIONS]


def metric_kind(metric: str) -> str:
    """``"srcc"``/``"plcc"`` for a correlation metric name, else ``"mean"``."""
    suffix = metric.rpartition("_")[2]
    return suffix if suffix in CORRELATIONS else "mean"
