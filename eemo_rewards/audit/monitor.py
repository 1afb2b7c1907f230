"""``HackingMonitor``: the hacking signals (:mod:`eemo_rewards.audit.signals`) inside a
``transformers`` trainer, logged as metrics and warned about as they happen.

With TRL's ``GRPOTrainer``, wrap the reward functions so that the monitor sees every
completion and every term's scores, and pass it as a callback::

    monitor = HackingMonitor()
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=monitor.wrap([format_reward, accuracy_reward]),
        args=GRPOConfig(..., reward_weights=[0.5, 1.0]),
        callbacks=[monitor],
        train_dataset=dataset,
    )

Each generation batch then logs ``hacking/<value>`` (through TRL's ``log_metric``, so the
values reach every logger the trainer reports to) and warns once per signal
(:class:`~eemo_rewards.audit.signals.HackingWarning`, with the evidence);
``monitor.signals.flags`` lists what was flagged. Without wrapped rewards the monitor reads
the trainer's logged metrics alone (reward, per-term means and spreads, completion length):
length drift, term dominance and format saturation still work; collapse and commitment need
the completions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from transformers import TrainerCallback

from eemo_rewards.audit.signals import HackingSignals

__all__ = ["HackingMonitor", "MonitoredReward"]


class MonitoredReward:
    """A reward function that also reports what it scored to a :class:`HackingMonitor`.

    TRL sees the same ``__name__`` and the same scores.
    """

    def __init__(self, func: Callable[..., Sequence[float | None]], monitor: HackingMonitor):
        if not callable(func):
            raise TypeError(f"reward {func!r} is not callable")
        self.func = func
        self.monitor = monitor
        self.__name__ = getattr(func, "__name__", type(func).__name__)

    def __call__(self, prompts=None, completions=None, completion_ids=None, **kwargs):
        scores = self.func(
            prompts=prompts, completions=completions, completion_ids=completion_ids, **kwargs
        )
        self.monitor._record(self, completions, kwargs, scores)
        return scores

    def __repr__(self) -> str:
        return f"MonitoredReward({self.func!r})"


class HackingMonitor(TrainerCallback):
    """A ``TrainerCallback`` that flags reward hacking in the logged completions.

    Parameters
    ----------
    signals : HackingSignals, optional
        The detector (default: ``HackingSignals(**kwargs)``).
    **kwargs
        Passed to :class:`~eemo_rewards.audit.signals.HackingSignals` (``window``,
        ``task_terms``, the lines of each signal…).

    Attributes
    ----------
    signals : HackingSignals
        Its ``flags`` (what was flagged, when, with the evidence) and ``history`` (every
        batch's values).
    latest : dict
        The last batch's ``hacking/…`` metrics.
    """

    def __init__(self, signals: HackingSignals | None = None, **kwargs: Any):
        if signals is not None and kwargs:
            raise ValueError("pass either signals or HackingSignals keyword arguments, not both")
        self.signals = signals if signals is not None else HackingSignals(**kwargs)
        self.latest: dict[str, float] = {}
        self._wrapped: list[MonitoredReward] = []
        self._calls: dict[int, int] = {}
        self._pending: dict[int, dict[str, Any]] = {}
        self._logged_through_trainer = False

    def wrap(self, reward_funcs: Sequence[Callable[..., Any]]) -> list[MonitoredReward]:
        """The reward functions, each reporting to this monitor (pass these to the trainer)."""
        if callable(reward_funcs):
            reward_funcs = [reward_funcs]
        wrapped = [MonitoredReward(f, self) for f in reward_funcs]
        self._wrapped.extend(wrapped)
        return wrapped

    # -- the reward side: one batch is complete when every wrapped reward has scored it ----
    def _record(self, reward: MonitoredReward, completions, columns, scores) -> None:
        index = self._wrapped.index(reward)
        batch = self._calls.get(index, 0)
        self._calls[index] = batch + 1
        entry = self._pending.setdefault(batch, {"rewards": {}})
        entry["rewards"][reward.__name__] = list(scores)
        if "completions" not in entry:
            state = columns.get("trainer_state")
            entry.update(
                completions=list(completions or []),
                step=getattr(state, "global_step", batch),
                tasks=columns.get("task"),
                solutions=columns.get("solution"),
                options=columns.get("options"),
                taxonomies=columns.get("taxonomy"),
            )
        if len(entry["rewards"]) < len(self._wrapped):
            return
        del self._pending[batch]
        try:
            self.latest = self.signals.observe(
                entry["step"],
                completions=entry["completions"],
                rewards=entry["rewards"],
                tasks=entry["tasks"],
                solutions=entry["solutions"],
                options=entry["options"],
                taxonomies=entry["taxonomies"],
            )
        except Exception as exc:  # the monitor must never stop a run
            import warnings

            warnings.warn(
                f"HackingMonitor could not read a batch ({exc!r})", RuntimeWarning, stacklevel=3
            )
            return
        log_metric = columns.get("log_metric")
        if callable(log_metric):
            self._logged_through_trainer = True
            for name, value in self.latest.items():
                log_metric(name, value)

    # -- the trainer side -----------------------------------------------------------------
    def on_train_begin(self, args, state, control, **kwargs):
        weights = getattr(args, "reward_weights", None)
        if self._wrapped and weights is not None and len(weights) == len(self._wrapped):
            for reward, weight in zip(self._wrapped, weights, strict=True):
                self.signals.weights.setdefault(reward.__name__, float(weight))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs is None or "reward" not in logs:
            return
        if not self._wrapped:  # the logged metrics alone
            self.latest = self.signals.observe(state.global_step, metrics=logs)
        if self._logged_through_trainer:
            return
        logs.update(self.latest)
        if state.log_history and state.log_history[-1].get("step") == state.global_step:
            state.log_history[-1].update(self.latest)
