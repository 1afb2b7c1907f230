"""A few-row dataset in the data layer's TRL shape, for the training layer's own tests and
doctests (the real data comes from :mod:`eemo_rewards.data`).

Each row asks for the emotion of a plain coloured square (warm colours → joy, cool →
sadness), or a yes/no question about it, with the columns ``to_trl_dataset`` writes:
``prompt`` (conversational, one image part), ``images``, ``completion``, ``task``,
``solution``, ``options``, ``image_id``.
"""

from __future__ import annotations

from typing import Any

from eemo_rewards._text import completion_text
from eemo_rewards.rewards.base import RewardFunction

__all__ = ["LengthReward", "toy_dataset"]

_COLOURS = {
    "red": ((220, 40, 40), "joy"),
    "orange": ((240, 150, 40), "joy"),
    "blue": ((40, 60, 220), "sadness"),
    "grey": ((120, 120, 140), "sadness"),
}


def toy_dataset(n: int = 16, *, image_size: int = 64, seed: int = 0) -> Any:
    """``n`` rows alternating the ``emotion`` and ``yes_no`` tasks.

    Examples
    --------
    >>> ds = toy_dataset(4)
    >>> ds[0]["task"], ds[0]["solution"], ds[1]["task"], ds[1]["options"]
    ('emotion', 'sadness', 'yes_no', ['No', 'Yes'])
    """
    import numpy as np
    from datasets import Dataset
    from PIL import Image

    rng = np.random.default_rng(seed)
    names = list(_COLOURS)
    rows: dict[str, list[Any]] = {
        "prompt": [],
        "images": [],
        "completion": [],
        "task": [],
        "solution": [],
        "options": [],
        "image_id": [],
    }
    for i in range(n):
        name = names[int(rng.integers(len(names)))]
        rgb, emotion = _COLOURS[name]
        image = Image.new("RGB", (image_size, image_size), rgb)
        if i % 2 == 0:
            question = "What emotion does this image evoke? Answer with one emotion."
            task, solution, options, answer = "emotion", emotion, None, emotion
        else:
            question = "Is the image positive? Options: A. No B. Yes"
            positive = emotion == "joy"
            task, solution, options = "yes_no", "yes" if positive else "no", ["No", "Yes"]
            answer = "B" if positive else "A"
        think = f"the image is {name}"
        rows["prompt"].append(
            [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
        )
        rows["images"].append([image])
        rows["completion"].append(
            [
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": f"<think>{think}</think><answer>{answer}</answer>"}
                    ],
                }
            ]
        )
        rows["task"].append(task)
        rows["solution"].append(solution)
        rows["options"].append(options)
        rows["image_id"].append(f"toy-{i}")
    return Dataset.from_dict(rows)


class LengthReward(RewardFunction):
    """A reward that moves the weights of a random-initialised model from the first step.

    The project's rewards pay only well-formed answers, which a random model never writes, so
    every group has zero spread and GRPO changes nothing. This one pays the completion's
    length in characters (divided by 100, capped at 1): sampled completions differ in
    length, so every group has spread and every step updates the weights. Tests of resume
    and checkpoints need that: they compare weights that must actually have moved.

    Examples
    --------
    >>> LengthReward()(completions=["ab", "a" * 250])
    [0.02, 1.0]
    """

    default_name = "length_reward"
    low, high = 0.0, 1.0

    def score(self, completion: Any, solution: Any = None, **columns: Any) -> float:
        return min(len(completion_text(completion)) / 100.0, 1.0)
