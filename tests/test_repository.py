"""What a clone holds: only the project's own files, nothing a machine made for itself.

A link to a virtual environment elsewhere (``.venv -> /some/venv``) was once committed; a
fresh clone then had a ``.venv`` the README's first command could not create, and CI failed
in its first second. These checks read the index, so they need a git checkout (an unpacked
source archive skips them).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=60
        )
    except FileNotFoundError:
        pytest.skip("git is not installed")
    if done.returncode != 0:
        pytest.skip(f"not a git checkout: {done.stderr.strip()[:200]}")
    return done.stdout


def _links(listing: str) -> list[tuple[str, str]]:
    """(path, target) of every symbolic link in ``git ls-files -s`` output."""
    out = []
    for line in listing.splitlines():
        meta, path = line.split("\t", 1)
        mode, blob = meta.split()[:2]
        if mode == "120000":
            out.append((path, blob))
    return out


def test_every_committed_link_points_inside_the_repository():
    outside = []
    for path, blob in _links(_git("ls-files", "-s")):
        target = _git("cat-file", "-p", blob)
        resolved = Path(os.path.normpath(ROOT / Path(path).parent / target))
        if os.path.isabs(target) or not resolved.is_relative_to(ROOT):
            outside.append(f"{path} -> {target}")
    assert not outside, f"committed links that leave the repository: {outside} (git rm --cached)"


def test_no_committed_file_is_one_the_project_ignores():
    tracked = _git("ls-files", "-ci", "--exclude-standard").split()
    assert not tracked, f"tracked yet ignored by .gitignore: {tracked} (git rm --cached)"


def test_the_link_check_sees_a_link_out_of_the_repository():
    listing = "120000 abc 0\t.venv\n100644 def 0\tREADME.md\n"
    assert _links(listing) == [(".venv", "abc")]
