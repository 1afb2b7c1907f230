"""The composite reward: several rewards combined into one, parsing each completion once.

This is what :meth:`eemo_rewards.spec.RewardSpec.composite` builds and what the verl,
OpenRLHF, EasyR1 and ms-swift adapters call. Each term runs behind the one safety net
(:func:`~eemo_rewards.rewards.base.guarded`), so a term that fails scores its own ``low``
and the others still count; a sample without a ``task`` column is routed by the task its
solution implies (:func:`~eemo_rewards.answers.tasks.infer_task`), or refused with an error naming
the column to add, never scored by every term at once.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from eemo_rewards.answers.tasks import resolve_task
from eemo_rewards.parsing import parse_completion
from eemo_rewards.rewards.base import LOG_KEYS, RewardFunction, _column, guarded
from eemo_rewards.rewards.distributed import process_group
from eemo_rewards.rewards.limits import run_limited
from eemo_rewards.rewards.trainer_logs import report_batch
from eemo_rewards.tasks import normalise_task

__all__ = ["AGGREGATIONS", "CompositeReward"]

AGGREGATIONS = ("sum", "mean")

# how a composite calls a term: from the shared parse, through the term's own score() (a
# nested composite), once per batch (it scores the batch jointly), or through its own time
# limit (per completion in score(), per batch in the batch call)
_FROM_PARSE, _OWN_SCORE, _BATCH, _LIMITED = 0, 1, 2, 3


class _Anomaly(Exception):
    """A term raised or scored outside its range on the hot path (see ``_accumulate``)."""


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class CompositeReward(RewardFunction):
    """Several rewards combined into one, parsing each completion once.

    For a sample of task ``t`` the score is ``Σ w_i · s_i`` over the terms routed to ``t``
    (``aggregation="sum"``), or that sum divided by ``Σ w_i`` over the same terms
    (``"mean"``). A term that does not apply to ``t`` contributes nothing — as in TRL, where
    a ``None`` reward is left out of the weighted sum. When no term applies, TRL gets
    ``None`` and :meth:`score` (used by the other trainers' adapters, which need a number)
    returns ``fallback``.

    A sample without a task is routed by the task its solution and options imply (a plain
    ``"joy"`` is an emotion sample: format and accuracy score it, not the ranking or
    intensity terms); when they do not tell, the call raises
    :class:`~eemo_rewards.answers.tasks.TaskInferenceError` naming the column to add.

    A batch-level term (one that overrides the batch call, such as
    :class:`~eemo_rewards.rewards.thurstone.ThurstoneReward`, which ranks rollouts across
    the images of a batch) is called once per batch in :meth:`__call__`; in the one-sample
    :meth:`score` (what the other trainers' adapters use) it contributes its own one-sample
    score instead.

    A term built with ``timeout=`` (``RewardTerm("consistency", 1.0, {"timeout": 2.0})``)
    runs off the calling thread under that limit (:mod:`~eemo_rewards.rewards.limits`): per
    completion in :meth:`score`, per batch in the batch call; when it trips, the term scores
    its floor for the completions it had not reached, with a counted
    :class:`~eemo_rewards.rewards.limits.RewardTimeoutWarning`, and the other terms still
    count. (A batch-level term under data parallelism runs without its limit: every process
    must reach its gather.) :meth:`term_seconds` keeps each term's time.

    When TRL passes ``log_metric``/``log_extra``, the batch call reports each term's mean,
    per-task means, the commitment rate and the reasons for floor scores
    (:mod:`~eemo_rewards.rewards.trainer_logs`). :meth:`~.base.RewardFunction.as_async` gives
    TRL a coroutine version to run concurrently.

    Parameters
    ----------
    rewards : list of RewardFunction
        Built rewards with distinct ``__name__``.
    weights : list of float
        One finite, non-negative weight per reward.
    aggregation : {"sum", "mean"}, default "sum"
    name : str, default "eemo_reward"
    fallback : float, default 0.0
        The score :meth:`score` gives a sample no term applies to; ``[low, high]`` is
        widened to include it.

    Examples
    --------
    >>> from eemo_rewards.rewards.format import FormatReward
    >>> both = CompositeReward([FormatReward(), FormatReward(name="fmt_desc",
    ...                         tasks=["description"])], [1.0, 0.5])
    >>> both.score("<think>a</think><answer>joy</answer>", task="description")
    1.5
    >>> both.score_with_components("<think>a</think><answer>joy</answer>", task="emotion")
    (1.0, {'format_reward': 1.0, 'fmt_desc': None})
    """

    default_name = "eemo_reward"

    def __init__(
        self,
        rewards: Sequence[RewardFunction],
        weights: Sequence[float] | None = None,
        *,
        aggregation: str = "sum",
        name: str | None = None,
        fallback: float = 0.0,
    ):
        rewards = list(rewards)
        if not rewards:
            raise ValueError("CompositeReward needs at least one reward")
        for r in rewards:
            if not isinstance(r, RewardFunction):
                raise TypeError(
                    f"CompositeReward combines RewardFunction instances, got {r!r}; wrap a "
                    "plain function by subclassing RewardFunction"
                )
        weights = [1.0] * len(rewards) if weights is None else list(weights)
        if len(weights) != len(rewards):
            raise ValueError(f"{len(weights)} weights for {len(rewards)} rewards")
        for w in weights:
            if not _finite_number(w) or w < 0:
                raise ValueError(f"weights must be finite numbers >= 0, got {weights}")
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"unknown aggregation {aggregation!r}; use one of {AGGREGATIONS}")
        names = [r.__name__ for r in rewards]
        if len(set(names)) != len(names):
            raise ValueError(f"reward names must be distinct, got {names}")
        if not _finite_number(fallback):
            raise ValueError(f"fallback must be a finite number, got {fallback!r}")
        if any(r.tasks is None for r in rewards):
            tasks = None
        else:
            tasks = sorted(set().union(*(r.tasks for r in rewards)))
        super().__init__(name=name, tasks=tasks)
        self.rewards = rewards
        self.weights = [float(w) for w in weights]
        self.aggregation = aggregation
        self.columns = tuple(dict.fromkeys(c for r in rewards for c in r.columns))
        if aggregation == "sum":
            self.low = sum(min(0.0, w * r.low) for r, w in zip(rewards, self.weights, strict=True))
            self.high = sum(
                max(0.0, w * r.high) for r, w in zip(rewards, self.weights, strict=True)
            )
        else:
            self.low = min(r.low for r in rewards)
            self.high = max(r.high for r in rewards)
        self.low = min(self.low, fallback)
        self.high = max(self.high, fallback)
        self.fallback = float(fallback)
        self._routes: dict[str | None, tuple] = {}
        # a term routed by task makes the composite need one for every sample
        self._needs_task = any(r.needs_task for r in rewards)
        # Terms that override the batch call score a batch jointly (Thurstone ranking across
        # the images of a batch); per sample they contribute their one-sample score.
        self._batch_rewards = frozenset(
            i for i, r in enumerate(rewards) if type(r).__call__ is not RewardFunction.__call__
        )
        # Terms with a time limit are scored over the batch in one limited call each.
        self._limited_rewards = frozenset(
            i
            for i, r in enumerate(rewards)
            if r.timeout is not None and i not in self._batch_rewards
        )

    @property
    def needs_task(self) -> bool:
        return self._needs_task

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_routes"] = {}
        return state

    def _route(self, task: str | None) -> tuple:
        """``(its scorer, reward, weight, its columns, how to call it)`` of the terms applying
        to ``task``, cached per task."""
        route = self._routes.get(task)
        if route is None:
            route = tuple(
                (r._score, r, w, r.columns, self._call_kind(i, r))
                for i, (r, w) in enumerate(zip(self.rewards, self.weights, strict=True))
                if r.applies_to(task)
            )
            self._routes[task] = route
        return route

    def _call_kind(self, i: int, reward: RewardFunction) -> int:
        if i in self._batch_rewards:
            return _BATCH
        if i in self._limited_rewards:
            return _LIMITED
        if isinstance(reward, CompositeReward):
            return _OWN_SCORE
        return _FROM_PARSE

    def applies_to(self, task: Any) -> bool:
        return bool(self._route(normalise_task(task)))

    def _accumulate(
        self, route, completion, solution, task, options, columns, parts=None, skip=False
    ):
        """``(Σ w·s, Σ w)`` over ``route`` from one parse; never raises on a completion. With
        ``skip``, batch-level terms are left out of the sum (the batch call adds them) but
        counted in the weight. This loop is the hot path of every trainer: keep it lean."""
        parsed = parse_completion(completion)  # total on any input (tests/test_properties.py)
        args = (parsed, solution)
        keywords = {"task": task, "options": options}
        try:
            return self._sum(route, completion, args, keywords, columns, parts, skip, False)
        except _Anomaly:
            # A term raised or left its range: score the sample again with every term behind
            # guarded(), which reports the failure and scores that term its low (terms are
            # pure, so the others score the same). The policy lives in guarded() alone.
            if parts is not None:
                parts.clear()
            return self._sum(route, completion, args, keywords, columns, parts, skip, True)

    def _sum(self, route, completion, args, keywords, columns, parts, skip, safe):
        """``(Σ w·s, Σ w)`` over ``route``. With ``safe`` every term runs through
        :func:`~eemo_rewards.rewards.base.guarded`; without, terms are called directly (the
        hot path) and any exception or out-of-range value raises :class:`_Anomaly`."""
        total = 0.0
        weight_sum = 0.0
        for scorer, reward, weight, cols, kind in route:
            weight_sum += weight
            if kind:
                if skip and kind >= _BATCH:
                    continue
                if kind != _BATCH:  # a nested composite or a limited term: its own score()
                    # is total (and keeps the term's time limit)
                    extra = {c: columns[c] for c in cols if c in columns} if cols else {}
                    value = reward.score(completion, args[1], **keywords, **extra)
                    if parts is not None:
                        parts[reward.__name__] = value
                    total += weight * value
                    continue
            if cols and columns:
                kw = {c: columns[c] for c in cols if c in columns}
                kw.update(keywords)
            else:
                kw = keywords
            if safe:
                value = guarded(reward, scorer, args, kw)
            else:
                try:
                    value = scorer(*args, **kw)
                except Exception as exc:
                    raise _Anomaly from exc
                if not reward.low <= value <= reward.high:  # also catches NaN
                    raise _Anomaly
            if parts is not None:
                parts[reward.__name__] = value
            total += weight * value
        return total, weight_sum

    def _finish(self, total: float, weight_sum: float) -> float:
        if self.aggregation == "mean":
            total = total / weight_sum if weight_sum > 0 else self.fallback
        if total != total:  # NaN
            return self.low
        return self.low if total < self.low else self.high if total > self.high else total

    def score(
        self,
        completion: Any,
        solution: Any = None,
        *,
        task: Any = None,
        options: Any = None,
        **columns: Any,
    ) -> float:
        """Score one completion: the weighted terms applying to the sample's task (given, or
        inferred from its solution and options). Never raises on a completion."""
        task = self.task_of(task, solution, options)
        route = self._route(task)
        if not route:
            return self.fallback
        return self._finish(*self._accumulate(route, completion, solution, task, options, columns))

    def _score(self, parsed, solution, *, task, options, **columns) -> float:
        # A composite scores from the completion (its terms may need the raw text); an outer
        # composite calls its score() instead, so nothing reaches this.
        raise NotImplementedError(
            "CompositeReward scores through score() or __call__, not from a parse"
        )

    def score_with_components(
        self,
        completion: Any,
        solution: Any = None,
        *,
        task: Any = None,
        options: Any = None,
        **columns: Any,
    ) -> tuple[float, dict[str, float | None]]:
        """The combined score and each term's own (unweighted) score, from one parse.

        Terms that do not apply to the task are ``None``. Never raises on a completion.
        """
        task = self.task_of(task, solution, options)
        parts: dict[str, float | None] = {r.__name__: None for r in self.rewards}
        route = self._route(task)
        if not route:
            return self.fallback, parts
        scored: dict[str, float] = {}
        total, weight_sum = self._accumulate(
            route, completion, solution, task, options, columns, scored
        )
        parts.update(scored)
        return self._finish(total, weight_sum), parts

    def components(self, completion: Any, solution: Any = None, **kwargs: Any):
        """Deprecated: ``score_with_components(...)[1]``, which it returns (one way to get
        the terms' scores)."""
        warnings.warn(
            "CompositeReward.components() is deprecated; use score_with_components(), which "
            "returns (total, per-term scores)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.score_with_components(completion, solution, **kwargs)[1]

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        """TRL's reward contract: one score per completion, ``None`` where no term applies.

        Batch-level terms are called once on the whole batch and added in; every other term
        is scored per sample from one parse.
        """
        if completions is None:
            return []
        n = len(completions)
        solutions = _column(kwargs, "solution", n)
        tasks = _column(kwargs, "task", n)
        options = _column(kwargs, "options", n)
        # only columns the batch carries: a missing column reaches a term as its default
        extras = {c: _column(kwargs, c, n) for c in self.columns if kwargs.get(c) is not None}
        logging = any(callable(kwargs.get(k)) for k in LOG_KEYS)
        skip = bool(self._batch_rewards or self._limited_rewards)
        totals: list[float | None] = [None] * n
        weight_sums = [0.0] * n
        parts: list[dict[str, float]] | None = [{} for _ in range(n)] if logging else None
        # (canonical task, route) per raw task value: a batch uses a handful of task names
        routes: dict[Any, tuple[str | None, tuple]] = {}
        accumulate = self._accumulate
        needs_task = self._needs_task
        for i, (completion, raw_task, solution, option) in enumerate(
            zip(completions, tasks, solutions, options, strict=True)
        ):
            try:
                task, route = routes[raw_task]
            except KeyError:
                task = normalise_task(raw_task)
                task, route = routes[raw_task] = (task, self._route(task))
            except TypeError:  # an unhashable task value
                task = normalise_task(raw_task)
                route = self._route(task)
            if task is None and needs_task:
                task = resolve_task(solution, option, who=self.__name__)
                route = self._route(task)
            if not route:
                continue
            columns = {c: v[i] for c, v in extras.items()} if extras else {}
            totals[i], weight_sums[i] = accumulate(
                route,
                completion,
                solution,
                task,
                option,
                columns,
                None if parts is None else parts[i],
                skip,
            )
        timed_out = [False] * n if self._limited_rewards else None
        if skip:
            term_kwargs = {k: v for k, v in kwargs.items() if k not in LOG_KEYS}
            for index in sorted(self._batch_rewards | self._limited_rewards):
                values, late = self._batch_term(
                    index, prompts, completions, completion_ids, term_kwargs
                )
                reward, weight = self.rewards[index], self.weights[index]
                for i, value in enumerate(values):
                    if value is not None and totals[i] is not None:
                        totals[i] += weight * value
                        if parts is not None:
                            parts[i][reward.__name__] = value
                if late is not None and timed_out is not None:
                    timed_out = [a or b for a, b in zip(timed_out, late, strict=True)]
        if self.aggregation == "sum":  # clamp inline: this runs once per completion
            low, high = self.low, self.high
            out = [
                None if t is None else (low if not t >= low else high if t > high else t)
                for t in totals
            ]
        else:
            out = [
                None if total is None else self._finish(total, weight_sum)
                for total, weight_sum in zip(totals, weight_sums, strict=True)
            ]
        if logging:
            report_batch(
                self.__name__, kwargs, out, completions, self.low, parts=parts, timed_out=timed_out
            )
        return out

    def _batch_term(self, index, prompts, completions, completion_ids, kwargs):
        """``(values, which timed out or None)`` of a term scored over the whole batch."""
        reward = self.rewards[index]
        if index in self._limited_rewards:
            return reward.score_batch(completions, kwargs)
        if reward.timeout is None or process_group() is not None:
            return reward(prompts, completions, completion_ids, **kwargs), None

        def floor() -> list[float | None]:
            n = len(completions)
            tasks = _column(kwargs, "task", n)
            solutions = _column(kwargs, "solution", n)
            options = _column(kwargs, "options", n)
            return [
                reward.low
                if reward.applies_to(reward.task_of(tasks[i], solutions[i], options[i]))
                else None
                for i in range(n)
            ]

        values, tripped = run_limited(
            reward,
            lambda stop: reward(prompts, completions, completion_ids, **kwargs),
            floor,
            what=f"a batch of {len(completions)}",
        )
        late = [tripped and v is not None for v in values]
        return values, late

    def component_names(self) -> list[str]:
        return [r.__name__ for r in self.rewards]

    def __repr__(self) -> str:
        terms = ", ".join(
            f"{w:g}*{r.__name__}" for r, w in zip(self.rewards, self.weights, strict=True)
        )
        return f"CompositeReward({terms}, aggregation={self.aggregation!r})"
