"""Run the training ablation (reward designs × seeds against a compute-matched SFT control).

Writes the results as parquet with a JSON sidecar (command, time, budget) that
``notebooks/ablations.py`` shows when present. Example (the committed study)::

    python scripts/run_training_study.py --settings scarce noisy --seeds 0 1 --budget small

Needs the ``[train]`` and ``[data]`` extras; runs on a CPU (see ``BUDGETS`` for the cost).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from eemo_rewards.train.study import ARMS, BUDGETS, SETTINGS, run_study, write_study

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", default=["scarce", "noisy"], choices=SETTINGS)
    parser.add_argument("--arms", nargs="+", default=None, choices=ARMS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--budget", default="small", choices=BUDGETS)
    parser.add_argument("--root", default=str(REPO / "runs" / "ablations"))
    parser.add_argument(
        "--out", default=str(REPO / "data" / "ablations" / "training_study.parquet")
    )
    args = parser.parse_args(argv)
    start = time.monotonic()

    def say(message: str) -> None:
        print(f"[{time.monotonic() - start:7.1f}s] {message}", flush=True)

    results = run_study(
        args.settings, args.arms, args.seeds, budget=args.budget, root=args.root, progress=say
    )
    command = "python scripts/run_training_study.py " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    path = write_study(results, args.out, command=command)
    say(f"wrote {results.height} rows to {path}")
    return path


if __name__ == "__main__":
    main()
