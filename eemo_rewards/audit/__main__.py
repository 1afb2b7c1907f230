"""Command line: ``python -m eemo_rewards.audit MODULE_OR_FILE:FUNCTION [options]``.

Prints the one-line summary and each check's findings, writes the report (``audit.md``,
``audit.html``, ``audit.json``) into ``--out``, and exits 1 when a check fails, so that a
training script can refuse to start on a reward that fails::

    python -m eemo_rewards.audit my_reward.py:reward --task emotion --group-size 8 && \\
        python train.py
"""

from __future__ import annotations

import argparse
import sys

from eemo_rewards.audit.core import AUDIT_TASKS, DEFAULT_REFERENCE, audit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eemo_rewards.audit",
        description="Audit a TRL-contract reward: gaming, separation, signal, totality and speed.",
    )
    parser.add_argument(
        "reward",
        help="MODULE:FUNCTION (e.g. trl.rewards:think_format_reward), FILE.py:FUNCTION, or "
        "preset:NAME (this project's spec presets)",
    )
    parser.add_argument(
        "--task",
        nargs="+",
        choices=AUDIT_TASKS,
        default=None,
        help="tasks to audit (default: every task the reward scores)",
    )
    parser.add_argument(
        "--group-size", type=int, default=8, help="GRPO generations per prompt (default 8)"
    )
    parser.add_argument(
        "--out",
        default="reports/audit",
        help="folder of the report (default reports/audit); 'none' writes none",
    )
    parser.add_argument(
        "--shape",
        choices=("auto", "text", "messages"),
        default="auto",
        help="completions as strings or message lists (default: what it accepts)",
    )
    parser.add_argument(
        "--range",
        nargs=2,
        type=float,
        metavar=("LOW", "HIGH"),
        default=None,
        help="the reward's range, when it declares none (low/high attributes)",
    )
    parser.add_argument(
        "--images",
        type=int,
        default=24,
        help="built-in images the questions come from (default 24)",
    )
    parser.add_argument(
        "--reference",
        default=str(DEFAULT_REFERENCE),
        help="folder of EEmo-Bench's real answers ('none' to skip them)",
    )
    args = parser.parse_args(argv)
    if args.group_size < 2:
        parser.error("--group-size must be at least 2")
    reference = None if args.reference.strip().lower() == "none" else args.reference
    try:
        result = audit(
            args.reward,
            tasks=args.task,
            group_size=args.group_size,
            n_images=args.images,
            reference=reference,
            shape=args.shape,
            value_range=tuple(args.range) if args.range else None,
        )
    except (ValueError, ImportError, AttributeError, FileNotFoundError, TypeError) as exc:
        print(f"cannot audit {args.reward}: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    for name, check in result.checks.items():
        for finding in check.findings:
            print(f"  {name}: {finding}")
    for note in result.notes:
        print(f"  note: {note}")
    if args.out.strip().lower() != "none":
        paths = result.save(args.out)
        print(f"report: {paths['html']} and {paths['markdown']}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
