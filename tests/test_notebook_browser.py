"""``notebooks/grpo.py`` in a real browser, as a newcomer opens it: Playwright drives the
system's Chromium against a real ``marimo edit`` server on localhost (widgets and the
start-here text render on open with no cell error; Run on a smoke budget draws live curves
and ends at the results card), then against ``marimo run`` (loading the app trains nothing;
a finished run reopens without training). Screenshots go to ``reports/notebook-browser/``.
"""

from __future__ import annotations

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
    "--eval-sampled", "false", "--report", "none",
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
    def __init__(self, mode: str, tmp_path: Path, runs: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"marimo-{mode}.log"
        cmd = [sys.executable, "-m", "marimo", mode, str(NOTEBOOK), "--headless", "--no-token",
               "--port", str(self.port), "--host", "127.0.0.1",
               "--", "--runs-dir", str(runs), *SMOKE_JOB]  # fmt: skip
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


def _text(page) -> str:
    """The page's text, including what marimo's widgets render inside shadow roots."""
    return page.evaluate(_ALL_TEXT)


def _wait_text(page, needle: str, timeout: float, seen: list[str] | None = None) -> str:
    """Poll the page's text until it holds ``needle``; every text seen goes to ``seen``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = _text(page)
        if seen is not None:
            seen.append(text)
        if needle in text:
            return text
        page.wait_for_timeout(150)
    raise AssertionError(
        f"{needle!r} did not appear within {timeout} s; page text:\n{text[-3000:]}"
    )


def _wait_drawn(page, timeout: float = 60) -> None:
    """Wait for the last cell (the standalone report's note) and for every chart to draw."""
    _wait_text(page, "A self-contained copy of this run", timeout=timeout)
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
    page.set_viewport_size({"width": 1280, "height": min(max(int(height), 900), 12000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / name), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _no_cell_error(text: str) -> None:
    found = [e for e in CELL_ERRORS if e in text]
    assert not found, f"cell errors {found} on the page:\n{text[-3000:]}"


def _trained(runs: Path) -> list[Path]:
    return sorted(p.parent for p in runs.glob("*/*/metrics.parquet")) + sorted(
        p.parent for p in runs.glob("*/metrics.parquet")
    )


def test_grpo_notebook_in_the_editor_then_as_an_app(browser, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    runs = tmp_path / "runs"
    page = browser.new_page()
    server = _Server("edit", tmp_path, runs)
    try:
        page.goto(server.url)
        # cells run on open (pyproject's auto_instantiate): widgets without a run-all click
        run_button = page.get_by_role("button", name="Run SFT → GRPO")
        run_button.wait_for(timeout=120_000)
        text = _wait_text(page, "completions per GRPO step", timeout=60)
        for expected in (
            "Start here",
            "Settings",
            "reward preset",
            "GRPO steps",
            "Advanced settings",
            "completions per GRPO step",
            "Open a finished run",
        ):
            assert expected in text, expected  # fmt: skip
        _no_cell_error(text)
        assert _trained(runs) == [], "the editor trained before Run was pressed"
        _shot(page, "1-editor-first-open.png")

        run_button.click()
        seen: list[str] = []
        text = _wait_text(page, CARD, timeout=240, seen=seen)
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

    viewer = _Server("run", tmp_path, runs)
    try:
        page.goto(viewer.url)
        page.get_by_role("button", name="Run SFT → GRPO").wait_for(timeout=120_000)
        picker = page.locator("select").filter(
            has=page.locator("option", has_text="train with the settings above")
        )
        options = picker.locator("option").all_inner_texts()
        option = next((o for o in options if "GRPO steps" in o), None)
        assert option is not None, f"the finished run is not offered: {options}"
        picker.select_option(label=option)
        text = _wait_text(page, CARD, timeout=120)
        _no_cell_error(text)
        _wait_drawn(page)
        _shot(page, "4-app-reopened-run.png")
        after = {p: p.stat().st_mtime for p in runs.rglob("metrics.parquet")}
        assert after == before, "reopening a finished run trained again"
    finally:
        viewer.stop()
        page.close()
