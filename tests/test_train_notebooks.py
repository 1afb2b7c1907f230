"""The SFT, GRPO and eval notebooks: marimo's strict check, and headless runs on tiny settings
(the main job as an HTML export, the others as scripts)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("marimo")
pytest.importorskip("trl")

from eemo_rewards.report import find_chromium, inspect_report
from eemo_rewards.train.settings import JobSettings

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ["sft.py", "grpo.py", "eval.py"]
TINY_JOB = [
    "--n-images", "140", "--sft-rows", "32", "--sft-steps", "4", "--sft-batch-size", "4",
    "--grpo-steps", "2", "--prompts-per-step", "1", "--num-generations", "4",
    "--max-completion-length", "8", "--eval-rows", "8", "--eval-batch-size", "8",
]  # fmt: skip


def _marimo() -> list[str]:
    return [sys.executable, "-m", "marimo"]


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        # the package of this checkout, not whichever one is installed
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "EEMO_REWARDS_DATA": str(tmp_path / "data"),
        "EEMO_REWARDS_CACHE": str(tmp_path / "cache"),
        "TOKENIZERS_PARALLELISM": "false",
    }


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_passes_marimo_check_strict(name):
    done = subprocess.run(
        [*_marimo(), "check", "--strict", str(ROOT / "notebooks" / name)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _grpo_notebook():
    import importlib.util

    spec = importlib.util.spec_from_file_location("grpo_notebook", ROOT / "notebooks" / "grpo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_notebook_flags_are_split_from_the_job_flags():
    pytest.importorskip("marimo")
    pytest.importorskip("trl")
    grpo = _grpo_notebook()
    split = grpo.split_notebook_flags
    flags, rest = split({"grpo-steps": 3})
    assert rest == ["--grpo-steps", "3"]
    # not asked: the default path, written only when a run trains here
    assert flags["report"] == grpo.DEFAULT_REPORT and not flags["report_asked"]
    assert flags["wait"] == float("inf")
    flags, rest = split({"report": "out/r.html", "tasks": "emotion", "wait": 5})
    assert (flags["report"], flags["report_asked"], flags["wait"]) == ("out/r.html", True, 5.0)
    assert rest == ["--tasks", "emotion"]
    assert split({"report": "none"})[0]["report"] is None
    assert JobSettings.from_args(rest).tasks == ("emotion",)


@pytest.fixture(scope="module")
def main_job(tmp_path_factory):
    """The main job exported once on tiny settings, from a fresh working directory (so the
    default ``--report`` path lands there); the slow tests below share it."""
    tmp_path = tmp_path_factory.mktemp("main-job")
    runs = tmp_path / "runs"
    export = tmp_path / "grpo.html"
    done = subprocess.run(
        [*_marimo(), "export", "html", str(ROOT / "notebooks" / "grpo.py"), "-o", str(export),
         "--", "--runs-dir", str(runs), "--name", "job", *TINY_JOB],
        capture_output=True, text=True, cwd=tmp_path, env=_env(tmp_path), timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # marimo export passes the cells' prints on to stderr
    return tmp_path, runs, export, done.stdout + done.stderr


@pytest.mark.slow
def test_main_job_exports_an_html_report_then_eval_and_sft_run_as_scripts(main_job):
    tmp_path, runs, report, _ = main_job
    html = report.read_text()
    for section in (
        "Training curves",
        "Held-out evaluation",
        "Completions of the last GRPO",
        "GRPO against its SFT checkpoint",
    ):
        assert section in html, section  # fmt: skip
    # the results card comes before the curves (their rendered heading, not the cell's code
    # "## Training curves" that the export also carries), and counts the items it compares
    curves = re.search(r"(?<!## )Training curves", html)
    assert curves and html.index("GRPO against its SFT checkpoint") < curves.start()
    # eval_rows=8 per task and per V/A/D dimension: the card says how many items it compared
    found = re.search(
        r"on up to (\d+) held-out items \(greedy decoding; (\d+)(?:–|\\u2013)\1 items per", html
    )
    assert found, "the results card names its item counts"
    assert int(found.group(2)) <= 8 < int(found.group(1))
    assert "application/vnd.vegalite" in html, "the charts are in the report"
    job = runs / "job"
    assert (job / "grpo" / "metrics.parquet").exists() and (job / "eval.parquet").exists()
    assert (job / "grpo" / "final" / "eemo_model.json").exists()

    done = subprocess.run(
        [sys.executable, str(ROOT / "notebooks" / "eval.py"), "--runs-dir", str(runs),
         "--eval-rows", "8", "--sets", "builtin-fresh,openmoji", "--sampled", "false"],
        capture_output=True, text=True, cwd=tmp_path, env=_env(tmp_path), timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(("0 ", "1 "))]
    assert len(lines) == 4, done.stdout  # 2 models x 2 sets, greedy

    done = subprocess.run(
        [sys.executable, str(ROOT / "notebooks" / "sft.py"), "--runs-dir", str(runs),
         "--name", "sft-only", *TINY_JOB],
        capture_output=True, text=True, cwd=tmp_path, env=_env(tmp_path), timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # SFT is keyed by the SFT settings alone: the notebook finds the main job's SFT stage
    # (same settings) and reuses it instead of training a second copy
    sft_runs = sorted(runs.glob("sft-*"))
    assert len(sft_runs) == 1, sft_runs
    assert (sft_runs[0] / "final" / "eemo_model.json").exists()
    assert (sft_runs[0] / "finished.json").exists()


@pytest.mark.slow
def test_main_job_writes_a_standalone_report_whose_charts_render_offline(main_job):
    tmp_path, runs, _, log = main_job
    # default --report, relative to the working directory, and the run folder's copy
    shared = tmp_path / "reports" / "grpo" / "report.html"
    in_run = runs / "job" / "report.html"
    assert f"standalone report: {Path('reports/grpo/report.html')}" in log, log[-2000:]
    for page in (shared, in_run):
        assert page.is_file(), page
        html = page.read_text()
        for section in ("Training", "Held-out evaluation", "Sample completions", "reward_mean",
                        "Results: GRPO against its SFT checkpoint", "bootstrap interval",
                        "eemo-card"):  # fmt: skip
            assert section in html, (page, section)
        assert "cdn." not in html and "<script src=" not in html, "the page needs no network"
    charts = shared.read_text().count('data-chart-for="chart-')
    # SFT loss, reward, zero-std share, completion length, KL/entropy, reward std, evaluation
    assert charts == 7, charts
    assert sorted(p.name for p in shared.parent.glob("*.png")) == sorted(
        f"{name}.png"
        for name in ("sft_loss", "reward", "zero_std", "completion_length", "kl", "reward_std",
                     "evaluation")
    )  # fmt: skip

    if find_chromium() is None:
        pytest.skip(
            "no Chromium binary (apt-get install chromium, or set EEMO_CHROMIUM): the report "
            "files were checked, their rendering in a browser was not"
        )
    pytest.importorskip("playwright", reason="Playwright is needed to open the report")
    check = inspect_report(shared, expect_charts=charts)
    assert check.ok and check.charts_drawn == charts, check.summary()
