"""Config builders and the checks that stop a bad run before any training starts."""

from __future__ import annotations

import pytest

pytest.importorskip("trl")

from eemo_rewards.spec import RewardSpec, RewardTerm
from eemo_rewards.train._testing import toy_dataset
from eemo_rewards.train.common import TrainingSetupError, prompt_length
from eemo_rewards.train.grpo import (
    GRPO_DEFAULTS,
    _spec,
    grpo_config,
    train_grpo,
    validate_grpo,
)
from eemo_rewards.train.models import load_model
from eemo_rewards.train.sft import sft_config, train_sft, validate_sft

SMALL = {"hidden_size": 32, "vision_dim": 32, "image_size": 56}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def tiny(cache):
    return load_model("tiny", cache_dir=cache, **SMALL)


@pytest.fixture(scope="module")
def data():
    return toy_dataset(8)


def _args(tmp_path, **kw):
    settings = {"per_device_train_batch_size": 8, "num_generations": 4, "max_steps": 2}
    return grpo_config(tmp_path / "run", **{**settings, **kw})


def test_grpo_config_defaults_are_cpu_safe(tmp_path, tiny):
    args = grpo_config(tmp_path, bundle=tiny)
    assert args.use_cpu and not args.bf16
    assert not args.gradient_checkpointing
    assert args.beta == GRPO_DEFAULTS["beta"] == 0.0
    assert args.output_dir == str(tmp_path)
    assert args.generation_batch_size % args.num_generations == 0


def test_generations_not_dividing_the_batch_stop_early(tmp_path, monkeypatch):
    with pytest.raises(TrainingSetupError, match=r"per_device_train_batch_size in \[6, 12"):
        grpo_config(tmp_path, num_generations=6, per_device_train_batch_size=8)
    # two processes of 3 completions make a batch of 6: whole groups of 6
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(TrainingSetupError, match="generation batch of 6"):
        grpo_config(tmp_path, num_generations=4, per_device_train_batch_size=3)
    with pytest.raises(TrainingSetupError, match="2 or more"):
        grpo_config(tmp_path, num_generations=1, per_device_train_batch_size=8)


def test_unknown_settings_are_named(tmp_path):
    with pytest.raises(TrainingSetupError, match="num_generation'"):
        grpo_config(tmp_path, num_generation=4)
    with pytest.raises(TrainingSetupError, match="max_stepz"):
        sft_config(tmp_path, max_stepz=4)


def test_unknown_reward_is_reported_before_training(tmp_path, tiny, data):
    with pytest.raises(TrainingSetupError, match="acuracy"):
        _spec(["format", "acuracy"])
    with pytest.raises(TrainingSetupError, match="preset"):
        _spec("no_such_preset")
    with pytest.raises(TrainingSetupError, match="acuracy"):
        train_grpo(tiny, data, spec=["acuracy"], args=_args(tmp_path))
    assert not (tmp_path / "run").exists(), "nothing may be written before the checks pass"


def test_task_no_reward_scores_is_reported(tmp_path, tiny, data):
    only_emotion = RewardSpec([RewardTerm("accuracy", tasks=["emotion"])])
    with pytest.raises(TrainingSetupError, match=r"yes_no"):
        validate_grpo(tiny, data, only_emotion, _args(tmp_path))


def test_missing_columns_are_named(tmp_path, tiny, data):
    with pytest.raises(TrainingSetupError, match=r"\['prompt'\]"):
        validate_grpo(tiny, data.remove_columns("prompt"), None, _args(tmp_path))
    with pytest.raises(TrainingSetupError, match="solution"):
        validate_grpo(tiny, data.remove_columns("solution"), None, _args(tmp_path))
    # a format-only spec needs no solution
    validate_grpo(tiny, data.remove_columns("solution"), "format_only", _args(tmp_path))
    with pytest.raises(TrainingSetupError, match="completion"):
        validate_sft(tiny, data.remove_columns("completion"), sft_config(tmp_path))
    with pytest.raises(TrainingSetupError, match="empty"):
        validate_sft(tiny, data.select([]), sft_config(tmp_path))


