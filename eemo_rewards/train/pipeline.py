"""The main job as functions: built-in data → SFT → GRPO → evaluation, in one run folder.

``notebooks/grpo.py`` (the main job), ``notebooks/sft.py``, ``notebooks/eval.py`` and
``benchmarks/learning.py`` call these, so that the notebooks stay thin and the same steps
run headless.

Folders of the main job::

    runs/sft-<model>-<sft id>/    the SFT run folder (see eemo_rewards.train.runs), keyed
                                  by the settings SFT depends on alone, so GRPO runs that
                                  differ only in GRPO settings share one SFT checkpoint
    runs/<name>/                  a job: ``<model>-<job id>`` for the name ``auto``
      settings.json   the JobSettings
      grpo/           the GRPO run folder
      eval.parquet    one row per (stage, decoding) with every metric
      eval.json       the same, plus sample answers and what was evaluated (``stamp``)
      .lock           while a process runs the job

The job id leaves out what does not change what GRPO has trained so far: the number of GRPO
steps (asking for more continues the same run and extends its history), how often it
checkpoints, and the evaluation settings. Running the same settings again returns the
finished job at once: nothing is trained or evaluated twice.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eemo_rewards.train.heldout import (  # re-exported here, where they lived before
    HELDOUT_SETS,
    evaluate_folder,
    evaluate_stages,
    heldout_set,
)
from eemo_rewards.train.settings import (  # JobSettings and its keys: re-exported here
    DEFAULT_TASKS,
    EVAL_KEYS,
    NOT_IN_JOB_ID,
    REPORT_TO,
    SFT_KEYS,
    JobSettings,
)

__all__ = [
    "DEFAULT_TASKS",
    "EVAL_KEYS",
    "HELDOUT_SETS",
    "NOT_IN_JOB_ID",
    "REPORT_TO",
    "SFT_KEYS",
    "JobSettings",
    "builtin_splits",
    "eval_stamp",
    "evaluate_folder",
    "evaluate_run",
    "evaluate_stages",
    "heldout_set",
    "list_runs",
    "per_task_head",
    "plan_job",
    "run_grpo_stage",
    "run_job",
    "run_settings",
    "run_sft_stage",
    "stored_eval",
    "timing_records",
    "tokenizer_corpus",
    "work_units",
    "write_eval",
]


def tokenizer_corpus(dataset: Any, limit: int = 4000) -> list[str]:
    """The texts the tiny tokenizer should know: prompts' text and target completions."""
    texts = []
    rows = dataset.select(range(min(limit, len(dataset))))
    for prompt, completion in zip(rows["prompt"], rows["completion"], strict=True):
        for message in list(prompt) + list(completion or []):
            content = message.get("content")
            if isinstance(content, str):
                texts.append(content)
            else:
                texts.extend(p.get("text") or "" for p in content if p.get("type") == "text")
    return texts


def per_task_head(qa: Any, n: int) -> Any:
    """The first ``n`` rows of each task, and of each V/A/D dimension for ``assessment``
    (whose correlations are computed per dimension), in the frame's order: a held-out set
    sized per reported metric rather than per row.

    Examples
    --------
    >>> import polars as pl
    >>> qa = pl.DataFrame({"task": ["emotion"] * 3 + ["assessment"] * 4,
    ...                    "dimension": [None] * 3 + ["valence", "arousal"] * 2})
    >>> per_task_head(qa, 1).rows()
    [('emotion', None), ('assessment', 'valence'), ('assessment', 'arousal')]
    """
    import polars as pl

    key = (
        pl.when(pl.col("task") == "assessment")
        .then(pl.concat_str(pl.col("task"), pl.lit("/"), pl.col("dimension").fill_null("")))
        .otherwise(pl.col("task"))
    )
    return (
        qa.with_row_index("_order")
        .with_columns(key.alias("_metric"))
        .filter(pl.int_range(pl.len()).over("_metric") < n)
        .sort("_order")
        .drop("_order", "_metric")
    )


