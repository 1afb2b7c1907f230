"""One conversion for every notebook and script: a flag → value mapping (what
``marimo.cli_args()`` returns, or a plain dict) into an ``argv`` list for ``argparse``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["flags_to_argv"]


def flags_to_argv(flags: Mapping[str, Any]) -> list[str]:
    """``{"grpo_steps": 5, "tasks": ["a", "b"], "h": ""}`` → ``["--grpo-steps", "5", ...]``.

    Keys may be given with or without leading dashes and with ``_`` or ``-``; a list or
    tuple value repeats the flag once per item; ``h``/``help`` becomes ``--help``.

    Examples
    --------
    >>> flags_to_argv({"grpo_steps": 5, "--eval-rows": 8, "tasks": ["a", "b"]})
    ['--grpo-steps', '5', '--eval-rows', '8', '--tasks', 'a', '--tasks', 'b']
    >>> flags_to_argv({"help": ""})
    ['--help']
    """
    argv: list[str] = []
    for key, value in flags.items():
        name = str(key).lstrip("-").replace("_", "-")
        if name in ("h", "help"):
            argv.append("--help")
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            argv += [f"--{name}", str(item)]
    return argv
