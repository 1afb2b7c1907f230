"""Check a GRPO recipe across training seeds: the main job once per seed, in parallel
processes, then every held-out metric of GRPO against its SFT checkpoint paired by seed and
item (:mod:`eemo_rewards.analysis.recipe` makes the table). ``scripts/check_recipe.py`` is
its command line.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from eemo_rewards.train.common import in_processes
from eemo_rewards.train.settings import JobSettings

__all__ = ["run_seed", "run_seeds"]


def run_seed(payload: dict[str, Any]) -> dict[str, Any]:
    """One seed's job (a settings dict; run in a worker process by :func:`run_seeds`).
    Returns the seed, run folder, seconds, whether it was reused, the evaluation rows
    (without examples) and the data counts."""
    from eemo_rewards.train.pipeline import run_job

    start = time.monotonic()
    settings = JobSettings.from_dict(payload)
    out = run_job(settings)
    return {
        "seed": settings.seed,
        "run_dir": str(settings.run_dir),
        "seconds": time.monotonic() - start,
        "reused": out["reused"],
        "eval": [{k: v for k, v in r.items() if k != "examples"} for r in out["eval"]],
        "counts": out["counts"],
    }


def run_seeds(
    base: JobSettings, seeds: Sequence[int], *, jobs: int | None = None
) -> tuple[list[dict[str, Any]], float]:
    """Run ``base`` once per seed (``jobs`` processes; default one per core; finished jobs
    are reused) and return the per-seed results of :func:`run_seed` and the wall seconds.
    :func:`eemo_rewards.analysis.recipe.recipe_table` turns them into the check."""
    if not seeds:
        raise ValueError("pass at least one seed")
    payloads = [{**base.to_dict(), "seed": int(s)} for s in seeds]
    start = time.monotonic()
    runs = in_processes(run_seed, payloads, jobs=jobs)
    return runs, time.monotonic() - start
