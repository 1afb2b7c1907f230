"""Check a GRPO recipe across training seeds: the main job once per seed, in parallel
processes, then every held-out metric of GRPO against its SFT checkpoint paired by seed and
item (:mod:`eemo_rewards.analysis.recipe` makes the table). ``scripts/check_recipe.py`` is
its command line.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import time
from collections.abc import Sequence
from typing import Any

from eemo_rewards.train.settings import JobSettings

__all__ = ["run_seed", "run_seeds"]


def run_seed(payload: dict[str, Any]) -> dict[str, Any]:
    """One seed's job (in a worker process): ``payload`` is a settings dict plus
    ``threads``. Returns the seed, run folder, seconds, whether it was reused, the
    evaluation rows (without examples) and the data counts."""
    threads = max(1, int(payload.pop("threads", 1)))
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    from eemo_rewards.train.pipeline import run_job

    torch.set_num_threads(threads)
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
    jobs = max(1, jobs or os.cpu_count() or 1)
    threads = max(1, (os.cpu_count() or 1) // jobs)
    payloads = [{**base.to_dict(), "seed": int(s), "threads": threads} for s in seeds]
    start = time.monotonic()
    if jobs == 1:
        runs = [run_seed(p) for p in payloads]
    else:
        with cf.ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
            runs = list(pool.map(run_seed, payloads))
    return runs, time.monotonic() - start
