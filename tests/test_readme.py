"""The README's quickstart is what CI and users run: keep it true."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the Quickstart section must hold one ```bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quickstart_is_exactly_two_commands():
    assert len(_quickstart_commands()) == 2


def test_ci_runs_the_readme_test_command_verbatim():
    test_command = _quickstart_commands()[1]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci, "the README's test command must appear verbatim in .ci/run"


def test_quickstart_installs_the_cpu_torch_pin_and_the_project():
    for command in _quickstart_commands():
        assert "torch==2.13.0" in command
        assert "-e '.[all]'" in command
