"""GRPO with the project's rewards on TRL's ``GRPOTrainer`` (PEFT LoRA optional).

:func:`grpo_config` builds a ``GRPOConfig`` with defaults that work on a CPU;
:func:`validate_grpo` checks settings, rewards and data before any training;
:func:`train_grpo` runs it in a run folder (:mod:`eemo_rewards.train.runs`), resumable.

The recipe's defaults are the main job's (:class:`~eemo_rewards.train.settings.JobSettings`,
the one table): 8 completions per prompt, 4 prompts per step, learning rate 1e-5 (checked
across seeds in ``data/study/recipe/``; 1e-4 made accuracy swing and end below the start),
temperature 1, ``beta=0`` (no reference model), DAPO token-level loss.

Examples
--------
A complete run on a few rows (about ten seconds)::

    from eemo_rewards.train.models import load_model
    from eemo_rewards.train.grpo import grpo_config, train_grpo

    bundle = load_model("tiny")
    result = train_grpo(bundle, dataset, args=grpo_config("runs/demo", max_steps=20))
    result.metrics[-1]["reward"]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eemo_rewards.train.callbacks import InstrumentedReward
from eemo_rewards.train.common import (
    TrainingSetupError,
    check_columns,
    check_context,
    device_defaults,
    lora_config,
    world_size,
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

__all__ = [
    "GRPO_DEFAULTS",
    "TrainResult",
    "grpo_config",
    "train_grpo",
    "validate_grpo",
]

_JOB = JobSettings()  # the shipped recipe: one table of defaults (train/settings.py)
GRPO_DEFAULTS: dict[str, Any] = {
    "max_steps": _JOB.grpo_steps,
    "learning_rate": _JOB.grpo_learning_rate,
    "lr_scheduler_type": "constant_with_warmup",
    "warmup_steps": 5,
    "per_device_train_batch_size": _JOB.prompts_per_step * _JOB.num_generations,
    "num_generations": _JOB.num_generations,
    "max_completion_length": _JOB.max_completion_length,
    "temperature": _JOB.temperature,
    "beta": _JOB.beta,
    "loss_type": _JOB.loss_type,
    "scale_rewards": _JOB.scale_rewards,
    "multi_objective_aggregation": _JOB.multi_objective_aggregation,
    "logging_steps": 1,
    "save_strategy": "steps",
    "save_steps": _JOB.save_steps,
    "save_total_limit": 2,
    "report_to": _JOB.report_to,
    "dataloader_num_workers": 0,
    "disable_tqdm": True,
    "log_completions": False,
    "seed": _JOB.seed,
}


def grpo_config(
    output_dir: str | Path, *, bundle: ModelBundle | None = None, **overrides: Any
) -> Any:
    """A TRL ``GRPOConfig`` with this project's defaults, any of them overridden.

    Parameters
    ----------
    output_dir : path
        The run folder; checkpoints go to ``<output_dir>/checkpoint-N``.
    bundle : ModelBundle, optional
        Picks hardware defaults (see :func:`eemo_rewards.train.common.device_defaults`).
    **overrides
        Any ``GRPOConfig`` field (``max_steps``, ``num_generations``, ``beta``,
        ``use_vllm=True`` on a GPU, ...).

    Raises
    ------
    TrainingSetupError
        When the generation batch does not divide into whole groups of ``num_generations``,
        or an override is not a ``GRPOConfig`` field.

    Examples
    --------
    >>> import tempfile
    >>> args = grpo_config(tempfile.mkdtemp(), max_steps=5, num_generations=4,
    ...                    per_device_train_batch_size=8)
    >>> args.max_steps, args.num_generations, args.generation_batch_size
    (5, 4, 8)
    >>> grpo_config(tempfile.mkdtemp(), num_generations=3, per_device_train_batch_size=8)
    Traceback (most recent call last):
    ...
    eemo_rewards.train.common.TrainingSetupError: num_generations=3 does not divide the ...
    """
    from trl import GRPOConfig

    settings = {**GRPO_DEFAULTS, **device_defaults(bundle), **overrides}
    fields = {f.name for f in dataclasses.fields(GRPOConfig)}
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise TrainingSetupError(
            f"unknown GRPO setting(s) {unknown}; see trl.GRPOConfig for the valid names"
        )
    generations = int(settings["num_generations"])
    if generations < 2:
        raise TrainingSetupError(
            f"num_generations={generations}: GRPO compares completions within a group; use 2 "
            "or more (8 is usual)"
        )
    per_step = (
        int(settings["per_device_train_batch_size"])
        * world_size()
        * int(
            settings.get("steps_per_generation") or settings.get("gradient_accumulation_steps", 1)
        )
    )
    if settings.get("generation_batch_size"):
        per_step = int(settings["generation_batch_size"])
    if per_step % generations:
        fits = [b for b in range(generations, 4 * generations + 1, generations)]
        raise TrainingSetupError(
            f"num_generations={generations} does not divide the generation batch of {per_step} "
            f"completions (per_device_train_batch_size x processes x steps per generation); "
            f"every prompt needs a whole group. Use per_device_train_batch_size in {fits} "
            "(per process), or change num_generations."
        )
    if settings.get("use_vllm"):
        _check_vllm()
    settings["output_dir"] = str(output_dir)
    return GRPOConfig(**settings)


def _check_vllm() -> None:
    import importlib.util

    import torch

    if not torch.cuda.is_available():
        raise TrainingSetupError(
            "use_vllm=True generates with vLLM, which needs a CUDA GPU; leave it off on CPU "
            "(transformers' generate is used then)"
        )
    if importlib.util.find_spec("vllm") is None:
        raise TrainingSetupError(
            "use_vllm=True needs the vllm package (`pip install vllm`, in the version TRL "
            "supports); or leave it off"
        )


def _with_sample(progress: Any, rewards: Sequence[Any]) -> Any:
    """``progress`` whose logs also carry the newest scored completion (``sample_completion``,
    ``sample_task``), for a live view; ``None`` stays ``None``."""
    if progress is None:
        return None

    def update(step: int, total: int, logs: Mapping[str, Any]) -> Any:
        history = rewards[0].history if rewards else []
        if history and history[-1]["completions"]:
            latest = history[-1]
            tasks = latest.get("task") or [None]
            logs = {**logs, "sample_completion": latest["completions"][0],
                    "sample_task": tasks[0]}  # fmt: skip
        return progress(step, total, logs)

    return update


def _spec(spec: Any) -> Any:
    """:meth:`RewardSpec.coerce <eemo_rewards.spec.RewardSpec.coerce>`, its errors as
    :class:`TrainingSetupError` (raised before any training)."""
    from eemo_rewards.spec import RewardSpec

    try:
        return RewardSpec.coerce(spec)
    except (ValueError, TypeError, KeyError) as exc:
        raise TrainingSetupError(f"reward spec: {exc}") from exc


def validate_grpo(bundle: ModelBundle, dataset: Any, spec: Any, args: Any) -> dict[str, Any]:
    """Check everything a GRPO run needs before any training starts.

    Checks the dataset columns, that every task in the data is scored by a reward with a
    positive weight (``spec.check_tasks``), that the generation batch holds whole groups,
    and that the largest prompt (images included) plus ``max_completion_length`` fits the
    model's context.

    Returns
    -------
    dict
        ``routing`` (task → rewards scoring it) and ``prompt_tokens`` (longest prompt).

    Raises
    ------
    TrainingSetupError
        With a message that says what to change.
    """
    check_columns(dataset, ["prompt"], stage="GRPO")
    spec = _spec(spec)
    funcs, _ = spec.build()
    needs_solution = any(f.__name__ != "format_reward" for f in funcs)
    if needs_solution and "solution" not in dataset.column_names:
        raise TrainingSetupError(
            "GRPO: the rewards read a 'solution' column that the dataset lacks; build the "
            "dataset with eemo_rewards.data.export.to_trl_dataset or use the 'format_only' spec"
        )
    routing: dict[str, list[str]] = {}
    tasks = _dataset_tasks(dataset) if needs_solution else set()
    if tasks:
        try:
            routing = spec.check_tasks(sorted(tasks))
        except ValueError as exc:
            raise TrainingSetupError(f"GRPO: {exc}") from exc
    if args.generation_batch_size % args.num_generations:
        raise TrainingSetupError(
            f"GRPO: generation batch {args.generation_batch_size} is not a multiple of "
            f"num_generations={args.num_generations}"
        )
    tokens = check_context(
        bundle, dataset, completion_tokens=int(args.max_completion_length), stage="GRPO"
    )
    return {"routing": routing, "prompt_tokens": tokens}


def _dataset_tasks(dataset: Any) -> set[str]:
    """The tasks of a dataset's rows: its ``task`` column, or, for rows without one, the task
    their solution and options imply. A row whose task cannot be told stops here, before any
    training, instead of at the first reward call."""
    from eemo_rewards.answers.tasks import TaskInferenceError, resolve_task

    n = len(dataset)
    column = dataset["task"] if "task" in dataset.column_names else [None] * n
    solutions = dataset["solution"]
    options = dataset["options"] if "options" in dataset.column_names else [None] * n
    tasks = set()
    for i, task in enumerate(column):
        if task is None:
            try:
                task = resolve_task(solutions[i], options[i], who="GRPO")
            except TaskInferenceError as exc:
                raise TrainingSetupError(f"GRPO: row {i}: {exc}") from exc
        tasks.add(task)
    return tasks


def train_grpo(
    bundle: ModelBundle,
    dataset: Any,
    *,
    spec: Any = None,
    args: Any = None,
    run_dir: str | Path | None = None,
    lora: bool | None = None,
    lora_settings: Mapping[str, Any] | None = None,
    progress: Callable[[int, int, Mapping[str, Any]], Any] | None = None,
    callbacks: Sequence[Any] = (),
    resume: bool | str | Path = "auto",
) -> TrainResult:
    """Run GRPO on ``dataset`` with the rewards of ``spec``.

    Parameters
    ----------
    bundle : ModelBundle
        From :func:`eemo_rewards.train.models.load_model` (a fresh load: training updates
        the model in place).
    dataset : datasets.Dataset
        Columns ``prompt`` (conversational), ``images`` (list of PIL images per row),
        ``solution``, ``task``, ``options`` and any column a reward reads.
    spec : RewardSpec, str, dict or list of names, optional
        The rewards (any spelling :meth:`eemo_rewards.spec.RewardSpec.coerce` reads);
        default :func:`eemo_rewards.spec.default_spec`.
        Its weights become ``reward_weights``.
    args : GRPOConfig, optional
        From :func:`grpo_config`; defaults to ``grpo_config(run_dir)``.
    run_dir : path, optional
        Defaults to ``args.output_dir``.
    lora : bool, optional
        LoRA (language model only) instead of full fine-tuning; default: full for ``tiny``,
        LoRA otherwise.
    lora_settings : dict, optional
        Passed to :func:`eemo_rewards.train.common.lora_config` (``r``, ``alpha``, ``scope``...).
    progress : callable, optional
        ``progress(step, total, last_logs)`` after every step.
    callbacks : sequence of TrainerCallback
        Extra callbacks.
    resume : bool, "auto" or path
        ``"auto"`` resumes from the latest checkpoint in the run folder if there is one;
        ``True`` requires one; ``False`` refuses a folder that has checkpoints; a path
        resumes from that checkpoint. A resumed run continues the same global step and
        metrics history, with every weight, the optimizer, scheduler and RNG restored. A
        folder whose run already finished at ``max_steps`` is returned as it is (nothing is
        trained; ``result.reused``); a larger ``max_steps`` continues it from its last step.

    Raises
    ------
    RunLocked
        When another process is training in the same run folder.

    Returns
    -------
    TrainResult
    """
    from trl import GRPOTrainer

    run, args = stage_run(run_dir, args, bundle, grpo_config)
    spec = _spec(spec)
    checks = validate_grpo(bundle, dataset, spec, args)
    with run_lock(run.path, what="GRPO"):
        finished, checkpoint = begin_stage(run, resume, args.max_steps, stage="grpo")
        if finished is not None:
            return finished

        funcs, weights = spec.build()
        rewards = [InstrumentedReward(f) for f in funcs]
        args.reward_weights = list(weights)
        progress = _with_sample(progress, rewards)
        peft = lora_config(bundle, **(lora_settings or {})) if use_lora(bundle, lora) else None

        recorder, timer, all_callbacks = start_stage(
            "grpo", run, bundle, peft, dataset, checks, args, callbacks, progress
        )
        run.write_json("spec.json", spec.to_dict())
        trainer = resumable(GRPOTrainer)(
            model=bundle.model,
            reward_funcs=rewards,
            args=args,
            train_dataset=dataset,
            processing_class=bundle.processor,
            peft_config=peft,
            callbacks=all_callbacks,
        )
        return train_and_finish(trainer, checkpoint, bundle, run, recorder, timer, rewards)
