"""Does a GRPO recipe hold every held-out metric against its SFT checkpoint, across seeds?

    python scripts/check_recipe.py                      # the main job's default recipe, 3 seeds
    python scripts/check_recipe.py --set grpo_learning_rate=1e-5 --name low-lr

Runs the main job (:func:`eemo_rewards.train.pipeline.run_job`, the built-in offline default
unless ``--set`` changes a setting) once per training seed, in parallel processes; every seed
answers the same held-out rows, so GRPO and SFT pair by seed and item. For each metric
(means and the V/A/D correlations) and each decoding it writes the change with a 95%
interval resampling seeds and items, and a verdict; the recipe **holds** when no metric
hurts. Finished jobs are reused from ``runs/``. Writes ``data/study/recipe/<name>.json``
and ``.md``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _job(payload: dict) -> dict:
    threads = payload.pop("threads")
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)
    from eemo_rewards.train.pipeline import run_job
    from eemo_rewards.train.settings import JobSettings

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


def main(argv: list[str] | None = None) -> Path:
    from eemo_rewards.analysis.recipe import recipe_table, write_recipe
    from eemo_rewards.train.settings import JobSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a JobSettings field, e.g. grpo_learning_rate=1e-5")  # fmt: skip
    parser.add_argument("--name", default="default")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", default=str(REPO / "data" / "study" / "recipe"))
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set {item!r}: use KEY=VALUE")
        overrides[key] = value
    base = JobSettings.from_form(JobSettings(), overrides)
    threads = max(1, (os.cpu_count() or 1) // max(1, args.jobs))
    payloads = [{**base.to_dict(), "seed": seed, "threads": threads} for seed in args.seeds]
    start = time.monotonic()
    with cf.ProcessPoolExecutor(args.jobs, mp_context=mp.get_context("spawn")) as pool:
        runs = list(pool.map(_job, payloads))
    wall = time.monotonic() - start
    table = recipe_table(runs)
    command = "python scripts/check_recipe.py " + " ".join(sys.argv[1:] if argv is None else argv)
    path = write_recipe(table, runs, Path(args.out) / args.name, settings=base.to_dict(),
                        command=command, wall_seconds=wall)  # fmt: skip
    print(Path(str(path)).with_suffix(".md").read_text())
    return path


if __name__ == "__main__":
    main()
