"""``notebooks/grpo.py`` in a real browser, as a researcher uses it: Playwright drives the
system's Chromium against real ``marimo edit`` and ``marimo run`` servers on localhost.

- the editor opens with widgets and no cell error, Run on a smoke budget draws live curves
  and ends at the results card; as an app, loading trains nothing and a finished run
  reopens without training or rewriting its reports;
- the form reads ``2e-5`` as written, shows ``-0.001`` and an unknown model as an error
  beside the field with Run off, a model that fails to load as one callout that leaves no
  folder; fewer GRPO steps than a finished run says what will happen before Run, then
  evaluates the saved checkpoint without writing into the finished run;
- the exported page's first screen holds the results card;
- a second script of a run another process holds waits with a line naming it, then stops
  non-zero.

One run is trained (in the editor, or by the script when that test runs alone) and shared.
Screenshots go to ``reports/notebook-browser/``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("marimo")
pytest.importorskip("trl")

from eemo_rewards.report import find_chromium

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "grpo.py"
SHOTS = ROOT / "reports" / "notebook-browser"
# a smoke budget: a few seconds of training on two CPU cores, enough steps for live redraws
SMOKE_JOB = [
    "--n-images", "140", "--sft-rows", "32", "--sft-steps", "6", "--sft-batch-size", "4",
    "--grpo-steps", "6", "--prompts-per-step", "1", "--num-generations", "4",
    "--max-completion-length", "8", "--eval-rows", "8", "--eval-batch-size", "8",
    "--eval-sampled", "false", "--save-steps", "2",
]  # fmt: skip
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
# what marimo shows when a cell raised (the mo.stop of the waiting training cell is no error)
CELL_ERRORS = ("Traceback", "raised an exception", "An ancestor raised", "NameError", "Error:")

# the results card's first words (the start-here text names the card too, so not just "GRPO
# against its SFT checkpoint")
CARD = "GRPO against its SFT checkpoint on up to"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = find_chromium()
    if chromium is None:
        pytest.skip(
            "no Chromium binary (apt-get install chromium, or set EEMO_CHROMIUM): the notebook "
            "was not opened in a browser"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright (the [dev] extra) drives the browser"
    )
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as pw:
        # a persistent context is how Playwright takes a user-data-dir: a fresh one per run
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "EEMO_REWARDS_DATA": str(tmp_path / "data"),
        "EEMO_REWARDS_CACHE": str(tmp_path / "cache"),
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_OFFLINE": "1",
        # no user-level marimo config: the project's pyproject.toml alone decides
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "HOME": str(tmp_path / "home"),
    }


class _Server:
    def __init__(self, mode: str, tmp_path: Path, runs: Path, job: list[str] = SMOKE_JOB):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"marimo-{mode}.log"
        cmd = [sys.executable, "-m", "marimo", mode, str(NOTEBOOK), "--headless", "--no-token",
               "--port", str(self.port), "--host", "127.0.0.1",
               "--", "--runs-dir", str(runs), *job]  # fmt: skip
        (tmp_path / "home").mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            cmd, cwd=tmp_path, env=_env(tmp_path), stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"marimo {mode} exited: {self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as page:
                    if page.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise AssertionError(f"marimo {mode} did not serve {self.url} within 90 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


_ALL_TEXT = """
() => {
  const out = [document.body.innerText];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) { out.push(el.shadowRoot.textContent); walk(el.shadowRoot); }
    }
  };
  walk(document);
  return out.join("\\n");
}
"""


_OUTPUT_TEXT = """
() => {
  const parts = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) { parts.push(el.shadowRoot.textContent); walk(el.shadowRoot); }
    }
  };
  for (const output of document.querySelectorAll(".marimo-cell .output")) {
    parts.push(output.innerText);
    walk(output);
  }
  return parts.join("\\n");
}
"""


def _text(page) -> str:
    """The page's text, including what marimo's widgets render inside shadow roots."""
    return page.evaluate(_ALL_TEXT)


def _wait_text(page, needle: str, timeout: float, seen: list[str] | None = None) -> str:
    """Poll the page's text until it holds ``needle``; every text seen goes to ``seen``."""
    timeout = max(timeout, 90)  # a form's answer on a loaded 2-core machine can take a while
    latest = [""]  # the last text read

    def holds() -> bool:
        latest[0] = _text(page)
        if seen is not None:
            seen.append(latest[0])
        return needle in latest[0]

    try:
        _wait_until(page, holds, f"{needle!r} did not appear", timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; page text:\n{latest[0][-3000:]}") from None
    return latest[0]


def _wait_drawn(page, timeout: float = 60) -> None:
    """Wait for the last cell (the standalone report's note) and for every chart to draw."""
    _wait_text(page, "Standalone report", timeout=timeout)
    deadline = time.monotonic() + timeout
    while "Loading chart" in _text(page):
        assert time.monotonic() < deadline, "charts still loading after a minute"
        page.wait_for_timeout(250)


def _shot(page, name: str) -> None:
    """A screenshot of the whole notebook: marimo scrolls inside its own pane, so the window
    is made as tall as the page for the picture."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('*')].map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": 1280, "height": min(max(int(height), 900), 8000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / name), full_page=True, animations="disabled", timeout=120_000)
    page.set_viewport_size({"width": 1280, "height": 900})


def _no_cell_error(text: str) -> None:
    found = [e for e in CELL_ERRORS if e in text]
    assert not found, f"cell errors {found} on the page:\n{text[-3000:]}"


def _trained(runs: Path) -> list[Path]:
    return sorted(p.parent for p in runs.glob("*/*/metrics.parquet")) + sorted(
        p.parent for p in runs.glob("*/metrics.parquet")
    )


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """One working directory for the module: its ``runs/`` holds the run the first test
    trains in the editor, which the later tests open, shorten and export."""
    return tmp_path_factory.mktemp("notebook-browser")


def _job_folder(runs: Path) -> Path | None:
    """The smoke job's run folder (the only ``tiny-<id>`` job the first run made), if any."""
    found = [
        p for p in runs.glob("tiny-*") if not p.name.endswith("steps") and (p / "grpo").is_dir()
    ]
    assert len(found) <= 1, found
    return found[0] if found else None


def _ensure_trained(work: Path) -> Path:
    """The smoke job's run folder, finished (trained by the script when no earlier test of
    the module trained it in the editor)."""
    runs = work / "runs"
    job = _job_folder(runs)
    if job is None or not (job / "grpo" / "finished.json").exists():
        (work / "home").mkdir(exist_ok=True)
        done = subprocess.run(
            [sys.executable, str(NOTEBOOK), "--runs-dir", str(runs), *SMOKE_JOB],
            capture_output=True, text=True, cwd=work, env=_env(work), timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        job = _job_folder(runs)
    assert (job / "grpo" / "finished.json").exists() and (job / "report.html").exists()
    return job


def _snapshot(paths) -> dict[Path, bytes | None]:
    return {p: (p.read_bytes() if p.exists() else None) for p in paths}


def test_grpo_notebook_in_the_editor_then_as_an_app(browser, work):
    SHOTS.mkdir(parents=True, exist_ok=True)
    tmp_path = work
    runs = tmp_path / "runs"
    page = browser.new_page()
    server = _Server("edit", tmp_path, runs)
    try:
        page.goto(server.url)
        # cells run on open (pyproject's auto_instantiate): widgets without a run-all click
        run_button = page.get_by_role("button", name="Run SFT → GRPO")
        run_button.wait_for(timeout=300_000)
        _wait_text(page, "What Run does", timeout=60)
        for expected in (
            "Start here",
            "Settings",
            "reward preset",
            "GRPO steps",
            "Advanced settings",
            "completions per GRPO step",
            "Open a finished run",
        ):
            text = _wait_text(page, expected, timeout=60)  # cells answer one after another
        _no_cell_error(text)
        assert _trained(runs) == [], "the editor trained before Run was pressed"
        _shot(page, "1-editor-first-open.png")

        run_button.click()
        seen: list[str] = []
        text = _wait_text(page, CARD, timeout=600, seen=seen)
        _wait_drawn(page)
        _shot(page, "2-editor-after-run.png")
        _no_cell_error(text)
        live = [t for t in seen if "Training (live)" in t]
        steps = {line for t in live for line in t.splitlines() if "step " in line and "/" in line}
        assert any("sft step" in s for s in steps) and any("grpo step" in s for s in steps), steps
        # redrawn while a stage ran, not only at its start and end
        between = [
            s
            for s in steps
            if re.search(r"step (\d+)/(\d+)", s)
            and 0 < int(re.search(r"step (\d+)/", s)[1]) < int(re.search(r"/(\d+)", s)[1])
        ]
        assert between, f"the live view was not redrawn during training: {steps}"
        assert "grpo step 6/6" in text and "8" in text
        assert any("Latest GRPO completion" in t for t in live), "no sample in the live view"
        assert [p.name for p in _trained(runs) if p.name == "grpo"] == ["grpo"]
        # the run's stage times are recorded for the estimate
        timing = json.loads((_job_folder(runs) / "timing.json").read_text())
        assert {r["stage"] for r in timing} == {"sft", "grpo", "eval"}, timing
    finally:
        server.stop()

    before = {p: p.stat().st_mtime for p in runs.rglob("metrics.parquet")}
    fresh = tmp_path / "fresh-runs"
    app = _Server("run", tmp_path, fresh)
    try:
        page.goto(app.url)
        text = _wait_text(page, "completions per GRPO step", timeout=120)
        _no_cell_error(text)
        page.wait_for_timeout(5000)  # long enough for a training cell to have logged a step
        assert _trained(fresh) == [], "loading the app started training"
        page.get_by_role("button", name="Run SFT → GRPO").wait_for(timeout=10_000)
        _shot(page, "3-app-on-load.png")
    finally:
        app.stop()

    # reopening a finished run trains nothing and rewrites no report
    job = _job_folder(runs)
    reports = _snapshot([job / "report.html", tmp_path / "reports" / "grpo" / "report.html"])
    assert all(reports.values()), "training in the editor wrote both reports"
    settings_json = (job / "settings.json").read_bytes()
    viewer = _Server("run", tmp_path, runs)
    try:
        page.goto(viewer.url)
        page.get_by_role("button", name="Run SFT → GRPO").wait_for(timeout=300_000)
        picker = page.locator("select").filter(
            has=page.locator("option", has_text="train with the settings above")
        )
        offered: list[str] = []

        def _offered() -> bool:
            offered[:] = picker.locator("option").all_inner_texts()
            return any("GRPO steps" in o for o in offered)

        _wait_until(page, _offered, "the finished run offered in the picker")
        option = next(o for o in offered if "GRPO steps" in o)
        picker.select_option(label=option)
        text = _wait_text(page, CARD, timeout=120)
        _no_cell_error(text)
        _wait_drawn(page)
        assert "opened from disk" in text, "the card says the run was opened, not trained"
        _shot(page, "4-app-reopened-run.png")
        after = {p: p.stat().st_mtime for p in runs.rglob("metrics.parquet")}
        assert after == before, "reopening a finished run trained again"
        assert _snapshot(reports) == reports, "reopening a finished run rewrote its report"
        assert (job / "settings.json").read_bytes() == settings_json
    finally:
        viewer.stop()
        page.close()


def _wait_until(page, check, what: str, timeout: float = 90) -> None:
    """Poll ``check()`` until it holds: cells answer an edit one after another, so a state
    that one cell shows may lag the text another cell already shows."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s")
        page.wait_for_timeout(150)


def _field(page, label: str):
    return page.get_by_label(label, exact=True)


def _type(page, label: str, text: str) -> None:
    box = _field(page, label)
    box.fill(text)
    box.press("Tab")


def test_the_form_reads_what_is_typed_and_fewer_steps_never_touch_a_finished_run(browser, work):
    SHOTS.mkdir(parents=True, exist_ok=True)
    job = _ensure_trained(work)
    runs = job.parent
    kept = _snapshot([job / "settings.json", job / "report.html", job / "grpo" / "finished.json"])
    folders = sorted(p.name for p in runs.iterdir())
    bad_model = work / "not-a-model"
    bad_model.mkdir(exist_ok=True)
    (bad_model / "config.json").write_text("{}")  # passes the form, fails to load
    page = browser.new_page()
    page.set_default_timeout(120_000)  # a loaded 2-core machine answers slowly
    server = _Server("edit", work, runs)
    try:
        page.goto(server.url)
        run_button = page.get_by_role("button", name="Run SFT → GRPO")
        run_button.wait_for(timeout=300_000)
        _wait_text(page, "What Run does", timeout=60)
        page.get_by_role("button", name=re.compile(r"^Advanced settings")).click()
        lr = _field(page, "GRPO learning rate")
        lr.wait_for()

        # scientific notation is read as written: a new run (another job id), no error
        _type(page, "GRPO learning rate", "2e-5")
        text = _wait_text(page, "A new run ", timeout=30)
        _wait_until(page, lambda: not run_button.is_disabled(), "Run turned on")
        assert "⚠" not in page.evaluate(_OUTPUT_TEXT)
        assert job.name not in text.split("What Run does")[1][:300]
        # a negative rate is an error beside the field, and Run is off
        _type(page, "GRPO learning rate", "-0.001")
        _wait_text(page, "must be above 0", timeout=30)
        _wait_text(page, "1 field(s) to fix", timeout=30)
        _wait_until(page, run_button.is_disabled, "Run turned off with an invalid learning rate")
        _shot(page, "5-editor-invalid-learning-rate.png")
        assert _field(page, "GRPO learning rate").input_value() == "-0.001", "value reverted"
        _type(page, "GRPO learning rate", "1e-05")
        _wait_text(page, "Nothing to train", timeout=30)

        # an unknown model id: one error beside the field saying what to do, Run off
        _type(page, "model", "nobody/no-such-model")
        _wait_text(page, "not in this machine's model cache", timeout=30)
        text = _wait_text(page, "1 field(s) to fix", timeout=30)  # the model's error alone
        _wait_until(page, run_button.is_disabled, "Run turned off with an unknown model")
        _no_cell_error(text)
        # a model the form cannot rule out but that fails to load: one callout, no folder
        _type(page, "model", str(bad_model))
        _wait_text(page, "A new run ", timeout=30)
        _wait_until(page, lambda: not run_button.is_disabled(), "Run turned on")
        run_button.click()
        text = _wait_text(page, "The run could not start", timeout=120)
        _no_cell_error(text)
        _shot(page, "6-editor-model-fails-to-load.png")
        assert sorted(p.name for p in runs.iterdir()) == folders, "a failed start left a folder"

        # fewer GRPO steps than the finished run: the form says what happens before Run
        _type(page, "model", "tiny")
        _type(page, "GRPO steps", "3")
        _wait_text(page, "kept no checkpoint at step 3", timeout=30)
        text = _wait_text(page, "trains 3 GRPO steps", timeout=30)
        assert "reuses its finished SFT stage" in text
        # estimated from this machine's measured speed: GRPO and evaluation, no SFT
        text = _wait_text(page, "earlier tiny stage(s) on this machine", timeout=30)
        assert "GRPO " in text
        _type(page, "GRPO steps", "4")
        text = _wait_text(page, "its checkpoint at step 4 is evaluated", timeout=30)
        assert f"{job.name}-4steps" in text
        run_button.click()
        text = _wait_text(page, CARD, timeout=600)
        _wait_drawn(page)
        _no_cell_error(text)
        _shot(page, "7-editor-fewer-steps.png")
    finally:
        server.stop()
        page.close()
    assert _snapshot(kept) == kept, "fewer steps wrote into the finished run"
    short = runs / f"{job.name}-4steps"
    assert (short / "grpo" / "finished.json").exists() and (short / "eval.json").exists()


def test_the_exported_page_leads_with_the_results_card(browser, work):
    from eemo_rewards.report.browser import RenderCheck, _answer_offline

    SHOTS.mkdir(parents=True, exist_ok=True)
    job = _ensure_trained(work)
    out = work / "export"
    out.mkdir(exist_ok=True)
    kept = _snapshot([job / "report.html"])
    page_path = out / "grpo.html"
    done = subprocess.run(
        [sys.executable, "-m", "marimo", "export", "html", str(NOTEBOOK), "-o", str(page_path),
         "--", "--runs-dir", str(job.parent), *SMOKE_JOB],
        capture_output=True, text=True, cwd=out, env=_env(work), timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # nothing was computed and --report was not given: the run's report is not rewritten,
    # and the default report, missing in this folder, is written (the quickstart's page)
    assert _snapshot(kept) == kept
    written = (out / "reports" / "grpo" / "report.html").read_text()
    assert "GRPO against its SFT checkpoint" in written and job.name in written
    html = page_path.read_text()
    assert "step 6/6" not in html, "the step log is in the page"
    page = browser.new_page()
    try:
        page.route("**/*", lambda route: _answer_offline(route, RenderCheck(url=""), True))
        page.goto(page_path.as_uri())
        _wait_text(page, CARD, timeout=60)
        page.wait_for_timeout(1000)
        top = page.evaluate(
            """(needle) => {
              const walk = (root) => {
                for (const el of root.querySelectorAll("*")) {
                  if (el.children.length === 0 && el.textContent.includes(needle))
                    return el.getBoundingClientRect().top;
                  if (el.shadowRoot) { const t = walk(el.shadowRoot); if (t !== null) return t; }
                }
                return null;
              };
              const found = walk(document);
              return found;
            }""",
            "GRPO against its SFT checkpoint",
        )
        page.screenshot(path=str(SHOTS / "8-export-first-screen.png"))
        assert top is not None and 0 <= top < 900 * 0.6, f"the card starts at {top}px"
        # what the cells show (their outputs, widgets' shadow roots included), in page order
        text = page.evaluate(_OUTPUT_TEXT)
        first = text[: text.index("GRPO against its SFT checkpoint")]
        for clutter in ("Start here", "Settings", "Open a finished run", "Run SFT"):
            assert clutter not in first, f"{clutter!r} comes before the results card"
        # no line of the step log ("sft step 10/600"); a setting's name such as
        # prompts_per_step may be said where the card names the run's settings
        assert not re.search(r"\b(?:sft|grpo) step \d+/\d+", first), "the step log comes first"
        assert text.index("GRPO against its SFT checkpoint") < text.index("Training curves")
    finally:
        page.close()


def test_a_second_script_of_a_held_run_waits_naming_the_holder_then_refuses(work):
    from eemo_rewards.train.runs import run_lock

    job = _ensure_trained(work)
    with run_lock(job, what="the main job") as holder:
        done = subprocess.run(
            [sys.executable, str(NOTEBOOK), "--runs-dir", str(job.parent), *SMOKE_JOB,
             "--wait", "2"],
            capture_output=True, text=True, cwd=work, env=_env(work), timeout=300,
        )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode != 0, f"a refused run exited 0:\n{output[-3000:]}"
    assert "waiting up to 2 s" in output and f"process {holder['pid']}" in output, output
    assert "RunLocked" in output
