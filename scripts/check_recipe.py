"""Does a GRPO recipe hold every held-out metric against its SFT checkpoint, across seeds?

    python scripts/check_recipe.py                      # the main job's default recipe, 3 seeds
    python scripts/check_recipe.py --set grpo_learning_rate=1e-5 --name lr1e-5

Runs the main job (:func:`eemo_rewards.train.pipeline.run_job`, the built-in offline default
unless ``--set`` changes a setting) once per training seed, in parallel processes; every seed
answers the same held-out rows, so GRPO and SFT pair by seed and item. For each metric
(means and the V/A/D correlations) and each decoding it writes the change with a 95%
interval resampling seeds and items, and a verdict; the recipe **holds** when no metric
hurts. Finished jobs are reused from ``runs/``. Writes ``data/study/recipe/<name>.json``
and ``.md`` (:mod:`eemo_rewards.train.recipe`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> Path:
    from eemo_rewards.analysis.recipe import recipe_table, write_recipe
    from eemo_rewards.train.recipe import run_seeds
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
    command = "python scripts/check_recipe.py " + " ".join(sys.argv[1:] if argv is None else argv)
    runs, wall = run_seeds(base, args.seeds, jobs=args.jobs)
    path = write_recipe(recipe_table(runs), runs, Path(args.out) / args.name,
                        settings=base.to_dict(), command=command, wall_seconds=wall)  # fmt: skip
    print(path.with_suffix(".md").read_text())
    return path


if __name__ == "__main__":
    main()
