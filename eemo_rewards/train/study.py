"""When do rewards teach more than demonstrations? A grid of GRPO reward designs × seeds
against a compute-matched SFT control, on the built-in data, with paired intervals.

Every **cell** of the grid is a (setting, seed). It starts from one stage-1 model: the tiny
offline VLM fine-tuned on the setting's demonstrations. From there each **arm** spends a
comparable budget:

- ``sft``: more SFT on the same demonstrations, for as many steps as fit in the mean wall
  time of the cell's GRPO arms (a GRPO step generates, so it costs several SFT steps;
  matching the steps would favour GRPO);
- ``grpo_*``: GRPO from the stage-1 model with format (0.5) + one reward design.

Every arm of every seed answers **one fixed held-out set** (fresh images of the built-in
generator, :data:`EVAL_SEED`), so arms pair by item and by seed
(:mod:`eemo_rewards.analysis.power`). Rows keep each item's values (``items``), GRPO arms
keep what the policy answered during training (``watch``, from
:class:`eemo_rewards.rewards.watch.AnswerWatch`).

**Settings** say what the demonstrations are worth:

- ``noisy``: 40% of the demonstrations answer the nearest wrong emotion (an annotator's
  typical confusion), while the reward checks the annotated label;
- ``scarce``: only ``n_demos`` demonstrations, while GRPO prompts cover every training image
  (a label is cheaper to get than a written demonstration);
- ``ambiguous``: an image evokes a *distribution* of emotions (the built-in annotator votes,
  flattened: the dominant emotion holds about a third of the vote); each demonstration
  answers one label sampled from it, while the rewards see the whole distribution (the
  dominant emotion, soft similarity to it, its top-3 by votes);
- ``assessment``: V/A/D scores, clean demonstrations, every intensity kernel against the
  published Thurstone reward and its non-exaggerating variant;
- ``ranking``: top-3 rankings, clean demonstrations, hit + Kendall against NDCG;
- ``clean``: every training image has a correct demonstration (not in the full study: the
  reward has nothing to carry there beyond the labels).

:func:`run_cells` runs cells in parallel processes, caching each finished arm on disk (an
interrupted study resumes where it stopped); :func:`run_study` is the in-process loop the
notebook uses. Needs the ``[train]`` and ``[data]`` extras.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import polars as pl

from eemo_rewards.train.settings import JobSettings

__all__ = [
    "ARMS",
    "BUDGETS",
    "EVAL_SEED",
    "GRPO_STEPS_FULL",
    "OLD_LEARNING_RATE",
    "SETTINGS",
    "STUDY_SETTINGS",
    "Arm",
    "Budget",
    "Setting",
    "arm_settings",
    "arms_for",
    "eval_data",
    "rescore",
    "run_cell",
    "run_cells",
    "run_study",
    "setting_data",
    "watch_frame",
    "watch_scores",
    "write_study",
]

#: The data seed of the held-out images every arm of every seed answers.
EVAL_SEED = 50_000
#: GRPO steps per arm of the full study (its other settings are the main job's)
GRPO_STEPS_FULL = 25
#: How much of the vote the flattened distribution of ``ambiguous`` keeps (votes ** power).
AMBIGUOUS_POWER = 0.5


@dataclass(frozen=True)
class Setting:
    """What the demonstrations are worth: the task, how many, how many are wrong, whether
    they sample a label from a vote distribution, and which arms run."""

    name: str
    task: str
    n_demos: int | None = None
    demo_noise: float = 0.0
    ambiguous: bool = False
    arms: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Arm:
    """What is done after stage 1: more SFT, or GRPO with these reward terms.

    An arm runs the main job's recipe (:class:`~eemo_rewards.train.settings.JobSettings`'
    defaults); ``changes`` are the settings it varies on purpose (``grpo_learning_rate``,
    ``temperature``, ...), applied with :func:`dataclasses.replace`."""

    name: str
    task: str | None
    terms: tuple[tuple[str, float, tuple[tuple[str, Any], ...]], ...] = ()
    description: str = ""
    #: JobSettings fields this arm sets away from the shipped defaults
    changes: tuple[tuple[str, Any], ...] = ()

    @property
    def is_grpo(self) -> bool:
        return bool(self.terms)

    def spec(self, watch: str | Path | None = None):
        """The reward spec of a GRPO arm; with ``watch``, plus a zero-weight
        :class:`~eemo_rewards.rewards.watch.AnswerWatch` logging to that file."""
        from eemo_rewards.spec import RewardSpec, RewardTerm

        terms = [RewardTerm(name, weight, dict(params)) for name, weight, params in self.terms]
        if watch is not None:
            terms.append(RewardTerm("answer_watch", 0.0, {"log_path": str(watch)}))
        return RewardSpec(terms, name=self.name)


@dataclass(frozen=True)
class Budget:
    """How much data and compute a study spends per cell: the main job's settings that set
    its scale (images, SFT and GRPO steps, held-out items per metric), the seeds, and
    ``changes``: any further :class:`~eemo_rewards.train.settings.JobSettings` field the
    budget sets (the smoke budget's shorter completions). Everything else is the shipped
    recipe (:meth:`settings`)."""

    name: str
    n_images: int
    sft_steps: int
    grpo_steps: int
    eval_rows: int
    eval_images: int | None = None
    seeds: tuple[int, ...] = (0, 1)
    changes: tuple[tuple[str, Any], ...] = ()

    @property
    def held_out_images(self) -> int:
        return self.eval_images if self.eval_images is not None else self.eval_rows

    def settings(self, **more: Any) -> JobSettings:
        """The shipped defaults with this budget's scale, ``changes`` and ``more`` applied.

        Examples
        --------
        >>> s = BUDGETS["full"].settings()
        >>> (s.grpo_learning_rate, s.prompts_per_step) == (JobSettings().grpo_learning_rate,
        ...                                                JobSettings().prompts_per_step)
        True
        """
        return replace(
            JobSettings(),
            n_images=self.n_images,
            sft_steps=self.sft_steps,
            grpo_steps=self.grpo_steps,
            eval_rows=self.eval_rows,
            **{**dict(self.changes), **more},
        )


_FORMAT = ("format", 0.5, ())


def _grpo(name, task, reward, params=(), description="", changes=()):
    return Arm(name, task, (_FORMAT, (reward, 1.0, tuple(params))), description, tuple(changes))


#: The GRPO learning rate the study used before the main job shipped 1e-5 (the third
#: diagnosis arm keeps it, to show what it does against the shipped rate)
OLD_LEARNING_RATE = 3e-5

# fmt: off
ARMS: dict[str, Arm] = {
    a.name: a
    for a in (
        Arm("sft", None, description="compute-matched continued SFT on the same demonstrations"),
        _grpo("grpo_binary", "emotion", "accuracy", (("mode", "binary"),), "format + binary"),
        _grpo("grpo_soft", "emotion", "accuracy", (("mode", "soft"),), "format + soft accuracy"),
        _grpo("grpo_topk", "emotion", "votes", (("mode", "topk"), ("k", 3)),
              "format + top-3 votes"),
        _grpo("grpo_intensity", "assessment", "intensity", (("kernel", "linear"),),
              "format + linear intensity"),
        _grpo("grpo_gaussian", "assessment", "intensity", (("kernel", "gaussian"),),
              "format + gaussian intensity"),
        _grpo("grpo_threshold", "assessment", "intensity", (("kernel", "threshold"),),
              "format + threshold intensity"),
        _grpo("grpo_bucket", "assessment", "intensity", (("kernel", "bucket"),),
              "format + bucket intensity"),
        # Thurstone ranks a rollout against the other images of its batch (with one image per
        # batch it is the linear kernel): the shipped recipe's prompts per step give it several
        _grpo("grpo_thurstone", "assessment", "thurstone", (("variant", "visualquality-r1"),),
              "format + Thurstone (published formula)"),
        _grpo("grpo_thurstone_fidelity", "assessment", "thurstone", (("variant", "fidelity"),),
              "format + Thurstone (non-exaggerating variant)"),
        _grpo("grpo_ranking", "ranking", "ranking", (), "format + ranking (hit + Kendall)"),
        _grpo("grpo_ndcg", "ranking", "ranking", (("method", "ndcg"),), "format + ranking NDCG"),
        # the diagnosis of what GRPO does to V/A/D assessment
        Arm("grpo_format_only", "assessment", (_FORMAT,),
            "format alone: what sharpening the policy does without a task reward"),
        _grpo("grpo_intensity_t07", "assessment", "intensity", (("kernel", "linear"),),
              "format + linear intensity, sampling at temperature 0.7",
              (("temperature", 0.7),)),
        _grpo("grpo_intensity_lr3e5", "assessment", "intensity", (("kernel", "linear"),),
              "format + linear intensity at learning rate 3e-5 (the study's rate before "
              "1e-5 shipped)", (("grpo_learning_rate", OLD_LEARNING_RATE),)),
    )
}
# fmt: on

# fmt: off
SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("noisy", "emotion", demo_noise=0.4, arms=("sft", "grpo_binary", "grpo_soft"),
                description="40% of demonstrations answer the nearest wrong emotion"),
        Setting("scarce", "emotion", n_demos=16, arms=("sft", "grpo_binary", "grpo_soft"),
                description="16 demonstrations, GRPO prompts on every training image"),
        Setting("ambiguous", "emotion", ambiguous=True,
                arms=("sft", "grpo_binary", "grpo_soft", "grpo_topk"),
                description="demonstrations sample one label from a flattened vote "
                "distribution; rewards see the whole distribution"),
        Setting("assessment", "assessment",
                arms=("sft", "grpo_intensity", "grpo_gaussian", "grpo_threshold", "grpo_bucket",
                      "grpo_thurstone", "grpo_thurstone_fidelity"),
                description="V/A/D scores, clean demonstrations"),
        Setting("ranking", "ranking", arms=("sft", "grpo_ranking", "grpo_ndcg"),
                description="top-3 rankings, clean demonstrations"),
        Setting("clean", "emotion", arms=("sft", "grpo_binary", "grpo_soft"),
                description="every training image has a demonstration"),
        Setting("diagnosis", "assessment",
                arms=("grpo_format_only", "grpo_intensity_t07", "grpo_intensity_lr3e5"),
                description="assessment again: format alone, a lower temperature, the old "
                "learning rate 3e-5 (what moves V/A/D after GRPO)"),
    )
}
# fmt: on

#: The settings of the full study, in the order its tables show them.
STUDY_SETTINGS = ("noisy", "scarce", "ambiguous", "assessment", "ranking", "diagnosis")

BUDGETS: dict[str, Budget] = {
    # checks that the pipeline runs end to end (CI runs it); its numbers are no evidence
    "smoke": Budget("smoke", n_images=70, sft_steps=6, grpo_steps=2, eval_rows=14,
                    eval_images=14, seeds=(0, 1),
                    changes=(("max_completion_length", 24), ("prompts_per_step", 2))),
    "small": Budget("small", n_images=280, sft_steps=250, grpo_steps=20, eval_rows=40),
    # the committed study: >= 5 seeds, >= 200 held-out items per metric, the shipped recipe
    "full": Budget("full", n_images=700, sft_steps=200, grpo_steps=GRPO_STEPS_FULL,
                   eval_rows=200, eval_images=200, seeds=(0, 1, 2, 3, 4)),
}  # fmt: skip


def arms_for(setting: Setting, arms: Iterable[str] | None = None) -> list[Arm]:
    """The arms a setting runs (``arms`` narrows them; ``sft`` applies everywhere).

    Examples
    --------
    >>> [a.name for a in arms_for(SETTINGS["scarce"])]
    ['sft', 'grpo_binary', 'grpo_soft']
    """
    names = list(setting.arms) if arms is None else list(arms)
    unknown = [n for n in names if n not in ARMS]
    if unknown:
        raise ValueError(f"unknown arm(s) {unknown}; use some of {list(ARMS)}")
    return [ARMS[n] for n in names if ARMS[n].task in (None, setting.task)]


_VOTE_COLUMNS = ("vote_labels", "votes")


def _flattened(votes: Sequence[float]) -> list[float]:
    """The ambiguous setting's vote shares: ``votes ** AMBIGUOUS_POWER``, normalised."""
    powered = [max(float(v), 0.0) ** AMBIGUOUS_POWER for v in votes]
    total = sum(powered)
    return [p / total for p in powered] if total > 0 else powered


def _with_votes(qa: pl.DataFrame, records: pl.DataFrame, ambiguous: bool) -> pl.DataFrame:
    """Join each row's image vote distribution (``vote_labels``, ``votes``)."""
    votes = records.select(
        pl.col("id").alias("image_id"),
        pl.col("emotions").alias("vote_labels"),
        pl.col("votes").map_elements(
            lambda v: _flattened(list(v)) if ambiguous else [float(x) / 100 for x in v],
            return_dtype=pl.List(pl.Float64),
        ),
    )
    return qa.join(votes, on="image_id", how="left")


def setting_data(setting: Setting, seed: int, budget: Budget, *, cache_dir: Path | None = None):
    """The demonstrations, GRPO prompts and held-out rows of a setting, as TRL datasets.

    The training images and questions are the same for every seed (the built-in data with
    the main job's data seed, image size and think text); the seed picks the scarce
    demonstrations, the noisy ones and the ambiguous ones' sampled labels. The held-out rows
    are :func:`eval_data`.

    Returns
    -------
    tuple of datasets.Dataset
        ``(demos, prompts, evaluation)``.
    """
    import numpy as np

    from eemo_rewards.data.builtin import generate_builtin
    from eemo_rewards.data.export import to_trl_dataset
    from eemo_rewards.data.qa import generate_qa

    job = budget.settings()
    records = generate_builtin(
        budget.n_images, image_size=job.image_size, seed=job.data_seed, cache_dir=cache_dir
    )
    qa = generate_qa(records, tasks=[setting.task], seed=job.data_seed, pairs=0, think=job.think)
    train = qa.filter(pl.col("split") == "train")
    if setting.task == "emotion":
        train = _with_votes(train, records, setting.ambiguous)
    rng = np.random.default_rng(seed)
    demos = train
    if setting.n_demos is not None:
        if setting.n_demos > train.height:
            raise ValueError(
                f"setting {setting.name!r} wants {setting.n_demos} demonstrations; the budget's "
                f"{budget.n_images} images give {train.height}: raise n_images"
            )
        demos = train[np.sort(rng.choice(train.height, setting.n_demos, replace=False))]
    if setting.demo_noise:
        demos = _corrupt(demos, setting, rng)
    if setting.ambiguous:
        demos = _sample_labels(demos, rng)
    evaluation = eval_data(setting, budget, cache_dir=cache_dir)
    extra = _VOTE_COLUMNS if setting.task == "emotion" else ()
    return (
        to_trl_dataset(demos, extra_columns=extra),
        to_trl_dataset(train, extra_columns=extra),
        evaluation,
    )


def eval_data(setting: Setting, budget: Budget, *, cache_dir: Path | None = None):
    """The held-out rows of a setting's task: fresh images (data seed :data:`EVAL_SEED`),
    the same for every seed and arm. ``budget.held_out_images`` images give that many rows
    for ``emotion`` and ``ranking`` and that many per V/A/D dimension for ``assessment``."""
    from eemo_rewards.data.builtin import generate_builtin
    from eemo_rewards.data.export import to_trl_dataset
    from eemo_rewards.data.qa import generate_qa

    job = budget.settings()
    records = generate_builtin(
        budget.held_out_images, image_size=job.image_size, seed=EVAL_SEED, cache_dir=cache_dir
    )
    qa = generate_qa(records, tasks=[setting.task], seed=EVAL_SEED, pairs=0, think=job.think)
    if setting.task == "emotion":
        qa = _with_votes(qa, records, setting.ambiguous)
    qa = qa.sort("id").with_columns(pl.lit("test").alias("split"))
    return to_trl_dataset(qa, extra_columns=_VOTE_COLUMNS if setting.task == "emotion" else ())


def _corrupt(demos: pl.DataFrame, setting: Setting, rng) -> pl.DataFrame:
    """Replace the answer of a share of demonstrations by the nearest wrong emotion."""
    if setting.task != "emotion":
        raise ValueError(f"demo_noise is defined for the emotion task only, not {setting.task!r}")
    from eemo_rewards.data.labels import nearest_labels

    flip = rng.random(demos.height) < setting.demo_noise
    answers = [
        nearest_labels(answer, taxonomy)[0] if f else answer
        for answer, taxonomy, f in zip(demos["answer"], demos["taxonomy"], flip, strict=True)
    ]
    # the reward columns keep the annotation: only what the demonstrator wrote is wrong
    return demos.with_columns(pl.Series("answer", answers, dtype=pl.String))


def _sample_labels(demos: pl.DataFrame, rng) -> pl.DataFrame:
    """Each demonstration answers one label drawn from its image's vote distribution."""
    answers = []
    for labels, shares in zip(demos["vote_labels"], demos["votes"], strict=True):
        p = [float(s) for s in shares]
        answers.append(str(labels[int(rng.choice(len(labels), p=[x / sum(p) for x in p]))]))
    return demos.with_columns(pl.Series("answer", answers, dtype=pl.String))


# -- running ------------------------------------------------------------------------------


def _eval_spec(setting: Setting):
    """What every arm of a setting is scored with at evaluation (the same for all arms)."""
    from eemo_rewards.spec import RewardSpec, RewardTerm

    terms = [RewardTerm("format", 0.5)]
    if setting.task == "emotion":
        terms.append(RewardTerm("accuracy", 1.0, {"mode": "soft"}))
        if setting.ambiguous:
            terms.append(RewardTerm("votes", 1.0, {"mode": "share"}, label="vote_share"))
    elif setting.task == "assessment":
        terms.append(RewardTerm("intensity", 1.0, {"kernel": "linear"}))
    elif setting.task == "ranking":
        terms.append(RewardTerm("ranking", 1.0))
    return RewardSpec(terms, name=f"eval-{setting.name}")


def arm_settings(
    setting: Setting, arm: Arm, budget: Budget, seed: int, *, root: str | Path = "runs/study"
) -> JobSettings:
    """The main job's settings of one arm of one cell: the shipped defaults
    (:class:`~eemo_rewards.train.settings.JobSettings`) with the budget's scale, the
    setting's task, the seed, the arm's reward spec and its own ``changes``, each a
    :func:`dataclasses.replace` of the defaults. Its run folder is
    ``<root>/<setting>-s<seed>/<arm>`` and its SFT folder lies in the cell's folder, shared
    by the cell's arms.

    Examples
    --------
    >>> s = arm_settings(SETTINGS["diagnosis"], ARMS["grpo_intensity_lr3e5"], BUDGETS["full"], 0)
    >>> s.grpo_learning_rate, s.prompts_per_step == JobSettings().prompts_per_step
    (3e-05, True)
    """
    changes = dict(arm.changes)
    unknown = sorted(set(changes) - {f.name for f in fields(JobSettings)})
    if unknown:
        raise ValueError(f"arm {arm.name!r} changes unknown job setting(s) {unknown}")
    more: dict[str, Any] = {
        "tasks": (setting.task,),
        "seed": int(seed),
        "runs_dir": str(Path(root) / f"{setting.name}-s{seed}"),
        "name": arm.name,
        # the headline is greedy; one checkpoint at the end (neither is in the job id)
        "eval_sampled": False,
        "save_steps": max(budget.grpo_steps, 1),
    }
    if arm.is_grpo:
        more["spec"] = arm.spec()
    return budget.settings(**{**more, **changes})


def _cell_key(settings: JobSettings, setting: Setting, budget: Budget, arm: str) -> str:
    """What an arm's saved result depends on: its job settings (every one, evaluation
    included), the setting's data, the held-out images and the arm's kind."""
    from eemo_rewards.spec import RewardSpec

    data = settings.to_dict()
    for key in ("name", "runs_dir"):
        data.pop(key)
    data["spec"] = RewardSpec.coerce(settings.spec).identity()  # whichever way it is spelled
    blob = json.dumps(
        {"job": data, "setting": asdict(setting), "eval_seed": EVAL_SEED, "arm": arm,
         "eval_images": budget.held_out_images, "v": 5},
        sort_keys=True, default=str,
    )  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _evaluate(bundle, evaluation, setting: Setting, settings: JobSettings):
    """The main job's evaluation (:func:`~eemo_rewards.train.heldout.evaluate_with_settings`:
    the job's decoding, completion length, batch and seed), greedy, with the setting's
    evaluation spec; plus each item's reward values."""
    from eemo_rewards.train.heldout import evaluate_with_settings

    spec = _eval_spec(setting)
    result = evaluate_with_settings(bundle, evaluation, settings, sample=False, spec=spec)
    names = [f.__name__ for f in spec.build()[0]]
    items = []
    for row in result.rows:
        item = dict(row["item_metrics"])
        for name in names:
            value = row.get(name)
            if isinstance(value, int | float) and math.isfinite(value):
                item[f"reward/{name}"] = float(value)
        items.append(item)
    return result, items


def _row(result, evaluation) -> dict[str, Any]:
    history = result.metrics
    zero_std = [m["frac_reward_zero_std"] for m in history if "frac_reward_zero_std" in m]
    rewards = [m["reward"] for m in history if "reward" in m]
    row = {
        "steps": result.global_step,
        "train_seconds": result.train_seconds,
        "frac_reward_zero_std": sum(zero_std) / len(zero_std) if zero_std else None,
        "reward_last": rewards[-1] if rewards else None,
        "curve_reward": rewards,
        "curve_zero_std": zero_std,
    }
    for key, value in evaluation.metrics.items():
        if isinstance(value, int | float) and math.isfinite(value):
            row[f"eval_{key.replace('/', '_')}"] = float(value)
    row.update(_spread(evaluation.rows))
    return row


def _spread(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Spread of the held-out predictions against the truths', per V/A/D dimension, and the
    share of distinct answers: what a collapse to one constant shows."""
    out: dict[str, float] = {}
    answers = [str(r.get("answer") or "").strip().lower() for r in rows]
    if answers:
        out["eval_distinct_answers"] = len(set(answers)) / len(answers)
    by_dim: dict[str, tuple[list[float], list[float]]] = {}
    for r in rows:
        for key, value in r["item_metrics"].items():
            if key.endswith("_true"):
                dim = key[: -len("_true")]
                trues, preds = by_dim.setdefault(dim, ([], []))
                trues.append(value)
                preds.append(r["item_metrics"][f"{dim}_pred"])
    for dim, (trues, preds) in by_dim.items():
        for name, values in (("true", trues), ("pred", preds)):
            out[f"eval_{dim}_{name}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
    return out


def _completions(result) -> list[str]:
    """The held-out answers, in row order: later judges (reasoning consistency) read them."""
    return [str(r["completion"]) for r in result.rows]


def _arm_file(folder: Path, arm: str) -> Path:
    return folder / f"{arm}.result.json"


def _load_arm(folder: Path, arm: str, key: str) -> dict[str, Any] | None:
    path = _arm_file(folder, arm)
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    return saved if saved.get("key") == key else None


def _save_arm(
    folder: Path, arm: str, key: str, row: dict, items: list, watch: list, completions: list
) -> dict:
    from eemo_rewards.train.runs import atomic_write_text

    saved = {"key": key, "row": row, "items": items, "watch": watch, "completions": completions}
    atomic_write_text(_arm_file(folder, arm), json.dumps(saved))
    return saved


def _drop_weights(stage_dir: Path) -> None:
    """A finished arm's weights are not needed once its result is saved (disk)."""
    for child in stage_dir.glob("checkpoint-*"):
        shutil.rmtree(child, ignore_errors=True)
    shutil.rmtree(stage_dir / "final", ignore_errors=True)


def run_cell(
    setting: str | Setting,
    seed: int,
    *,
    budget: str | Budget = "smoke",
    root: str | Path,
    arms: Sequence[str] | None = None,
    progress: Callable[[str], Any] | None = None,
    keep_weights: bool = False,
) -> list[dict[str, Any]]:
    """Run one (setting, seed): stage 1, its GRPO arms, then the compute-matched SFT control,
    each through the main job's stage functions
    (:func:`~eemo_rewards.train.pipeline.run_sft_stage`,
    :func:`~eemo_rewards.train.pipeline.run_grpo_stage`, the job's evaluation) with the arm's
    :func:`arm_settings`.

    Each finished arm is saved to ``root/<setting>-s<seed>/<arm>.result.json`` with its row,
    its per-item values, its held-out completions and its training watch; a rerun with the
    same settings reads it back instead of training (an interrupted cell resumes at its first
    unfinished arm; a finished stage 1 is read back from its run folder).

    Returns
    -------
    list of dict
        One entry per arm (``stage1`` first): ``row`` (metrics), ``items``, ``watch``.
    """
    from eemo_rewards.train.models import load_model
    from eemo_rewards.train.pipeline import _sft_args, run_grpo_stage, run_sft_stage
    from eemo_rewards.train.sft import train_sft

    setting = SETTINGS[setting] if isinstance(setting, str) else setting
    budget = BUDGETS[budget] if isinstance(budget, str) else budget
    say = progress or (lambda message: None)
    folder = Path(root) / f"{setting.name}-s{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    chosen = arms_for(setting, arms)
    stage1_arm = Arm("stage1", None)
    jobs = {
        a.name: arm_settings(setting, a, budget, seed, root=root) for a in (stage1_arm, *chosen)
    }
    keys = {name: _cell_key(job, setting, budget, name) for name, job in jobs.items()}
    done = {name: _load_arm(folder, name, key) for name, key in keys.items()}
    if all(done.values()):
        return [done["stage1"], *(done[a.name] for a in chosen)]

    demos, prompts, evaluation = setting_data(setting, seed, budget)
    # the main job's data mapping; the tiny tokenizer learns every training prompt's text
    data = {"sft": demos, "grpo": prompts, "test": evaluation, "corpus": prompts}
    base = {"setting": setting.name, "seed": seed, "n_demos": len(demos)}
    stage1_job = jobs["stage1"]
    say(f"{setting.name} s{seed}: stage-1 SFT ({budget.sft_steps} steps, {len(demos)} demos)")
    stage1_final, stage1_bundle, stage1 = run_sft_stage(stage1_job, data)
    if done["stage1"] is None:
        result, items = _evaluate(stage1_bundle, evaluation, setting, stage1_job)
        row = {**base, "arm": "stage1", **_row(stage1, result)}
        done["stage1"] = _save_arm(
            folder, "stage1", keys["stage1"], row, items, [], _completions(result)
        )
    sft_step_seconds = done["stage1"]["row"]["train_seconds"] / max(budget.sft_steps, 1)

    from eemo_rewards.rewards.watch import read_watch

    for arm in [a for a in chosen if a.is_grpo]:
        if done[arm.name] is not None:
            continue
        job = jobs[arm.name]
        say(f"{setting.name} s{seed}: {arm.name} ({job.grpo_steps} GRPO steps, "
            f"{job.prompts_per_step} x {job.num_generations} per step, "
            f"lr {job.grpo_learning_rate:g})")  # fmt: skip
        arm_dir = job.run_dir
        shutil.rmtree(arm_dir, ignore_errors=True)  # an unsaved arm starts afresh
        arm_dir.mkdir(parents=True)
        watch = arm_dir / "answers.jsonl"
        result = run_grpo_stage(job, stage1_final, prompts, spec=arm.spec(watch=watch))
        evaluation_result, items = _evaluate(result.bundle, evaluation, setting, job)
        row = {**base, "arm": arm.name, **_row(result, evaluation_result)}
        done[arm.name] = _save_arm(
            folder, arm.name, keys[arm.name], row, items, read_watch(watch),
            _completions(evaluation_result),
        )  # fmt: skip
        if not keep_weights:
            _drop_weights(arm_dir / "grpo")

    if "sft" in keys and done["sft"] is None:
        grpo_seconds = [done[a.name]["row"]["train_seconds"] for a in chosen if a.is_grpo]
        # wall-clock matching: as many SFT steps as the GRPO arms' mean time buys
        if grpo_seconds:
            steps = round(sum(grpo_seconds) / len(grpo_seconds) / max(sft_step_seconds, 1e-9))
        else:
            steps = budget.grpo_steps * 4  # the lab's measured cost of a GRPO step, in SFT steps
        steps = max(1, min(steps, 20 * budget.grpo_steps))
        say(f"{setting.name} s{seed}: sft control ({steps} compute-matched steps)")
        job = replace(jobs["sft"], sft_steps=steps)
        control_dir = job.run_dir / "sft"
        shutil.rmtree(control_dir, ignore_errors=True)
        start = load_model(stage1_final)
        control = train_sft(start, demos, args=_sft_args(job, start, control_dir), lora=job.lora)
        evaluation_result, items = _evaluate(control.bundle, evaluation, setting, job)
        row = {**base, "arm": "sft", **_row(control, evaluation_result)}
        done["sft"] = _save_arm(
            folder, "sft", keys["sft"], row, items, [], _completions(evaluation_result)
        )
        if not keep_weights:
            _drop_weights(control_dir)
    return [done["stage1"], *(done[a.name] for a in chosen)]


def _cell_worker(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One cell in a worker process (:func:`~eemo_rewards.train.common.in_processes`)."""
    log = payload.pop("log")
    started = time.monotonic()

    def say(message: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {message}"
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    out = run_cell(progress=say, **payload)
    say(f"{payload['setting']} s{payload['seed']}: done in {time.monotonic() - started:.0f} s")
    return out


def run_cells(
    settings: Sequence[str],
    seeds: Sequence[int],
    *,
    budget: str | Budget,
    root: str | Path,
    arms: Sequence[str] | None = None,
    jobs: int | None = None,
    progress: Callable[[str], Any] | None = None,
) -> list[dict[str, Any]]:
    """Run every (setting, seed) cell, ``jobs`` at a time in worker processes (default:
    one per core), each finished arm cached on disk (see :func:`run_cell`). Progress lines
    go to ``root/progress.log`` and to ``progress``.

    Returns
    -------
    list of dict
        Every arm's saved result (``row``, ``items``, ``watch``), cells in grid order.
    """
    from eemo_rewards.train.common import in_processes

    budget = BUDGETS[budget] if isinstance(budget, str) else budget
    unknown = [s for s in settings if s not in SETTINGS]
    if unknown:
        raise ValueError(f"unknown setting(s) {unknown}; use some of {list(SETTINGS)}")
    if not seeds:
        raise ValueError("pass at least one seed")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    cells = [(s, seed) for seed in seeds for s in settings]
    # seed by seed (a study stopped early holds whole seeds), each seed's longest cells first
    cost = {s: len(arms_for(SETTINGS[s], arms)) for s in settings}
    order = sorted(cells, key=lambda c: (list(seeds).index(c[1]), -cost[c[0]]))
    log = root / "progress.log"
    say = progress or (lambda message: None)
    payloads = [
        {"setting": cell[0], "seed": cell[1], "budget": budget, "root": str(root),
         "arms": arms, "log": str(log)}
        for cell in order
    ]  # fmt: skip
    finished = 0

    def one_done(i: int, _result: Any) -> None:
        nonlocal finished
        finished += 1
        say(f"cell {order[i][0]} s{order[i][1]} finished ({finished}/{len(cells)})")

    out = in_processes(_cell_worker, payloads, jobs=jobs, done=one_done)
    results = dict(zip(order, out, strict=True))
    return [arm for cell in cells for arm in results[cell]]


def run_study(
    settings: Sequence[str],
    arms: Sequence[str] | None = None,
    seeds: Sequence[int] = (0, 1),
    *,
    budget: str | Budget = "small",
    root: str | Path,
    progress: Callable[[str], Any] | None = None,
    jobs: int = 1,
) -> pl.DataFrame:
    """Run every (setting, arm, seed) cell and return one row per arm and seed.

    Columns ``setting``, ``arm`` (``"stage1"`` for the shared starting point), ``seed``,
    ``budget``, ``steps``, ``train_seconds``, ``frac_reward_zero_std`` (GRPO: mean share of
    groups with identical rewards), ``reward_last``, the training curves (``curve_*``) and
    the ``eval_*`` metrics. :func:`run_cells` gives the per-item values as well.
    """
    budget = BUDGETS[budget] if isinstance(budget, str) else budget
    done = run_cells(
        settings, seeds, budget=budget, root=root, arms=arms, jobs=jobs, progress=progress
    )
    return results_frame(done, budget.name)


def rescore(
    done: Sequence[dict[str, Any]], budget: str | Budget, *, judge: Any = "cue"
) -> list[dict[str, Any]]:
    """Score every saved arm's held-out completions again (the same rows, the same eval
    spec) and add the per-item values the saved items lack (e.g. reasoning ``consistency``
    from ``judge``) with their means in the row as ``eval_<metric>``: results made before a
    metric existed gain it without training or generating anything again."""
    from eemo_rewards.train.evaluate import score_completions

    budget = BUDGETS[budget] if isinstance(budget, str) else budget
    datasets: dict[str, Any] = {}
    out = []
    for d in done:
        row = d["row"]
        completions = d.get("completions")
        if not completions:
            out.append(d)
            continue
        setting = SETTINGS[row["setting"]]
        if setting.name not in datasets:
            datasets[setting.name] = eval_data(setting, budget)
        evaluation = datasets[setting.name]
        if len(evaluation) != len(completions):
            raise ValueError(
                f"{row['setting']} s{row['seed']} {row['arm']}: {len(completions)} saved "
                f"completions for {len(evaluation)} held-out rows; rerun the arm"
            )
        result = score_completions(evaluation, completions, spec=_eval_spec(setting), judge=judge)
        items = [dict(i) for i in d["items"]]
        for item, fresh in zip(items, result.rows, strict=True):
            for key, value in fresh["item_metrics"].items():
                item.setdefault(key, value)
        new_row = dict(row)
        for key, value in result.metrics.items():
            name = f"eval_{key.replace('/', '_')}"
            if name not in new_row and isinstance(value, int | float) and math.isfinite(value):
                new_row[name] = float(value)
        out.append({**d, "row": new_row, "items": items})
    return out


def results_frame(done: Sequence[dict[str, Any]], budget: str) -> pl.DataFrame:
    """One row per saved arm result (see :func:`run_cell`)."""
    rows = [dict(d["row"]) for d in done]
    frame = pl.DataFrame(rows, infer_schema_length=None)
    return frame.with_columns(pl.lit(budget).alias("budget"))


def items_frame(done: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """One row per (setting, arm, seed, held-out item) with every per-item value."""
    rows = []
    for d in done:
        row = d["row"]
        for i, item in enumerate(d["items"]):
            rows.append({"setting": row["setting"], "arm": row["arm"], "seed": row["seed"],
                         "item": i, **item})  # fmt: skip
    return pl.DataFrame(rows, infer_schema_length=None)


def watch_frame(done: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """One row per (setting, GRPO arm, seed, generation batch) of the training watch (its
    per-completion scores are in :func:`watch_scores`)."""
    rows = []
    for d in done:
        row = d["row"]
        for line in d.get("watch") or ():
            rows.append({"setting": row["setting"], "arm": row["arm"], "seed": row["seed"],
                         **{k: v for k, v in line.items() if k != "scores"}})  # fmt: skip
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


def watch_scores(done: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """One row per scored assessment completion during GRPO: ``setting``, ``arm``, ``seed``,
    ``batch``, ``dimension``, ``truth`` and ``pred`` (null when unreadable)."""
    rows = []
    for d in done:
        row = d["row"]
        for line in d.get("watch") or ():
            for dim, truth, pred in line.get("scores") or ():
                rows.append({"setting": row["setting"], "arm": row["arm"], "seed": row["seed"],
                             "batch": line["batch"], "dimension": dim, "truth": truth,
                             "pred": pred})  # fmt: skip
    schema = {"setting": pl.String, "arm": pl.String, "seed": pl.Int64, "batch": pl.Int64,
              "dimension": pl.String, "truth": pl.Float64, "pred": pl.Float64}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def write_study(
    results: pl.DataFrame, path: str | Path, *, command: str, extra: dict | None = None
) -> Path:
    """Save results as parquet with a JSON sidecar saying how and when they were made."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    results.write_parquet(path)
    budgets = results["budget"].unique().to_list() if "budget" in results.columns else []
    meta = {
        "command": command,
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "budgets": {name: asdict(BUDGETS[name]) for name in budgets if name in BUDGETS},
        "settings": {s: asdict(SETTINGS[s]) for s in results["setting"].unique().to_list()},
        "rows": results.height,
        **(extra or {}),
    }
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1, default=str))
    return path


def budget_with(budget: str | Budget, **changes: Any) -> Budget:
    """A budget with some fields changed (e.g. ``seeds``)."""
    budget = BUDGETS[budget] if isinstance(budget, str) else budget
    return replace(budget, **changes)
