"""The base class shared by every reward: a safe per-sample scorer plus TRL's batch contract.

A subclass implements :meth:`RewardFunction._score` for one sample (text in, float out) and
declares its name, range and the tasks it scores. The base class supplies

- :meth:`RewardFunction.score`: the per-sample entry point used by every adapter. It never
  raises on a completion and never returns NaN or a value outside ``[low, high]``: an
  internal error is reported as a :class:`RewardInternalError` warning (the test-suite turns
  it into an error) and scores ``low``, so a bug can never crash a training loop. That
  guarantee is one helper, :func:`guarded`, which every scorer (this class, the composite,
  the batch-level Thurstone reward) calls;
- the task of a sample without a ``task`` column, inferred from its solution and options
  (:func:`~eemo_rewards.answers.tasks.infer_task`); a sample whose task cannot be told raises
  :class:`~eemo_rewards.answers.tasks.TaskInferenceError`, saying which column to add (a dataset
  mistake, not a completion: it must stop a run, not be scored by every reward);
- ``require_format`` (a constructor argument of every reward) and :meth:`answer_text`, the
  one rule for which text a reward reads;
- :meth:`RewardFunction.__call__`: TRL's ``reward_func(prompts, completions, **columns)``,
  reading ``solution``, ``task``, ``options`` and any declared extra columns as keyword
  lists and returning ``None`` for samples whose task this reward does not score;
- ``__name__`` (TRL's metric name) and pickling (TRL's async trainer sends rewards to other
  processes), because subclasses keep only plain attributes;
- ``timeout=`` (a constructor argument of every reward): a time limit per call, enforced off
  the calling thread (:mod:`~eemo_rewards.rewards.limits`);
- the trainer's logs: when TRL passes ``log_metric``/``log_extra``, the batch call reports
  per-task means, the commitment rate and why completions scored the floor
  (:mod:`~eemo_rewards.rewards.trainer_logs`);
- :meth:`RewardFunction.acall` and :meth:`RewardFunction.as_async`: the batch call as a
  coroutine (off the event loop's thread), which TRL runs concurrently with its other async
  reward functions.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from eemo_rewards.answers.tasks import TaskInferenceError, resolve_task
from eemo_rewards.parsing import ParsedCompletion, parse_completion
from eemo_rewards.rewards.limits import check_timeout, run_limited
from eemo_rewards.rewards.trainer_logs import report_batch
from eemo_rewards.tasks import TASKS, normalise_task

__all__ = ["AsyncReward", "RewardFunction", "RewardInternalError", "TaskInferenceError", "guarded"]

LOG_KEYS = ("log_metric", "log_extra")
"""The logging callables TRL passes to a reward call (:mod:`.trainer_logs`); a composite
reports once for the whole and does not hand them to its terms."""


class RewardInternalError(RuntimeWarning):
    """A scorer hit an internal error; the sample scored the reward's lowest value."""


