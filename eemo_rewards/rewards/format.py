"""Format reward: does the completion follow ``<think>…</think><answer>…</answer>``?"""

from __future__ import annotations

from typing import Any

from eemo_rewards.parsing import ParsedCompletion
from eemo_rewards.rewards.base import RewardFunction

__all__ = ["FormatReward", "format_reward"]


class FormatReward(RewardFunction):
    """1.0 for a well-formed completion, else 0.0 (or partial credit).

    Well formed means exactly one ``<think>…</think>`` (the opening tag may be pre-filled by
    the chat template) followed by exactly one non-empty ``<answer>…</answer>``, with nothing
    but whitespace around and between them (see :func:`~eemo_rewards.parse_completion`).

    Parameters
    ----------
    partial : bool, default False
        Give a quarter of the credit for each check passed: one think block, one non-empty
        answer block, nothing before or between them, nothing after ``</answer>``. A
        malformed completion never reaches 1.0.
    allow_prefilled_think : bool, default True
        Accept completions that start inside a think block the template opened.

    Examples
    --------
    >>> format_reward(completions=["<think>warm light</think><answer>joy</answer>", "joy"])
    [1.0, 0.0]
    >>> FormatReward(partial=True).score("<think>warm</think><answer>joy</answer> ok?")
    0.75
    """

    default_name = "format_reward"

    def __init__(self, *, partial: bool = False, allow_prefilled_think: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.partial = partial
        self.allow_prefilled_think = allow_prefilled_think

    def _score(self, parsed: ParsedCompletion, solution: Any, **_: Any) -> float:
        if parsed.prefilled_think and not self.allow_prefilled_think:
            return 0.0 if not self.partial else 0.25 * sum(parsed.checks[1:])
        if parsed.ok:
            return 1.0
        if self.partial:
            return min(0.25 * sum(parsed.checks), 0.75)
        return 0.0


format_reward = FormatReward()
