"""A naive emotion reward of the kind many GRPO scripts start with: 1.0 when the true label
appears anywhere in the answer, case-insensitively.

It follows TRL's contract (``completions`` plus the ``solution`` column), runs, and looks
right on a few hand-made examples; the audit shows what a policy can learn from it::

    python -m eemo_rewards.audit examples/naive_substring_reward.py:substring_reward --task emotion
"""

import re

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def substring_reward(completions, solution, **kwargs):
    """1.0 when ``solution`` is a substring of the answer block (or of the whole completion
    when it has none), else 0.0."""
    rewards = []
    for completion, truth in zip(completions, solution, strict=True):
        text = completion if isinstance(completion, str) else completion[0]["content"]
        found = _ANSWER.search(text)
        answer = found.group(1) if found else text
        rewards.append(1.0 if str(truth).lower() in answer.lower() else 0.0)
    return rewards