def guarded(
    reward: Any,
    call: Callable[..., Any],
    args: tuple = (),
    kwargs: Mapping[str, Any] | None = None,
    *,
    what: str = "a sample",
    on_error: Callable[[], Any] | None = None,
) -> Any:
    """``call(*args, **kwargs)`` for ``reward`` behind the one safety net of every scorer.

    Never raises, never returns NaN, always inside ``[reward.low, reward.high]``: a number
    is clamped (NaN scores ``low``), a list is clamped element by element (``None`` stays,
    meaning "not applicable"), and an exception is reported as a
    :class:`RewardInternalError` warning naming the reward, after which the result is
    ``on_error()`` (default: ``reward.low``). The arguments travel as one tuple and one
    dict, so the hot loops that call this per sample build them once for every term.

    A :class:`~eemo_rewards.answers.tasks.TaskInferenceError` passes through: it says the dataset
    lacks a column, which must stop the run rather than be scored.

    Examples
    --------
    >>> from eemo_rewards.rewards.format import format_reward
    >>> guarded(format_reward, lambda: float("nan")), guarded(format_reward, lambda: 7)
    (0.0, 1.0)
    >>> guarded(format_reward, lambda x: [x, None, -3.0], (0.5,))
    [0.5, None, 0.0]
    """
    try:
        value = call(*args, **kwargs) if kwargs else call(*args)
        if type(value) is not float:
            if type(value) is list:
                low, high = reward.low, reward.high
                return [
                    v if v is None or low <= v <= high else high if v > high else low for v in value
                ]
            value = float(value)
    except TaskInferenceError:
        raise
    except Exception as exc:  # the last line of defence: a training loop must not crash
        warnings.warn(
            f"{reward.__name__} failed on {what} ({type(exc).__name__}: {exc}); scored "
            f"{reward.low}. Please report this with the completion that caused it.",
            RewardInternalError,
            stacklevel=3,
        )
        return reward.low if on_error is None else on_error()
    if reward.low <= value <= reward.high:  # False for NaN
        return value
    return reward.high if value > reward.high else reward.low