def builtin_splits(settings: JobSettings, *, cache_dir: str | Path | None = None) -> dict:
    """The built-in dataset as TRL datasets: ``sft`` (demonstrations), ``grpo`` (prompts),
    ``test`` (held-out images, never trained on; ``settings.eval_rows`` rows per task and
    per V/A/D dimension, :func:`per_task_head`), plus the ``qa`` frame and ``counts`` (rows
    per task and dimension in ``eval_per_metric``).

    SFT and GRPO both draw from the train split; ``test`` is the test split, whose images
    appear in neither (the data layer assigns splits per image, pairs within one split).
    """
    import polars as pl

    from eemo_rewards.data.builtin import generate_builtin
    from eemo_rewards.data.export import to_trl_dataset
    from eemo_rewards.data.qa import generate_qa

    records = generate_builtin(
        n_images=settings.n_images,
        image_size=settings.image_size,
        seed=settings.data_seed,
        cache_dir=cache_dir,
    )
    qa = generate_qa(
        records, tasks=list(settings.tasks), seed=settings.data_seed, think=settings.think
    )
    train = qa.filter(pl.col("split") == "train").sample(
        fraction=1.0, shuffle=True, seed=settings.data_seed
    )
    test = qa.filter(pl.col("split") == "test").sample(
        fraction=1.0, shuffle=True, seed=settings.data_seed + 1
    )
    if train.height == 0 or test.height == 0:
        raise ValueError(
            f"n_images={settings.n_images} leaves an empty train or test split; use more images"
        )
    sft = train.head(settings.sft_rows)
    grpo = train.head(settings.grpo_rows)
    evaluation = per_task_head(test, settings.eval_rows)
    return {
        "qa": qa,
        "sft": to_trl_dataset(sft),
        "grpo": to_trl_dataset(grpo),
        "test": to_trl_dataset(evaluation),
        "counts": {
            "images": settings.n_images,
            "train_rows": train.height,
            "test_rows": test.height,
            "sft_rows": sft.height,
            "grpo_rows": grpo.height,
            "eval_rows": evaluation.height,
            "eval_per_metric": dict(
                evaluation.group_by(
                    pl.when(pl.col("task") == "assessment")
                    .then(pl.col("task") + "/" + pl.col("dimension").fill_null(""))
                    .otherwise(pl.col("task"))
                    .alias("m")
                )
                .len()
                .sort("m")
                .rows()
            ),
        },
    }


