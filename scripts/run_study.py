"""Run the reward-design study and write its tables and figures.

    python scripts/run_study.py --budget full    # the committed study (data/study/full/)
    python scripts/run_study.py --budget smoke   # minutes: checks the pipeline (CI)

Cells (setting, seed) run in parallel worker processes, one per core by default; each
finished arm is cached under ``--root``, so an interrupted run resumes where it stopped and
a rerun with nothing left to train only rewrites the tables. Writes to ``--out``:
``results.parquet`` (one row per setting, arm and seed), ``items.parquet`` (every held-out
item's values, for paired intervals), ``watch.parquet`` (what the policy answered during
GRPO), ``headline.csv`` / ``headline.md`` (each arm against its SFT checkpoint and the
compute-matched SFT control, with 95% intervals and verdicts), the figures, and
``study.json`` (git commit, command, settings, seeds, item counts, wall time).

Needs the ``[train]``, ``[data]`` and ``[notebooks]`` extras.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "eemo_rewards", "scripts"],
            capture_output=True,
            text=True,
        )
    except OSError:
        return None
    if out.returncode:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def main(argv: list[str] | None = None) -> Path:
    from eemo_rewards.train.study import BUDGETS, STUDY_SETTINGS, budget_with, run_cells

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", default="smoke", choices=BUDGETS)
    parser.add_argument("--settings", nargs="+", default=list(STUDY_SETTINGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="default: budget's")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--root", default=None, help="run folders (default runs/study/<budget>)")
    parser.add_argument("--out", default=None, help="tables (default data/study/<budget>)")
    args = parser.parse_args(argv)
    budget = BUDGETS[args.budget]
    if args.seeds is not None:
        budget = budget_with(budget, seeds=tuple(args.seeds))
    root = Path(args.root or REPO / "runs" / "study" / args.budget)
    out = Path(args.out or REPO / "data" / "study" / args.budget)
    start = time.monotonic()

    def say(message: str) -> None:
        print(f"[{time.monotonic() - start:7.1f}s] {message}", flush=True)

    say(f"budget {budget.name}: settings {args.settings}, seeds {list(budget.seeds)}, "
        f"{args.jobs} worker(s); progress in {root / 'progress.log'}")  # fmt: skip
    before = len(list(root.glob("*/*.result.json")))
    done = run_cells(
        args.settings, budget.seeds, budget=budget, root=root, jobs=args.jobs, progress=say
    )
    wall = time.monotonic() - start
    trained = len(list(root.glob("*/*.result.json"))) - before
    # every invocation that trained something counts toward the study's wall time
    with open(root / "invocations.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                             "seconds": round(wall, 1), "arms_trained": trained,
                             "jobs": args.jobs, "git_commit": _git_commit()}) + "\n")  # fmt: skip
    from eemo_rewards.analysis.study import write_outputs
    from eemo_rewards.train.study import rescore

    done = rescore(done, budget)  # metrics added since an arm ran (reasoning consistency)

    command = "python scripts/run_study.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    meta = {
        "command": command,
        "git_commit": _git_commit(),
        "wall_seconds_this_run": round(wall, 1),
        "jobs": args.jobs,
        "cpu_count": os.cpu_count(),
    }
    lines = (root / "invocations.jsonl").read_text().splitlines()
    meta["invocations"] = [json.loads(line) for line in lines if line.strip()]
    path = write_outputs(done, out, budget=budget, meta=meta)
    say(f"wrote {path}")
    print(json.dumps(json.loads(path.read_text())["wall"], indent=1))
    return path


if __name__ == "__main__":
    main()
