"""Runs never lose or corrupt work: resume restores every trained weight (full and LoRA),
also after a SIGKILL; a finished run is reused, more steps extend it; rotation keeps the
finished checkpoint; two processes never train into one folder.

The reward here is the completion's length (``LengthReward``): a random-initialised model
never writes a well-formed answer, so the project's rewards would all be 0, no group would
have spread, no weight would move, and a resume that lost every weight would still compare
equal. Every test below first checks that the weights it compares have moved.

Slow: each test trains a tiny model for a few steps (seconds each on 2 CPU cores).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("trl")

import torch
from transformers import TrainerCallback

from eemo_rewards.spec import RewardSpec, RewardTerm, registered_reward
from eemo_rewards.train._testing import LengthReward, toy_dataset
from eemo_rewards.train.common import TrainingSetupError
from eemo_rewards.train.grpo import grpo_config, train_grpo
from eemo_rewards.train.models import load_model
from eemo_rewards.train.runs import RunFolder, RunLocked
from eemo_rewards.train.sft import sft_config, train_sft
from eemo_rewards.train.stage import load_checkpoint_weights

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"hidden_size": 32, "vision_dim": 32, "image_size": 56}
GRPO = {
    "max_steps": 4,
    "per_device_train_batch_size": 8,
    "num_generations": 4,
    "max_completion_length": 12,
    "save_steps": 2,
    "learning_rate": 1e-3,
    "warmup_steps": 0,
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def data():
    return toy_dataset(16)


@pytest.fixture(scope="module")
def spec():
    with registered_reward("length", LengthReward, overwrite=True):
        yield RewardSpec([RewardTerm("length", 1.0)])


def _tiny(cache):
    return load_model("tiny", cache_dir=cache, **SMALL)


def _weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone().float() for k, v in model.state_dict().items()}


def _distance(a, b) -> float:
    assert set(a) == set(b)
    return max((a[k] - b[k]).abs().max().item() for k in a)


class _Interrupt(TrainerCallback):
    def __init__(self, at: int):
        self.at = at

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.global_step == self.at:
            raise KeyboardInterrupt


def _grpo(cache, data, spec, run_dir, *, lora=False, **kw):
    extra = {"lora": True, "lora_settings": {"r": 4, "alpha": 8}} if lora else {}
    resume = kw.pop("resume", "auto")
    callbacks = kw.pop("callbacks", ())
    return train_grpo(
        _tiny(cache),
        data,
        spec=spec,
        args=grpo_config(run_dir, **{**GRPO, **kw}),
        resume=resume,
        callbacks=callbacks,
        **extra,
    )


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_interrupted_grpo_resumes_every_weight(tmp_path, cache, data, spec, lora):
    initial = _weights(_tiny(cache).model)
    reference = _grpo(cache, data, spec, tmp_path / "reference", lora=lora)
    trained = _weights(reference.bundle.model)
    moved = _distance(trained, initial)
    assert moved > 1e-4, "the weights must move, or this test cannot see a lost resume"

    run_dir = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        _grpo(cache, data, spec, run_dir, lora=lora, callbacks=[_Interrupt(3)])
    run = RunFolder(run_dir)
    assert run.latest_checkpoint().name == "checkpoint-2"
    # step 3 was logged but never checkpointed: the resume drops it, then redoes it
    assert [r["step"] for r in run.read_metrics()] == [1, 2, 3]
    with pytest.raises(TrainingSetupError, match="resume=True"):
        _grpo(cache, data, spec, run_dir, lora=lora, resume=False)
    resumed = _grpo(cache, data, spec, run_dir, lora=lora, resume=True)

    assert resumed.global_step == reference.global_step == 4
    assert len(resumed.step_seconds) == 2, "only the remaining steps ran"
    # every weight as in the run that was never interrupted (optimizer, scheduler and RNG
    # restored too: steps 3-4 redo exactly what the uninterrupted run did)
    assert _distance(_weights(resumed.bundle.model), trained) < 1e-6
    history = [r for r in run.read_metrics() if "reward" in r]
    expected = [r for r in reference.metrics if "reward" in r]
    assert [r["step"] for r in history] == [1, 2, 3, 4]
    for got, want in zip(history, expected, strict=True):
        assert got["reward"] == pytest.approx(want["reward"], abs=1e-6)
        assert got["learning_rate"] == pytest.approx(want["learning_rate"])


def test_interrupted_sft_resumes_every_weight(tmp_path, cache, data):
    def sft(run_dir, **kw):
        args = sft_config(
            run_dir, max_steps=4, per_device_train_batch_size=4, save_steps=2, logging_steps=1
        )
        return train_sft(_tiny(cache), data, args=args, **kw)

    initial = _weights(_tiny(cache).model)
    reference = sft(tmp_path / "reference")
    trained = _weights(reference.bundle.model)
    assert _distance(trained, initial) > 1e-4
    with pytest.raises(KeyboardInterrupt):
        sft(tmp_path / "cut", callbacks=[_Interrupt(3)])
    resumed = sft(tmp_path / "cut", resume=True)
    assert resumed.global_step == 4 and len(resumed.step_seconds) == 2
    assert _distance(_weights(resumed.bundle.model), trained) < 1e-6


def test_checkpoint_weights_load_under_the_model_classes_key_names(tmp_path, cache):
    """``save_pretrained`` writes the original key names (``model.*``, ``visual.*``), the live
    model has the converted ones (``model.language_model.*``, ``model.visual.*``): loading
    a checkpoint must bring back every weight, not silently none."""
    from safetensors import safe_open

    model = _tiny(cache).model
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    saved = _weights(model)
    model.save_pretrained(tmp_path / "ckpt")
    with safe_open(str(tmp_path / "ckpt" / "model.safetensors"), "pt") as f:
        on_disk = set(f.keys())
    renamed = set(saved) - on_disk
    assert len(renamed) > len(saved) // 2, "the file uses other key names than the live model"
    fresh = _tiny(cache).model
    assert _distance(_weights(fresh), saved) > 0.1
    load_checkpoint_weights(fresh, tmp_path / "ckpt")
    assert _distance(_weights(fresh), saved) == 0.0
    other = load_model("tiny", cache_dir=cache, hidden_size=48, vision_dim=32, image_size=56)
    with pytest.raises(RuntimeError, match="does not match the model"):
        load_checkpoint_weights(other.model, tmp_path / "ckpt")


def test_finished_run_is_reused_then_extended(tmp_path, cache, data, spec):
    run_dir = tmp_path / "run"
    first = _grpo(cache, data, spec, run_dir, max_steps=3, save_total_limit=1)
    run = RunFolder(run_dir)
    # the last step is checkpointed even though 3 is not a multiple of save_steps=2
    assert run.latest_checkpoint().name == "checkpoint-3"
    assert run.finished() == {"global_step": 3, "checkpoint": "checkpoint-3", "final": "final"}
    trained = _weights(first.bundle.model)

    again = _grpo(cache, data, spec, run_dir, max_steps=3, save_total_limit=1)
    assert again.reused and again.global_step == 3 and again.step_seconds == []
    assert _distance(_weights(again.bundle.model), trained) == 0.0
    assert [r["step"] for r in again.metrics if "reward" in r] == [1, 2, 3]

    longer = _grpo(cache, data, spec, run_dir, max_steps=5, save_total_limit=1)
    assert not longer.reused and longer.global_step == 5 and len(longer.step_seconds) == 2
    history = [r for r in run.read_metrics() if "reward" in r]
    assert [r["step"] for r in history] == [1, 2, 3, 4, 5]
    before = [r for r in first.metrics if "reward" in r]
    assert [r["reward"] for r in history[:3]] == pytest.approx([r["reward"] for r in before])
    assert _distance(_weights(longer.bundle.model), trained) > 1e-5
    # save_total_limit=1 rotated checkpoint-4 away, but never the checkpoint the finished
    # 3-step results came from while they were the finished state
    names = [p.name for p in run.checkpoints()]
    assert "checkpoint-3" in names and names[-1] == "checkpoint-5"
    assert "checkpoint-4" not in names
    assert run.finished()["global_step"] == 5

    with pytest.raises(TrainingSetupError, match="asks for fewer"):
        _grpo(cache, data, spec, run_dir, max_steps=2)


# -- a process killed with SIGKILL, and two processes at once ------------------------------

_SCRIPT = (
    textwrap.dedent(
        """
    import os, signal, sys
    from eemo_rewards.spec import RewardSpec, RewardTerm, register_reward
    from eemo_rewards.train._testing import LengthReward, toy_dataset
    from eemo_rewards.train.grpo import grpo_config, train_grpo
    from eemo_rewards.train.models import load_model

    cache, run_dir, kill_at, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

    class KillAt(LengthReward):
        calls = 0

        def __call__(self, *args, **kwargs):
            type(self).calls += 1
            if type(self).calls == kill_at:  # inside the reward call of step kill_at
                os.kill(os.getpid(), signal.SIGKILL)
            return super().__call__(*args, **kwargs)

    register_reward("length", KillAt, overwrite=True)
    settings = {SETTINGS}
    settings["max_steps"] = steps
    train_grpo(
        load_model("tiny", cache_dir=cache, **{SMALL}),
        toy_dataset(16),
        spec=RewardSpec([RewardTerm("length", 1.0)]),
        args=grpo_config(run_dir, **settings),
    )
    print("finished")
    """
    )
    .replace("{SETTINGS}", repr(GRPO))
    .replace("{SMALL}", repr(SMALL))
)


def _start(tmp_path, cache, run_dir, *, kill_at=0, steps=4):
    script = tmp_path / "train.py"
    script.write_text(_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.Popen(
        [sys.executable, str(script), str(cache), str(run_dir), str(kill_at), str(steps)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigkill_mid_step_then_resume_restores_weights_step_and_history(
    tmp_path, cache, data, spec, monkeypatch
):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    _tiny(cache)  # build the cached model once, before the child process reads it
    reference = _grpo(cache, data, spec, tmp_path / "reference")
    run_dir = tmp_path / "killed"
    child = _start(tmp_path, cache, run_dir, kill_at=3)
    _out, err = child.communicate(timeout=300)
    assert child.returncode == -signal.SIGKILL, err[-3000:]
    run = RunFolder(run_dir)
    # killed inside step 3: checkpoint-2 is whole, the history holds steps 1-2, nothing staged
    assert [p.name for p in run.checkpoints()] == ["checkpoint-2"]
    assert [r["step"] for r in run.read_metrics() if "reward" in r] == [1, 2]
    assert run.finished() is None
    resumed = _grpo(cache, data, spec, run_dir)  # resume="auto"; the dead process's lock is gone
    assert resumed.global_step == 4 and len(resumed.step_seconds) == 2
    assert _distance(_weights(resumed.bundle.model), _weights(reference.bundle.model)) < 1e-5
    history = [r for r in run.read_metrics() if "reward" in r]
    assert [r["step"] for r in history] == [1, 2, 3, 4]
    assert [r["reward"] for r in history] == pytest.approx(
        [r["reward"] for r in reference.metrics if "reward" in r], abs=1e-5
    )
    assert not list(run.path.glob(".staging-*"))


def test_two_trainings_of_one_folder_one_refuses_naming_the_holder(tmp_path, cache, spec, data):
    _tiny(cache)
    run_dir = tmp_path / "shared"
    first, second = (_start(tmp_path, cache, run_dir, steps=12) for _ in range(2))
    results = [p.communicate(timeout=600) for p in (first, second)]
    codes = [first.returncode, second.returncode]
    assert sorted(codes) == [0, 1], [r[1][-2000:] for r in results]
    loser = results[codes.index(1)][1]
    winner = (first, second)[codes.index(0)]
    assert "RunLocked" in loser and f"locked by process {winner.pid}" in loser
    assert "finished" in results[codes.index(0)][0]
    run = RunFolder(run_dir)
    assert [r["step"] for r in run.read_metrics() if "reward" in r] == list(range(1, 13))

    # a holder killed with SIGKILL leaves its lock file behind, stale: the next run takes it
    holder = _start(tmp_path, cache, tmp_path / "stale", steps=400)
    lock = tmp_path / "stale" / ".lock"
    deadline = time.monotonic() + 120
    while not (lock.exists() and lock.read_text().strip()):
        assert time.monotonic() < deadline and holder.poll() is None, holder.stderr.read()
        time.sleep(0.1)
    assert json.loads(lock.read_text())["pid"] == holder.pid
    with pytest.raises(RunLocked, match=f"locked by process {holder.pid}"):
        _grpo(cache, data, spec, tmp_path / "stale", max_steps=400)
    holder.kill()
    holder.wait()
    assert lock.exists()
    latest = RunFolder(tmp_path / "stale").latest_checkpoint()
    steps = (int(latest.name.split("-")[1]) if latest else 0) + 2
    done = _grpo(cache, data, spec, tmp_path / "stale", max_steps=steps)
    assert done.global_step == steps


# -- the main job: reuse, extension, shared SFT, evaluation read back ----------------------


def test_job_reuses_what_it_has_and_extends_grpo(tmp_path, monkeypatch):
    pytest.importorskip("polars")
    from eemo_rewards.train.pipeline import JobSettings, list_runs, plan_job, run_job

    monkeypatch.setenv("EEMO_REWARDS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("EEMO_REWARDS_DATA", str(tmp_path / "data"))
    base = {
        "runs_dir": str(tmp_path / "runs"), "n_images": 140, "sft_rows": 32, "sft_steps": 4,
        "sft_batch_size": 4, "grpo_steps": 2, "prompts_per_step": 1, "num_generations": 4,
        "max_completion_length": 8, "eval_rows": 8, "eval_sampled": False, "save_steps": 1,
    }  # fmt: skip
    settings = JobSettings(**base)
    first = run_job(settings)
    assert not first["reused"] and first["grpo"].global_step == 2
    assert first["sft"].global_step == 4 and not first["sft"].reused
    assert settings.sft_dir.is_dir() and (settings.run_dir / "eval_stamp.json").exists()

    again = run_job(settings)
    assert again["reused"] and again["sft"].reused and again["grpo"].reused
    assert "data" not in again["seconds"], "a reused job builds no data"
    assert again["eval"] == json.loads((settings.run_dir / "eval.json").read_text())
    assert again["eval"][0]["stage"] == "sft"

    longer = run_job(JobSettings(**{**base, "grpo_steps": 3}))
    assert JobSettings(**{**base, "grpo_steps": 3}).run_dir == settings.run_dir
    assert longer["sft"].reused and not longer["grpo"].reused
    assert longer["grpo"].global_step == 3 and len(longer["grpo"].step_seconds) == 1
    grpo = RunFolder(settings.run_dir / "grpo")
    assert [r["step"] for r in grpo.read_metrics() if "reward" in r] == [1, 2, 3]
    assert not longer["reused"], "the models changed, so the evaluation was redone"
    assert json.loads((settings.run_dir / "eval_stamp.json").read_text())["grpo_step"] == 3

    other = JobSettings(**{**base, "grpo_learning_rate": 1e-4})
    third = run_job(other, evaluate=False)
    assert other.run_dir != settings.run_dir and other.sft_dir == settings.sft_dir
    assert third["sft"].reused and third["grpo"].global_step == 2

    runs = list_runs(tmp_path / "runs")
    assert {r["path"] for r in runs} == {settings.run_dir, other.run_dir}
    by_path = {r["path"]: r for r in runs}
    assert by_path[settings.run_dir]["grpo_step"] == 3 and by_path[settings.run_dir]["eval"]

    # fewer steps than the run has trained never write into it: its checkpoint at step 2
    # becomes a new run folder (nothing trains), with the history up to that step
    saved = (settings.run_dir / "settings.json").read_text()
    assert json.loads(saved)["grpo_steps"] == 2, "settings.json is written once, at the start"
    shorter_plan = plan_job(JobSettings(**base))
    assert shorter_plan["action"] == "from-checkpoint", shorter_plan
    assert shorter_plan["checkpoint"] == settings.run_dir / "grpo" / "checkpoint-2"
    shorter = run_job(JobSettings(**base), evaluate=False)
    branch = shorter["settings"].run_dir
    assert branch == settings.run_dir.with_name(f"{settings.run_dir.name}-2steps")
    assert shorter["grpo"].global_step == 2 and not shorter["grpo"].step_seconds
    assert [r["step"] for r in RunFolder(branch / "grpo").read_metrics() if "reward" in r] == [
        1,
        2,
    ]
    assert (settings.run_dir / "settings.json").read_text() == saved
    assert RunFolder(settings.run_dir / "grpo").finished()["global_step"] == 3
    assert plan_job(JobSettings(**base))["action"] == "reuse"  # the new folder, from now on
    # no checkpoint at step 1 (two are kept): a new folder trains 1 step from the same SFT
    one = JobSettings(**{**base, "grpo_steps": 1})
    assert plan_job(one)["action"] == "branch" and plan_job(one)["sft"] == "reuse"
    single = run_job(one, evaluate=False)
    assert single["settings"].run_dir.name.endswith("-1steps")
    assert single["sft"].reused and len(single["grpo"].step_seconds) == 1
    assert RunFolder(settings.run_dir / "grpo").finished()["global_step"] == 3
    assert {r["path"].name: r["grpo_step"] for r in list_runs(tmp_path / "runs")}[
        settings.run_dir.name
    ] == 3
    named = JobSettings(**{**base, "name": "mine"})
    run_job(named, evaluate=False)
    with pytest.raises(ValueError, match="differ in \\['beta'\\]"):
        run_job(JobSettings(**{**base, "name": "mine", "beta": 0.1}), evaluate=False)


def _family_model(family: str):
    import transformers as tf

    text = {
        "vocab_size": 96, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
        "num_attention_heads": 2, "num_key_value_heads": 1,
    }  # fmt: skip
    if family in ("qwen2_5_vl", "qwen3_vl"):
        qwen = {
            **text,
            "max_position_embeddings": 128,
            "rope_parameters": {
                "rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3],
            },
        }  # fmt: skip
        vision = {
            "depth": 1, "hidden_size": 16, "intermediate_size": 32, "num_heads": 2,
            "out_hidden_size": 32,
        }  # fmt: skip
        if family == "qwen2_5_vl":
            config = tf.Qwen2_5_VLConfig(text_config=qwen, vision_config=vision)
            return tf.Qwen2_5_VLForConditionalGeneration(config)
        qwen["head_dim"] = 16
        vision.update(num_position_embeddings=16, deepstack_visual_indexes=[0])
        config = tf.Qwen3VLConfig(text_config=qwen, vision_config=vision)
        return tf.Qwen3VLForConditionalGeneration(config)
    small_vision = {
        "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
        "num_attention_heads": 2,
    }  # fmt: skip
    if family == "idefics3":  # SmolVLM, and the smollm2 model of this project
        config = tf.Idefics3Config(
            vision_config={**small_vision, "image_size": 32, "patch_size": 16},
            text_config={"model_type": "llama", **text},
            image_token_id=95,
        )
        return tf.Idefics3ForConditionalGeneration(config)
    config = tf.LlavaConfig(
        vision_config={
            **small_vision, "model_type": "clip_vision_model", "image_size": 28, "patch_size": 14,
            "projection_dim": 16,
        },
        text_config={"model_type": "llama", **text},
        image_token_index=95,
    )  # fmt: skip
    return tf.LlavaForConditionalGeneration(config)


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl", "idefics3", "llava"])
def test_checkpoints_of_every_vlm_family_load_back_whole(tmp_path, family):
    """The families users train (Qwen2.5-VL, Qwen3-VL, SmolVLM/Idefics3 and the SmolLM2
    model, LLaVA): a checkpoint written by ``save_pretrained`` comes back exactly."""
    from safetensors.torch import load_file

    torch.manual_seed(0)
    model = _family_model(family)
    saved = _weights(model)
    model.save_pretrained(tmp_path)
    raw = load_file(str(tmp_path / "model.safetensors"))
    fresh = _family_model(family)
    # what Trainer's own resume does: the raw file into the live model
    lost = fresh.load_state_dict(raw, strict=False).missing_keys
    if family == "qwen2_5_vl":  # (as the tiny Qwen2-VL: every key but lm_head is renamed)
        assert len(lost) > len(saved) // 2, "this class renames its keys on load"
    torch.manual_seed(1)
    fresh = _family_model(family)
    assert _distance(_weights(fresh), saved) > 0
    load_checkpoint_weights(fresh, tmp_path)
    assert _distance(_weights(fresh), saved) == 0.0


def test_job_waits_for_or_refuses_a_held_folder_and_a_failed_start_leaves_nothing(
    tmp_path, monkeypatch
):
    from eemo_rewards.train.pipeline import JobSettings, run_job
    from eemo_rewards.train.runs import lock_holder, run_lock

    monkeypatch.setenv("EEMO_REWARDS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("EEMO_REWARDS_DATA", str(tmp_path / "data"))
    runs = tmp_path / "runs"
    # an unknown model fails at the start: the error says what to do, no folder is left
    unknown = JobSettings(runs_dir=str(runs), model="nobody/no-such-model-here")
    with pytest.raises(OSError, match="not in the local model cache"):
        run_job(unknown, evaluate=False)
    assert not runs.exists() or list(runs.iterdir()) == []
    # a held folder: the second job waits, says who holds it, then refuses naming the holder
    settings = JobSettings(runs_dir=str(runs))
    lines: list[str] = []
    with run_lock(settings.run_dir, what="the main job") as info:
        assert lock_holder(settings.run_dir)["pid"] == info["pid"]
        with pytest.raises(RunLocked, match=f"process {info['pid']}"):
            run_job(settings, wait=0.6, on_wait=lines.append)
    assert lines and f"process {info['pid']}" in lines[0] and "waiting" in lines[0]
    assert settings.run_dir.exists(), "a refusal must not remove the holder's folder"
    assert lock_holder(settings.run_dir) is None
