"""eemo-rewards: GRPO rewards for image-evoked emotion understanding.

``import eemo_rewards`` uses the standard library only (scipy is imported lazily by the
metrics that need it).
"""

from eemo_rewards._text import completion_text
from eemo_rewards.parsing import ParsedCompletion, parse_completion
from eemo_rewards.rewards.base import RewardFunction, RewardInternalError
from eemo_rewards.rewards.format import FormatReward, format_reward
from eemo_rewards.tasks import TASKS, normalise_task

__version__ = "0.1.0"

__all__ = [
    "TASKS",
    "FormatReward",
    "ParsedCompletion",
    "RewardFunction",
    "RewardInternalError",
    "completion_text",
    "format_reward",
    "normalise_task",
    "parse_completion",
]
