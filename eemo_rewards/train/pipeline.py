"""The main job as functions: built-in data → SFT → GRPO → evaluation, in one run folder.

``notebooks/grpo.py`` (the main job), ``notebooks/sft.py``, ``notebooks/eval.py`` and
``benchmarks/learning.py`` call these, so that the notebooks stay thin and the same steps
run headless.

Run folder of a main job::

    runs/<name>/
      settings.json   the JobSettings
      sft/            the SFT run folder (see eemo_rewards.train.runs)
      grpo/           the GRPO run folder
      eval.parquet    one row per (stage, decoding) with every metric
      eval.json       the same, plus sample answers
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "HELDOUT_SETS",
    "JobSettings",
    "builtin_splits",
    "evaluate_folder",
    "evaluate_run",
    "evaluate_stages",
    "heldout_set",
    "run_job",
    "run_sft_stage",
    "tokenizer_corpus",
    "write_eval",
]

# Tasks of the default job. Description is left out: its reference is a long free text that
# the tiny model would spend most of its completion budget on, and only format scores it.
DEFAULT_TASKS = ("yes_no", "multiple_choice", "emotion", "ranking", "assessment", "comparison")


def _lower(value: Any) -> str:
    # marimo's cli_args() turns "false" into False; argparse gets the text back lower-cased
    return str(value).lower()


@dataclass
class JobSettings:
    """Everything the main job needs; every field is a notebook widget / CLI flag.

    The defaults finish SFT → GRPO → evaluation on a 2-core CPU in a few minutes.
    """

    name: str = "auto"
    runs_dir: str = "runs"
    model: str = "tiny"
    sft_from: str = ""  # an SFT model folder to start GRPO from (skips the SFT stage)
    # data
    n_images: int = 1200
    image_size: int = 84
    data_seed: int = 0
    tasks: tuple[str, ...] = DEFAULT_TASKS
    think: str = "cues"
    sft_rows: int = 512
    grpo_rows: int = 2048
    eval_rows: int = 200
    # SFT
    sft_steps: int = 600
    sft_batch_size: int = 16
    sft_learning_rate: float = 3e-4
    # GRPO
    grpo_steps: int = 100
    num_generations: int = 8
    prompts_per_step: int = 4
    grpo_learning_rate: float = 5e-5
    beta: float = 0.0
    loss_type: str = "dapo"
    scale_rewards: str = "group"
    multi_objective_aggregation: str = "sum_then_normalize"
    temperature: float = 1.0
    max_completion_length: int = 40
    spec: Any = "default"
    lora: bool | None = None
    use_vllm: bool = False
    seed: int = 0
    save_steps: int = 20
    # evaluation
    eval_sampled: bool = True
    eval_batch_size: int = 64

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["tasks"] = list(self.tasks)
        spec = self.spec
        if hasattr(spec, "to_dict"):
            data["spec"] = spec.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobSettings:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown job setting(s) {unknown}; known: {sorted(names)}")
        values = dict(data)
        if "tasks" in values:
            values["tasks"] = tuple(values["tasks"])
        return cls(**values)

    @classmethod
    def argument_parser(cls) -> argparse.ArgumentParser:
        """An ``argparse`` parser with one ``--flag`` per setting (``--grpo-steps 40``)."""
        parser = argparse.ArgumentParser(
            description="SFT -> GRPO -> evaluation on the built-in dataset", allow_abbrev=False
        )
        defaults = cls()
        for f in dataclasses.fields(cls):
            flag = "--" + f.name.replace("_", "-")
            value = getattr(defaults, f.name)
            if f.name == "tasks":
                parser.add_argument(
                    flag, default=",".join(value), help="comma-separated task names"
                )
            elif f.name in ("lora",):
                parser.add_argument(
                    flag, type=_lower, choices=["auto", "true", "false"], default="auto"
                )
            elif isinstance(value, bool):
                parser.add_argument(
                    flag, type=_lower, choices=["true", "false"], default=str(value).lower()
                )
            elif isinstance(value, int | float):
                parser.add_argument(flag, type=type(value), default=value)
            else:
                parser.add_argument(flag, default=value)
        return parser

    @classmethod
    def from_args(cls, args: Sequence[str] | Mapping[str, Any] | None = None) -> JobSettings:
        """Settings from command-line arguments: a list (``["--grpo-steps", "40"]``) or the
        dict ``marimo.cli_args()`` returns. Unknown flags stop with the list of valid ones.

        Examples
        --------
        >>> JobSettings.from_args({"grpo-steps": 5, "tasks": "emotion,yes_no"}).grpo_steps
        5
        >>> JobSettings.from_args(["--lora", "true"]).lora
        True
        """
        if isinstance(args, Mapping) or hasattr(args, "items"):
            flat: list[str] = []
            for key, value in args.items():
                values = value if isinstance(value, list | tuple) else [value]
                for v in values:
                    flat += ["--" + str(key).lstrip("-").replace("_", "-"), str(v)]
            args = flat
        parser = cls.argument_parser()
        parsed, unknown = parser.parse_known_args(list(args or []))
        if unknown:
            flags = sorted(a.option_strings[0] for a in parser._actions if a.option_strings)
            raise SystemExit(f"unknown argument(s) {unknown}; valid flags: {flags}")
        values = vars(parsed)
        values["tasks"] = tuple(t.strip() for t in values["tasks"].split(",") if t.strip())
        values["lora"] = {"auto": None, "true": True, "false": False}[values["lora"]]
        for key in ("use_vllm", "eval_sampled"):
            values[key] = values[key] == "true"
        return cls(**values)

    def short_id(self) -> str:
        """A stable id of every setting except ``name`` and ``runs_dir``."""
        import hashlib

        data = {k: v for k, v in self.to_dict().items() if k not in ("name", "runs_dir")}
        text = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:8]

    @property
    def run_dir(self) -> Path:
        """``<runs_dir>/<name>``; the name ``"auto"`` becomes ``<model>-<short_id>``, so a
        change of settings starts a new run and the same settings resume the old one."""
        name = self.name
        if name == "auto":
            name = f"{Path(str(self.model)).name}-{self.short_id()}"
        return Path(self.runs_dir) / name


def main_process_first() -> contextlib.AbstractContextManager:
    """Under ``accelerate launch``, let the main process fill the on-disk caches (images, the
    tiny model) before the others read them; a no-op in a single process."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return contextlib.nullcontext()
    from accelerate import PartialState

    return PartialState().main_process_first()


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


