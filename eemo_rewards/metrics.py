"""Evaluation metrics: accuracy, macro-F1, SRCC/PLCC, NDCG and the EEmo-Bench ranking score.

Pure functions in the style of ``sklearn.metrics``: ``metric(y_true, y_pred)``, inputs
validated with an error that says what is wrong. Standard library only, so the reward core
can use them; tests compare them with scipy.

Degenerate inputs: :func:`srcc` and :func:`plcc` of a constant sequence are undefined
(scipy returns NaN and warns). Here they return ``0.0`` — no evidence of correlation — so a
tiny evaluation where a model answers one value for every image reports 0 instead of a NaN
that poisons averages and plots.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

__all__ = [
    "EEMO_BENCH_HIT_WEIGHTS",
    "UndefinedMetricWarning",
    "accuracy",
    "eemo_bench_ranking_score",
    "kendall_tau",
    "macro_f1",
    "ndcg",
    "plcc",
    "srcc",
]

EEMO_BENCH_HIT_WEIGHTS = (25.0, 15.0, 10.0)
"""Credit for finding the ground truth's first, second and third emotion (EEmo-Bench)."""


def _as_list(values: Any, name: str) -> list[Any]:
    if type(values) is list:  # the common case, without the slower abstract-class checks
        return values
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise ValueError(
            f"{name} must be a sequence of values, got {type(values).__name__}; "
            "pass a list (or array) with one value per sample"
        )
    return list(values)


def _paired(y_true: Any, y_pred: Any, names=("y_true", "y_pred")) -> tuple[list, list]:
    a, b = _as_list(y_true, names[0]), _as_list(y_pred, names[1])
    if len(a) != len(b):
        raise ValueError(
            f"{names[0]} has {len(a)} values and {names[1]} has {len(b)}; "
            "pass one prediction per ground-truth value"
        )
    if not a:
        raise ValueError(f"{names[0]} and {names[1]} are empty; a metric needs at least one sample")
    return a, b


def _floats(values: list[Any], name: str) -> list[float]:
    out = []
    for i, v in enumerate(values):
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"{name}[{i}] = {v!r} is not a number") from None
        if not math.isfinite(f):
            raise ValueError(
                f"{name}[{i}] is {f}; drop or impute non-finite values before scoring "
                "(a metric over NaN is undefined)"
            )
        out.append(f)
    return out


def accuracy(y_true: Sequence[Hashable], y_pred: Sequence[Hashable]) -> float:
    """Fraction of predictions equal to the ground truth.

    Examples
    --------
    >>> accuracy(["joy", "fear", "awe"], ["joy", "fear", "sadness"])
    0.6666666666666666
    """
    a, b = _paired(y_true, y_pred)
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def macro_f1(
    y_true: Sequence[Hashable], y_pred: Sequence[Hashable], labels: Sequence[Hashable] | None = None
) -> float:
    """Unweighted mean of the per-label F1 scores.

    Same definition as ``sklearn.metrics.f1_score(average="macro", zero_division=0)``: a
    label with no true and no predicted sample has F1 0, and ``labels=None`` averages over
    every label seen in either ``y_true`` or ``y_pred``. Pass ``labels`` (e.g. a taxonomy's
    label list) to average over a fixed vocabulary; predictions outside it then count as
    misses for the true label but add no label of their own.

    Examples
    --------
    >>> macro_f1(["joy", "joy", "fear"], ["joy", "fear", "fear"])
    0.6666666666666666
    """
    a, b = _paired(y_true, y_pred)
    if labels is None:
        label_list = sorted(set(a) | set(b), key=repr)
    else:
        label_list = _as_list(labels, "labels")
        if not label_list:
            raise ValueError("labels is empty; pass the label vocabulary or None")
    true_pos = dict.fromkeys(label_list, 0)
    n_true = dict.fromkeys(label_list, 0)
    n_pred = dict.fromkeys(label_list, 0)
    for x, y in zip(a, b, strict=True):
        if x in n_true:
            n_true[x] += 1
            if x == y:
                true_pos[x] += 1
        if y in n_pred:
            n_pred[y] += 1
    total = 0.0
    for label in label_list:
        denominator = n_true[label] + n_pred[label]
        if denominator:
            total += 2.0 * true_pos[label] / denominator
    return total / len(label_list)


def _pearson(x: list[float], y: list[float], zero_division: Any = 0.0) -> Any:
    n = len(x)
    mx, my = math.fsum(x) / n, math.fsum(y) / n
    dx = [v - mx for v in x]
    dy = [v - my for v in y]
    sxx = math.fsum(d * d for d in dx)
    syy = math.fsum(d * d for d in dy)
    if sxx == 0.0 or syy == 0.0:
        return _undefined(zero_division)
    r = math.fsum(p * q for p, q in zip(dx, dy, strict=True)) / math.sqrt(sxx * syy)
    return max(-1.0, min(1.0, r))


