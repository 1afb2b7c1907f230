"""The machinery SFT and GRPO share: a stage's run folder, its lock, its trainer, resume,
reuse of a finished stage, and what a stage leaves behind (:class:`TrainResult`).

A stage (``train_sft`` or ``train_grpo``) in a run folder (:mod:`eemo_rewards.train.runs`):

1. takes the folder's lock (:func:`eemo_rewards.train.runs.run_lock`): two processes never
   train into one folder;
2. if the folder holds a finished stage at the requested step count, returns it from disk
   without training (:func:`reuse_finished`); asked for more steps, it continues from the
   finished checkpoint, extending the same history;
3. otherwise trains with a trainer made by :func:`resumable`, which restores checkpoints
   through transformers' own loading path (so every weight comes back, whatever key names the
   model's class converts on load), writes each checkpoint under a staging name and moves it
   in whole, always checkpoints the last step, and never rotates away the checkpoint a
   finished stage's results came from;
4. saves ``final/`` (moved in whole) and writes ``finished.json`` last.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from eemo_rewards.train.callbacks import (
    MetricsRecorder,
    ProgressCallback,
    StepTimer,
    sample_rows,
    write_samples,
)
from eemo_rewards.train.common import TrainingSetupError
from eemo_rewards.train.models import ModelBundle, save_bundle, write_marker
from eemo_rewards.train.runs import RunFolder, replace_dir

__all__ = [
    "TrainResult",
    "begin_stage",
    "finish_stage",
    "load_checkpoint_weights",
    "quiet",
    "resumable",
    "resume_point",
    "reuse_finished",
    "stage_run",
    "start_stage",
    "train_and_finish",
    "use_lora",
]

_STEP = re.compile(r"checkpoint-(\d+)")


@dataclass
class TrainResult:
    """What a training run leaves behind.

    Attributes
    ----------
    bundle : ModelBundle
        The trained model (LoRA merged) with its processor, saved in ``run.final_dir``.
    run : RunFolder
        The run folder.
    metrics : list of dict
        The full log history (one dict per logged step).
    samples : list of dict
        GRPO: completions of the last step with each reward's score.
    step_seconds : list of float
        Wall time of each optimiser step run in this process.
    reward_seconds : float
        GRPO: time spent inside the reward functions.
    train_seconds : float
        Wall time of ``trainer.train()``.
    global_step : int
        The trainer's final step (counts steps before a resume).
    reused : bool
        The stage had already finished at this step count: nothing was trained, the result
        was read from the run folder.
    """

    bundle: ModelBundle
    run: RunFolder
    metrics: list[dict[str, Any]]
    samples: list[dict[str, Any]] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)
    reward_seconds: float = 0.0
    train_seconds: float = 0.0
    global_step: int = 0
    reused: bool = False

    @property
    def reward_share(self) -> float:
        """Fraction of the training time spent computing rewards."""
        return self.reward_seconds / self.train_seconds if self.train_seconds else 0.0


def _checkpoint_step(path: str | Path) -> int:
    match = _STEP.fullmatch(Path(path).name)
    if match:
        return int(match.group(1))
    state = Path(path) / "trainer_state.json"
    return int(json.loads(state.read_text()).get("global_step", 0)) if state.exists() else 0


def resume_point(run: RunFolder, resume: bool | str | Path, max_steps: int) -> str | None:
    """The checkpoint to resume from (``None``: start fresh), after the ``resume`` rule.

    ``"auto"`` takes the latest checkpoint if there is one; ``True`` requires one; ``False``
    refuses a folder that has checkpoints; a path names the checkpoint. A checkpoint beyond
    ``max_steps`` cannot be trained back to it: that is an error that says what to do.
    """
    if resume is False:
        if run.checkpoints():
            raise TrainingSetupError(
                f"{run.path} already holds checkpoints {[p.name for p in run.checkpoints()]}; "
                "pass resume=True to continue that run, or choose a new run folder"
            )
        return None
    if resume in (True, "auto"):
        latest = run.latest_checkpoint()
        if latest is None and resume is True:
            raise TrainingSetupError(
                f"resume=True but {run.path} holds no checkpoint; pass resume='auto' to start "
                "fresh when there is none"
            )
        checkpoint = str(latest) if latest is not None else None
    else:
        path = Path(resume)
        if not (path / "trainer_state.json").exists():
            raise TrainingSetupError(f"{path} is not a checkpoint folder (no trainer_state.json)")
        checkpoint = str(path)
    if checkpoint is not None and _checkpoint_step(checkpoint) > max_steps:
        raise TrainingSetupError(
            f"{run.path} has already trained {_checkpoint_step(checkpoint)} steps and "
            f"max_steps={max_steps} asks for fewer; training cannot be undone. Ask for at least "
            f"{_checkpoint_step(checkpoint)} steps, or use a new run folder for a shorter run."
        )
    return checkpoint


def use_lora(bundle: ModelBundle, lora: bool | None) -> bool:
    """LoRA or full fine-tuning: full for the random-initialised ``tiny`` model (LoRA mostly
    slows its learning), LoRA for real models, unless ``lora`` says otherwise."""
    return bundle.kind != "tiny" if lora is None else bool(lora)


def stage_run(
    run_dir: str | Path | None, args: Any, bundle: ModelBundle, make_config: Callable[..., Any]
) -> tuple[RunFolder, Any]:
    """A stage's run folder and TRL config: ``args`` as given, else ``make_config(run_dir)``;
    the config must write where the run folder is."""
    name = make_config.__name__
    if args is None:
        if run_dir is None:
            raise TrainingSetupError(f"pass run_dir or args={name}(run_dir, ...)")
        args = make_config(run_dir, bundle=bundle)
    run = RunFolder(run_dir if run_dir is not None else args.output_dir)
    if Path(args.output_dir).resolve() != run.path.resolve():
        raise TrainingSetupError(
            f"args.output_dir={args.output_dir} differs from run_dir={run.path}; "
            f"build args with {name}(run_dir, ...)"
        )
    return run, args


def start_stage(
    stage: str,
    run: RunFolder,
    bundle: ModelBundle,
    peft: Any,
    dataset: Any,
    checks: Mapping[str, Any],
    args: Any,
    callbacks: Sequence[Any],
    progress: Any,
) -> tuple[MetricsRecorder, StepTimer, list[Any]]:
    """Write a stage's run folder (model marker, ``config.json``), clear what a killed
    process left half-written, and give the callbacks every stage records with: metrics, step
    times, and a progress bar when one is given."""
    run.ensure()
    for leftover in run.path.glob(".staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    write_marker(run.path, bundle.kind, bundle.family, bundle.info)
    run.write_json(
        "config.json",
        {
            "stage": stage,
            "model": {"kind": bundle.kind, "family": bundle.family, "path": bundle.path},
            "lora": peft.to_dict() if peft is not None else None,
            "dataset": {"rows": len(dataset), "columns": list(dataset.column_names)},
            "checks": checks,
            "args": json.loads(args.to_json_string()),
        },
    )
    recorder = MetricsRecorder(run, stage=stage)
    timer = StepTimer()
    all_callbacks = [recorder, timer, _SaveLastStep(), *callbacks]
    if progress is not None:
        all_callbacks.append(ProgressCallback(progress))
    return recorder, timer, all_callbacks


def reuse_finished(run: RunFolder, max_steps: int, *, stage: str) -> TrainResult | None:
    """The finished stage in ``run`` when it finished at exactly ``max_steps``, read from disk
    (its ``final/`` model, metrics and samples); ``None`` when there is none, or it stopped at
    another step count (fewer: it will be extended; more: :func:`resume_point` refuses)."""
    from eemo_rewards.train.models import load_model

    finished = run.finished()
    if finished is None or int(finished.get("global_step", -1)) != int(max_steps):
        return None
    metrics = run.read_metrics()
    for record in metrics:
        record.setdefault("stage", stage)
    return TrainResult(
        bundle=load_model(run.final_dir),
        run=run,
        metrics=metrics,
        samples=run.read_samples(),
        global_step=int(finished["global_step"]),
        reused=True,
    )


def begin_stage(
    run: RunFolder, resume: bool | str | Path, max_steps: int, *, stage: str
) -> tuple[TrainResult | None, str | None]:
    """Inside the run's lock: ``(finished result, None)`` when the stage already finished at
    ``max_steps`` (reuse it), else ``(None, checkpoint to resume from or None)``."""
    if resume is not False:
        finished = reuse_finished(run, max_steps, stage=stage)
        if finished is not None:
            return finished, None
    return None, resume_point(run, resume, int(max_steps))


def train_and_finish(trainer, checkpoint, bundle, run, recorder, timer, rewards) -> TrainResult:
    """Train (from ``checkpoint`` when given) quietly, then :func:`finish_stage`."""
    quiet(trainer)
    trainer.train(resume_from_checkpoint=checkpoint)
    return finish_stage(trainer, bundle, run, recorder, timer, rewards)


def quiet(trainer: Any) -> None:
    """With tqdm off, transformers prints every log dict to stdout; the run's progress
    callback and ``metrics.parquet`` already carry them."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)


