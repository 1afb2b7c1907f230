"""Plain TRL baselines for the training benchmarks: the same model, data, reward functions and
TRL config as :func:`eemo_rewards.train.grpo.train_grpo` / :func:`~eemo_rewards.train.sft.
train_sft`, run on a bare ``GRPOTrainer`` / ``SFTTrainer`` with none of the project's run
folder, validation, callbacks, reward instrumentation or final save.

Both sides are timed by the same :class:`StepClock` callback, so the ratio of their step times
is what the project adds around TRL (callbacks, logging, metrics files, reward wrappers).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

__all__ = ["JsonLines", "StepClock", "plain_grpo", "plain_sft", "throughput"]


class JsonLines:
    """Append one JSON object per line to a file, flushed and synced at once, so that a run
    cut short keeps every record written before the cut."""

    def __init__(self, path: str | os.PathLike | None, **common: Any):
        self.path = Path(path) if path is not None else None
        self.common = common
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def emit(self, record: dict[str, Any]) -> dict[str, Any]:
        record = {**self.common, **record, "time": time.time()}
        if self.path is not None:
            with self.path.open("a") as handle:
                handle.write(json.dumps(record, default=str) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        return record


class StepClock(TrainerCallback):
    """Wall time (``times``) and process CPU time (``cpu_times``, all threads) of every
    optimiser step; optionally writes each one as it ends. On a CPU shared with other jobs the
    CPU time moves much less than the wall time.

    ``sync`` (e.g. ``torch.cuda.synchronize``) runs before each reading, so that a GPU's
    queued work is counted in the step that queued it.
    """

    def __init__(
        self,
        log: JsonLines | None = None,
        *,
        sync: Callable[[], Any] | None = None,
        **labels: Any,
    ):
        self.log = log
        self.sync = sync
        self.labels = labels
        self.times: list[float] = []
        self.cpu_times: list[float] = []
        self._start: float | None = None
        self._cpu_start = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        if self.sync is not None:
            self.sync()
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()

    def on_step_end(self, args, state, control, **kwargs):
        if self._start is None:
            return
        if self.sync is not None:
            self.sync()
        seconds = time.perf_counter() - self._start
        self.times.append(seconds)
        self.cpu_times.append(time.process_time() - self._cpu_start)
        self._start = None
        if self.log is not None:
            self.log.emit(
                {"kind": "step", **self.labels, "step": int(state.global_step), "s": seconds}
            )


def throughput(history: Sequence[dict[str, Any]], times: Sequence[float], warmup: int) -> dict:
    """Median s/step over the steps after ``warmup``, and tokens/s over those steps from the
    trainer's cumulative ``num_tokens`` log (prompt, image and completion tokens), plus the mean
    completion length GRPO logs."""
    timed = list(times[warmup:]) or list(times)
    out: dict[str, Any] = {
        "steps": len(times),
        "timed_steps": len(timed),
        "s_per_step": statistics.median(timed) if timed else None,
        "step_s": list(times),
    }
    tokens = {int(r["step"]): r["num_tokens"] for r in history if "num_tokens" in r and "step" in r}
    first = warmup if warmup in tokens else None
    last = max(tokens) if tokens else None
    if first is not None and last is not None and last > first and timed:
        out["tokens_per_step"] = (tokens[last] - tokens[first]) / (last - first)
        out["tokens_per_s"] = out["tokens_per_step"] / out["s_per_step"]
    lengths = [r["completions/mean_length"] for r in history if "completions/mean_length" in r]
    if lengths:
        out["completion_mean_length"] = statistics.fmean(lengths)
    return out


def plain_grpo(
    bundle: Any,
    dataset: Any,
    args: Any,
    *,
    spec: Any = None,
    peft_config: Any = None,
    callbacks: Sequence[Any] = (),
) -> Any:
    """Train with a bare TRL ``GRPOTrainer``: the spec's reward functions unwrapped, its
    weights as ``reward_weights``; returns the trainer."""
    from trl import GRPOTrainer

    from eemo_rewards.spec import RewardSpec

    funcs, weights = RewardSpec.coerce(spec).build()
    args.reward_weights = list(weights)
    trainer = GRPOTrainer(
        model=bundle.model,
        reward_funcs=list(funcs),
        args=args,
        train_dataset=dataset,
        processing_class=bundle.processor,
        peft_config=peft_config,
        callbacks=list(callbacks),
    )
    trainer.train()
    return trainer


def plain_sft(
    bundle: Any,
    dataset: Any,
    args: Any,
    *,
    peft_config: Any = None,
    callbacks: Sequence[Any] = (),
) -> Any:
    """Train with a bare TRL ``SFTTrainer`` on the columns SFT reads; returns the trainer."""
    from trl import SFTTrainer

    from eemo_rewards.train.sft import SFT_COLUMNS

    keep = [c for c in SFT_COLUMNS if c in dataset.column_names]
    trainer = SFTTrainer(
        model=bundle.model,
        args=args,
        train_dataset=dataset.select_columns(keep),
        processing_class=bundle.processor,
        peft_config=peft_config,
        callbacks=list(callbacks),
    )
    trainer.train()
    return trainer
