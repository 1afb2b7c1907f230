"""Intensity-distance reward for assessment answers (valence / arousal / dominance scores).

An assessment answer such as ``"Valence: 0.73"`` is scored by how close it lies to the
annotated value, through a kernel on the error normalised by the scale's width. The scale is
declared (0–1 by default, as in EEmoDB-Assess) and may be overridden per sample by a
``scale`` column; answers outside the scale score 0 instead of being clipped, so a model
cannot learn that "1.7" is as good as "1.0".

Answers (and solutions, once per distinct solution: a GRPO batch repeats each one per
generation) are read by :func:`eemo_rewards.answers.numbers.parse_scores`, re-exported here:
one value per dimension, with the scale the answer states beside it; hedges, bounds and
repeated values are not values.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from eemo_rewards.answers.grammar import cached
from eemo_rewards.answers.numbers import (
    DIMENSIONS,
    SCALES,
    label_table,
    parse_scores,
    read_scores,
    resolve_scale,
    scan_scores,
)
from eemo_rewards.parsing import ParsedCompletion
from eemo_rewards.rewards.base import RewardFunction

__all__ = [
    "DIMENSIONS",
    "KERNELS",
    "SCALES",
    "IntensityReward",
    "intensity_reward",
    "parse_scores",
    "resolve_scale",
]

KERNELS = ("linear", "gaussian", "laplace", "threshold", "bucket")

# Q-Insight's threshold is 0.35 on a 1–5 scale: the same fraction of any scale's width.
_DEFAULT_TAU_FRACTION = 0.35 / 4.0

# EEmo-Logic's consistency buckets on the 0–1 scale: low ≤ 0.4, high ≥ 0.6, else moderate.
_BUCKET_LOW, _BUCKET_HIGH = 0.4, 0.6


# A GRPO group's rollouts repeat the same short answers: reading one is memoised (the
# reader is a pure function of the text, the dimensions and the scale). The result is
# shared, so it is only read, never changed.
_MEMO_CHARS = 160


@cached  # cleared with the grammar's lexicon
def _memo_scores(text: str, dimensions: tuple[str, ...], lo: float, hi: float) -> dict:
    return read_scores(text, dimensions, lo, hi)


@functools.lru_cache(maxsize=8192)
def _cached_truth(
    solution: str,
    dimensions: tuple[str, ...],
    scale: tuple[float, float],
    dimension: str | None,
) -> tuple[tuple[str | None, float], ...] | None:
    """A solution string's true values on ``scale``, a bare value filed under ``dimension``;
    ``None`` when it gives no value or one outside the scale.

    Cached: a GRPO batch repeats each solution once per generation."""
    return _checked_truth(scan_scores(solution, dimensions, *scale), scale, dimension)


def _checked_truth(
    values: dict[str | None, float], scale: tuple[float, float], dimension: str | None
) -> tuple[tuple[str | None, float], ...] | None:
    lo, hi = scale
    if not values or not all(math.isfinite(v) and lo <= v <= hi for v in values.values()):
        return None
    if None in values and dimension is not None:
        values[dimension] = values.pop(None)
    return tuple(values.items())


def _finite_or_nan(value: Any) -> float:
    """``float(value)``, NaN for an integer too large for a float (``10**400``): the caller
    then reports a bad solution instead of failing."""
    try:
        return float(value)
    except OverflowError:
        return math.nan


def _warn_bad_solution(reward: str, message: str) -> None:
    warnings.warn(f"{reward}: {message}; the sample scored 0", UserWarning, stacklevel=4)


class IntensityReward(RewardFunction):
    """Reward an assessment answer by its distance to the annotated V/A/D score.

    With ``ŝ`` the answered and ``s`` the true value on the sample's scale ``[lo, hi]`` and
    ``e = |ŝ − s| / (hi − lo)`` the normalised error, the kernels are

    ``"linear"`` ``1 − e``; ``"gaussian"`` ``exp(−e² / (2σ²))``; ``"laplace"``
    ``exp(−e / b)``; ``"threshold"`` ``1`` if ``|ŝ − s| < τ`` else ``0`` (Q-Insight);
    ``"bucket"`` ``1`` if both values fall in the same EEmo-Logic bucket of the normalised
    scale (low ≤ 0.4, high ≥ 0.6, else moderate) else ``0``. All lie in ``[0, 1]``.

    An answer outside the scale scores 0. A solution with several dimensions scores each and
    averages; a dimension missing from (or hedged in) the answer scores 0 and other
    dimensions in the answer are ignored. When the answer is a single bare number it stands
    for the solution's dimension if the solution has exactly one.

    Parameters
    ----------
    kernel : {"linear", "gaussian", "laplace", "threshold", "bucket"}, default "linear"
    scale : str or (lo, hi), default "0-1"
        The declared scale of answers and solutions; a sample's ``scale`` column overrides it.
    sigma : float, default 0.1
        Gaussian width, in units of the normalised error.
    b : float, default 0.1
        Laplace scale, in units of the normalised error.
    tau : float, optional
        Threshold on the declared scale (``|ŝ − s| < tau``); default ``0.35 / 4`` of the
        scale's width, Q-Insight's 0.35 on 1–5.
    dimensions : sequence of str, default ("valence", "arousal", "dominance")
    require_format : bool, default True
        Score only well-formed completions; ``False`` reads the answer block of a malformed
        one, else its whole text (lenient evaluation; see
        :meth:`~eemo_rewards.rewards.base.RewardFunction.answer_text`).

    Examples
    --------
    >>> intensity_reward.score("<think>calm sea</think><answer>Valence: 0.75</answer>",
    ...                        "valence: 0.5")
    0.75
    >>> IntensityReward(kernel="threshold", scale="1-5").score(
    ...     "<think>t</think><answer>3.2</answer>", "3.5")
    1.0
    >>> intensity_reward(completions=["<think>t</think><answer>0.5</answer>"] * 2,
    ...                  solution=["0.5", "joy"], task=["assessment", "emotion"])
    [1.0, None]
    """

    default_name = "intensity_reward"
    default_tasks = frozenset({"assessment"})
    columns = ("dimension", "scale")

    def __init__(
        self,
        *,
        kernel: str = "linear",
        scale: Any = "0-1",
        sigma: float = 0.1,
        b: float = 0.1,
        tau: float | None = None,
        dimensions: Sequence[str] = DIMENSIONS,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; use one of {list(KERNELS)}")
        for name, value in (("sigma", sigma), ("b", b)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        self.kernel = kernel
        self.scale = resolve_scale(scale)
        lo, hi = self.scale
        if tau is None:
            tau = _DEFAULT_TAU_FRACTION * (hi - lo)
        if not (isinstance(tau, int | float) and math.isfinite(tau) and tau > 0):
            raise ValueError(f"tau must be a positive number on the declared scale, got {tau!r}")
        self.sigma = float(sigma)
        self.b = float(b)
        self.tau = float(tau)
        if isinstance(dimensions, str):
            raise ValueError(
                f"dimensions must be a sequence of names, got the string {dimensions!r}"
            )
        self.dimensions = tuple(str(d).strip().lower() for d in dimensions)
        if not self.dimensions:
            raise ValueError("dimensions is empty; pass the dimension names answers use")
        # the label spellings answers may use, built once (plain dicts: instances pickle)
        self._labels = (self.dimensions, label_table(self.dimensions))

    # -- pieces shared with ThurstoneReward --------------------------------------------------
    def _sample_scale(self, scale: Any) -> tuple[float, float] | None:
        if scale is None or scale == "":
            return self.scale
        try:
            return resolve_scale(scale)
        except ValueError as exc:
            _warn_bad_solution(self.__name__, f"bad 'scale' column ({exc})")
            return None

    def _dimension(self, dimension: Any) -> str | None:
        if dimension is None:
            return None
        d = str(dimension).strip().lower()
        return d if d in self.dimensions else None

    def _solution_values(
        self, solution: Any, dimension: str | None, scale: tuple[float, float]
    ) -> dict[str | None, float] | None:
        """The true values by dimension, or None (with a warning) when unusable."""
        truth = self._truth_items(solution, dimension, scale)
        return None if truth is None else dict(truth)

    def _truth_items(
        self, solution: Any, dimension: str | None, scale: tuple[float, float]
    ) -> tuple[tuple[str | None, float], ...] | None:
        if type(solution) is str:
            truth = _cached_truth(solution, self.dimensions, scale, dimension)
        else:
            if isinstance(solution, str):  # a str subclass: not cached
                values = scan_scores(solution, self.dimensions, *scale)
            elif isinstance(solution, bool) or solution is None:
                values = {}
            elif isinstance(solution, int | float):
                values = {None: _finite_or_nan(solution)}
            elif isinstance(solution, Mapping):
                values = {}
                for key, value in solution.items():
                    try:
                        values[str(key).strip().lower()] = _finite_or_nan(value)
                    except (TypeError, ValueError):
                        values = {}
                        break
            else:
                values = {}
            truth = _checked_truth(values, scale, dimension)
        if truth is None:
            lo, hi = scale
            _warn_bad_solution(
                self.__name__,
                f"cannot read a score in [{lo:g}, {hi:g}] from solution {solution!r}; write it "
                "as 'valence: 0.73' (or a bare number with a 'dimension' column) on the "
                "sample's scale",
            )
        return truth

    def _kernel(self, predicted: float, true: float, scale: tuple[float, float]) -> float:
        lo, hi = scale
        if not (lo <= predicted <= hi):
            return 0.0
        width = hi - lo
        error = abs(predicted - true) / width
        kernel = self.kernel
        if kernel == "linear":
            return 1.0 - error
        if kernel == "gaussian":
            return math.exp(-error * error / (2.0 * self.sigma * self.sigma))
        if kernel == "laplace":
            return math.exp(-error / self.b)
        if kernel == "threshold":
            own_lo, own_hi = self.scale
            return 1.0 if error < self.tau / (own_hi - own_lo) else 0.0
        return 1.0 if _bucket((predicted - lo) / width) == _bucket((true - lo) / width) else 0.0

    def _score(
        self,
        parsed: ParsedCompletion,
        solution: Any,
        *,
        task: str | None,
        options: Any,
        dimension: Any = None,
        scale: Any = None,
        **_: Any,
    ) -> float:
        sample_scale = self.scale if scale is None else self._sample_scale(scale)
        if sample_scale is None:
            return 0.0
        dim = None if dimension is None else self._dimension(dimension)
        truth = self._truth_items(solution, dim, sample_scale)
        if truth is None:
            return 0.0
        text = parsed.answer if parsed.ok else self.answer_text(parsed)
        if not text:
            return 0.0
        if len(text) <= _MEMO_CHARS:
            answer = _memo_scores(text, tuple(self.dimensions), *sample_scale)
        else:
            labels = self._labels
            if labels[0] is not self.dimensions:  # the dimensions were reassigned
                labels = self._labels = (self.dimensions, label_table(self.dimensions))
            answer = read_scores(text, self.dimensions, *sample_scale, labels[1])
        lone = next(iter(answer.values())) if len(answer) == 1 else None
        total = 0.0
        for key, true in truth:
            predicted = answer.get(key) if key is not None else lone
            if predicted is None and len(truth) == 1 and None in answer and len(answer) == 1:
                predicted = lone
            if predicted is not None:
                total += self._kernel(predicted, true, sample_scale)
        return total / len(truth)


def _bucket(normalised: float) -> int:
    if normalised <= _BUCKET_LOW:
        return 0
    if normalised >= _BUCKET_HIGH:
        return 2
    return 1


intensity_reward = IntensityReward()
