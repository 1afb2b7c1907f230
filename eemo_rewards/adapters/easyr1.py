"""EasyR1 adapter: a batch reward-function module.

EasyR1 is not published on PyPI; this module follows the contract of its public repository
(``verl/workers/reward/``, read 2026-12): ``worker.reward.reward_function`` names a file and
a function as ``PATH:NAME``, and a relative ``PATH`` is looked up from the working
directory, so give the absolute path::

    worker.reward.reward_function=$(python -c "import eemo_rewards.adapters.easyr1 as m; \
        print(m.__file__)"):compute_score
    worker.reward.reward_function_kwargs.spec=soft           # optional

EasyR1 reads :data:`REWARD_NAME` and :data:`REWARD_TYPE` (``"batch"``) from the module and
calls ``compute_score(reward_inputs, **reward_function_kwargs)`` where each input is
``{"response": str, "response_length": int, "ground_truth": str}``; the ground truth is the
dataset's ``answer_key`` column (``answer`` by default). Write the data with
:func:`eemo_rewards.data.export.to_easyr1_parquet`: its ``answer`` column is the JSON label
``{"task", "solution", "options", ...}`` this adapter reads (a plain solution works too; a
label without a task is left to the composite). Each result is ``{"overall": float,
<term>: float, ...}`` with the same keys for every input (a term that does not apply to the
task reports ``fallback``, 0.0), plus the 0/1 flags of what was read (``commits``,
``zero/malformed``, ``zero/uncommitted``, ``zero/wrong``).

``reward_function_kwargs`` may set ``spec`` (a preset name, a :class:`RewardSpec`, its
dict/JSON form or a spec file path) and ``fallback``; any other key is an error (a misspelt
key would otherwise be ignored silently).

EasyR1 decodes responses with ``worker.reward.skip_special_tokens=true`` by default: with a
tokenizer that registers ``<think>``/``<answer>`` as special tokens, set it to ``false``
(the adapter warns once when a whole batch holds no tag); the end-of-turn token such a
decoding leaves at the end of each response is removed before scoring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eemo_rewards.adapters import (
    TagWatch,
    composite_for,
    decode_label,
    sample_logs,
    score_sample,
    strip_end_tokens,
)
from eemo_rewards.spec import RewardSpec

__all__ = ["REWARD_NAME", "REWARD_TYPE", "compute_score"]

REWARD_NAME = "eemo"
REWARD_TYPE = "batch"

_watch = TagWatch(
    "EasyR1", fix="set worker.reward.skip_special_tokens=false so that the tags are kept"
)


def compute_score(
    reward_inputs: Sequence[Mapping[str, Any]],
    spec: RewardSpec | Mapping[str, Any] | str | None = None,
    fallback: float = 0.0,
    **kwargs: Any,
) -> list[dict[str, float]]:
    """Score a batch of EasyR1 reward inputs.

    Examples
    --------
    >>> out = compute_score([{"response": "<think>warm</think><answer>joy</answer>",
    ...                       "response_length": 9, "ground_truth": "joy"}], spec="format_only")
    >>> out[0]["overall"], out[0]["format_reward"], out[0]["commits"]
    (1.0, 1.0, 1.0)
    """
    if kwargs:
        raise TypeError(
            f"unknown reward_function_kwargs {sorted(kwargs)} for eemo_rewards' EasyR1 "
            "compute_score; it reads ['spec', 'fallback'] (e.g. "
            "worker.reward.reward_function_kwargs.spec=soft)"
        )
    if isinstance(reward_inputs, Mapping):
        raise TypeError(
            "compute_score expects a list of reward inputs (REWARD_TYPE = 'batch'), got one "
            "dict; wrap it in a list"
        )
    composite = composite_for(spec, fallback=fallback)
    results = []
    for i, item in enumerate(reward_inputs):
        if not isinstance(item, Mapping):
            raise TypeError(
                f"reward input {i} is a {type(item).__name__}; EasyR1 passes dicts with "
                "'response', 'response_length' and 'ground_truth'"
            )
        response = strip_end_tokens(item.get("response"))
        label = decode_label(item.get("ground_truth"))
        total, parts = score_sample(composite, response, label)
        results.append(
            {"overall": total, **parts, **sample_logs(composite, response, label, total)}
        )
    _watch.observe(item.get("response") for item in reward_inputs)
    return results
