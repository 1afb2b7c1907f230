"""Benchmarks cannot rot: every benchmark script has a smoke mode, and CI runs it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CI = (REPO / ".ci" / "run").read_text()
# benchmarks whose smoke modes and CI lines come with their own changes (their owners'
# areas): the rule below holds for them once those land
ELSEWHERE = {"rewards.py", "data.py"}


def _scripts() -> list[Path]:
    return sorted(
        p
        for p in (REPO / "benchmarks").glob("*.py")
        if "__main__" in p.read_text() and p.name not in ELSEWHERE
    )


def test_there_are_benchmarks_to_check():
    assert {p.name for p in _scripts()} >= {"train.py", "learning.py", "study.py", "gpu.py"}


@pytest.mark.parametrize("script", _scripts(), ids=lambda p: p.name)
def test_every_benchmark_has_a_smoke_mode_that_ci_runs(script):
    assert '"--smoke"' in script.read_text(), f"{script.name} has no --smoke mode"
    lines = [line for line in CI.splitlines() if not line.lstrip().startswith("#")]
    # gpu.py's parts run under benchmarks/gpu.sh, each under its own time limit
    names = [f"benchmarks/{script.name}"]
    if script.name == "gpu.py":
        names.append("benchmarks/gpu.sh")
    runs = [line for line in lines if any(name in line for name in names)]
    assert runs, f".ci/run never runs benchmarks/{script.name}"
    assert any(re.search(r"--smoke\b", line) for line in runs), runs