def test_image_too_large_for_the_context_stops_before_training(tmp_path, cache, data):
    # 40x40 tiles of 28 px = 1600 image tokens, more than a 1024-token context
    big = load_model("tiny", cache_dir=cache, hidden_size=32, vision_dim=32, image_size=1120)
    with pytest.raises(TrainingSetupError, match=r"image 64x64 px.*context of 1024"):
        validate_grpo(big, data, None, _args(tmp_path))
    with pytest.raises(TrainingSetupError, match="context of 1024"):
        train_sft(big, data, args=sft_config(tmp_path / "sft", max_steps=1))
    assert not (tmp_path / "sft").exists()


def test_completion_length_counts_against_the_context(tmp_path, tiny, data):
    checks = validate_grpo(tiny, data, None, _args(tmp_path))
    longest = checks["prompt_tokens"]
    assert longest == max(prompt_length(tiny, row["prompt"], row["images"]) for row in data)
    budget = tiny.max_context - longest
    validate_grpo(tiny, data, None, _args(tmp_path, max_completion_length=budget))
    with pytest.raises(TrainingSetupError, match="completion tokens"):
        validate_grpo(tiny, data, None, _args(tmp_path, max_completion_length=budget + 1))


def test_sft_max_length_that_would_truncate_is_refused(tmp_path, tiny, data):
    with pytest.raises(TrainingSetupError, match="truncate"):
        validate_sft(tiny, data, sft_config(tmp_path, max_length=16))
    checks = validate_sft(tiny, data, sft_config(tmp_path))
    assert checks["prompt_tokens"] > tiny.info["image_tokens"]


def test_resume_rules(tmp_path, tiny, data):
    run = tmp_path / "run"
    (run / "checkpoint-2").mkdir(parents=True)
    (run / "checkpoint-2" / "trainer_state.json").write_text("{}")
    with pytest.raises(TrainingSetupError, match="resume=True"):
        train_grpo(tiny, data, args=_args(tmp_path), resume=False)
    empty = tmp_path / "empty"
    with pytest.raises(TrainingSetupError, match="no checkpoint"):
        train_grpo(
            tiny,
            data,
            args=grpo_config(empty, per_device_train_batch_size=8, num_generations=4),
            resume=True,
        )
    with pytest.raises(TrainingSetupError, match="not a checkpoint"):
        train_grpo(tiny, data, args=_args(tmp_path), resume=tmp_path)


def test_run_dir_must_match_args(tmp_path, tiny, data):
    with pytest.raises(TrainingSetupError, match="differs"):
        train_grpo(tiny, data, args=_args(tmp_path), run_dir=tmp_path / "elsewhere")


@pytest.mark.parametrize("name", ["cpu_2proc", "multi_gpu", "deepspeed_zero3"])
def test_shipped_accelerate_configs_load(name):
    from pathlib import Path

    from accelerate.commands.config.config_args import load_config_from_file

    path = Path(__file__).resolve().parents[1] / "configs" / "accelerate" / f"{name}.yaml"
    config = load_config_from_file(str(path))
    assert config.num_processes >= 2
    if name == "deepspeed_zero3":
        assert config.deepspeed_config["zero_stage"] == 3


def test_use_vllm_without_a_gpu_is_refused_before_training(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: vLLM may be usable here")
    with pytest.raises(TrainingSetupError, match="CUDA GPU"):
        grpo_config(tmp_path, use_vllm=True, per_device_train_batch_size=8)


def test_rows_without_a_task_are_inferred_or_refused_before_training(tmp_path, tiny, data):
    untasked = data.remove_columns("task")
    checks = validate_grpo(tiny, untasked, None, _args(tmp_path))
    assert set(checks["routing"]) == {"emotion", "yes_no"}  # read from the solutions
    vague = untasked.map(lambda row, i: {"solution": "a calm lake" if i == 2 else row["solution"]},
                         with_indices=True)  # fmt: skip
    with pytest.raises(TrainingSetupError, match=r"row 2.*'task' column"):
        validate_grpo(tiny, vague, None, _args(tmp_path))
