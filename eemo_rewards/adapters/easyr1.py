"""EasyR1 adapter: a batch reward-function module.

Point EasyR1's reward at this file's ``compute_score``::

    worker.reward.reward_function=<path of eemo_rewards/adapters/easyr1.py>:compute_score

EasyR1 reads :data:`REWARD_NAME` and :data:`REWARD_TYPE` (``"batch"``) from the module and
calls ``compute_score(reward_inputs, **reward_function_kwargs)`` where each input is
``{"response": str, "response_length": int, "ground_truth": str}``. The ground truth is a JSON
string ``{"task": ..., "solution": ..., "options": ...}`` or the plain solution. Each result
is ``{"overall": float, <term>: float, ...}`` with the same keys for every input (a term that
does not apply to the task reports ``fallback``, 0.0).

``reward_function_kwargs`` may set ``spec`` (a preset name, a :class:`RewardSpec` or its
dict/JSON form) and ``fallback``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eemo_rewards.adapters import composite_for, decode_label, score_sample
from eemo_rewards.spec import RewardSpec

__all__ = ["REWARD_NAME", "REWARD_TYPE", "compute_score"]

REWARD_NAME = "eemo"
REWARD_TYPE = "batch"


def compute_score(
    reward_inputs: Sequence[Mapping[str, Any]],
    spec: RewardSpec | Mapping[str, Any] | str | None = None,
    fallback: float = 0.0,
    **kwargs: Any,
) -> list[dict[str, float]]:
    """Score a batch of EasyR1 reward inputs.

    Examples
    --------
    >>> compute_score([{"response": "<think>warm</think><answer>joy</answer>",
    ...                 "response_length": 9, "ground_truth": "joy"}], spec="format_only")
    [{'overall': 1.0, 'format_reward': 1.0}]
    """
    if isinstance(reward_inputs, Mapping):
        raise TypeError(
            "compute_score expects a list of reward inputs (REWARD_TYPE = 'batch'), got one "
            "dict; wrap it in a list"
        )
    if isinstance(spec, str) and spec.lstrip().startswith("{"):
        spec = RewardSpec.from_json(spec)
    elif isinstance(spec, Mapping):
        spec = RewardSpec.from_dict(spec)
    composite = composite_for(spec, fallback=fallback)
    results = []
    for i, item in enumerate(reward_inputs):
        if not isinstance(item, Mapping):
            raise TypeError(
                f"reward input {i} is a {type(item).__name__}; EasyR1 passes dicts with "
                "'response', 'response_length' and 'ground_truth'"
            )
        total, parts = score_sample(
            composite, item.get("response"), decode_label(item.get("ground_truth"))
        )
        results.append({"overall": total, **parts})
    return results
