"""Batch-level rewards under data parallelism: two gloo processes score as one process.

A batch of 4 images × 4 rollouts is split between two processes the way TRL splits it (in
order; a split inside an image's group too, since TRL's groups may straddle processes). The
Thurstone reward (alone and inside a composite) must give each process exactly the scores
one process gives the whole batch, and the answer watch must write one line with the whole
batch's statistics.
"""

from __future__ import annotations

import json
import os
import socket

import pytest

torch = pytest.importorskip("torch")

from eemo_rewards.rewards.base import RewardFunction  # noqa: E402
from eemo_rewards.rewards.composite import CompositeReward  # noqa: E402
from eemo_rewards.rewards.format import FormatReward  # noqa: E402
from eemo_rewards.rewards.thurstone import ThurstoneReward  # noqa: E402
from eemo_rewards.rewards.watch import AnswerWatch, read_watch  # noqa: E402

TRUTHS = {"a": 0.62, "b": 0.48, "c": 0.41, "d": 0.2}
ANSWERS = {
    "a": [0.6, 0.9, 0.55, 0.7],
    "b": [0.5, 0.3, 0.45, 0.2],
    "c": [0.4, 0.35, 0.8, 0.41],
    "d": [0.1, 0.25, 0.2, 0.6],
}


def _batch(by_prompt: bool = False) -> dict:
    images = [img for img in TRUTHS for _ in range(4)]
    completions = [
        f"<think>look</think><answer>valence: {q}</answer>" for img in TRUTHS for q in ANSWERS[img]
    ]
    batch = {
        "completions": completions,
        "solution": [f"valence: {TRUTHS[img]}" for img in images],
        "task": ["assessment"] * len(images),
        "id": images,
    }
    if by_prompt:  # chat prompts, one per image: the group key comes from the prompt
        batch["prompts"] = [[{"role": "user", "content": f"image {i}: valence?"}] for i in images]
    else:
        batch["image_id"] = images
    return batch


def _share(batch: dict, start: int, stop: int) -> dict:
    return {k: v[start:stop] for k, v in batch.items()}


def _rewards(log_path: str) -> dict[str, RewardFunction]:
    return {
        "thurstone": ThurstoneReward(),
        "published": ThurstoneReward(variant="visualquality-r1", name="published"),
        "composite": CompositeReward([FormatReward(), ThurstoneReward()], [0.5, 1.0]),
        "watch": AnswerWatch(log_path=log_path),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SCENARIOS = {"two-images-each": (8, False), "a-group-straddles": (6, False), "by-prompt": (8, True)}


def _worker(rank: int, world: int, port: int, out: str) -> None:
    import torch.distributed as dist

    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world
    )
    try:
        for scenario, (split, by_prompt) in SCENARIOS.items():
            batch = _batch(by_prompt)
            n = len(batch["completions"])
            share = _share(batch, *[(0, split), (split, n)][rank])
            folder = os.path.join(out, scenario)
            scores = {
                name: reward(**share)
                for name, reward in _rewards(os.path.join(folder, "watch.jsonl")).items()
            }
            with open(os.path.join(folder, f"rank{rank}.json"), "w") as fh:
                json.dump(scores, fh)
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """Each scenario's scores from two gloo processes (one spawn for all of them)."""
    out = tmp_path_factory.mktemp("two")
    for scenario in SCENARIOS:
        (out / scenario).mkdir()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.multiprocessing.spawn(_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_two_processes_score_as_one(two_processes, tmp_path, scenario):
    split, by_prompt = SCENARIOS[scenario]
    batch = _batch(by_prompt)
    alone = {name: r(**batch) for name, r in _rewards(str(tmp_path / "watch.jsonl")).items()}
    folder = two_processes / scenario
    parts = [json.loads((folder / f"rank{r}.json").read_text()) for r in range(2)]
    two = {name: parts[0][name] + parts[1][name] for name in parts[0]}
    for name in ("thurstone", "published", "composite"):
        assert two[name] == pytest.approx(alone[name], abs=1e-12), name
    # the scores really depend on the rest of the batch: a process alone on its share
    # scores differently, so the equality above is not trivial
    share = ThurstoneReward()(**_share(batch, 0, split))
    assert max(abs(a - b) for a, b in zip(share, alone["thurstone"][:split], strict=False)) > 0.01
    # one line for the batch, written once, with the whole batch's statistics
    lines = read_watch(folder / "watch.jsonl")
    assert len(lines) == 1
    assert lines[0] == read_watch(tmp_path / "watch.jsonl")[0]
    assert lines[0]["n"] == 16


@pytest.mark.slow
def test_through_trl_grpo_under_the_two_process_config(tmp_path):
    """TRL's GRPOTrainer under configs/accelerate/cpu_2proc.yaml: each process's Thurstone
    scores are its share of what one process gives the whole generation batch, and the run
    logs the reward's per-task mean through TRL."""
    pytest.importorskip("trl")
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ACCELERATE_", "MASTER_", "TORCHELASTIC_"))
        and k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK")
    }
    env.update(OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", PYTHONPATH=str(root))
    command = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(root / "configs" / "accelerate" / "cpu_2proc.yaml"),
        "--main_process_port", str(_free_port()),
        str(root / "tests" / "ddp_grpo_thurstone.py"), str(tmp_path), str(tmp_path / "models"),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    shares = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert len(shares[0]) == len(shares[1]) >= 1
    for first, second in zip(*shares, strict=True):
        whole = {k: first[k] + second[k] for k in ("completions", "image_id", "solution", "task")}
        alone = ThurstoneReward()(**whole)
        assert first["scores"] + second["scores"] == pytest.approx(alone, abs=1e-12)
        # the ranking is real: several images, rollouts that differ
        assert len(set(whole["image_id"])) > 1 and len(set(alone)) > 2
    logged = json.loads((tmp_path / "log_history.json").read_text())
    assert any("thurstone_reward/task/assessment/mean" in row for row in logged), logged
