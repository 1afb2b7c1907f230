"""Batch-level Thurstone reward: V/A/D scores ranked against the other images of a batch.

After VisualQuality-R1 (REFERENCE §3). Each completion's score ``q`` is read with
:func:`~eemo_rewards.answers.numbers.parse_scores` (the sample's ``dimension``) and, like the
solution, mapped to ``[0, 1]`` by the sample's scale. Rollouts are grouped by image (the
``image_id`` column, else the prompt); image ``i``'s valid rollouts give its mean ``μ_i`` and
variance ``σ_i²``. Rollout ``k`` of image ``i`` is compared with every other image ``j`` of the
batch, ``gt`` being 1, 0 or 0.5 as image ``i``'s true score ``s`` is above, below or equal to
``j``'s.

Two variants
------------
``variant="visualquality-r1"`` is the published formula (kept for comparison and
ablations)::

    p  = Φ((q − μ_j) / sqrt(σ_i² + σ_j² + 1e-6))
    r  = mean_j [ sqrt(p·gt + ε) + sqrt((1 − p)(1 − gt) + ε) ]

It pays exaggeration: ``p`` grows with ``q`` whenever ``gt = 1``, so a rollout that
overshoots its truth in the right direction beats the exact value. With image truths 0.6
and 0.4 (rollouts ``0.6``/``1.0`` and ``0.4``/``0.4``), the rollout answering ``1.0`` scores
0.9994 and the exact ``0.6`` scores 0.9173 (``tests/test_thurstone.py`` measures this).

``variant="fidelity"`` (the default) never pays more for a less accurate value. With
``e = |q − s|`` the rollout's error on the normalised scale::

    q̃  = s − e when gt = 1, s + e when gt = 0, s when gt = 0.5
    σ_i² = the variance of image i's *other* valid rollouts
    p  = Φ((q̃ − μ_j) / sqrt(σ_i² + σ_j² + 1e-6))
    r  = (1 − e) · mean_j [ sqrt(p·gt + ε) + sqrt((1 − p)(1 − gt) + ε) ]

An overshoot counts as much as the same undershoot (``q̃`` only moves toward the wrong
side of the truth), the rollout's own value does not enter the spread it is compared with,
and each comparison term is non-increasing in ``e``: for fixed other rollouts ``r`` is a
non-increasing function of the error, strictly decreasing while any term is positive. On
the batch above the exact ``0.6`` then scores 1.0 and ``1.0`` scores 0.0001 (it claims the
image is 0.4 above its truth: ranked at that error it would sit below image ``j``).

In both variants a completion that is malformed (with ``require_format``), has no readable
score or one outside the scale scores 0 and is left out of every ``μ``/``σ``; with no other
image in the batch there is nothing to rank against and the rollout gets its linear
intensity score ``1 − e``, which is also what :meth:`ThurstoneReward.score` (one sample)
returns. ``r`` is clipped to ``[0, 1]`` (it can exceed 1 by at most ``2·sqrt(ε)``).

Data-parallel training
----------------------
Under ``torch.distributed`` with several processes (TRL under accelerate or DeepSpeed), each
process holds a share of the batch, and the rollouts of one image may sit on several. The
batch call all-gathers every process's parsed scores, truths and group keys
(:func:`~eemo_rewards.rewards.distributed.gather_rows`), ranks against the whole batch and
returns this process's scores: the same as one process scoring the whole batch. Group keys
made from prompts are built to agree between processes
(:func:`~eemo_rewards.rewards.distributed.stable_key`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from eemo_rewards.answers.numbers import DIMENSIONS, parse_scores
from eemo_rewards.parsing import ParsedCompletion, parse_completion
from eemo_rewards.rewards.base import _column, guarded
from eemo_rewards.rewards.distributed import gather_rows, stable_key
from eemo_rewards.rewards.intensity import IntensityReward
from eemo_rewards.rewards.trainer_logs import report_batch

__all__ = ["VARIANTS", "ThurstoneReward", "thurstone_reward"]

VARIANTS = ("fidelity", "visualquality-r1")


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _warn(reward: str, message: str) -> None:
    warnings.warn(f"{reward}: {message}; the sample scored 0", UserWarning, stacklevel=4)


def _group_key(image_id: Any, prompt: Any) -> Any:
    """Which image a rollout belongs to: its image id, else its prompt, as a key that is the
    same in every process (rollouts of one image may sit on several)."""
    key = image_id if image_id is not None else prompt
    if key is None:
        return None
    return stable_key(key)


class ThurstoneReward(IntensityReward):
    """Batch-level ranking reward over the images of a GRPO batch (Thurstone model).

    See the module docstring for both variants and the measurement that motivates the
    default. Without an ``image_id`` column and without prompts, every rollout belongs to
    one group (and so scores its linear intensity score).

    Parameters
    ----------
    scale, dimensions, require_format
        As in :class:`~eemo_rewards.rewards.intensity.IntensityReward`.
    eps : float, default 1e-8
        ε in the reward.
    variant : {"fidelity", "visualquality-r1"}, default "fidelity"
        ``"fidelity"`` never pays more for a less accurate value; ``"visualquality-r1"`` is
        the published formula, which pays exaggeration.

    Examples
    --------
    >>> done = "<think>t</think><answer>{}</answer>"
    >>> batch = dict(solution=["0.6", "0.6", "0.4", "0.4"], image_id=["a", "a", "b", "b"],
    ...              task=["assessment"] * 4)
    >>> answers = [done.format(x) for x in ("0.6", "1.0", "0.4", "0.4")]
    >>> [round(r, 4) for r in thurstone_reward(completions=answers, **batch)][:2]
    [1.0, 0.0001]
    >>> published = ThurstoneReward(variant="visualquality-r1")
    >>> [round(r, 4) for r in published(completions=answers, **batch)][:2]
    [0.9173, 0.9994]
    """

    default_name = "thurstone_reward"
    columns = ("dimension", "scale", "image_id")

    def __init__(
        self,
        *,
        scale: Any = "0-1",
        dimensions: Sequence[str] = DIMENSIONS,
        eps: float = 1e-8,
        variant: str = "fidelity",
        **kwargs: Any,
    ):
        super().__init__(kernel="linear", scale=scale, dimensions=dimensions, **kwargs)
        if not (isinstance(eps, int | float) and math.isfinite(eps) and eps >= 0):
            raise ValueError(f"eps must be a non-negative number, got {eps!r}")
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; use one of {list(VARIANTS)}")
        self.eps = float(eps)
        self.variant = variant

    def _normalised_truth(self, solution: Any, dimension: Any, scale: tuple[float, float]):
        dim = self._dimension(dimension)
        truth = self._solution_values(solution, dim, scale)
        if truth is None:
            return None, None
        if len(truth) == 1:
            key, value = next(iter(truth.items()))
        elif dim is not None and dim in truth:
            key, value = dim, truth[dim]
        else:
            _warn(
                self.__name__,
                f"solution {solution!r} has several dimensions; give the sample a 'dimension' "
                "column naming the one to rank",
            )
            return None, None
        lo, hi = scale
        return key, (value - lo) / (hi - lo)

    def _normalised_answer(self, parsed: ParsedCompletion, key: Any, scale) -> float | None:
        text = self.answer_text(parsed)
        if text is None:
            return None
        answer = parse_scores(text, self.dimensions, scale=scale)
        if key is not None and key in answer:
            value = answer[key]
        elif len(answer) == 1 and (key is None or None in answer):
            value = next(iter(answer.values()))
        else:
            return None
        lo, hi = scale
        if not (lo <= value <= hi):
            return None
        return (value - lo) / (hi - lo)

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        """TRL's reward contract, scoring the whole batch at once."""
        if completions is None:
            return []
        n = len(completions)
        tasks = _column(kwargs, "task", n)
        solutions = _column(kwargs, "solution", n)
        options = _column(kwargs, "options", n)
        dimensions = _column(kwargs, "dimension", n)
        scales = _column(kwargs, "scale", n)
        image_ids = _column(kwargs, "image_id", n)
        prompt_list = [None] * n if prompts is None else prompts
        if len(prompt_list) != n:
            raise ValueError(
                f"{len(prompt_list)} prompts for {n} completions; pass one prompt per completion"
            )
        applicable = [
            i for i in range(n) if self.applies_to(self.task_of(tasks[i], solutions[i], options[i]))
        ]
        columns = (completions, solutions, dimensions, scales, image_ids, prompt_list)

        def unscored() -> list[float | None]:
            out: list[float | None] = [None] * n
            for i in applicable:
                out[i] = self.low
            return out

        # What this process read, then everything every process read: the gather runs on
        # every process whatever its share holds, or the others would wait for it forever.
        rows: list[tuple[int, Any, float | None, float]] = []

        def read() -> float:
            rows.extend(self._read_rows(applicable, *columns))
            return self.low

        def nothing_read() -> float:
            rows.clear()  # a share that failed to read ranks nothing (and scores low)
            return self.low

        guarded(self, read, what="a batch", on_error=nothing_read)
        everyone, start = gather_rows(rows)
        out = guarded(
            self,
            self._score_rows,
            (applicable, n, everyone, start, len(rows)),
            what="a batch",
            on_error=unscored,
        )
        report_batch(self.__name__, kwargs, out, completions, self.low)
        return out

    def _read_rows(
        self, applicable, completions, solutions, dimensions, scales, image_ids, prompts
    ) -> list[tuple[int, Any, float | None, float]]:
        """``(index, group key, q or None, truth)`` per scorable rollout of this process."""
        rows: list[tuple[int, Any, float | None, float]] = []
        for i in applicable:
            scale = self._sample_scale(scales[i])
            if scale is None:
                continue
            key, truth = self._normalised_truth(solutions[i], dimensions[i], scale)
            if truth is None:
                continue
            q = self._normalised_answer(parse_completion(completions[i]), key, scale)
            # Without an image id or a prompt nothing says which rollouts share an image:
            # they form one group, and the batch falls back to the per-sample score.
            rows.append((i, _group_key(image_ids[i], prompts[i]), q, truth))
        return rows

    def _score_rows(self, applicable, n, rows, start, count) -> list[float | None]:
        """Score this process's ``rows[start:start + count]`` against every row (the whole
        batch across processes)."""
        out: list[float | None] = [None] * n
        for i in applicable:
            out[i] = 0.0
        # per group: truth and the valid qs
        groups: dict[Any, list[float]] = {}
        group_truth: dict[Any, float] = {}
        for _, group, q, truth in rows:
            group_truth.setdefault(group, truth)
            valid = groups.setdefault(group, [])
            if q is not None:
                valid.append(q)
        # per group: (count, Σq, Σq², mean, variance) of the valid rollouts
        stats: dict[Any, tuple[int, float, float, float, float]] = {}
        for group, qs in groups.items():
            if qs:
                mean = math.fsum(qs) / len(qs)
                var = math.fsum((q - mean) ** 2 for q in qs) / len(qs)
                stats[group] = (len(qs), math.fsum(qs), math.fsum(q * q for q in qs), mean, var)
        fidelity = self.variant == "fidelity"
        for i, group, q, truth in rows[start : start + count]:
            if q is None:
                continue
            others = [g for g in stats if g != group]
            if not others:
                out[i] = 1.0 - abs(q - truth)
                continue
            if fidelity:
                out[i] = self._fidelity(q, truth, stats[group], others, stats, group_truth)
            else:
                out[i] = self._published(q, truth, stats[group][4], others, stats, group_truth)
        return out

    def _term(self, p: float, gt: float) -> float:
        eps = self.eps
        return math.sqrt(p * gt + eps) + math.sqrt((1.0 - p) * (1.0 - gt) + eps)

    def _published(self, q, truth, var_i, others, stats, group_truth) -> float:
        total = 0.0
        for g in others:
            mean_j, var_j = stats[g][3], stats[g][4]
            truth_j = group_truth[g]
            gt = 1.0 if truth > truth_j else 0.0 if truth < truth_j else 0.5
            total += self._term(_phi((q - mean_j) / math.sqrt(var_i + var_j + 1e-6)), gt)
        return min(self.high, max(self.low, total / len(others)))

    def _fidelity(self, q, truth, own, others, stats, group_truth) -> float:
        count, total_q, total_q2 = own[0], own[1], own[2]
        # the spread of the image's other rollouts: this rollout's value must not move it
        if count > 1:
            mean_rest = (total_q - q) / (count - 1)
            var_i = max(0.0, (total_q2 - q * q) / (count - 1) - mean_rest * mean_rest)
        else:
            var_i = 0.0
        error = abs(q - truth)
        total = 0.0
        for g in others:
            mean_j, var_j = stats[g][3], stats[g][4]
            truth_j = group_truth[g]
            if truth > truth_j:
                gt, q_tilde = 1.0, truth - error
            elif truth < truth_j:
                gt, q_tilde = 0.0, truth + error
            else:
                gt, q_tilde = 0.5, truth
            total += self._term(_phi((q_tilde - mean_j) / math.sqrt(var_i + var_j + 1e-6)), gt)
        value = (1.0 - error) * total / len(others)
        return min(self.high, max(self.low, value))


thurstone_reward = ThurstoneReward()
