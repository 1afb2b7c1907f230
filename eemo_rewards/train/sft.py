"""Supervised fine-tuning on the ``<think>…</think><answer>…</answer>`` demonstrations with
TRL's ``SFTTrainer`` (PEFT LoRA optional): the stage before GRPO.

:func:`sft_config` builds an ``SFTConfig`` with CPU-safe defaults; :func:`train_sft` runs it in
a run folder (:mod:`eemo_rewards.train.runs`) and returns the trained model, resumable like
:func:`eemo_rewards.train.grpo.train_grpo`. The loss is on the completion only (TRL's default
for prompt/completion data).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eemo_rewards._text import completion_text
from eemo_rewards.train.common import (
    TrainingSetupError,
    check_columns,
    check_context,
    device_defaults,
    lora_config,
)
from eemo_rewards.train.models import ModelBundle
from eemo_rewards.train.runs import run_lock
from eemo_rewards.train.settings import JobSettings
from eemo_rewards.train.stage import (
    TrainResult,
    begin_stage,
    resumable,
    stage_run,
    start_stage,
    train_and_finish,
    use_lora,
)

__all__ = ["SFT_COLUMNS", "SFT_DEFAULTS", "sft_config", "train_sft", "validate_sft"]

# the tiny model learns the built-in cues in a few hundred steps at 3e-4; 1e-3 was unstable
_JOB = JobSettings()  # the shipped recipe: one table of defaults (train/settings.py)
SFT_DEFAULTS: dict[str, Any] = {
    "max_steps": _JOB.sft_steps,
    "learning_rate": _JOB.sft_learning_rate,
    "lr_scheduler_type": "constant_with_warmup",
    "warmup_steps": 5,
    "per_device_train_batch_size": _JOB.sft_batch_size,
    "max_length": None,  # truncation could cut image tokens; check_context guards the length
    "logging_steps": 10,
    "save_strategy": "steps",
    "save_steps": 100,
    "save_total_limit": 2,
    "report_to": "none",
    "dataloader_num_workers": 0,
    "disable_tqdm": True,
    "seed": _JOB.seed,
}

SFT_COLUMNS = ("prompt", "completion", "images")
"""The columns SFT reads; others (``task``, ``solution``, ...) are dropped for the collator."""


def sft_config(
    output_dir: str | Path, *, bundle: ModelBundle | None = None, **overrides: Any
) -> Any:
    """A TRL ``SFTConfig`` with this project's defaults, any of them overridden.

    Examples
    --------
    >>> import tempfile
    >>> args = sft_config(tempfile.mkdtemp(), max_steps=3)
    >>> args.max_steps, args.learning_rate, args.max_length
    (3, 0.0003, None)
    >>> sft_config(tempfile.mkdtemp(), max_stepz=3)
    Traceback (most recent call last):
    ...
    eemo_rewards.train.common.TrainingSetupError: unknown SFT setting(s) ['max_stepz']; ...
    """
    from trl import SFTConfig

    settings = {**SFT_DEFAULTS, **device_defaults(bundle), **overrides}
    fields = {f.name for f in dataclasses.fields(SFTConfig)}
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise TrainingSetupError(
            f"unknown SFT setting(s) {unknown}; see trl.SFTConfig for the valid names"
        )
    settings["output_dir"] = str(output_dir)
    return SFTConfig(**settings)


def _completion_tokens(bundle: ModelBundle, dataset: Any, scan: int = 5000) -> int:
    completions = dataset.select(range(min(len(dataset), scan)))["completion"]
    longest = max((completion_text(c) for c in completions), key=len)
    # +2: the end-of-turn token and newline the chat template appends
    return len(bundle.tokenizer(longest)["input_ids"]) + 2


def validate_sft(bundle: ModelBundle, dataset: Any, args: Any) -> dict[str, Any]:
    """Check the dataset and that prompt + demonstration fits the model's context.

    Raises
    ------
    TrainingSetupError
        With a message that says what to change.
    """
    check_columns(dataset, ["prompt", "completion"], stage="SFT")
    completion = _completion_tokens(bundle, dataset)
    prompt = check_context(bundle, dataset, completion_tokens=completion, stage="SFT")
    if args.max_length is not None and prompt + completion > args.max_length:
        raise TrainingSetupError(
            f"SFT: max_length={args.max_length} would truncate rows of {prompt + completion} "
            "tokens (prompt with image tokens + demonstration); raise it or set it to None"
        )
    return {"prompt_tokens": prompt, "completion_tokens": completion}


def train_sft(
    bundle: ModelBundle,
    dataset: Any,
    *,
    args: Any = None,
    run_dir: str | Path | None = None,
    lora: bool | None = None,
    lora_settings: Mapping[str, Any] | None = None,
    progress: Callable[[int, int, Mapping[str, Any]], Any] | None = None,
    callbacks: Sequence[Any] = (),
    resume: bool | str | Path = "auto",
) -> TrainResult:
    """Fine-tune on the dataset's demonstrations (``prompt`` → ``completion``).

    Parameters are those of :func:`eemo_rewards.train.grpo.train_grpo` without the rewards;
    ``args`` comes from :func:`sft_config`.

    Returns
    -------
    TrainResult
        ``bundle`` is the trained model (saved in ``<run>/final``), ready for GRPO.
    """
    from trl import SFTTrainer

    run, args = stage_run(run_dir, args, bundle, sft_config)
    checks = validate_sft(bundle, dataset, args)
    with run_lock(run.path, what="SFT"):
        finished, checkpoint = begin_stage(run, resume, args.max_steps, stage="sft")
        if finished is not None:
            return finished
        keep = [c for c in SFT_COLUMNS if c in dataset.column_names]
        train_data = dataset.select_columns(keep)
        peft = lora_config(bundle, **(lora_settings or {})) if use_lora(bundle, lora) else None

        recorder, timer, all_callbacks = start_stage(
            "sft", run, bundle, peft, dataset, checks, args, callbacks, progress
        )
        trainer = resumable(SFTTrainer)(
            model=bundle.model,
            args=args,
            train_dataset=train_data,
            processing_class=bundle.processor,
            peft_config=peft,
            callbacks=all_callbacks,
        )
        return train_and_finish(trainer, checkpoint, bundle, run, recorder, timer, [])
