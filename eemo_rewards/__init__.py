"""eemo-rewards: GRPO rewards for image-evoked emotion understanding.

``import eemo_rewards`` uses the standard library only (scipy is imported lazily by the
metrics that need it). The ready-made rewards follow TRL's reward-function contract and can
be passed to ``GRPOTrainer(reward_funcs=[...])`` as they are; adapters for verl, OpenRLHF,
EasyR1 and ms-swift live in :mod:`eemo_rewards.adapters`.
"""

from eemo_rewards import answers, metrics
from eemo_rewards._text import completion_text
from eemo_rewards.answers import (
    choose_option,
    extract_choice,
    normalise_options,
    parse_comparison,
    parse_ranking,
    parse_scores,
    read_label,
    read_yes_no,
)
from eemo_rewards.answers.tasks import TaskInferenceError, infer_task
from eemo_rewards.parsing import ParsedCompletion, parse_completion
from eemo_rewards.rewards.accuracy import AccuracyReward, accuracy_reward, soft_reward_matrix
from eemo_rewards.rewards.base import RewardFunction, RewardInternalError
from eemo_rewards.rewards.composite import CompositeReward
from eemo_rewards.rewards.consistency import ConsistencyReward
from eemo_rewards.rewards.format import FormatReward, format_reward
from eemo_rewards.rewards.intensity import IntensityReward, intensity_reward
from eemo_rewards.rewards.ranking import RankingReward, ranking_reward
from eemo_rewards.rewards.thurstone import ThurstoneReward, thurstone_reward
from eemo_rewards.spec import (
    RewardSpec,
    RewardTerm,
    default_spec,
    known_rewards,
    preset,
    register_reward,
)
from eemo_rewards.tasks import TASKS, normalise_task
from eemo_rewards.taxonomy import (
    TAXONOMIES,
    Taxonomy,
    emotion_similarity,
    get_taxonomy,
    vad_norms,
)

__version__ = "0.1.0"

__all__ = [
    "TASKS",
    "TAXONOMIES",
    "AccuracyReward",
    "CompositeReward",
    "ConsistencyReward",
    "FormatReward",
    "IntensityReward",
    "ParsedCompletion",
    "RankingReward",
    "RewardFunction",
    "RewardInternalError",
    "RewardSpec",
    "RewardTerm",
    "TaskInferenceError",
    "Taxonomy",
    "ThurstoneReward",
    "accuracy_reward",
    "answers",
    "choose_option",
    "completion_text",
    "default_spec",
    "emotion_similarity",
    "extract_choice",
    "format_reward",
    "get_taxonomy",
    "infer_task",
    "intensity_reward",
    "known_rewards",
    "metrics",
    "normalise_options",
    "normalise_task",
    "parse_comparison",
    "parse_completion",
    "parse_ranking",
    "parse_scores",
    "preset",
    "ranking_reward",
    "read_label",
    "read_yes_no",
    "register_reward",
    "soft_reward_matrix",
    "thurstone_reward",
    "vad_norms",
]
