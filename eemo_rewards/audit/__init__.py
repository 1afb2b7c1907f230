"""Audit any reward before spending a GPU on it, and watch for reward hacking while it trains.

- :func:`audit` (``python -m eemo_rewards.audit MODULE_OR_FILE:FUNCTION``): for any
  TRL-contract reward function, four checks with a verdict each: **gaming** (hacks against
  a well-formed wrong answer of the same sample), **separation** (AUC of correct against
  wrong answers, built-in and real EEmo-Bench ones), **signal** (zero-spread GRPO groups at
  group size G; the spread between right and wrong), **totality and speed** (odd shapes,
  None, NaN, 1 MB inputs; completions per second; growth from 10 kB to 1 MB), and a
  report in markdown and self-contained HTML (:mod:`~eemo_rewards.audit.report`).
- :class:`~eemo_rewards.audit.monitor.HackingMonitor`: a ``transformers.TrainerCallback``
  that flags the signatures of reward hacking in the logged completions as they happen;
  its logic (:class:`~eemo_rewards.audit.signals.HackingSignals`) also reads the samples
  that verl dumps (:func:`~eemo_rewards.audit.signals.read_verl_rollouts`) and the
  project's run folders (:func:`~eemo_rewards.audit.signals.run_signals`).

Needs the ``[notebooks]`` extra (polars, altair); the monitor also needs transformers.
``import eemo_rewards`` never imports this package.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AuditResult", "HackingMonitor", "HackingSignals", "audit"]


def __getattr__(name: str) -> Any:
    # the audit needs polars and the monitor transformers: each is imported when asked for
    if name in ("audit", "AuditResult"):
        from eemo_rewards.audit import core

        return getattr(core, name)
    if name == "HackingMonitor":
        from eemo_rewards.audit.monitor import HackingMonitor

        return HackingMonitor
    if name == "HackingSignals":
        from eemo_rewards.audit.signals import HackingSignals

        return HackingSignals
    raise AttributeError(f"module 'eemo_rewards.audit' has no attribute {name!r}")
