"""The base class shared by every reward: a safe per-sample scorer plus TRL's batch contract.

A subclass implements :meth:`RewardFunction._score` for one sample (text in, float out) and
declares its name, range and the tasks it scores. The base class supplies

- :meth:`RewardFunction.score`: the per-sample entry point used by every adapter. It never
  raises and never returns NaN or a value outside ``[low, high]``: an internal error is
  reported as a :class:`RewardInternalError` warning (the test-suite turns it into an
  error) and scores ``low``, so a bug can never crash a training loop;
- :meth:`RewardFunction.__call__`: TRL's ``reward_func(prompts, completions, **columns)``,
  reading ``solution``, ``task``, ``options`` and any declared extra columns as keyword
  lists and returning ``None`` for samples whose task this reward does not score;
- ``__name__`` (TRL's metric name) and pickling (TRL's async trainer sends rewards to other
  processes), because subclasses keep only plain attributes.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from eemo_rewards.parsing import ParsedCompletion, parse_completion
from eemo_rewards.tasks import TASKS, normalise_task

__all__ = ["RewardFunction", "RewardInternalError"]


class RewardInternalError(RuntimeWarning):
    """A scorer hit an internal error; the sample scored the reward's lowest value."""


_warned_unknown_tasks: set[tuple[str, str]] = set()


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
    """

    default_name: ClassVar[str] = "reward"
    default_tasks: ClassVar[frozenset[str] | None] = None
    columns: ClassVar[tuple[str, ...]] = ()
    low: float = 0.0
    high: float = 1.0

    def __init__(self, *, name: str | None = None, tasks: Iterable[str] | None = None):
        self.__name__ = name or self.default_name
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
    def applies_to(self, task: Any) -> bool:
        """Whether this reward scores a sample of ``task`` (``None``: the task is unknown
        to the dataset, and every reward applies with its default answer kind)."""
        task = normalise_task(task)
        if task is None or self.tasks is None:
            return True
        if task not in TASKS and (self.__name__, task) not in _warned_unknown_tasks:
            _warned_unknown_tasks.add((self.__name__, task))
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
        """Score one completion. Never raises; always a finite float in ``[low, high]``."""
        try:
            value = float(
                self._score(
                    parse_completion(completion),
                    solution,
                    task=normalise_task(task),
                    options=options,
                    **columns,
                )
            )
        except Exception as exc:  # the last line of defence: a training loop must not crash
            warnings.warn(
                f"{self.__name__} failed on a sample ({type(exc).__name__}: {exc}); "
                f"scored {self.low}. Please report this with the completion that caused it.",
                RewardInternalError,
                stacklevel=2,
            )
            return self.low
        if self.low <= value <= self.high:  # False for NaN
            return value
        return self.high if value > self.high else self.low

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
        n = len(completions)
        solutions = _column(kwargs, "solution", n)
        tasks = _column(kwargs, "task", n)
        options = _column(kwargs, "options", n)
        extras = {c: _column(kwargs, c, n) for c in self.columns}
        score, applies_to, every_task = self.score, self.applies_to, self.tasks is None
        out: list[float | None] = []
        for i, completion in enumerate(completions):
            if not every_task and not applies_to(tasks[i]):
                out.append(None)
            elif extras:
                extra = {c: v[i] for c, v in extras.items()}
                out.append(
                    score(completion, solutions[i], task=tasks[i], options=options[i], **extra)
                )
            else:
                out.append(score(completion, solutions[i], task=tasks[i], options=options[i]))
        return out

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
