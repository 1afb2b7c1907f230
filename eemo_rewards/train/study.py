"""When do rewards teach more than demonstrations? A grid of GRPO reward designs × seeds
against a compute-matched SFT control, on the built-in data.

Every cell of the grid starts from the same stage-1 model: the tiny offline VLM fine-tuned
on the setting's demonstrations. From there each **arm** spends a comparable budget:

- ``sft``: more SFT on the same demonstrations, for as many steps as fit in the mean wall
  time of the GRPO arms of the same setting and seed (a GRPO step generates, so it costs
  several SFT steps; matching the steps would favour GRPO);
- ``grpo_binary`` / ``grpo_soft``: GRPO with format (0.5) + binary or soft emotion accuracy;
- ``grpo_intensity``: format + the linear intensity reward on V/A/D assessment;
- ``grpo_ranking``: format + the EEmo-Bench ranking reward.

**Settings** say what the demonstrations are worth:

- ``clean``: every training image has a correct demonstration (SFT can learn the labels:
  the lab found GRPO's gain small here);
- ``scarce``: only ``n_demos`` demonstrations, while GRPO prompts cover every training
  image (a label is cheaper to get than a written demonstration);
- ``noisy``: a share of the demonstrations answer the nearest wrong emotion (an annotator's
  typical confusion), while the reward checks the annotated label;
- ``assessment`` and ``ranking``: clean demonstrations of those tasks.

Needs the ``[train]`` and ``[data]`` extras. :func:`run_study` returns one row per
(setting, arm, seed) plus the stage-1 starting point, with the evaluation metrics of
:func:`eemo_rewards.train.evaluate.evaluate_model` prefixed ``eval_``; the tables over those
rows (headline metric per setting, gains over the SFT control) are in
:mod:`eemo_rewards.analysis.training`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl

__all__ = [
    "ARMS",
    "BUDGETS",
    "SETTINGS",
    "Arm",
    "Budget",
    "Setting",
    "arms_for",
    "run_study",
    "setting_data",
    "write_study",
]


@dataclass(frozen=True)
class Setting:
    """What the demonstrations are worth: the task, how many, and how many are wrong."""

    name: str
    task: str
    n_demos: int | None = None
    demo_noise: float = 0.0
    description: str = ""


@dataclass(frozen=True)
class Arm:
    """What is done after stage 1: more SFT, or GRPO with these reward terms."""

    name: str
    task: str | None
    terms: tuple[tuple[str, float, tuple[tuple[str, Any], ...]], ...] = ()
    description: str = ""

    @property
    def is_grpo(self) -> bool:
        return bool(self.terms)

    def spec(self):
        """The reward spec of a GRPO arm."""
        from eemo_rewards.spec import RewardSpec, RewardTerm

        return RewardSpec(
            [RewardTerm(name, weight, dict(params)) for name, weight, params in self.terms],
            name=self.name,
        )


@dataclass(frozen=True)
class Budget:
    """How much data and compute a study spends per cell."""

    name: str
    n_images: int
    sft_steps: int
    grpo_steps: int
    eval_rows: int
    num_generations: int = 8
    prompts_per_step: int = 4
    sft_batch: int = 16


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("clean", "emotion", description="every training image has a demonstration"),
        Setting("scarce", "emotion", n_demos=16, description="16 demonstrations"),
        Setting(
            "noisy",
            "emotion",
            demo_noise=0.4,
            description="40% of demonstrations answer the nearest wrong emotion",
        ),
        Setting("assessment", "assessment", description="V/A/D scores, clean demonstrations"),
        Setting("ranking", "ranking", description="top-3 rankings, clean demonstrations"),
    )
}

_FORMAT = ("format", 0.5, ())
ARMS: dict[str, Arm] = {
    a.name: a
    for a in (
        Arm("sft", None, description="compute-matched continued SFT on the same demonstrations"),
        Arm(
            "grpo_binary",
            "emotion",
            (_FORMAT, ("accuracy", 1.0, (("mode", "binary"),))),
            "format + binary accuracy",
        ),
        Arm(
            "grpo_soft",
            "emotion",
            (_FORMAT, ("accuracy", 1.0, (("mode", "soft"),))),
            "format + soft emotion accuracy",
        ),
        Arm(
            "grpo_intensity",
            "assessment",
            (_FORMAT, ("intensity", 1.0, (("kernel", "linear"),))),
            "format + linear intensity",
        ),
        Arm("grpo_ranking", "ranking", (_FORMAT, ("ranking", 1.0, ())), "format + ranking"),
    )
}

BUDGETS: dict[str, Budget] = {
    # checks that the pipeline runs end to end (CI exports use it); its numbers are no evidence
    "smoke": Budget("smoke", n_images=70, sft_steps=6, grpo_steps=2, eval_rows=14),
    "small": Budget("small", n_images=280, sft_steps=250, grpo_steps=20, eval_rows=40),
    "full": Budget("full", n_images=700, sft_steps=250, grpo_steps=100, eval_rows=100),
}


def arms_for(setting: Setting, arms: Iterable[str] | None = None) -> list[Arm]:
    """The arms that apply to a setting's task (``sft`` applies everywhere).

    Examples
    --------
    >>> [a.name for a in arms_for(SETTINGS["scarce"])]
    ['sft', 'grpo_binary', 'grpo_soft']
    """
    names = list(ARMS) if arms is None else list(arms)
    unknown = [n for n in names if n not in ARMS]
    if unknown:
        raise ValueError(f"unknown arm(s) {unknown}; use some of {list(ARMS)}")
    return [ARMS[n] for n in names if ARMS[n].task in (None, setting.task)]


def setting_data(setting: Setting, seed: int, budget: Budget, *, cache_dir: Path | None = None):
    """The demonstrations, GRPO prompts and evaluation rows of a setting, as TRL datasets.

    The images and questions are the same for every seed (the built-in data with seed 0);
    the seed picks the scarce demonstrations and the noisy ones.

    Returns
    -------
    tuple of datasets.Dataset
        ``(demos, prompts, evaluation)``.
    """
    import numpy as np

    from eemo_rewards.data.builtin import generate_builtin
    from eemo_rewards.data.export import to_trl_dataset
    from eemo_rewards.data.qa import generate_qa

    records = generate_builtin(budget.n_images, image_size=84, seed=0, cache_dir=cache_dir)
    qa = generate_qa(records, tasks=[setting.task], seed=0, pairs=0, think="cues")
    train = qa.filter(pl.col("split") == "train")
    test = qa.filter(pl.col("split") == "test").head(budget.eval_rows)
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
    return to_trl_dataset(demos), to_trl_dataset(train), to_trl_dataset(test)


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


def run_study(
    settings: Sequence[str],
    arms: Sequence[str] | None = None,
    seeds: Sequence[int] = (0, 1),
    *,
    budget: str | Budget = "small",
    root: str | Path,
    progress: Callable[[str], Any] | None = None,
) -> pl.DataFrame:
    """Run every (setting, arm, seed) cell and return one row per cell.

    Parameters
    ----------
    settings : sequence of str
        Names in :data:`SETTINGS`.
    arms : sequence of str, optional
        Names in :data:`ARMS` (default all; each setting runs the arms of its task).
    seeds : sequence of int
        Seeds of the model initialisation, the demonstration draw and the training.
    budget : str or Budget
        A name in :data:`BUDGETS` or a custom :class:`Budget`.
    root : path
        Run folders go to ``root/<setting>-s<seed>/<arm>``.
    progress : callable, optional
        Called with a one-line message before each training stage.

    Returns
    -------
    polars.DataFrame
        Columns ``setting``, ``arm`` (``"stage1"`` for the shared starting point), ``seed``,
        ``budget``, ``steps``, ``train_seconds``, ``frac_reward_zero_std`` (GRPO: mean share
        of groups with identical rewards), ``reward_last`` and ``eval_*`` metrics.
    """
    budget = BUDGETS[budget] if isinstance(budget, str) else budget
    unknown = [s for s in settings if s not in SETTINGS]
    if unknown:
        raise ValueError(f"unknown setting(s) {unknown}; use some of {list(SETTINGS)}")
    if not seeds:
        raise ValueError("pass at least one seed")
    say = progress or (lambda message: None)
    rows: list[dict[str, Any]] = []
    for name in settings:
        setting = SETTINGS[name]
        for seed in seeds:
            rows.extend(
                _run_setting_seed(setting, arms_for(setting, arms), seed, budget, Path(root), say)
            )
    frame = pl.DataFrame(rows, infer_schema_length=None)
    return frame.with_columns(pl.lit(budget.name).alias("budget"))


def _run_setting_seed(setting, arms, seed, budget, root, say) -> list[dict[str, Any]]:
    from eemo_rewards.train.evaluate import evaluate_model
    from eemo_rewards.train.grpo import grpo_config, train_grpo
    from eemo_rewards.train.models import load_model
    from eemo_rewards.train.sft import sft_config, train_sft

    demos, prompts, evaluation = setting_data(setting, seed, budget)
    folder = root / f"{setting.name}-s{seed}"
    base = {"setting": setting.name, "seed": seed, "n_demos": len(demos)}
    say(f"{setting.name} seed {seed}: stage-1 SFT ({budget.sft_steps} steps, {len(demos)} demos)")
    bundle = load_model("tiny", seed=seed)
    stage1 = train_sft(
        bundle,
        demos,
        args=sft_config(
            folder / "stage1",
            bundle=bundle,
            max_steps=budget.sft_steps,
            per_device_train_batch_size=budget.sft_batch,
            save_strategy="no",
            seed=seed,
        ),
    )
    sft_step_seconds = stage1.train_seconds / max(budget.sft_steps, 1)
    rows = [{**base, "arm": "stage1", **_row(stage1, evaluate_model(stage1.bundle, evaluation))}]
    grpo_seconds: list[float] = []
    for arm in [a for a in arms if a.is_grpo]:
        say(f"{setting.name} seed {seed}: {arm.name} ({budget.grpo_steps} GRPO steps)")
        start = load_model(stage1.run.final_dir)
        result = train_grpo(
            start,
            prompts,
            spec=arm.spec(),
            args=grpo_config(
                folder / arm.name,
                bundle=start,
                max_steps=budget.grpo_steps,
                num_generations=budget.num_generations,
                per_device_train_batch_size=budget.num_generations * budget.prompts_per_step,
                save_strategy="no",
                seed=seed,
            ),
        )
        grpo_seconds.append(result.train_seconds)
        rows.append(
            {**base, "arm": arm.name, **_row(result, evaluate_model(result.bundle, evaluation))}
        )
    if any(a.name == "sft" for a in arms):
        # wall-clock matching: as many SFT steps as the GRPO arms' mean time buys
        if grpo_seconds:
            steps = round(sum(grpo_seconds) / len(grpo_seconds) / max(sft_step_seconds, 1e-9))
        else:
            steps = budget.grpo_steps * 4  # the lab's measured cost of a GRPO step, in SFT steps
        steps = max(1, min(steps, 20 * budget.grpo_steps))
        say(f"{setting.name} seed {seed}: sft control ({steps} compute-matched steps)")
        start = load_model(stage1.run.final_dir)
        result = train_sft(
            start,
            demos,
            args=sft_config(
                folder / "sft",
                bundle=start,
                max_steps=steps,
                per_device_train_batch_size=budget.sft_batch,
                save_strategy="no",
                seed=seed,
            ),
        )
        rows.append(
            {**base, "arm": "sft", **_row(result, evaluate_model(result.bundle, evaluation))}
        )
    return rows


def _row(result, evaluation) -> dict[str, Any]:
    history = result.metrics
    zero_std = [m["frac_reward_zero_std"] for m in history if "frac_reward_zero_std" in m]
    rewards = [m["reward"] for m in history if "reward" in m]
    row = {
        "steps": result.global_step,
        "train_seconds": result.train_seconds,
        "frac_reward_zero_std": sum(zero_std) / len(zero_std) if zero_std else None,
        "reward_last": rewards[-1] if rewards else None,
    }
    for key, value in evaluation.metrics.items():
        if isinstance(value, int | float) and math.isfinite(value):
            row[f"eval_{key.replace('/', '_')}"] = float(value)
    return row


def write_study(results: pl.DataFrame, path: str | Path, *, command: str) -> Path:
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
    }
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    return path