def finish_stage(trainer, bundle, run, recorder, timer, rewards) -> TrainResult:
    """Merge LoRA, save ``final/`` (moved in whole) and the samples, then ``finished.json``."""
    model = trainer.model
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    # TRL leaves the model in train mode (and gradient checkpointing on, where used):
    # generation in that state produces garbage
    model.eval()
    trained = ModelBundle(
        model, bundle.processor, bundle.kind, bundle.family, bundle.path, dict(bundle.info)
    )
    step = int(trainer.state.global_step)
    if trainer.is_world_process_zero():
        staged = run.path / f".staging-final-{os.getpid()}"
        if staged.exists():
            shutil.rmtree(staged)
        save_bundle(trained, staged)
        replace_dir(staged, run.final_dir)
        if rewards:
            write_samples(run, rewards)
        latest = run.latest_checkpoint()
        run.write_json(
            "finished.json",
            {
                "global_step": step,
                "checkpoint": latest.name if latest is not None else None,
                "final": run.final_dir.name,
            },
        )
    # under accelerate launch, the other processes may load the final model next
    trainer.accelerator.wait_for_everyone()
    trained.path = str(run.final_dir)
    model.config._name_or_path = str(run.final_dir)
    return TrainResult(
        bundle=trained,
        run=run,
        metrics=recorder.records,
        samples=sample_rows(rewards) if rewards else [],
        step_seconds=list(timer.times),
        reward_seconds=sum(r.seconds for r in rewards),
        train_seconds=timer.train_seconds,
        global_step=step,
    )


