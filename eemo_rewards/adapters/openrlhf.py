"""OpenRLHF adapter: a reward-function file for ``--remote_rm_url``.

Use this module's file as the reward function (with ``--label_key`` naming the column that
holds the ground truth)::

    --remote_rm_url $(python -c "import eemo_rewards.adapters.openrlhf as m; print(m.__file__)")
    --label_key label

OpenRLHF calls ``reward_func(queries, prompts, labels)`` with ``queries`` = prompt + response
as decoded text (special tokens included). The response is recovered by removing the prompt:

1. if the query starts with the prompt, the rest is the response;
2. else, if the prompt occurs inside the query (a BOS token or a system header added in
   front), the text after its last occurrence is the response;
3. else the text after the last assistant-turn marker of a known chat template
   (:data:`ASSISTANT_MARKERS`) is the response; failing that the whole query is scored and
   a warning says so once (the completion then usually fails the format check, which is
   the honest outcome for text we cannot delimit).

End-of-turn and padding tokens (:data:`END_MARKERS`) trailing the response are removed, since
the answer scheme rejects text after ``</answer>``.

Labels are JSON strings ``{"task": ..., "solution": ..., "options": ...}`` or plain
solutions. The result is ``{"rewards", "scores", "extra_logs"}``: ``rewards`` and ``scores``
are the composite score per query (torch tensors; torch is imported inside the function),
``extra_logs`` holds one tensor per reward term (a term that does not apply reports
``fallback``, 0.0).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from eemo_rewards.adapters import composite_for, decode_label, score_sample
from eemo_rewards.spec import RewardSpec

__all__ = [
    "ASSISTANT_MARKERS",
    "END_MARKERS",
    "OpenRLHFRewardFunc",
    "make_reward_func",
    "response_from_query",
    "reward_func",
]

ASSISTANT_MARKERS = (
    "<|im_start|>assistant",  # ChatML: Qwen, SmolLM
    "<|start_header_id|>assistant<|end_header_id|>",  # Llama 3
    "<start_of_turn>model",  # Gemma
    "<|assistant|>",  # Phi, Zephyr
    "[/INST]",  # Llama 2, Mistral
)
END_MARKERS = (
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<end_of_turn>",
    "<|end|>",
    "</s>",
    "<eos>",
    "<pad>",
    "<|pad|>",
)

_warned: set[str] = set()


def response_from_query(query: str, prompt: str | None) -> str:
    """The response part of an OpenRLHF query (prompt + response), without end tokens.

    Examples
    --------
    >>> response_from_query("<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n"
    ...                     "<think>a</think><answer>joy</answer><|im_end|>",
    ...                     "<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n")
    '<think>a</think><answer>joy</answer>'
    >>> response_from_query("<s>Q: hi A: yes</s>", "Q: hi A:")
    ' yes'
    """
    if not isinstance(query, str):
        query = "" if query is None else str(query)
    response = None
    if prompt:
        if query.startswith(prompt):
            response = query[len(prompt) :]
        else:
            at = query.rfind(prompt)
            if at >= 0:
                response = query[at + len(prompt) :]
    if response is None:
        best = -1
        for marker in ASSISTANT_MARKERS:
            at = query.rfind(marker)
            if at >= 0 and at + len(marker) > best:
                best = at + len(marker)
        if best >= 0:
            response = query[best:]
        else:
            if prompt and "prompt-not-found" not in _warned:
                _warned.add("prompt-not-found")
                warnings.warn(
                    "OpenRLHF query does not contain its prompt and has no known assistant "
                    "marker; scoring the whole query. Pass prompts exactly as generated, or "
                    "extend eemo_rewards.adapters.openrlhf.ASSISTANT_MARKERS.",
                    UserWarning,
                    stacklevel=3,
                )
            response = query
    return _strip_end_markers(response)


def _strip_end_markers(text: str) -> str:
    end = len(text)
    # a response often ends with several markers (e.g. "<|im_end|>\n<|endoftext|>")
    while True:
        stripped = text[:end].rstrip()
        for marker in END_MARKERS:
            if stripped.endswith(marker):
                end = len(stripped) - len(marker)
                break
        else:
            return text[:end]


class OpenRLHFRewardFunc:
    """OpenRLHF's ``reward_func`` bound to a reward spec.

    Parameters
    ----------
    spec : RewardSpec, preset name or None
        ``None`` is :func:`~eemo_rewards.spec.default_spec`.
    fallback : float, default 0.0
        The score of a sample no term applies to.
    """

    def __init__(self, spec: RewardSpec | str | None = None, *, fallback: float = 0.0):
        self.spec = spec
        self.fallback = float(fallback)
        self.__name__ = "reward_func"

    def __call__(
        self,
        queries: Sequence[Any],
        prompts: Sequence[Any] | None = None,
        labels: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        import torch  # OpenRLHF always has torch; the core package does not need it

        n = len(queries)
        prompts = [None] * n if prompts is None else list(prompts)
        labels = [None] * n if labels is None else list(labels)
        if len(prompts) != n or len(labels) != n:
            raise ValueError(
                f"reward_func got {n} queries, {len(prompts)} prompts and {len(labels)} "
                "labels; pass one prompt and one label per query"
            )
        composite = composite_for(self.spec, fallback=self.fallback)
        names = composite.component_names()
        totals: list[float] = []
        logs: dict[str, list[float]] = {name: [] for name in names}
        for query, prompt, label in zip(queries, prompts, labels, strict=True):
            response = response_from_query(query, prompt)
            total, parts = score_sample(composite, response, decode_label(label))
            totals.append(total)
            for name in names:
                logs[name].append(parts[name])
        rewards = torch.tensor(totals, dtype=torch.float32)
        return {
            "rewards": rewards,
            "scores": rewards.clone(),
            "extra_logs": {k: torch.tensor(v, dtype=torch.float32) for k, v in logs.items()},
        }


def make_reward_func(spec: RewardSpec | str | None = None, *, fallback: float = 0.0):
    """An OpenRLHF ``reward_func`` for ``spec``; assign it to ``reward_func`` in your file."""
    return OpenRLHFRewardFunc(spec, fallback=fallback)


reward_func = OpenRLHFRewardFunc()
"""The default spec's reward function, the name OpenRLHF looks up in this file."""
