"""The TRL dataset written by ``to_trl_dataset`` trains with TRL's SFT and GRPO trainers."""

from __future__ import annotations

import pytest

pytest.importorskip("polars")
pytest.importorskip("trl")

from eemo_rewards.data.builtin import generate_builtin
from eemo_rewards.data.export import to_trl_dataset
from eemo_rewards.data.qa import generate_qa


@pytest.fixture(scope="module")
def trl_dataset(tmp_path_factory):
    records = generate_builtin(14, image_size=84, cache_dir=tmp_path_factory.mktemp("builtin"))
    qa = generate_qa(records, seed=0, think="cues")
    # One sample per task (and the two-image pair questions) keeps the run short.
    qa = qa.group_by("task", "qtype", maintain_order=True).first()
    return to_trl_dataset(qa)


def test_trl_columns_match_the_trainers_contract(trl_dataset):
    row = trl_dataset[0]
    assert set(trl_dataset.column_names) >= {
        "prompt",
        "images",
        "completion",
        "task",
        "solution",
        "options",
        "dimension",
        "taxonomy",
        "id",
        "image_id",
    }
    for row in trl_dataset:
        content = row["prompt"][0]["content"]
        n_image_parts = sum(part["type"] == "image" for part in content)
        assert n_image_parts == len(row["images"]) in (1, 2)
        assert content[-1]["type"] == "text" and "<answer>" in content[-1]["text"]
        assert row["completion"][0]["role"] == "assistant"
        assert row["completion"][0]["content"].endswith("</answer>")


@pytest.mark.slow
def test_one_sft_step_and_one_grpo_step_run_on_the_dataset(trl_dataset, tmp_path):
    models = pytest.importorskip("eemo_rewards.train.models")
    from trl import GRPOConfig, GRPOTrainer, SFTConfig, SFTTrainer

    from eemo_rewards import format_reward

    bundle = models.build_tiny(
        cache_dir=tmp_path / "model", hidden_size=32, vision_dim=32, image_size=84
    )
    common = dict(
        max_steps=1,
        learning_rate=1e-4,
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        bf16=False,
        dataloader_num_workers=0,
        seed=0,
        logging_steps=1,
    )
    sft = SFTTrainer(
        model=bundle.model,
        args=SFTConfig(
            output_dir=str(tmp_path / "sft"),
            per_device_train_batch_size=4,
            max_length=None,
            **common,
        ),
        train_dataset=trl_dataset,
        processing_class=bundle.processor,
    )
    sft.train()
    assert any("loss" in entry for entry in sft.state.log_history)

    seen: dict[str, list] = {}

    def columns_reward(completions, task, solution, options, **kwargs):
        seen.update(task=list(task), solution=list(solution), options=list(options))
        return [0.0 for _ in completions]

    grpo = GRPOTrainer(
        model=bundle.model,
        reward_funcs=[format_reward, columns_reward],
        args=GRPOConfig(
            output_dir=str(tmp_path / "grpo"),
            per_device_train_batch_size=4,
            num_generations=2,
            max_completion_length=8,
            beta=0.0,
            **common,
        ),
        train_dataset=trl_dataset,
        processing_class=bundle.processor,
    )
    grpo.train()
    assert any("reward" in entry for entry in grpo.state.log_history)
    # The reward columns reached the reward function, one value per completion.
    assert len(seen["task"]) == 4 and set(seen["task"]) <= set(trl_dataset["task"])
    assert all(s in trl_dataset["solution"] for s in seen["solution"])
