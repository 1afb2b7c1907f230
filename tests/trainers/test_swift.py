"""ms-swift 4.6.0, driven through its own code: the README's plugin file imported by swift's
``import_external_file`` (what ``--external_plugins`` does), ``GRPOTrainer._prepare_rewards``
building the registered ORM as ``cls(args=args)`` from ``--reward_funcs eemo``, and its
reward path (``swift.rl_core.grpo_algorithm.score_completions``) calling it on
``GRPOSample`` rows that carry the dataset's columns (from ``to_trl_dataset``), then the
``nansum`` over reward functions that its advantage step takes.

The trainer object itself is not built (that needs a model): ``_prepare_rewards`` runs on a
stand-in holding the attributes it reads.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from trainer_helpers import venv_hint

pytestmark = pytest.mark.trainers
swift = pytest.importorskip("swift", reason=venv_hint("swift"))
torch = pytest.importorskip("torch")

from swift.rewards import orms  # noqa: E402
from swift.rl_core.data import GRPOSample  # noqa: E402
from swift.rl_core.grpo_algorithm import score_completions  # noqa: E402
from swift.rlhf_trainers.grpo_trainer import GRPOTrainer  # noqa: E402
from swift.utils import import_external_file  # noqa: E402

from eemo_rewards.adapters import swift as adapter  # noqa: E402
from eemo_rewards.data.export import to_trl_dataset  # noqa: E402
from eemo_rewards.spec import RewardSpec, RewardTerm  # noqa: E402

KINDS = ("correct", "wrong", "no tags", "after")


def test_tested_version():
    from importlib.metadata import version

    assert version("ms-swift") == "4.6.0"


@pytest.fixture(scope="module")
def reward_funcs(tmp_path_factory):
    plugin = tmp_path_factory.mktemp("swift") / "plugin.py"
    plugin.write_text(
        "from eemo_rewards.adapters.swift import register\n"
        "register()\n"
        "register('eemo_format', spec='format_only', fallback=0.0)\n"
    )
    import_external_file(str(plugin))
    assert orms["eemo"] is adapter.EEmoORM
    args = SimpleNamespace(reward_weights=None, reward_model_plugin=None)
    trainer = SimpleNamespace(
        args=args,
        accelerator=SimpleNamespace(device=torch.device("cpu")),
        use_gym_env=False,
        is_deepspeed_enabled=False,
        is_fsdp_enabled=False,
    )
    GRPOTrainer._prepare_rewards(trainer, ["eemo", "eemo_format"])
    assert [type(f).__name__ for f in trainer.reward_funcs] == ["EEmoORM", "EEmoORM_eemo_format"]
    assert trainer.reward_funcs[0].args is args  # built as cls(args=args)
    return trainer


def _samples(qa, cases):
    rows = to_trl_dataset(qa).remove_columns(["images", "completion"])
    samples = []
    for i, case in enumerate(cases):
        row = dict(rows[i // len(KINDS)])
        question = row.pop("prompt")[0]["content"][-1]["text"]
        row["messages"] = [
            {"role": "user", "content": "<image>" + question},
            {"role": "assistant", "content": case["completion"]},
        ]
        samples.append(GRPOSample.from_row(row))
    return samples


def test_its_reward_path_scores_the_dataset_columns_as_the_trl_path(reward_funcs, qa, cases):
    samples = _samples(qa, cases)
    rewards = score_completions(
        samples,
        reward_funcs=reward_funcs.reward_funcs,
        reward_model_plugins=reward_funcs.reward_model_plugins,
        use_gym_env=False,
        device=torch.device("cpu"),
    )
    assert rewards.shape == (len(cases), 2)
    for case, (eemo, fmt) in zip(cases, rewards.tolist(), strict=True):
        if case["expected"] is None:
            assert math.isnan(eemo), (case["task"], case["kind"])
        else:
            assert eemo == pytest.approx(case["expected"]), (case["task"], case["kind"])
        assert fmt == (1.0 if case["kind"] in ("correct", "wrong") else 0.0)
    # swift's advantage step: the weighted nansum over reward functions
    total = (rewards * reward_funcs.reward_weights.unsqueeze(0)).nansum(dim=1)
    assert torch.isfinite(total).all()


def test_none_is_nan_under_its_nansum(reward_funcs, qa, cases):
    # a spec whose terms apply to emotion samples only: the others are "not applicable"
    spec = RewardSpec([RewardTerm("accuracy", tasks=["emotion"])])
    adapter.register("eemo_emotion_only", spec=spec)
    trainer = SimpleNamespace(**vars(reward_funcs))
    GRPOTrainer._prepare_rewards(trainer, ["eemo_emotion_only", "eemo_format"])
    samples = _samples(qa, cases)
    rewards = score_completions(
        samples,
        reward_funcs=trainer.reward_funcs,
        reward_model_plugins=trainer.reward_model_plugins,
        use_gym_env=False,
        device=torch.device("cpu"),
    )
    tasks = [c["task"] for c in cases]
    first = rewards[:, 0].tolist()
    assert all(math.isnan(v) == (t != "emotion") for v, t in zip(first, tasks, strict=True))
    total = (rewards * trainer.reward_weights.unsqueeze(0)).nansum(dim=1)
    # not applicable contributes nothing: the total is the format reward alone there
    for t, tot, fmt in zip(tasks, total.tolist(), rewards[:, 1].tolist(), strict=True):
        if t != "emotion":
            assert tot == fmt