def _average_ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        average = (i + j) / 2.0 + 1.0  # ties share the mean of the ranks they span
        for m in range(i, j + 1):
            ranks[order[m]] = average
        i = j + 1
    return ranks


def _undefined(zero_division: Any) -> Any:
    # scikit-learn's convention: the caller says what an undefined value becomes
    if zero_division == "warn":
        warnings.warn(
            "correlation undefined: one input is constant; returning 0.0 (pass zero_division "
            "to choose the value, e.g. float('nan') or None)",
            UndefinedMetricWarning,
            stacklevel=4,
        )
        return 0.0
    return zero_division


class UndefinedMetricWarning(RuntimeWarning):
    """A correlation was asked of a constant input (its value is the caller's choice)."""


def plcc(x: Sequence[float], y: Sequence[float], *, zero_division: Any = 0.0) -> Any:
    """Pearson linear correlation coefficient.

    ``zero_division`` is what an undefined correlation (either input constant) becomes:
    ``0.0`` by default, or ``float("nan")``, ``None``, or ``"warn"`` (0.0 with an
    :class:`UndefinedMetricWarning`), as in scikit-learn.

    Examples
    --------
    >>> round(plcc([0.1, 0.4, 0.9], [1.0, 2.0, 3.5]), 4)
    0.9996
    >>> plcc([0.5, 0.5, 0.5], [1.0, 2.0, 3.0])  # constant input: undefined, reported as 0
    0.0
    >>> plcc([0.5, 0.5, 0.5], [1.0, 2.0, 3.0], zero_division=None) is None
    True
    """
    a, b = _paired(x, y, ("x", "y"))
    return _pearson(_floats(a, "x"), _floats(b, "y"), zero_division)


def srcc(x: Sequence[float], y: Sequence[float], *, zero_division: Any = 0.0) -> Any:
    """Spearman rank correlation (ties get average ranks); ``zero_division`` as in
    :func:`plcc` when either input is constant.

    Examples
    --------
    >>> srcc([0.1, 0.4, 0.9], [1.0, 2.0, 3.5])
    1.0
    >>> srcc([1, 2, 3, 4], [4, 3, 2, 1])
    -1.0
    >>> srcc([2, 2, 2], [1, 2, 3], zero_division=float("nan"))
    nan
    """
    a, b = _paired(x, y, ("x", "y"))
    return _pearson(_average_ranks(_floats(a, "x")), _average_ranks(_floats(b, "y")), zero_division)


def kendall_tau(x: Sequence[Any], y: Sequence[Any], *, zero_division: Any = 0.0) -> Any:
    """Kendall's τ-b between two paired sequences of comparable values.

    Like ``scipy.stats.kendalltau`` (variant b): ties are allowed; a sequence that is
    constant is undefined (scipy gives NaN) and gives ``zero_division`` here, ``0.0`` by
    default. Quadratic in the length, meant for the short lists of a ranking answer.

    Examples
    --------
    >>> kendall_tau([1, 2, 3], [1, 3, 2])
    0.3333333333333333
    """
    a, b = _paired(x, y, ("x", "y"))
    concordant = discordant = ties_a = ties_b = 0
    n = len(a)
    for i in range(n):
        for j in range(i + 1, n):
            da = (a[i] > a[j]) - (a[i] < a[j])
            db = (b[i] > b[j]) - (b[i] < b[j])
            if da == 0 and db == 0:
                continue
            if da == 0:
                ties_a += 1
            elif db == 0:
                ties_b += 1
            elif da == db:
                concordant += 1
            else:
                discordant += 1
    n_a = concordant + discordant + ties_b  # pairs not tied in a
    n_b = concordant + discordant + ties_a  # pairs not tied in b
    if n_a == 0 or n_b == 0:
        return _undefined(zero_division)
    return (concordant - discordant) / math.sqrt(n_a * n_b)