def load_checkpoint_weights(model: Any, checkpoint: str | Path) -> None:
    """Load a checkpoint's full weights into ``model`` in place, every key or an error.

    transformers saves a model's weights under the key names of its original checkpoint
    format (``save_pretrained`` reverts the renaming that ``from_pretrained`` applies, e.g.
    ``model.language_model.*`` → ``model.*`` and ``model.visual.*`` → ``visual.*`` for the
    Qwen2-VL family), while ``Trainer`` resumes by loading the raw file into the live model:
    every key then misses, nothing loads, and training silently continues from the weights
    the model started with. Reading the checkpoint back through ``from_pretrained`` applies
    the same conversion as any load, for every model class transformers converts.

    Raises
    ------
    RuntimeError
        When the checkpoint's weights do not cover the model's exactly.
    """
    import torch

    parameter = next(model.parameters(), None)
    dtype = parameter.dtype if parameter is not None else torch.float32
    loaded = type(model).from_pretrained(str(checkpoint), dtype=dtype)
    state = loaded.state_dict()
    advice = "resume with the same model (kind, family and size) that wrote it"
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shapes differ
        first = str(exc).split("\n\t")[1:2] or [str(exc)[:200]]
        raise RuntimeError(
            f"the checkpoint {checkpoint} does not match the model ({first[0]}); {advice}"
        ) from None
    finally:
        del loaded, state
    if result.missing_keys or result.unexpected_keys:
        raise RuntimeError(
            f"the checkpoint {checkpoint} does not match the model: missing "
            f"{list(result.missing_keys)[:5]}, unexpected {list(result.unexpected_keys)[:5]}; "
            f"{advice}"
        )


class _ResumableTrainer:
    """Mixed in before a transformers/TRL trainer class by :func:`resumable`."""

    _staging_root: str | None = None

    def _load_from_checkpoint(self, resume_from_checkpoint, model=None):
        from transformers import PreTrainedModel

        target = self.model if model is None else model
        folder = Path(resume_from_checkpoint)
        full = (folder / "model.safetensors").exists() or (
            folder / "model.safetensors.index.json"
        ).exists()
        plain = not (self.is_fsdp_enabled or self.is_deepspeed_enabled)
        if full and plain and isinstance(target, PreTrainedModel):
            load_checkpoint_weights(target, folder)
            return None
        # LoRA adapters (PEFT loads them under its own names), FSDP and DeepSpeed shards
        return super()._load_from_checkpoint(resume_from_checkpoint, model=model)

    def _get_output_dir(self, trial):
        if self._staging_root is not None:
            return self._staging_root
        return super()._get_output_dir(trial)

    def _save_checkpoint(self, model, trial):
        # write checkpoint-N under a staging folder, then move it in whole: a process killed
        # while saving leaves a staging folder (cleared at the next start), never a
        # checkpoint-N that looks complete and is not
        root = Path(super()._get_output_dir(trial))
        name = f"checkpoint-{self.state.global_step}"
        staging = root / f".staging-{name}"
        self._staging_root = str(staging)
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self._staging_root = None
        self.accelerator.wait_for_everyone()
        if self.args.should_save:
            replace_dir(staging / name, root / name)
            shutil.rmtree(staging, ignore_errors=True)
            _rotate(RunFolder(root), self.args.save_total_limit)
        self.accelerator.wait_for_everyone()


def _rotate(run: RunFolder, keep: int | None) -> None:
    """Keep the newest ``keep`` checkpoints and the one a finished stage's results came from."""
    if not keep or keep <= 0:
        return
    finished = run.finished() or {}
    protected = finished.get("checkpoint")
    checkpoints = run.checkpoints()
    for old in checkpoints[: max(len(checkpoints) - keep, 0)]:
        if old.name != protected:
            shutil.rmtree(old, ignore_errors=True)


def resumable(trainer_class: type) -> type:
    """``trainer_class`` with checkpoints that resume every weight and are written whole
    (see the module docstring)."""
    return type(trainer_class.__name__, (_ResumableTrainer, trainer_class), {})


class _SaveLastStep(TrainerCallback):
    """Always checkpoint the last step, so that a finished stage can be resumed, extended and
    compared from exactly where it ended (not from the last multiple of ``save_steps``)."""

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= state.max_steps and args.save_strategy != "no":
            control.should_save = True
        return control
