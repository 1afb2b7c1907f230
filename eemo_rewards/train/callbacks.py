"""Trainer callbacks and the reward instrumentation used by the SFT and GRPO runs.

- :class:`MetricsRecorder` keeps the trainer's log history (in memory and in the run
  folder's ``metrics.parquet``), restored as it was when a run resumes from a checkpoint;
- :class:`ProgressCallback` reports ``(step, total, last_logs)`` to any function: a marimo
  ``mo.status.progress_bar``, a print, a test;
- :class:`StepTimer` measures wall time per optimiser step;
- :class:`InstrumentedReward` wraps a reward function to time it and keep its last scored
  completions, for the sample table and the reward-time share.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from transformers import TrainerCallback

from eemo_rewards._text import completion_text
from eemo_rewards.train.runs import RunFolder, write_records

__all__ = [
    "InstrumentedReward",
    "MetricsRecorder",
    "ProgressCallback",
    "StepTimer",
    "sample_rows",
]


class MetricsRecorder(TrainerCallback):
    """Capture the trainer's log history; write it to ``metrics.parquet`` at every log.

    ``records`` mirrors ``trainer.state.log_history`` (the trainer restores it from
    ``trainer_state.json`` when resuming), so it is the run's full history, not just this
    process's part.

    Parameters
    ----------
    run : RunFolder or path, optional
        Where to write ``metrics.parquet``; in memory only when ``None``.
    stage : str, optional
        Added to every record as ``stage`` (e.g. ``"sft"``, ``"grpo"``).
    """

    def __init__(self, run: RunFolder | str | None = None, *, stage: str | None = None):
        self.run = RunFolder(run) if isinstance(run, str) else run
        self.stage = stage
        self.records: list[dict[str, Any]] = []

    def _capture(self, state: Any) -> None:
        records = [dict(r) for r in state.log_history]
        if self.stage is not None:
            for r in records:
                r.setdefault("stage", self.stage)
        self.records = records
        # only the main process writes, and only when something was logged
        if self.run is not None and state.is_world_process_zero and records:
            self.run.write_metrics(records)

    def on_train_begin(self, args, state, control, **kwargs):
        self._capture(state)

    def on_log(self, args, state, control, logs=None, **kwargs):
        self._capture(state)

    def on_train_end(self, args, state, control, **kwargs):
        self._capture(state)


class ProgressCallback(TrainerCallback):
    """Call ``update(step, total, logs)`` at the start, after every step and at every log.

    Examples
    --------
    >>> seen = []
    >>> progress = ProgressCallback(lambda step, total, logs: seen.append((step, total)))
    >>> class State:
    ...     global_step, max_steps = 3, 10
    >>> _ = progress.on_step_end(None, State(), None)
    >>> seen
    [(3, 10)]
    """

    def __init__(self, update: Callable[[int, int, Mapping[str, Any]], Any]):
        if not callable(update):
            raise TypeError(f"update must be callable (step, total, logs), got {update!r}")
        self.update = update
        self.last_logs: dict[str, Any] = {}

    def on_train_begin(self, args, state, control, **kwargs):
        self.update(state.global_step, state.max_steps, self.last_logs)

    def on_step_end(self, args, state, control, **kwargs):
        self.update(state.global_step, state.max_steps, self.last_logs)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs:
            self.last_logs = dict(logs)


class StepTimer(TrainerCallback):
    """Wall-clock seconds of every optimiser step (``times``) and of the whole run."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.train_seconds = 0.0
        self._step_start: float | None = None
        self._train_start: float | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self._train_start = time.perf_counter()

    def on_step_begin(self, args, state, control, **kwargs):
        self._step_start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if self._step_start is not None:
            self.times.append(time.perf_counter() - self._step_start)
            self._step_start = None

    def on_train_end(self, args, state, control, **kwargs):
        if self._train_start is not None:
            self.train_seconds = time.perf_counter() - self._train_start


class InstrumentedReward:
    """A reward function that also times itself and remembers what it scored.

    TRL sees the same ``__name__`` (so it logs ``rewards/<name>/mean`` as before) and the same
    results. The wrapper keeps only plain attributes, so it pickles like the reward it wraps.

    Attributes
    ----------
    seconds : float
        Total time spent inside the wrapped reward.
    calls : int
        Number of batches scored.
    history : list of dict
        The last ``keep`` batches: ``step``, ``completions`` (text), ``scores`` and the
        ``task``/``solution`` columns.

    Examples
    --------
    >>> from eemo_rewards import format_reward
    >>> timed = InstrumentedReward(format_reward)
    >>> timed(completions=["<think>a</think><answer>joy</answer>", "joy"])
    [1.0, 0.0]
    >>> timed.__name__, timed.calls, timed.history[-1]["scores"]
    ('format_reward', 1, [1.0, 0.0])
    """

    def __init__(self, func: Callable[..., Sequence[float | None]], *, keep: int = 4):
        if not callable(func):
            raise TypeError(f"reward {func!r} is not callable")
        self.func = func
        self.__name__ = getattr(func, "__name__", type(func).__name__)
        self.keep = keep
        self.seconds = 0.0
        self.calls = 0
        self.history: list[dict[str, Any]] = []

    def __call__(self, prompts=None, completions=None, completion_ids=None, **kwargs):
        start = time.perf_counter()
        scores = self.func(
            prompts=prompts, completions=completions, completion_ids=completion_ids, **kwargs
        )
        self.seconds += time.perf_counter() - start
        self.calls += 1
        state = kwargs.get("trainer_state")
        self.history.append(
            {
                "step": getattr(state, "global_step", None),
                "completions": [completion_text(c) for c in (completions or [])],
                "scores": list(scores),
                "task": list(kwargs.get("task") or []),
                "solution": [str(s) for s in (kwargs.get("solution") or [])],
            }
        )
        del self.history[: -self.keep]
        return scores

    def __repr__(self) -> str:
        return f"InstrumentedReward({self.func!r})"


def sample_rows(rewards: Sequence[InstrumentedReward], *, limit: int = 64) -> list[dict[str, Any]]:
    """One row per completion of the most recent batch: text, task, solution and every
    reward's score (``None`` where the reward does not score that task).

    Examples
    --------
    >>> from eemo_rewards import format_reward
    >>> timed = InstrumentedReward(format_reward)
    >>> _ = timed(completions=["<think>a</think><answer>joy</answer>"], task=["emotion"],
    ...           solution=["joy"])
    >>> sample_rows([timed])[0]["format_reward"]
    1.0
    """
    if not rewards or not rewards[0].history:
        return []
    batch = rewards[0].history[-1]
    others = []
    for reward in rewards:
        match = [h for h in reward.history if h["step"] == batch["step"]]
        others.append((reward.__name__, match[-1]["scores"] if match else None))
    rows = []
    for i, text in enumerate(batch["completions"][:limit]):
        row = {
            "step": batch["step"],
            "task": batch["task"][i] if i < len(batch["task"]) else None,
            "solution": batch["solution"][i] if i < len(batch["solution"]) else None,
            "completion": text,
        }
        for name, scores in others:
            row[name] = scores[i] if scores is not None and i < len(scores) else None
        rows.append(row)
    return rows


def write_samples(run: RunFolder, rewards: Sequence[InstrumentedReward]) -> None:
    rows = sample_rows(rewards)
    if rows:
        run.ensure()
        write_records(run.samples_path, rows)
