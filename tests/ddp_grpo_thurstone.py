"""A one-step GRPO run whose reward is the Thurstone reward, for ``accelerate launch`` with
``configs/accelerate/cpu_2proc.yaml`` (tests/test_distributed.py starts it).

A random-initialised tiny model's completions carry no score, so each rollout answers a
valence derived from its own text (rollouts differ, the truth is the row's): the Thurstone
reward then ranks real, varied values, inside TRL's own reward call, with the batch split
between the processes as TRL splits it. Each process writes what its reward saw and scored;
the first also writes the trainer's log history.

    accelerate launch --config_file configs/accelerate/cpu_2proc.yaml \\
        tests/ddp_grpo_thurstone.py OUT_DIR MODEL_CACHE
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

from trl import GRPOTrainer

from eemo_rewards._text import completion_text
from eemo_rewards.rewards.thurstone import ThurstoneReward
from eemo_rewards.train._testing import toy_dataset
from eemo_rewards.train.grpo import grpo_config
from eemo_rewards.train.models import load_model


class RecordedThurstone:
    """The Thurstone reward on answers derived from each completion, keeping every batch."""

    __name__ = "thurstone_reward"

    def __init__(self):
        self.reward = ThurstoneReward()
        self.batches = []

    def __call__(self, prompts=None, completions=None, completion_ids=None, **columns):
        answers = [
            "<think>t</think><answer>valence: "
            f"{(zlib.crc32(completion_text(c).encode()) % 101) / 100:.2f}</answer>"
            for c in completions
        ]
        scores = self.reward(prompts=prompts, completions=answers, **columns)
        self.batches.append(
            {
                "completions": answers,
                **{k: list(columns[k]) for k in ("image_id", "solution", "task")},
                "scores": scores,
            }
        )
        return scores


def main(out: str, cache: str) -> None:
    values = [0.15, 0.35, 0.55, 0.8]
    data = toy_dataset(4).map(
        lambda row, i: {"task": "assessment", "solution": f"valence: {values[i]}"},
        with_indices=True,
    )
    bundle = load_model("tiny", cache_dir=cache, hidden_size=32, vision_dim=32, image_size=56)
    args = grpo_config(
        Path(out) / "run",
        max_steps=1,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=8,
        learning_rate=1e-4,
        warmup_steps=0,
        logging_steps=1,
        save_steps=10,
    )
    reward = RecordedThurstone()
    trainer = GRPOTrainer(
        model=bundle.model,
        reward_funcs=[reward],
        args=args,
        train_dataset=data,
        processing_class=bundle.processor,
    )
    trainer.train()
    rank = trainer.accelerator.process_index
    (Path(out) / f"rank{rank}.json").write_text(json.dumps(reward.batches))
    if rank == 0:
        (Path(out) / "log_history.json").write_text(json.dumps(trainer.state.log_history))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
