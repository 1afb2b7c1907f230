"""Intensity-distance reward for assessment answers (valence / arousal / dominance scores).

An assessment answer such as ``"Valence: 0.73"`` is scored by how close it lies to the
annotated value, through a kernel on the error normalised by the scale's width. The scale is
declared (0–1 by default, as in EEmoDB-Assess) and may be overridden per sample by a
``scale`` column; answers outside the scale score 0 instead of being clipped, so a model
cannot learn that "1.7" is as good as "1.0".

What :func:`parse_scores` accepts
---------------------------------
- a label then one number: ``"Valence: 0.73"``, ``"valence 0.7, arousal 0.4"``,
  ``"V: 0.7 A: 0.4 D: 0.5"``, ``"valence = .7"``; labels are the dimension names in any
  case, their first three letters (``val``, ``aro``, ``dom``) and, upper case only, their
  first letter (``V``, ``A``, ``D``: a lower-case ``a`` is the English article); words
  between a label and its number are skipped (``"valence is about 0.7"``);
- a bare number when no label precedes it: ``"0.73"`` (reported under the key ``None``);
- numbers: ``0.73``, ``.73``, ``7``, signed ``-0.1``, a decimal comma ``0,73`` (a comma
  between two digits; write lists with a space after the comma), a fraction ``7/9`` or
  ``7 out of 9`` and a percentage ``73%``.

``x/y`` means "x on a scale whose top is y": when ``y`` is the top of the declared scale
the value is ``x`` itself (``"7/9"`` on the 1–9 SAM scale is 7); otherwise the answer used
another scale and the value is placed the fraction ``x/y`` of the way along the declared
scale (``"7/9"`` on 0–1 is 0.778). ``"73%"`` is 73% of the way along the declared scale.

A dimension given more than one number anywhere in the answer is a hedge and is not parsed:
``"between 0.2 and 0.8"``, ``"0.2-0.8"``, ``"0.2 or 0.8"``, ``"valence 0.3 … valence 0.6"``.
So is a dimension given a bound instead of a value, since a bound names an interval, not a
point: ``"0.8 or lower"``, ``"0.8 and above"``, ``"0.8 at most"``, ``"0.8 max"``,
``"0.8+"``, ``"at least 0.8"``, ``"more than 0.5"``, ``"up to 0.3"``, ``"above 0.6"``,
``"under 0.4"``, ``"not 0.8"``, ``"> 0.5"``, ``"≤ 0.3"``. Approximations still commit to one
value and are read: ``"about 0.8"``, ``"approximately 0.8"``, ``"roughly 0.8"``, ``"around
0.8"``, ``"nearly 0.8"``, ``"~0.8"``, ``"0.8 or so"`` (the kernel already grades how near the
value is; ``"approximately 0.8 or lower"`` is still a bound). Solutions are read by the same
rules, once per distinct solution (a GRPO batch repeats each one per generation).

The scanner is one bounded regular expression applied once, linear in the answer's length.
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

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

DIMENSIONS = ("valence", "arousal", "dominance")

SCALES: dict[str, tuple[float, float]] = {
    "0-1": (0.0, 1.0),
    "sam9": (1.0, 9.0),
    "1-9": (1.0, 9.0),
    "1-5": (1.0, 5.0),
    "0-100": (0.0, 100.0),
}
"""Named scales; any ``"lo-hi"`` string or ``(lo, hi)`` pair is accepted as well."""

KERNELS = ("linear", "gaussian", "laplace", "threshold", "bucket")

# Q-Insight's threshold is 0.35 on a 1–5 scale: the same fraction of any scale's width.
_DEFAULT_TAU_FRACTION = 0.35 / 4.0

# EEmo-Logic's consistency buckets on the 0–1 scale: low ≤ 0.4, high ≥ 0.6, else moderate.
_BUCKET_LOW, _BUCKET_HIGH = 0.4, 0.6

_NUMBER = r"[-+]?(?:[0-9]+(?:[.,][0-9]+)?|\.[0-9]+)"
# Every quantifier is either on a disjoint character class or bounded, so a failed match
# costs at most a few steps past its start: the scan is linear on any input.
# Comparison signs are read as words: "> 0.5", "<=0.3", "0.8+" (not an arrow, "->").
_TOKEN = re.compile(
    rf"(?P<num>{_NUMBER})"
    r"(?:(?P<pct>[ ]?%)|[ \t]{0,3}(?:/|out[ \t]{1,3}of)[ \t]{0,3}(?P<den>[0-9]+(?:\.[0-9]+)?))?"
    r"|(?P<word>[^\W\d_]+|[<>](?<![-=<>][<>])(?![<>])=?|[≤≥⩽⩾]|\+(?![0-9.]))"
)
# A bound is not a value: words right before a number that make it one end of an interval
# ("at least 0.8", "more than 0.5", "up to 0.3", "above 0.6") or deny it ("not 0.8"), and
# words right after it ("0.8 or lower", "0.8 and above", "0.8 at most", "0.8 max"). Words
# approximating a value ("about", "roughly", "~", "or so") are not bounds.
_BOUND_BEFORE = frozenset(
    {"than", "above", "below", "over", "under", "beyond", "exceeding", "least", "most",
     "minimum", "maximum", "max", "min", "not", "<", ">", "<=", ">=", "≤", "≥", "⩽", "⩾"}
)  # fmt: skip
_BOUND_AFTER = frozenset({"minimum", "maximum", "max", "min", "plus", "+"})
_DIRECTIONS = frozenset(
    {"lower", "higher", "less", "more", "above", "below", "greater", "smaller", "larger",
     "over", "under", "up", "down", "beyond", "fewer"}
)  # fmt: skip
# the words that can start a bound before a number; the rest matter only after one
_BOUND_START = _BOUND_BEFORE | {"up"}
# what the words after a number have said so far
_AFTER_NONE, _AFTER_NUMBER, _AFTER_OR, _AFTER_AT = range(4)


def resolve_scale(scale: Any) -> tuple[float, float]:
    """Return ``(lo, hi)`` for a scale name (``"0-1"``, ``"sam9"``, ``"1-5"``, ``"0-100"``,
    any ``"lo-hi"``) or a ``(lo, hi)`` pair.

    Examples
    --------
    >>> resolve_scale("sam9"), resolve_scale((0, 10)), resolve_scale("2-7")
    ((1.0, 9.0), (0.0, 10.0), (2.0, 7.0))
    """
    if isinstance(scale, str):
        key = scale.strip().lower().replace(" ", "").replace("–", "-")
        if key in SCALES:
            return SCALES[key]
        lo_text, sep, hi_text = key.partition("-")
        try:
            lo, hi = float(lo_text), float(hi_text)
        except ValueError:
            lo = hi = math.nan
        if not sep or math.isnan(lo) or math.isnan(hi):
            raise ValueError(
                f"unknown scale {scale!r}; use one of {sorted(SCALES)}, a 'lo-hi' string such "
                "as '1-7', or a (lo, hi) pair"
            )
    elif isinstance(scale, Sequence) and len(scale) == 2:
        try:
            lo, hi = float(scale[0]), float(scale[1])
        except (TypeError, ValueError):
            raise ValueError(f"scale {scale!r} must hold two numbers (lo, hi)") from None
    else:
        raise ValueError(
            f"scale must be a name such as '0-1' or 'sam9' or a (lo, hi) pair, got {scale!r}"
        )
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"scale {scale!r} needs finite bounds with lo < hi")
    return lo, hi


@functools.lru_cache(maxsize=64)
def _label_table(dimensions: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    """(lower-case spellings → dimension, upper-case single letters → dimension)."""
    names: dict[str, str] = {}
    letters: dict[str, str] = {}
    for dim in dimensions:
        d = str(dim).strip().lower()
        names[d] = d
        if len(d) > 3:
            names.setdefault(d[:3], d)
        letters.setdefault(d[:1].upper(), d)
    return names, letters


def _number_value(number: str, pct: str, denominator: str, lo: float, hi: float) -> float:
    value = float(number.replace(",", "."))
    if pct:
        return lo + value / 100.0 * (hi - lo)
    if denominator:
        top = float(denominator)
        if top <= 0.0:
            return math.nan
        if top == hi:
            return value
        return lo + value / top * (hi - lo)
    return value


def parse_scores(
    answer: Any,
    dimensions: Sequence[str] = DIMENSIONS,
    *,
    scale: Any = (0.0, 1.0),
) -> dict[str | None, float]:
    """Read the scores an answer gives, one per dimension.

    Parameters
    ----------
    answer : str
        The answer text (the content of ``<answer>…</answer>``).
    dimensions : sequence of str, default ("valence", "arousal", "dominance")
        The dimension names to recognise as labels (see the module docstring).
    scale : str or (lo, hi), default (0, 1)
        The declared scale: fractions and percentages are mapped onto it.

    Returns
    -------
    dict
        ``{dimension: value}`` for each dimension given exactly one number, plus ``{None:
        value}`` for one number given before any label. A hedged dimension (two or more
        numbers, or a bound such as ``"0.8 or lower"``) is absent; values are not
        range-checked (the reward does that).

    Examples
    --------
    >>> parse_scores("Valence: 0.73")
    {'valence': 0.73}
    >>> parse_scores("V: 0.7 A: 0.4 D: 0.5")
    {'valence': 0.7, 'arousal': 0.4, 'dominance': 0.5}
    >>> parse_scores("73%"), parse_scores("7/9", scale="sam9")
    ({None: 0.73}, {None: 7.0})
    >>> parse_scores("valence between 0.2 and 0.8, arousal 0.4")
    {'arousal': 0.4}
    >>> parse_scores("valence approximately 0.8 or lower"), parse_scores("valence about 0.8")
    ({}, {'valence': 0.8})
    """
    if not isinstance(answer, str):
        return {}
    if isinstance(dimensions, str) or not all(isinstance(d, str) for d in dimensions):
        raise ValueError(
            f"dimensions must be a sequence of names such as ('valence', 'arousal'), "
            f"got {dimensions!r}"
        )
    lo, hi = resolve_scale(scale)
    return _scan(answer, tuple(dimensions), lo, hi)


def _scan(
    answer: str,
    dimensions: tuple[str, ...],
    lo: float,
    hi: float,
    table: tuple[dict[str, str], dict[str, str]] | None = None,
) -> dict:
    names, letters = table if table is not None else _label_table(dimensions)
    first: dict[str | None, tuple[str, str, str]] = {}
    hedged: set[str | None] = set()
    current: str | None = None
    bound_next = False  # the last token makes the next number a bound
    up = False  # the last word is "up" ("up to 0.3")
    after, after_key = _AFTER_NONE, None  # what the words after the last number said
    # findall's plain tuples keep the per-token cost low on very long answers.
    for number, pct, denominator, word in _TOKEN.findall(answer):
        if word:
            lower = word.lower()
            label = names.get(lower) or letters.get(word)
            if label is not None:
                current = label
                bound_next = up = False
                after = _AFTER_NONE
            elif bound_next or up or after:  # a bound may be under way
                if (
                    (after == _AFTER_NUMBER and lower in _BOUND_AFTER)
                    or (after == _AFTER_OR and lower in _DIRECTIONS)
                    or (after == _AFTER_AT and (lower == "least" or lower == "most"))
                ):
                    hedged.add(after_key)
                    after = _AFTER_NONE
                elif after == _AFTER_NUMBER and (lower == "or" or lower == "and"):
                    after = _AFTER_OR
                elif (after == _AFTER_NUMBER and lower == "at") or (
                    after == _AFTER_AT and lower == "the"
                ):
                    after = _AFTER_AT  # "0.8 at most", "0.8 at the least"
                else:
                    after = _AFTER_NONE
                bound_next = lower in _BOUND_BEFORE or (up and lower == "to")
                up = lower == "up"
            elif lower in _BOUND_START:
                bound_next = lower in _BOUND_BEFORE
                up = lower == "up"
            continue
        if current in first or bound_next:
            hedged.add(current)  # a second number, or a bound
        if current not in first:
            first[current] = (number, pct, denominator)
        bound_next = up = False
        after, after_key = _AFTER_NUMBER, current
    out: dict[str | None, float] = {}
    for key, (number, pct, denominator) in first.items():
        if hedged and key in hedged:
            continue
        if pct or denominator or "," in number:
            value = _number_value(number, pct, denominator, lo, hi)
        else:
            value = float(number)
        if math.isfinite(value):
            out[key] = value
    return out


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
    return _checked_truth(_scan(solution, dimensions, *scale), scale, dimension)


def _checked_truth(
    values: dict[str | None, float], scale: tuple[float, float], dimension: str | None
) -> tuple[tuple[str | None, float], ...] | None:
    lo, hi = scale
    if not values or not all(math.isfinite(v) and lo <= v <= hi for v in values.values()):
        return None
    if None in values and dimension is not None:
        values[dimension] = values.pop(None)
    return tuple(values.items())


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
        Score only well-formed completions (``parsed.ok``); ``False`` scores any completion
        with exactly one answer block (lenient evaluation).

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
        require_format: bool = True,
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
        self.require_format = require_format
        # the label spellings answers may use, built once (plain dicts: instances pickle)
        self._labels = (self.dimensions, _label_table(self.dimensions))

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
                values = _scan(solution, self.dimensions, *scale)
            elif isinstance(solution, bool) or solution is None:
                values = {}
            elif isinstance(solution, int | float):
                values = {None: float(solution)}
            elif isinstance(solution, Mapping):
                values = {}
                for key, value in solution.items():
                    try:
                        values[str(key).strip().lower()] = float(value)
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
        if self.require_format and not parsed.ok:
            return 0.0
        if parsed.answer:
            labels = self._labels
            if labels[0] is not self.dimensions:  # the dimensions were reassigned
                labels = self._labels = (self.dimensions, _label_table(self.dimensions))
            answer = _scan(parsed.answer, self.dimensions, *sample_scale, labels[1])
        else:
            answer = {}
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
