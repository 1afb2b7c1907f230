"""The package's layers (``../shared/DESIGN.md``): each imports only the layers above it, and
the module-level imports have no cycle. Read from the source, so it needs nothing installed.

A move that breaks this (say the study runner importing the analysis tables, or a reward
importing the training layer) fails here with the offending import named.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "eemo_rewards"
ORDER = [
    "core",
    "answers",
    "judges",
    "rewards",
    "spec",
    "adapters",
    "serve",
    "data",
    "train",
    "analysis",
    "bench",
    "report",
    # the audit renders its report with report.standalone and scores the analysis pools
    "audit",
]


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ORDER else "core"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(path: Path, *, top_level_only: bool) -> list[str]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    out = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
        elif isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
    return [name for name in out if name.split(".")[0] == "eemo_rewards"]


def test_no_layer_imports_a_layer_below_it():
    upward = []
    for module, path in _modules().items():
        if module == "eemo_rewards":  # the package's face re-exports the reward core
            continue
        for name in _imports(path, top_level_only=False):
            if ORDER.index(_layer(name)) > ORDER.index(_layer(module)):
                upward.append(f"{module} imports {name}")
    assert not upward, upward


def test_module_level_imports_have_no_cycle():
    modules = _modules()
    graph = {
        m: {n for n in _imports(p, top_level_only=True) if n in modules and n != m}
        for m, p in modules.items()
    }
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                raise AssertionError(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            if nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for module in graph:
        if module not in state:
            visit(module, [module])