def _sft_args(settings: JobSettings, bundle: Any, run_dir: Path) -> Any:
    from eemo_rewards.train.sft import sft_config

    return sft_config(
        run_dir,
        bundle=bundle,
        max_steps=settings.sft_steps,
        per_device_train_batch_size=settings.sft_batch_size,
        learning_rate=settings.sft_learning_rate,
        seed=settings.seed,
        save_steps=max(settings.sft_steps, 1),
        # about ten points on the loss curve of a short run, one per 10 steps otherwise
        logging_steps=max(1, min(10, settings.sft_steps // 10)),
        **_report_args(settings),
    )


def _report_args(settings: JobSettings) -> dict[str, Any]:
    """``report_to`` for TRL's trainers (TensorBoard writes under ``<stage folder>/runs/``,
    transformers' default)."""
    if settings.report_to not in REPORT_TO:
        raise ValueError(
            f"report_to={settings.report_to!r}; use one of {list(REPORT_TO)} (--report-to)"
        )
    return {"report_to": settings.report_to}


def _grpo_args(settings: JobSettings, bundle: Any, run_dir: Path) -> Any:
    from eemo_rewards.train.grpo import grpo_config

    extra: dict[str, Any] = {}
    if settings.use_vllm:
        extra.update(use_vllm=True, vllm_mode="colocate")
    return grpo_config(
        run_dir,
        bundle=bundle,
        max_steps=settings.grpo_steps,
        per_device_train_batch_size=settings.prompts_per_step * settings.num_generations,
        num_generations=settings.num_generations,
        learning_rate=settings.grpo_learning_rate,
        beta=settings.beta,
        loss_type=settings.loss_type,
        scale_rewards=settings.scale_rewards,
        multi_objective_aggregation=settings.multi_objective_aggregation,
        temperature=settings.temperature,
        max_completion_length=settings.max_completion_length,
        seed=settings.seed,
        save_steps=settings.save_steps,
        **_report_args(settings),
        **extra,
    )


def run_sft_stage(
    settings: JobSettings,
    data: Mapping[str, Any],
    *,
    progress: Callable[[int, int, Mapping[str, Any]], Any] | None = None,
) -> tuple[Path, Any, Any]:
    """The SFT stage of a job: ``(final folder, trained ModelBundle, TrainResult or None)``.

    ``data`` holds ``sft`` (the demonstrations) and, optionally, ``corpus`` (the rows whose
    text the tiny model's tokenizer learns; default ``sft``).

    Starts from ``settings.sft_from`` when set (``None`` result). Otherwise trains in
    ``settings.sft_dir``: a finished SFT with these SFT settings is reused as it is (its
    result has ``reused=True``; the data is not touched), an interrupted one resumes from its
    checkpoint.
    """
    from eemo_rewards.train.models import load_model
    from eemo_rewards.train.runs import RunFolder
    from eemo_rewards.train.sft import train_sft
    from eemo_rewards.train.stage import reuse_finished

    if settings.sft_from:
        final = Path(settings.sft_from)
        return final, load_model(final), None
    run = RunFolder(settings.sft_dir)
    reused = reuse_finished(run, settings.sft_steps, stage="sft")
    if reused is not None:
        return run.final_dir, reused.bundle, reused
    kwargs: dict[str, Any] = {}
    if settings.model == "tiny":
        # the tiny tokenizer learns the demonstrations' text, or ``data["corpus"]`` when given
        texts = data["corpus"] if "corpus" in data else data["sft"]
        kwargs = {"corpus": tokenizer_corpus(texts), "image_size": settings.image_size}
    base = load_model(settings.model, **kwargs)  # under a launcher the cache coordinates
    result = train_sft(
        base,
        data["sft"],
        args=_sft_args(settings, base, run.path),
        lora=settings.lora,
        progress=progress,
    )
    return run.final_dir, result.bundle, result


def run_grpo_stage(
    settings: JobSettings,
    sft_final: str | Path,
    prompts: Any,
    *,
    spec: Any = None,
    run_dir: str | Path | None = None,
    progress: Callable[[int, int, Mapping[str, Any]], Any] | None = None,
    resume: bool | str = "auto",
) -> Any:
    """The GRPO stage of a job: from the SFT model in ``sft_final``, on ``prompts``, with
    ``spec`` (default ``settings.spec``), in ``<run_dir>/grpo`` (default the job's folder).
    A GRPO run that finished at ``settings.grpo_steps`` is read back (``reused=True``)."""
    from eemo_rewards.train.grpo import train_grpo
    from eemo_rewards.train.models import load_model
    from eemo_rewards.train.runs import RunFolder
    from eemo_rewards.train.stage import reuse_finished

    run = RunFolder(Path(run_dir if run_dir is not None else settings.run_dir) / "grpo")
    reused = reuse_finished(run, settings.grpo_steps, stage="grpo")
    if reused is not None:
        return reused
    policy = load_model(sft_final)  # a fresh copy: GRPO trains it in place
    return train_grpo(
        policy,
        prompts,
        spec=settings.spec if spec is None else spec,
        args=_grpo_args(settings, policy, run.path),
        lora=settings.lora,
        progress=progress,
        resume=resume,
    )


class _LazySplits(Mapping):
    """:func:`builtin_splits`, built on first use: a job whose stages are all reused never
    generates its data."""

    def __init__(self, settings: JobSettings, seconds: dict[str, float]):
        self._settings, self._seconds, self._data = settings, seconds, None

    def _load(self) -> Mapping[str, Any]:
        if self._data is None:
            start = time.perf_counter()
            self._data = builtin_splits(self._settings)
            self._seconds["data"] = time.perf_counter() - start
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __iter__(self):
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def get(self, key: str, default: Any = None) -> Any:
        if key == "counts" and self._data is None:
            return default
        return self._load().get(key, default)


def _check_same_job(run_dir: Path, settings: JobSettings) -> None:
    saved = run_dir / "settings.json"
    if not saved.exists():
        return
    previous = JobSettings.from_dict(json.loads(saved.read_text())).identity()
    current = settings.identity()
    if previous != current:
        keys = set(previous) | set(current)
        changed = sorted(k for k in keys if previous.get(k) != current.get(k))
        raise ValueError(
            f"{run_dir} holds a run with other settings (they differ in {changed}); choose "
            "another name (or the name 'auto'), or delete the folder"
        )


def eval_stamp(settings: JobSettings, sft_step: int, grpo_step: int) -> dict[str, Any]:
    """What an evaluation of a job depends on: the models' steps and the evaluation
    settings. A stored evaluation with the same stamp is reused."""
    data = settings.to_dict()
    return {"sft_step": int(sft_step), "grpo_step": int(grpo_step)} | {
        k: data[k] for k in EVAL_KEYS
    }


def stored_eval(run_dir: str | Path, stamp: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """The evaluation stored in ``run_dir`` if it was made with ``stamp``, else ``None``."""
    path = Path(run_dir) / "eval_stamp.json"
    if not path.exists() or not (Path(run_dir) / "eval.json").exists():
        return None
    if json.loads(path.read_text()) != json.loads(json.dumps(dict(stamp), default=str)):
        return None
    return json.loads((Path(run_dir) / "eval.json").read_text())


def _finished_step(folder: Path) -> int:
    from eemo_rewards.train.runs import RunFolder

    finished = RunFolder(folder).finished()
    return int(finished["global_step"]) if finished else 0


def _checkpoint_steps(folder: Path) -> list[int]:
    from eemo_rewards.train.runs import RunFolder

    return [int(p.name.split("-")[1]) for p in RunFolder(folder).checkpoints()]


def plan_job(settings: JobSettings) -> dict[str, Any]:
    """What :func:`run_job` will do with ``settings``, worked out from the disk before it
    does it, so that a form can say so before its button is pressed.

    Returns ``action``, ``settings`` (the job that will run: for fewer GRPO steps than the
    run has trained, a new run folder named ``<run>-<N>steps``), ``checkpoint`` (for
    ``from-checkpoint``), ``trained`` (GRPO steps the run folder already holds), ``sft``
    (``reuse`` or ``train``), ``holder`` (who holds the folder's lock now, or ``None``) and
    ``error`` (settings that cannot run here, with what to do; else ``None``). ``action`` is
    one of

    - ``reuse``: GRPO finished at these steps; read back, nothing trained;
    - ``continue``: GRPO finished at fewer steps; the same run trains on (history extended);
    - ``resume``: an interrupted run resumes from its latest checkpoint;
    - ``new``: a new run (its SFT stage reused when one finished with these SFT settings);
    - ``from-checkpoint``: fewer steps than the run has trained and it kept a checkpoint at
      that step: a new run folder holds that checkpoint as its final model, to evaluate;
    - ``branch``: fewer steps and no checkpoint there: a new run folder trains that many
      steps from the same SFT stage.

    The finished run is never written to by the last two: training cannot be undone.
    """
    from eemo_rewards.train.runs import lock_holder

    run_dir = settings.run_dir
    done = _finished_step(run_dir / "grpo")
    kept = _checkpoint_steps(run_dir / "grpo")
    trained = max([done, *kept])
    steps = int(settings.grpo_steps)
    plan: dict[str, Any] = {
        "settings": settings,
        "checkpoint": None,
        "trained": trained,
        "holder": lock_holder(run_dir),
        "error": None,
    }
    try:
        _check_same_job(run_dir, settings)
    except ValueError as exc:
        plan.update(action="conflict", error=str(exc))
    if plan["error"] is None and trained > steps:
        branch = dataclasses.replace(settings, name=f"{run_dir.name}-{steps}steps")
        inner = plan_job(branch) if branch.run_dir.exists() else None
        if inner is not None and inner["action"] in ("reuse", "resume", "conflict"):
            inner["trained_from"] = trained
            return inner
        plan["settings"] = branch
        checkpoint = run_dir / "grpo" / f"checkpoint-{steps}"
        if done == steps:  # an extension beyond its finished step was interrupted
            checkpoint = run_dir / "grpo" / "final"
        if (checkpoint / "config.json").exists():
            plan.update(action="from-checkpoint", checkpoint=checkpoint)
        else:
            plan["action"] = "branch"
    elif plan["error"] is None:
        if done == steps:
            plan["action"] = "reuse"
        elif done:
            plan["action"] = "continue"
        elif kept:
            plan["action"] = "resume"
        else:
            plan["action"] = "new"
    job = plan["settings"]
    sft_done = bool(job.sft_from) or _finished_step(job.sft_dir) == int(job.sft_steps)
    plan["sft"] = "reuse" if sft_done else "train"
    plan["text"] = _plan_text(plan, settings, done, kept)
    return plan


def _plan_text(plan: Mapping[str, Any], asked: JobSettings, done: int, kept: list[int]) -> str:
    job = plan["settings"]
    run = f"`{asked.run_dir}`"
    sft = "reuses its finished SFT stage" if plan["sft"] == "reuse" else "trains SFT first"
    action = plan["action"]
    if action == "conflict":
        return str(plan["error"])
    if action == "reuse":
        return (
            f"Nothing to train: `{job.run_dir}` finished {job.grpo_steps} GRPO steps with "
            "these settings; it opens from disk."
        )
    if action == "continue":
        return (
            f"Continues {run} from GRPO step {done} to {job.grpo_steps} (same folder, "
            "history extended)."
        )
    if action == "resume":
        return f"Resumes the interrupted run {run} from its checkpoint at step {max(kept)}."
    if action == "new":
        return f"A new run `{job.run_dir}`: it {sft}, then trains {job.grpo_steps} GRPO steps."
    step = job.grpo_steps
    if action == "from-checkpoint":
        return (
            f"{run} has trained {plan['trained']} GRPO steps; its checkpoint at step {step} "
            f"is evaluated as a new run `{job.run_dir}` (nothing trains; its learning rate "
            f"followed the {plan['trained']}-step schedule). The finished run is not touched."
        )
    return (
        f"{run} has trained {plan['trained']} GRPO steps and kept no checkpoint at step "
        f"{step} (it keeps {kept or 'none'}): a new run `{job.run_dir}` {sft} and trains "
        f"{step} GRPO steps. The finished run is not touched."
    )


#: per-run record of measured stage times, read by the time estimate
#: (:func:`eemo_rewards.train.form.derived_numbers`)
TIMING_FILE = "timing.json"


def work_units(settings: JobSettings, stage: str, steps: int | None = None) -> int:
    """How much work a stage of a job is, in the units its speed is measured in: SFT
    demonstrations (``steps`` × batch), GRPO completion tokens allowed (``steps`` ×
    completions per step × ``max_completion_length``), evaluation answers (rows per task,
    three V/A/D dimensions for assessment, × 2 models × decodings; ``steps`` unused).
    Recorded times and the estimate (:func:`eemo_rewards.train.form.derived_numbers`) both
    count with this.

    Examples
    --------
    >>> s = JobSettings(sft_batch_size=4, prompts_per_step=2, num_generations=4,
    ...                 max_completion_length=10, eval_rows=5, eval_sampled=False,
    ...                 tasks=("emotion", "assessment"))
    >>> work_units(s, "sft", 3), work_units(s, "grpo", 3), work_units(s, "eval")
    (12, 240, 40)
    """
    if stage == "sft":
        return int(steps or 0) * settings.sft_batch_size
    if stage == "grpo":
        per_step = settings.prompts_per_step * settings.num_generations
        return int(steps or 0) * per_step * settings.max_completion_length
    if stage == "eval":
        tasks = list(settings.tasks)
        groups = len(tasks) + (2 if "assessment" in tasks else 0)
        return int(settings.eval_rows) * groups * 2 * (2 if settings.eval_sampled else 1)
    raise ValueError(f"stage={stage!r}; use 'sft', 'grpo' or 'eval'")


def _record_timing(run_dir: Path, settings: JobSettings, stage: str, units: int, seconds: float):
    """Append one measured stage (``units`` of :func:`work_units` done in ``seconds``) to
    the run folder's :data:`TIMING_FILE`."""
    from eemo_rewards.train.runs import atomic_write_text

    if units <= 0 or not math.isfinite(seconds) or not run_dir.is_dir():
        return
    records = timing_records(run_dir)
    records.append(
        {"stage": stage, "model": str(settings.model), "units": int(units),
         "seconds": round(float(seconds), 3), "when": time.time()}
    )  # fmt: skip
    atomic_write_text(run_dir / TIMING_FILE, json.dumps(records[-50:], indent=1))


def timing_records(run_dir: str | Path) -> list[dict[str, Any]]:
    """The measured stage times of a run folder (:data:`TIMING_FILE`), oldest first."""
    path = Path(run_dir) / TIMING_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def _materialise_checkpoint(checkpoint: Path, run: Any, step: int) -> None:
    """Make ``run`` (a GRPO stage folder) a finished run whose final model is ``checkpoint``
    of another run: its weights as ``final/``, the history up to ``step``."""
    from eemo_rewards.train.models import load_model
    from eemo_rewards.train.models.bundle import save_bundle
    from eemo_rewards.train.runs import RunFolder, replace_dir, write_records

    source = RunFolder(checkpoint.parent)  # the GRPO stage folder of the longer run
    run.ensure()
    staged = run.path / ".staging-final-checkpoint"
    if staged.exists():
        import shutil

        shutil.rmtree(staged)
    save_bundle(load_model(checkpoint), staged)
    replace_dir(staged, run.final_dir)
    run.write_metrics([r for r in source.read_metrics() if int(r.get("step", 0)) <= step])
    samples = [r for r in source.read_samples() if int(r.get("step", 0) or 0) <= step]
    if samples:
        write_records(run.samples_path, samples)
    run.write_json(
        "finished.json",
        {"global_step": step, "checkpoint": None, "final": "final", "from": str(checkpoint)},
    )


def run_job(
    settings: JobSettings,
    *,
    data: Mapping[str, Any] | None = None,
    progress: Callable[[str, int, int], Any] | None = None,
    resume: bool | str = "auto",
    evaluate: bool = True,
    live: Callable[[str, int, int, Mapping[str, Any]], Any] | None = None,
    wait: float = 0.0,
    on_wait: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """SFT → GRPO → evaluation (before and after) in ``settings.run_dir``.

    Nothing is done twice: a finished SFT with the same SFT settings is reused (it lives in
    ``settings.sft_dir``, shared by jobs that differ only in GRPO settings); a GRPO run that
    finished at ``settings.grpo_steps`` is returned as it is, one that finished at fewer
    steps continues from its last step (same folder, history extended), an interrupted one
    resumes from its latest checkpoint with every weight, the optimizer, scheduler and RNG;
    fewer steps than a run has trained go to a new run folder (:func:`plan_job` says which,
    before anything runs), so a finished run is never written into; an evaluation of the
    same models with the same evaluation settings is read back. ``settings.json`` is written
    once, when the job starts. The job folder is locked while this runs: a second process
    asking for it waits (``wait``) or gets :class:`~eemo_rewards.train.runs.RunLocked`; a
    start that fails before anything trained leaves no folder behind.

    Parameters
    ----------
    settings : JobSettings
    data : dict, optional
        The output of :func:`builtin_splits` (built when ``None``, and only if a stage needs
        it).
    progress : callable, optional
        ``progress(stage, step, total)``.
    resume : bool or "auto"
        Passed to the GRPO run (see :func:`eemo_rewards.train.grpo.train_grpo`).
    evaluate : bool
        Evaluate the SFT and GRPO models on the held-out split.
    live : callable, optional
        ``live(stage, step, total, logs)`` after every training step, with the stage's last
        logged values (``loss``; ``reward``, ``rewards/<name>/mean``, ... for GRPO), for
        live curves.

    Returns
    -------
    dict
        ``settings`` (those that ran: :func:`plan_job`), ``plan`` (its action),
        ``counts``, ``sft`` and ``grpo`` (TrainResult; ``sft`` is ``None``
        when the job starts from ``sft_from``; ``reused`` says a stage was read back),
        ``eval`` (list of metric dicts), ``seconds`` per stage, ``reused`` (every stage
        and the evaluation came from disk).
    """
    from eemo_rewards.train.runs import RunLocked, discard_untrained

    plan = plan_job(settings)
    if plan["error"]:
        raise ValueError(plan["error"])
    settings = plan["settings"]
    # a start that fails before anything trained leaves no folder behind
    fresh = [p for p in (settings.run_dir, settings.sft_dir) if not p.exists()]
    try:
        return _run_planned(
            plan, data=data, progress=progress, resume=resume, evaluate=evaluate, live=live,
            wait=wait, on_wait=on_wait,
        )  # fmt: skip
    except RunLocked:
        raise  # the holder's folder, not ours
    except BaseException:
        for folder in fresh:
            discard_untrained(folder)
        raise


def _run_planned(
    plan: Mapping[str, Any],
    *,
    data: Mapping[str, Any] | None,
    progress: Callable[[str, int, int], Any] | None,
    resume: bool | str,
    evaluate: bool,
    live: Callable[[str, int, int, Mapping[str, Any]], Any] | None,
    wait: float,
    on_wait: Callable[[str], Any] | None,
) -> dict[str, Any]:
    from eemo_rewards.train.runs import RunFolder, atomic_write_text, run_lock
    from eemo_rewards.train.stage import reuse_finished

    settings = plan["settings"]
    run_dir = settings.run_dir
    seconds: dict[str, float] = {}
    with run_lock(run_dir, what="the main job", wait=wait, on_wait=on_wait):
        if resume:
            _check_same_job(run_dir, settings)
        if not (run_dir / "settings.json").exists():
            # written once, when the job starts: what it was started with, never rewritten
            # (more GRPO steps later extend it: grpo/finished.json holds the step reached)
            atomic_write_text(
                run_dir / "settings.json", json.dumps(settings.to_dict(), indent=1, default=str)
            )
        splits = data if data is not None else _LazySplits(settings, seconds)
        spec = settings.spec

        def stage_progress(stage: str):
            if progress is None and live is None:
                return None

            def update(step: int, total: int, logs: Mapping[str, Any]) -> None:
                if progress is not None:
                    progress(stage, step, total)
                if live is not None:
                    live(stage, step, total, logs)

            return update

        start = time.perf_counter()
        sft_final, sft_bundle, sft_result = run_sft_stage(
            settings, splits, progress=stage_progress("sft")
        )
        seconds["sft"] = time.perf_counter() - start
        if sft_result is not None and not sft_result.reused:
            done = work_units(settings, "sft", len(sft_result.step_seconds))
            _record_timing(run_dir, settings, "sft", done, seconds["sft"])

        start = time.perf_counter()
        # a finished GRPO stage is read back before the data is built (the lazy splits)
        grpo_run = RunFolder(run_dir / "grpo")
        if plan["action"] == "from-checkpoint" and grpo_run.finished() is None:
            _materialise_checkpoint(Path(plan["checkpoint"]), grpo_run, settings.grpo_steps)
        grpo_result = reuse_finished(grpo_run, settings.grpo_steps, stage="grpo")
        if grpo_result is None:
            grpo_result = run_grpo_stage(
                settings,
                sft_final,
                splits["grpo"],
                spec=spec,
                progress=stage_progress("grpo"),
                resume=resume,
            )
        seconds["grpo"] = time.perf_counter() - start
        if not grpo_result.reused:
            done = work_units(settings, "grpo", len(grpo_result.step_seconds))
            _record_timing(run_dir, settings, "grpo", done, seconds["grpo"])

        evaluation: list[dict[str, Any]] = []
        reused_eval = False
        if evaluate:
            start = time.perf_counter()
            stamp = eval_stamp(settings, _finished_step(sft_final.parent), grpo_result.global_step)
            stored = stored_eval(run_dir, stamp)
            if stored is not None:
                evaluation, reused_eval = stored, True
            else:
                evaluation = evaluate_stages(
                    {"sft": sft_bundle, "grpo": grpo_result.bundle},
                    splits["test"],
                    settings,
                    spec=spec,
                    progress=(lambda label: progress(f"eval {label}", 0, 0)) if progress else None,
                )
                write_eval(run_dir, evaluation, stamp=stamp)
                took = time.perf_counter() - start
                _record_timing(run_dir, settings, "eval", work_units(settings, "eval"), took)
            seconds["eval"] = time.perf_counter() - start
    reused = grpo_result.reused and (sft_result is None or sft_result.reused)
    return {
        "settings": settings,
        "plan": plan["action"],
        "counts": splits.get("counts", {}) or {},
        "sft": sft_result,
        "grpo": grpo_result,
        "eval": evaluation,
        "seconds": seconds,
        "reused": reused and (reused_eval or not evaluate),
    }


def write_eval(
    run_dir: str | Path,
    evaluation: Sequence[Mapping[str, Any]],
    *,
    stamp: Mapping[str, Any] | None = None,
) -> None:
    """``eval.parquet`` (metrics) and ``eval.json`` (metrics and example answers), each
    moved into place whole; then ``eval_stamp.json`` (what was evaluated) when given."""
    from eemo_rewards.train.runs import atomic_write_text, write_records

    run_dir = Path(run_dir)
    stamp_path = run_dir / "eval_stamp.json"
    if stamp_path.exists():
        stamp_path.unlink()  # the old stamp must not vouch for the new files
    flat = [{k: v for k, v in row.items() if k not in ("examples", "items")} for row in evaluation]
    write_records(run_dir / "eval.parquet", flat)
    atomic_write_text(run_dir / "eval.json", json.dumps(list(evaluation), indent=1, default=str))
    if stamp is not None:
        atomic_write_text(stamp_path, json.dumps(dict(stamp), default=str))


def run_settings(run_dir: str | Path) -> JobSettings:
    """A job folder's own settings: its ``settings.json`` (written when it started) with
    the GRPO steps it has finished (a run extended later has trained more than it started
    with), named after the folder itself (so it names this folder whatever the folder's
    name was derived from)."""
    run_dir = Path(run_dir)
    settings = JobSettings.from_dict(json.loads((run_dir / "settings.json").read_text()))
    step = _finished_step(run_dir / "grpo") or settings.grpo_steps
    return dataclasses.replace(
        settings, name=run_dir.name, runs_dir=str(run_dir.parent), grpo_steps=step
    )


def evaluate_run(
    run_dir: str | Path,
    stamp: Any = None,
    *,
    settings: JobSettings | None = None,
    progress: Callable[[str], Any] | None = None,
) -> list[dict[str, Any]]:
    """Evaluate a finished main-job folder (its SFT model and ``grpo/final``) on the held-out
    split its settings describe; writes ``eval.parquet``/``eval.json``. An evaluation stored
    for the same models' steps and evaluation settings is read back instead.

    ``settings`` gives the evaluation settings (``eval_rows``, ...; the folder's own by
    default, :func:`run_settings`); ``progress(label)`` is called as each model and decoding
    starts. ``stamp`` is not used: pass something that changes when the models do (the GRPO
    global step) so that a cache keyed on the arguments notices a resumed run.
    """
    from eemo_rewards.train.models import load_model

    del stamp
    run_dir = Path(run_dir)
    own = run_settings(run_dir)
    if settings is not None:
        own = dataclasses.replace(own, **{k: getattr(settings, k) for k in EVAL_KEYS})
    settings = own
    what = eval_stamp(
        settings, _finished_step(settings.sft_final.parent), _finished_step(run_dir / "grpo")
    )
    stored = stored_eval(run_dir, what)
    if stored is not None:
        return stored
    start = time.perf_counter()
    splits = builtin_splits(settings)
    stages = {
        "sft": load_model(settings.sft_final),
        "grpo": load_model(run_dir / "grpo" / "final"),
    }
    evaluation = evaluate_stages(stages, splits["test"], settings, progress=progress)
    write_eval(run_dir, evaluation, stamp=what)
    took = time.perf_counter() - start
    _record_timing(run_dir, settings, "eval", work_units(settings, "eval"), took)
    return evaluation


def list_runs(runs_dir: str | Path = "runs") -> list[dict[str, Any]]:
    """The jobs under ``runs_dir``, newest first, to reopen and compare without retraining.

    Each entry: ``path`` (the job folder), ``settings`` (its own, :func:`run_settings`),
    ``grpo_step`` (0 while unfinished), ``finished`` (GRPO finished), ``eval`` (the stored
    evaluation rows, ``[]`` if none) and ``modified`` (when it last finished a stage).
    """
    runs = []
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    for saved in root.glob("*/settings.json"):
        folder = saved.parent
        try:
            settings = run_settings(folder)
        except (ValueError, TypeError):
            continue  # not a job folder of this version
        step = _finished_step(folder / "grpo")
        evaluation = (
            json.loads((folder / "eval.json").read_text())
            if (folder / "eval.json").exists()
            else []
        )
        runs.append(
            {
                "path": folder,
                "settings": settings,
                "grpo_step": step,
                "finished": step > 0,
                "eval": evaluation,
                "modified": max(
                    p.stat().st_mtime
                    for p in (saved, folder / "grpo" / "finished.json", folder / "eval.json")
                    if p.exists()
                ),
            }
        )
    return sorted(runs, key=lambda r: r["modified"], reverse=True)
