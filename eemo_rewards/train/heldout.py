"""Evaluating a job's models: its stages on its held-out split (:func:`evaluate_stages`),
and any model folder on the built-in held-out sets, cross-domain included
(:data:`HELDOUT_SETS`, :func:`evaluate_folder`; ``notebooks/eval.py``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from eemo_rewards.train.settings import JobSettings

__all__ = [
    "HELDOUT_SETS",
    "evaluate_folder",
    "evaluate_stages",
    "evaluate_with_settings",
    "heldout_set",
]


def evaluate_with_settings(
    bundle: Any, dataset: Any, settings: JobSettings, *, sample: bool, spec: Any = None
) -> Any:
    """:func:`eemo_rewards.train.evaluate.evaluate_model` with a job's decoding settings
    (GRPO temperature, completion length, batch size, seed) and its reward spec unless
    ``spec`` is given: every evaluation of a job decodes the same way."""
    from eemo_rewards.train.evaluate import evaluate_model

    return evaluate_model(
        bundle,
        dataset,
        spec=spec if spec is not None else settings.spec,
        sample=sample,
        temperature=settings.temperature,
        max_new_tokens=settings.max_completion_length,
        batch_size=settings.eval_batch_size,
        seed=settings.seed,
    )


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
    rows = []
    decodings = [False, True] if settings.eval_sampled else [False]
    for stage, bundle in stages.items():
        for sample in decodings:
            label = f"{stage} ({'sampled' if sample else 'greedy'})"
            if progress is not None:
                progress(label)
            start = time.perf_counter()
            result = evaluate_with_settings(bundle, dataset, settings, sample=sample, spec=spec)
            rows.append(
                {
                    "stage": stage,
                    "decoding": "sampled" if sample else "greedy",
                    "seconds": time.perf_counter() - start,
                    **result.metrics,
                    "examples": result.rows[:6],
                    # every row's values, in the dataset's order: the stages answered the same
                    # rows, so their items pair up (eemo_rewards.analysis.stats)
                    "items": [r["item_metrics"] for r in result.rows],
                }
            )
    return rows


HELDOUT_SETS = {
    "builtin-test": "the held-out split of the training data (same images generator, unseen "
    "images)",
    "builtin-fresh": "fresh images from another data seed (drawn faces)",
    "openmoji": "cross-domain: OpenMoji emoji faces instead of drawn ones",
}


def heldout_set(name: str, settings: JobSettings, *, seed: int = 20_000) -> Any:
    """A held-out TRL dataset (see :data:`HELDOUT_SETS`), ``settings.eval_rows`` rows per task
    and per V/A/D dimension."""
    import polars as pl

    from eemo_rewards.data.builtin import generate_builtin
    from eemo_rewards.data.export import to_trl_dataset
    from eemo_rewards.data.qa import generate_qa

    if name not in HELDOUT_SETS:
        raise ValueError(f"unknown held-out set {name!r}; use one of {sorted(HELDOUT_SETS)}")
    if name == "builtin-test":
        from eemo_rewards.train.pipeline import builtin_splits

        return builtin_splits(settings)["test"]
    # enough fresh images for eval_rows rows of the chosen tasks (>= 1 row per image)
    n_images = max(7, settings.eval_rows)
    faces = "openmoji" if name == "openmoji" else "drawn"
    records = generate_builtin(
        n_images=n_images, image_size=settings.image_size, seed=seed, faces=faces
    )
    qa = generate_qa(records, tasks=list(settings.tasks), seed=seed, think=settings.think)
    from eemo_rewards.train.pipeline import per_task_head

    qa = per_task_head(qa.sample(fraction=1.0, shuffle=True, seed=seed), settings.eval_rows)
    return to_trl_dataset(qa.with_columns(pl.lit("test").alias("split")))


def evaluate_folder(
    model: str, set_name: str, settings_json: str, sample: bool = False
) -> dict[str, Any]:
    """Metrics of one model folder (or name) on one held-out set; plain arguments, so that
    notebooks can cache it on disk (``mo.persistent_cache``)."""
    from eemo_rewards.train.models import load_model

    settings = JobSettings.from_dict(json.loads(settings_json))
    data = heldout_set(set_name, settings)
    result = evaluate_with_settings(load_model(model), data, settings, sample=sample)
    return {
        "model": model,
        "set": set_name,
        "decoding": "sampled" if sample else "greedy",
        **result.metrics,
        "examples": result.rows[:5],
    }
