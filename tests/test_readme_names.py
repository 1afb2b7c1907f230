"""Every name the README shows exists where the README says: its ``from … import …`` lines
and its dotted ``eemo_rewards.…`` names. A move that forgets a re-export fails here."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _from_imports() -> list[tuple[str, str]]:
    pairs = []
    for module, names in re.findall(r"from (eemo_rewards[\w.]*) import ([\w, ]+)", README):
        pairs += [(module, n.strip()) for n in names.split(",") if n.strip()]
    return sorted(set(pairs))


def _dotted() -> list[str]:
    found = set(re.findall(r"\b(eemo_rewards(?:\.\w+)+)", README))
    return sorted(n.rstrip(".") for n in found if not n.endswith((".py", ".json", ".html")))


def _resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


@pytest.mark.parametrize(("module", "name"), _from_imports())
def test_readme_from_imports_resolve(module, name):
    pytest.importorskip("trl") if ".train" in module else None
    assert hasattr(importlib.import_module(module), name), f"from {module} import {name}"


@pytest.mark.parametrize("dotted", _dotted())
def test_readme_dotted_names_resolve(dotted):
    if any(part in dotted for part in (".train", ".data", ".analysis", ".report")):
        pytest.importorskip("polars")
        pytest.importorskip("trl")
    _resolve(dotted)


def test_readme_names_some_of_each_kind():
    # the parsers above must keep finding what the README shows (a format change would
    # otherwise make every test above vacuous)
    assert len(_from_imports()) >= 8 and len(_dotted()) >= 3
