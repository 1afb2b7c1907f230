"""The reward-design study's wall time on this machine, against its 60-minute target.

    .venv/bin/python benchmarks/study.py                 # reads data/study/full/study.json
    .venv/bin/python benchmarks/study.py --run smoke     # measures a budget afresh (temp root)
    .venv/bin/python benchmarks/study.py --smoke         # a minute: one smoke cell afresh (CI)

The committed study records every invocation of ``scripts/run_study.py`` that trained
something (``wall.invocations``); this prints their sum against the target, the time the
arms spent training (all workers together) and its split by setting, and the parallel
efficiency (training seconds / (wall seconds × workers)). ``--run`` times a budget from an
empty root instead (``smoke`` takes minutes; ``full`` is the real thing).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 60 * 60


def report(study: dict, wall: float) -> None:
    import polars as pl

    folder = Path(study["_folder"])
    results = pl.read_parquet(folder / "results.parquet")
    jobs = max((i.get("jobs", 1) for i in study["wall"]["invocations"]), default=1)
    train = float(results["train_seconds"].sum())
    print(f"study: {study['command']} at {study.get('git_commit')}")
    print(f"  seeds {study['seeds']}, {study['arms']} arm results, {study.get('cpu_count')} cores,"
          f" {jobs} workers")  # fmt: skip
    print(f"  wall time      {wall / 60:6.1f} min   target {TARGET_SECONDS / 60:.0f} min   "
          f"ratio {wall / TARGET_SECONDS:.2f}")  # fmt: skip
    print(f"  training time  {train / 60:6.1f} min (all workers; evaluation and loading are the "
          f"rest)   efficiency {train / max(wall * jobs, 1e-9):.2f}")  # fmt: skip
    by = results.group_by("setting").agg(
        pl.col("train_seconds").sum().alias("train_s"), pl.len().alias("arms")
    )
    for row in by.sort("train_s", descending=True).iter_rows(named=True):
        print(f"    {row['setting']:<11s} {row['train_s'] / 60:6.1f} min over {row['arms']} arms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default=str(REPO / "data" / "study" / "full"))
    parser.add_argument("--run", default=None, help="a budget to time afresh (e.g. smoke)")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="time the smoke budget's scarce setting, one seed, afresh (CI)",
    )
    args = parser.parse_args(argv)
    narrow = ["--settings", "scarce", "--seeds", "0", "--jobs", "1"] if args.smoke else []
    if args.smoke:
        args.run = "smoke"
    if args.run:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.monotonic()
            subprocess.run(
                [sys.executable, str(REPO / "scripts" / "run_study.py"), "--budget", args.run,
                 "--root", f"{tmp}/runs", "--out", f"{tmp}/out", *narrow],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            wall = time.monotonic() - start
            study = json.loads(Path(f"{tmp}/out/study.json").read_text())
            study["_folder"] = f"{tmp}/out"
            report(study, wall)
        return
    path = Path(args.study) / "study.json"
    if not path.is_file():
        raise SystemExit(f"no study at {path}: run `python scripts/run_study.py --budget full`")
    study = json.loads(path.read_text())
    study["_folder"] = str(path.parent)
    report(study, float(study["wall"]["study_wall_seconds"]))


if __name__ == "__main__":
    main()