def builtin_splits(settings: JobSettings, *, cache_dir: str | Path | None = None) -> dict:
    """The built-in dataset as TRL datasets: ``sft`` (demonstrations), ``grpo`` (prompts),
    ``test`` (held-out images, never trained on), plus the ``qa`` frame.

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
    evaluation = test.head(settings.eval_rows)
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
        },
    }


def evaluate_stages(
    stages: Mapping[str, Any],
    dataset: Any,
    settings: JobSettings,
    *,
    spec: Any = None,
    progress: Callable[[str], Any] | None = None,
) -> list[dict[str, Any]]:
    """Evaluate each ``{stage name: ModelBundle}`` greedily (and sampled at the GRPO
    temperature when ``settings.eval_sampled``); one dict of metrics per (stage, decoding)."""
    from eemo_rewards.train.evaluate import evaluate_model

    rows = []
    decodings = [False, True] if settings.eval_sampled else [False]
    for stage, bundle in stages.items():
        for sample in decodings:
            label = f"{stage} ({'sampled' if sample else 'greedy'})"
            if progress is not None:
                progress(label)
            start = time.perf_counter()
            result = evaluate_model(
                bundle,
                dataset,
                spec=spec if spec is not None else settings.spec,
                sample=sample,
                temperature=settings.temperature,
                max_new_tokens=settings.max_completion_length,
                batch_size=settings.eval_batch_size,
                seed=settings.seed,
            )
            rows.append(
                {
                    "stage": stage,
                    "decoding": "sampled" if sample else "greedy",
                    "seconds": time.perf_counter() - start,
                    **result.metrics,
                    "examples": result.rows[:6],
                }
            )
    return rows


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
    )


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
        **extra,
    )


def run_sft_stage(
    settings: JobSettings,
    data: Mapping[str, Any],
    *,
    progress: Callable[[int, int, Mapping[str, Any]], Any] | None = None,
) -> tuple[Path, Any, Any]:
    """The SFT stage of a job: ``(final folder, trained ModelBundle, TrainResult or None)``.

    Starts from ``settings.sft_from`` when set, reuses ``<run>/sft/final`` when it exists,
    else fine-tunes ``settings.model`` (resuming an interrupted SFT run from its checkpoint).
    """
    from eemo_rewards.train.models import load_model
    from eemo_rewards.train.sft import train_sft

    if settings.sft_from:
        final = Path(settings.sft_from)
        return final, load_model(final), None
    final = settings.run_dir / "sft" / "final"
    if (final / "eemo_model.json").exists():
        return final, load_model(final), None
    kwargs: dict[str, Any] = {}
    if settings.model == "tiny":
        kwargs = {"corpus": tokenizer_corpus(data["sft"]), "image_size": settings.image_size}
    with main_process_first():
        base = load_model(settings.model, **kwargs)
    result = train_sft(
        base,
        data["sft"],
        args=_sft_args(settings, base, settings.run_dir / "sft"),
        lora=settings.lora,
        progress=progress,
    )
    return final, result.bundle, result


def run_job(
    settings: JobSettings,
    *,
    data: Mapping[str, Any] | None = None,
    progress: Callable[[str, int, int], Any] | None = None,
    resume: bool | str = "auto",
    evaluate: bool = True,
) -> dict[str, Any]:
    """SFT → GRPO → evaluation (before and after) in ``settings.run_dir``.

    An SFT stage whose ``final`` model exists is reused (same run folder, same settings), so
    a re-run or a resumed GRPO does not redo it; GRPO resumes from its latest checkpoint.

    Parameters
    ----------
    settings : JobSettings
    data : dict, optional
        The output of :func:`builtin_splits` (built when ``None``).
    progress : callable, optional
        ``progress(stage, step, total)``.
    resume : bool or "auto"
        Passed to the GRPO run (see :func:`eemo_rewards.train.grpo.train_grpo`).
    evaluate : bool
        Evaluate the SFT and GRPO models on the held-out split.

    Returns
    -------
    dict
        ``settings``, ``counts``, ``sft`` and ``grpo`` (TrainResult; ``sft`` is ``None``
        when reused), ``eval`` (list of metric dicts), ``seconds`` per stage.
    """
    from eemo_rewards.train.grpo import resolve_spec, train_grpo
    from eemo_rewards.train.models import load_model

    run_dir = settings.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    saved = run_dir / "settings.json"
    if saved.exists() and resume:
        previous = json.loads(saved.read_text())
        if previous != json.loads(json.dumps(settings.to_dict(), default=str)):
            raise ValueError(
                f"{run_dir} holds a run with other settings; choose another name or delete "
                "the folder"
            )
    tmp = saved.with_name(f"settings.json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(settings.to_dict(), indent=1, default=str))
    os.replace(tmp, saved)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    if data is None:
        with main_process_first():
            data = builtin_splits(settings)
    seconds["data"] = time.perf_counter() - start
    spec = resolve_spec(settings.spec)

    def stage_progress(stage: str):
        if progress is None:
            return None
        return lambda step, total, logs: progress(stage, step, total)

    start = time.perf_counter()
    sft_final, sft_bundle, sft_result = run_sft_stage(
        settings, data, progress=stage_progress("sft")
    )
    seconds["sft"] = time.perf_counter() - start

    start = time.perf_counter()
    policy = load_model(sft_final)  # a fresh copy: GRPO trains it in place
    grpo_result = train_grpo(
        policy,
        data["grpo"],
        spec=spec,
        args=_grpo_args(settings, policy, run_dir / "grpo"),
        lora=settings.lora,
        progress=stage_progress("grpo"),
        resume=resume,
    )
    seconds["grpo"] = time.perf_counter() - start

    evaluation: list[dict[str, Any]] = []
    if evaluate:
        start = time.perf_counter()
        evaluation = evaluate_stages(
            {"sft": sft_bundle, "grpo": grpo_result.bundle},
            data["test"],
            settings,
            spec=spec,
            progress=(lambda label: progress(f"eval {label}", 0, 0)) if progress else None,
        )
        seconds["eval"] = time.perf_counter() - start
        write_eval(run_dir, evaluation)
    return {
        "settings": settings,
        "counts": data.get("counts", {}),
        "sft": sft_result,
        "grpo": grpo_result,
        "eval": evaluation,
        "seconds": seconds,
    }


def write_eval(run_dir: str | Path, evaluation: Sequence[Mapping[str, Any]]) -> None:
    """``eval.parquet`` (metrics) and ``eval.json`` (metrics and example answers)."""
    from eemo_rewards.train.runs import write_records

    run_dir = Path(run_dir)
    flat = [{k: v for k, v in row.items() if k != "examples"} for row in evaluation]
    write_records(run_dir / "eval.parquet", flat)
    (run_dir / "eval.json").write_text(json.dumps(list(evaluation), indent=1, default=str))


def evaluate_run(run_dir: str | Path, stamp: Any = None) -> list[dict[str, Any]]:
    """Evaluate a finished main-job folder (its ``sft/final`` and ``grpo/final`` models) on
    the held-out split its settings describe; writes ``eval.parquet``/``eval.json``.

    ``stamp`` is not used: pass something that changes when the models do (the GRPO global
    step) so that a cache keyed on the arguments notices a resumed run.
    """
    from eemo_rewards.train.models import load_model

    del stamp
    run_dir = Path(run_dir)
    data = json.loads((run_dir / "settings.json").read_text())
    settings = JobSettings.from_dict(data)
    splits = builtin_splits(settings)
    sft_final = Path(settings.sft_from) if settings.sft_from else run_dir / "sft" / "final"
    stages = {"sft": load_model(sft_final), "grpo": load_model(run_dir / "grpo" / "final")}
    evaluation = evaluate_stages(stages, splits["test"], settings)
    write_eval(run_dir, evaluation)
    return evaluation


HELDOUT_SETS = {
    "builtin-test": "the held-out split of the training data (same images generator, unseen "
    "images)",
    "builtin-fresh": "fresh images from another data seed (drawn faces)",
    "openmoji": "cross-domain: OpenMoji emoji faces instead of drawn ones",
}


def heldout_set(name: str, settings: JobSettings, *, seed: int = 20_000) -> Any:
    """A held-out TRL dataset (see :data:`HELDOUT_SETS`), ``settings.eval_rows`` rows."""
    import polars as pl

    from eemo_rewards.data.builtin import generate_builtin
    from eemo_rewards.data.export import to_trl_dataset
    from eemo_rewards.data.qa import generate_qa

    if name not in HELDOUT_SETS:
        raise ValueError(f"unknown held-out set {name!r}; use one of {sorted(HELDOUT_SETS)}")
    if name == "builtin-test":
        return builtin_splits(settings)["test"]
    # enough fresh images for eval_rows rows of the chosen tasks (>= 1 row per image)
    n_images = max(7, settings.eval_rows)
    faces = "openmoji" if name == "openmoji" else "drawn"
    records = generate_builtin(
        n_images=n_images, image_size=settings.image_size, seed=seed, faces=faces
    )
    qa = generate_qa(records, tasks=list(settings.tasks), seed=seed, think=settings.think)
    qa = qa.sample(fraction=1.0, shuffle=True, seed=seed).head(settings.eval_rows)
    return to_trl_dataset(qa.with_columns(pl.lit("test").alias("split")))


def evaluate_folder(
    model: str, set_name: str, settings_json: str, sample: bool = False
) -> dict[str, Any]:
    """Metrics of one model folder (or name) on one held-out set; plain arguments, so that
    notebooks can cache it on disk (``mo.persistent_cache``)."""
    from eemo_rewards.train.evaluate import evaluate_model
    from eemo_rewards.train.models import load_model

    settings = JobSettings.from_dict(json.loads(settings_json))
    data = heldout_set(set_name, settings)
    bundle = load_model(model)
    result = evaluate_model(
        bundle,
        data,
        spec=settings.spec,
        sample=sample,
        temperature=settings.temperature,
        max_new_tokens=settings.max_completion_length,
        batch_size=settings.eval_batch_size,
        seed=settings.seed,
    )
    return {
        "model": model,
        "set": set_name,
        "decoding": "sampled" if sample else "greedy",
        **result.metrics,
        "examples": result.rows[:5],
    }