def _dedup(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def ndcg(truth: Sequence[Hashable], pred: Sequence[Hashable], *, k: int | None = None) -> float:
    """NDCG of a predicted ranking against a ground-truth ranking (strongest first).

    Graded relevance comes from the ground-truth position: with ``n`` true items, the first
    has relevance ``n``, the last ``1``, anything else ``0``; gain is linear and discounted
    by ``log2(rank + 1)``. Repeated predictions count once (at their first position), so
    repeating the top label earns nothing. ``k`` cuts the prediction (default: ``len(truth)``).

    Examples
    --------
    >>> ndcg(["joy", "fear", "awe"], ["joy", "fear", "awe"])
    1.0
    >>> round(ndcg(["joy", "fear", "awe"], ["fear", "joy", "awe"]), 4)
    0.9225
    """
    t = _dedup(_as_list(truth, "truth"))
    p = _dedup(_as_list(pred, "pred"))
    if not t:
        raise ValueError("truth is empty; a ranking needs at least one true item")
    cutoff = len(t) if k is None else k
    if cutoff < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    relevance = {item: len(t) - i for i, item in enumerate(t)}
    dcg = sum(relevance.get(item, 0) / math.log2(i + 2) for i, item in enumerate(p[:cutoff]))
    ideal = sum((len(t) - i) / math.log2(i + 2) for i in range(min(cutoff, len(t))))
    return dcg / ideal


def _alphabetical_ranks(items: list[Any]) -> list[int]:
    order = sorted(items)
    return [order.index(item) for item in items]


def _tau_distinct(a: Sequence[int], b: Sequence[int]) -> float:
    """Kendall's τ of two equally long rank sequences without ties (τ-a = τ-b then)."""
    n = len(a)
    score = 0
    for i in range(n):
        for j in range(i + 1, n):
            score += 1 if (a[i] < a[j]) == (b[i] < b[j]) else -1
    return score / (n * (n - 1) / 2)


def _weights(weights: Any) -> list[float]:
    w = _floats(_as_list(weights, "weights"), "weights")
    if not w or any(x < 0 for x in w):
        raise ValueError(f"weights must be non-negative numbers, got {weights!r}")
    return w


def eemo_bench_ranking_score(
    truth: Sequence[Hashable],
    pred: Sequence[Hashable],
    *,
    kendall: str = "positions",
    weights: Sequence[float] = EEMO_BENCH_HIT_WEIGHTS,
) -> float:
    """EEmo-Bench's emotion-ranking score of one answer, in ``[0, 1]``.

    ``(hit + kendall) / 100`` (REFERENCE §2, from the released scorer):

    - ``hit = Σ w_i · [truth_i ∈ pred]`` with ``w = (25, 15, 10)`` for the ground truth's
      first, second and third emotion;
    - both lists are then restricted to the emotions they share, de-duplicated, each in its
      own order; ``kendall = (τ + 1) · 25`` over those lists, ``0`` when at most one emotion
      is shared and multiplied by 2/3 when exactly two are.

    Emotion names must already be normalised (same case, synonyms folded): comparison is
    by equality.

    Parameters
    ----------
    truth, pred : sequence of emotion names, strongest first
    kendall : {"positions", "released"}, default "positions"
        How τ is computed over the shared emotions. ``"positions"`` compares the two orders,
        as the benchmark intends. ``"released"`` reproduces the benchmark's released code,
        which passes the two lists of *names* to ``scipy.stats.kendalltau``; scipy then ranks
        each list alphabetically, so τ measures agreement of alphabetical ranks, not of
        orders. ``['joy', 'anger', 'fear']`` against ``['anger', 'joy', 'fear']`` differ by
        one adjacent swap: τ is 1/3 over positions but −1 in the released code. Use it only
        to reproduce published numbers; both are computed in pure Python here (the tests
        check ``"released"`` against scipy on every permutation).
    weights : sequence of float, default (25, 15, 10)
        Hit credit per ground-truth position; ``truth`` may not be longer. The score is
        divided by ``sum(weights) + 50``, i.e. 100 by default.

    Examples
    --------
    >>> eemo_bench_ranking_score(["joy", "fear", "awe"], ["joy", "fear", "awe"])
    1.0
    >>> round(eemo_bench_ranking_score(["joy", "anger", "fear"], ["anger", "joy", "fear"]), 4)
    0.8333
    >>> eemo_bench_ranking_score(["joy", "anger", "fear"], ["anger", "joy", "fear"],
    ...                          kendall="released")
    0.5
    >>> eemo_bench_ranking_score(["joy", "fear", "awe"], ["sadness"])
    0.0
    """
    if kendall not in ("positions", "released"):
        raise ValueError(f"kendall must be 'positions' or 'released', got {kendall!r}")
    t = _as_list(truth, "truth")
    p = _as_list(pred, "pred")
    w = weights if weights is EEMO_BENCH_HIT_WEIGHTS else _weights(weights)
    if not t:
        raise ValueError("truth is empty; the ground-truth ranking needs at least one emotion")
    if len(t) > len(w):
        raise ValueError(
            f"truth has {len(t)} emotions but weights give credit for {len(w)}; pass the "
            "top-3 ground truth (or weights with one value per position)"
        )
    if len(set(t)) != len(t):
        raise ValueError(f"truth repeats an emotion: {t!r}; a ranking lists each emotion once")
    pred_set = set(p)
    hit = sum(wi for wi, item in zip(w, t, strict=False) if item in pred_set)
    shared_t = [item for item in t if item in pred_set]
    kendall_part = 0.0
    if len(shared_t) >= 2:
        shared_set = set(shared_t)
        shared_p = [item for item in dict.fromkeys(p) if item in shared_set]
        if kendall == "positions":
            position = {item: i for i, item in enumerate(shared_p)}
            tau = _tau_distinct(range(len(shared_t)), [position[x] for x in shared_t])
        else:
            tau = _tau_distinct(_alphabetical_ranks(shared_t), _alphabetical_ranks(shared_p))
        kendall_part = (tau + 1.0) * 25.0
        if len(shared_t) == 2:
            kendall_part *= 2.0 / 3.0
    return (hit + kendall_part) / (math.fsum(w) + 50.0)