class RewardFunction:
    """Base class of all rewards. Subclasses implement :meth:`_score`.

    Class attributes a subclass sets:

    ``default_name``
        TRL logs the reward as ``rewards/<name>/mean``.
    ``default_tasks``
        The canonical tasks it scores; ``None`` means every task.
    ``columns``
        Extra dataset columns (beyond ``solution``, ``task``, ``options``) passed to
        :meth:`_score` as keyword arguments.
    ``low``, ``high``
        The declared range; every score lies inside it.

    Every reward accepts ``name`` (TRL's metric name), ``tasks`` (the tasks it is routed to),
    ``require_format`` (default True: only a well-formed completion can score; False
    reads the answer block of a malformed completion, and the whole text when there is none,
    for evaluating base models; rewards that do not read an answer ignore it) and
    ``timeout`` (seconds per call, default None: no limit; see
    :mod:`~eemo_rewards.rewards.limits`). ``timeouts`` counts the calls that ran past it.

    The ways to score, one meaning each:

    ``reward(completions=..., solution=..., task=...)``
        TRL's batch contract: one score per completion, ``None`` where the reward does not
        apply to the sample's task. What a trainer calls.
    :meth:`score`
        One completion → one float, never raising, inside ``[low, high]``. What tests,
        notebooks and other trainers' adapters call.
    :meth:`explain`
        :meth:`score` plus what was read (well formed, why not, the think and answer
        parts), for tables and logs.
    :meth:`_score`
        Not to call: the hook a subclass implements (a parsed completion in, a float out);
        :meth:`score` wraps it in the guard.

    :class:`~eemo_rewards.rewards.composite.CompositeReward` adds one more,
    ``score_with_components`` (the total and each term's own score, from one parse).
    """

    default_name: ClassVar[str] = "reward"
    default_tasks: ClassVar[frozenset[str] | None] = None
    columns: ClassVar[tuple[str, ...]] = ()
    low: float = 0.0
    high: float = 1.0

    require_format: bool = True

    def __init__(
        self,
        *,
        name: str | None = None,
        tasks: Iterable[str] | None = None,
        require_format: bool = True,
        timeout: float | None = None,
    ):
        self.__name__ = name or self.default_name
        self.require_format = bool(require_format)
        self.timeout = check_timeout(timeout, self.__name__)
        self.timeouts = 0
        if tasks is None:
            self.tasks = self.default_tasks
        else:
            canonical = {normalise_task(t) for t in tasks}
            unknown = sorted(t for t in canonical if t not in TASKS)
            if unknown:
                raise ValueError(
                    f"{self.__name__}: unknown task(s) {unknown}; use some of {list(TASKS)}"
                )
            self.tasks = frozenset(canonical)

    # -- per sample ------------------------------------------------------------------------
    def answer_text(self, parsed: ParsedCompletion) -> str | None:
        """The text this reward reads from a completion, or ``None`` when it cannot score:
        the answer block of a well-formed completion; with ``require_format=False`` also the
        answer block of a malformed one, and the whole text when there is no answer block.
        """
        if parsed.ok:
            return parsed.answer
        if self.require_format:
            return None
        return parsed.answer if parsed.answer is not None else parsed.text

    @property
    def needs_task(self) -> bool:
        """Whether this reward routes by task (a sample without one has it inferred)."""
        return self.tasks is not None

    def task_of(self, task: Any, solution: Any, options: Any) -> str | None:
        """The canonical task of a sample: its ``task`` value, else (for a reward that
        routes by task) the one its solution and options imply; raises
        :class:`~eemo_rewards.answers.tasks.TaskInferenceError` when they do not tell."""
        task = normalise_task(task)
        if task is None and self.needs_task:
            return resolve_task(solution, options, who=self.__name__)
        return task

    def applies_to(self, task: Any) -> bool:
        """Whether this reward scores a sample of ``task`` (``None``: the task is unknown
        to the dataset, and every reward applies with its default answer kind)."""
        task = normalise_task(task)
        if task is None or self.tasks is None:
            return True
        if task not in TASKS:
            # the warnings machinery shows it once per call site and message (its default
            # filter), and every time under simplefilter("always"); no module-level memory
            warnings.warn(
                f"{self.__name__}: unknown task {task!r}; this reward does not score it. "
                f"Known tasks: {list(TASKS)}",
                UserWarning,
                stacklevel=3,
            )
        return task in self.tasks

    def score(
        self,
        completion: Any,
        solution: Any = None,
        *,
        task: Any = None,
        options: Any = None,
        **columns: Any,
    ) -> float:
        """Score one completion: a finite float in ``[low, high]``, never an exception from
        the completion. A sample without ``task`` has it inferred; one whose task this reward
        does not score gets ``low`` (the batch call gives ``None``)."""
        task = normalise_task(task)
        if self.tasks is not None:
            if task is None:
                task = resolve_task(solution, options, who=self.__name__)
            if task not in self.tasks and not self.applies_to(task):
                return self.low
        columns["task"] = task
        columns["options"] = options
        if self.timeout is None:
            return self._score_parsed(completion, solution, columns)
        value, _ = run_limited(
            self,
            lambda stop: self._score_parsed(completion, solution, columns),
            lambda: self.low,
            what="a completion",
        )
        return value

    def _score_parsed(self, completion: Any, solution: Any, columns: dict[str, Any]) -> float:
        # parse_completion is total on any input (tests/test_properties.py)
        return guarded(self, self._score, (parse_completion(completion), solution), columns)

    def _score(
        self,
        parsed: ParsedCompletion,
        solution: Any,
        *,
        task: str | None,
        options: Any,
        **columns: Any,
    ) -> float:
        raise NotImplementedError

    def explain(self, completion: Any, solution: Any = None, **kwargs: Any) -> dict[str, Any]:
        """The score with the parsed parts, for logging and tables."""
        parsed = parse_completion(completion)
        return {
            "reward": self.__name__,
            "score": self.score(completion, solution, **kwargs),
            "well_formed": parsed.ok,
            "reason": parsed.reason,
            "think": parsed.think,
            "answer": parsed.answer,
        }

    # -- batch (TRL) -----------------------------------------------------------------------
    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        """TRL's reward contract: one score (or ``None``) per completion."""
        if completions is None:
            return []
        out, timed_out = self.score_batch(completions, kwargs)
        report_batch(self.__name__, kwargs, out, completions, self.low, timed_out=timed_out)
        return out

    def score_batch(
        self, completions: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> tuple[list[float | None], list[bool] | None]:
        """``(scores, which completions timed out)`` of the batch call (the latter ``None``
        without a time limit). The whole batch is one call under ``timeout``: when it trips,
        the completions already scored keep their scores and the rest score ``low``."""
        n = len(completions)
        solutions = _column(kwargs, "solution", n)
        tasks = _column(kwargs, "task", n)
        options = _column(kwargs, "options", n)
        extras = {c: _column(kwargs, c, n) for c in self.columns}
        if type(self).score is RewardFunction.score:
            score = self._score_one
        else:  # a subclass that scores through its own score()
            own = self.score

            def score(completion, solution, task, options, extra):
                return own(completion, solution, task=task, options=options, **extra)

        if self.tasks is None:
            applies = [True] * n
        else:
            applies_to, task_of = self.applies_to, self.task_of
            applies = [applies_to(task_of(tasks[i], solutions[i], options[i])) for i in range(n)]
        out: list[float | None] = [None] * n

        def work(stop: Any = None) -> list[float | None]:
            for i, completion in enumerate(completions):
                if stop is not None and stop.is_set():
                    break
                if not applies[i]:
                    continue
                extra = {c: v[i] for c, v in extras.items()} if extras else {}
                out[i] = score(completion, solutions[i], tasks[i], options[i], extra)
            return out

        if self.timeout is None:
            return work(), None
        _, tripped = run_limited(self, work, lambda: None, what=f"a batch of {n}")
        if not tripped:
            return out, [False] * n
        done = list(out)  # the worker may still write into out: answer with a copy
        timed_out = [applies[i] and done[i] is None for i in range(n)]
        return [self.low if late else v for v, late in zip(done, timed_out, strict=True)], timed_out

    def _score_one(self, completion, solution, task, options, extra) -> float:
        """One completion of a batch the reward applies to, without a time limit of its own
        (the batch call's limit covers it)."""
        task = normalise_task(task)
        if self.tasks is not None and task is None:
            task = resolve_task(solution, options, who=self.__name__)
        return self._score_parsed(completion, solution, {**extra, "task": task, "options": options})

    async def acall(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        """The batch call as a coroutine: it runs on a worker thread, so an event loop (TRL's
        async reward path, a server) goes on serving while it scores."""
        import asyncio

        return await asyncio.to_thread(
            self.__call__, prompts, completions, completion_ids, **kwargs
        )

    def as_async(self) -> AsyncReward:
        """This reward behind an ``async def __call__``: give it to TRL's ``reward_funcs`` to
        have TRL run it concurrently with its other async reward functions.

        Examples
        --------
        >>> import asyncio
        >>> from eemo_rewards.rewards.format import format_reward
        >>> concurrent = format_reward.as_async()
        >>> done = ["<think>a</think><answer>b</answer>"]
        >>> concurrent.__name__, asyncio.run(concurrent(completions=done))
        ('format_reward', [1.0])
        """
        return AsyncReward(self)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_limit_state", None)  # threads and locks stay in this process
        return state

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.__name__!r})"


def _column(kwargs: Mapping[str, Any], name: str, n: int) -> Sequence[Any]:
    values = kwargs.get(name)
    if values is None:
        return [None] * n
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        # a scalar column value (a user calling with one sample): broadcast it
        return [values] * n
    if len(values) != n:
        raise ValueError(
            f"column {name!r} has {len(values)} values for {n} completions; pass one value per "
            "completion (TRL repeats dataset columns once per generation)"
        )
    return values


class AsyncReward:
    """A reward whose batch call is a coroutine (:meth:`RewardFunction.as_async`).

    TRL tells async reward functions by their ``__call__`` and runs them together with
    ``asyncio.gather``; this one awaits :meth:`RewardFunction.acall`. Picklable, with the
    wrapped reward's ``__name__``.
    """

    def __init__(self, reward: RewardFunction):
        self.reward = reward
        self.__name__ = reward.__name__

    async def __call__(self, prompts=None, completions=None, completion_ids=None, **kwargs):
        return await self.reward.acall(prompts, completions, completion_ids, **kwargs)

    def __repr__(self) -> str:
        return f"AsyncReward({self.reward!r})"
