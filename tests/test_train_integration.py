"""Few-step SFT and GRPO runs, resume after an interruption, LoRA, and accelerate launch.

Slow: each test trains a tiny model for a few steps (seconds each on 2 CPU cores).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")

from eemo_rewards.train._testing import toy_dataset
from eemo_rewards.train.grpo import grpo_config, train_grpo
from eemo_rewards.train.models import load_model
from eemo_rewards.train.runs import RunFolder
from eemo_rewards.train.sft import sft_config, train_sft

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"hidden_size": 32, "vision_dim": 32, "image_size": 56}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def data():
    return toy_dataset(16)


def _grpo_args(run_dir, **kw):
    settings = {
        "max_steps": 4,
        "per_device_train_batch_size": 8,
        "num_generations": 4,
        "max_completion_length": 12,
        "save_steps": 2,
        "learning_rate": 1e-3,
        "warmup_steps": 0,
    }
    return grpo_config(run_dir, **{**settings, **kw})


def test_sft_then_grpo_fills_the_run_folders(tmp_path, cache, data):
    base = load_model("tiny", cache_dir=cache, **SMALL)
    before = {k: v.clone() for k, v in base.model.state_dict().items()}
    sft = train_sft(
        base,
        data,
        args=sft_config(
            tmp_path / "sft",
            max_steps=6,
            per_device_train_batch_size=4,
            logging_steps=2,
            save_steps=3,
        ),
    )
    assert sft.global_step == 6
    losses = [r["loss"] for r in sft.metrics if "loss" in r]
    assert len(losses) == 3 and losses[-1] < losses[0], "SFT should lower the loss"
    changed = [k for k, v in sft.bundle.model.state_dict().items() if not (v == before[k]).all()]
    assert changed, "SFT must update the weights"
    run = RunFolder(tmp_path / "sft")
    assert [p.name for p in run.checkpoints()] == ["checkpoint-3", "checkpoint-6"]
    assert json.loads(run.config_path.read_text())["stage"] == "sft"
    assert (run.final_dir / "eemo_model.json").exists()

    policy = load_model(run.final_dir)
    steps = []
    result = train_grpo(
        policy,
        data,
        spec=["format", "accuracy"],
        args=_grpo_args(tmp_path / "grpo"),
        progress=lambda step, total, logs: steps.append((step, total)),
    )
    assert steps[0] == (0, 4) and steps[-1] == (4, 4)
    grpo = RunFolder(tmp_path / "grpo")
    metrics = grpo.read_metrics()
    logged = [r for r in metrics if "reward" in r]
    assert [r["step"] for r in logged] == [1, 2, 3, 4]
    for key in (
        "rewards/format_reward/mean",
        "rewards/accuracy_reward/mean",
        "frac_reward_zero_std",
        "completions/mean_length",
    ):
        assert key in logged[0], key
    assert json.loads(grpo.spec_path.read_text())["terms"][1]["name"] == "accuracy"
    args = json.loads(grpo.config_path.read_text())["args"]
    assert args["reward_weights"] == [1.0, 1.0]
    samples = grpo.read_samples()
    assert len(samples) == 8 and {"completion", "format_reward", "accuracy_reward"} <= set(
        samples[0]
    )
    assert result.reward_seconds > 0 and 0 < result.reward_share < 1
    assert len(result.step_seconds) == 4
    reloaded = load_model(grpo.final_dir)
    assert reloaded.kind == "tiny"


def test_lora_grpo_trains_adapters_and_merges(tmp_path, cache, data):
    bundle = load_model("tiny", cache_dir=cache, **SMALL)
    before = {k: v.clone() for k, v in bundle.model.state_dict().items()}
    result = train_grpo(
        bundle,
        data,
        spec=["format"],
        args=_grpo_args(tmp_path / "lora", max_steps=2, learning_rate=5e-2),
        lora=True,
        lora_settings={"r": 4, "alpha": 8},
    )
    config = json.loads((tmp_path / "lora" / "config.json").read_text())
    assert config["lora"]["r"] == 4
    assert (tmp_path / "lora" / "checkpoint-2" / "adapter_config.json").exists()
    merged = result.bundle.model.state_dict()
    assert not any("lora" in k for k in merged), "the final model has the adapters merged"
    assert set(merged) == set(before)
    vision = [k for k in merged if "visual" in k]
    assert all((merged[k] == before[k]).all() for k in vision), "the vision tower is frozen"
    # a LoRA checkpoint loads onto its base model, merged
    from_checkpoint = load_model(tmp_path / "lora" / "checkpoint-2")
    assert from_checkpoint.info["adapter"].endswith("checkpoint-2")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_accelerate_launch_two_cpu_processes_runs_the_main_job(tmp_path):
    """Two CPU processes (gloo DDP) run the notebook as a script, with the shipped config.

    ``accelerate launch --cpu --num_processes 2`` starts more than one process only through
    mpirun (an MPI hostfile); ``configs/accelerate/cpu_2proc.yaml`` uses torchrun, and the
    trainers' ``use_cpu`` makes the processes join with gloo on a machine without GPUs.
    """
    pytest.importorskip("polars")
    # Earlier in-process trainers leave accelerate/torch.distributed settings in os.environ;
    # the launched processes must start from a clean distributed state.
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ACCELERATE_", "MASTER_", "TORCHELASTIC_"))
        and k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK")
    }
    env = {
        **inherited,
        "EEMO_REWARDS_CACHE": str(tmp_path / "cache"),
        "EEMO_REWARDS_DATA": str(tmp_path / "data"),
        "OMP_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    command = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(ROOT / "configs" / "accelerate" / "cpu_2proc.yaml"),
        "--main_process_port", str(_free_port()),
        str(ROOT / "notebooks" / "grpo.py"),
        "--runs-dir", str(tmp_path / "runs"), "--name", "ddp",
        "--n-images", "140", "--sft-rows", "32", "--sft-steps", "4", "--sft-batch-size", "4",
        "--grpo-steps", "2", "--prompts-per-step", "1", "--num-generations", "4",
        "--max-completion-length", "8", "--eval-rows", "8", "--eval-sampled", "false",
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    # each process's own lines, so a failing rank's traceback is not cut off by the other's
    rank_lines = "\n".join(
        line for line in done.stderr.splitlines() if "[rank1]" in line or "Error" in line
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:] + rank_lines[-4000:]
    run = RunFolder(tmp_path / "runs" / "ddp" / "grpo")
    logged = [r for r in run.read_metrics() if "reward" in r]
    assert [r["step"] for r in logged] == [1, 2]
    # what the rewards read reaches the trainer's own log through TRL's log_metric, from
    # both processes: per-task means, the commitment rate, zero-score reasons
    keys = set().union(*logged)
    assert any(k.startswith("format_reward/task/") for k in keys), sorted(keys)
    assert "format_reward/commit_rate" in keys and "format_reward/zero/malformed" in keys
    config = json.loads(run.config_path.read_text())
    # 2 processes x 4 completions per device = one generation batch of 8: both joined
    assert config["args"]["generation_batch_size"] == 8
    assert (tmp_path / "runs" / "ddp" / "eval.parquet").exists()
