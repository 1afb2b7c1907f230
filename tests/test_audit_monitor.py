"""The hacking monitor: it flags a run whose answers collapse (or that games its reward in
the other ways it watches), stays silent on healthy runs, and reaches the trainer's logs."""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest

from eemo_rewards.audit.signals import (
    SIGNALS,
    HackingSignals,
    HackingWarning,
    read_verl_rollouts,
    run_signals,
    watch_openrlhf,
)
from eemo_rewards.rewards.accuracy import AccuracyReward
from eemo_rewards.rewards.format import FormatReward

LABELS = ["joy", "anger", "disgust", "sadness", "surprise", "fear", "neutral"]
FORMAT, ACCURACY = FormatReward(), AccuracyReward()
ROOT = Path(__file__).resolve().parents[1]


def _batch(rng, step, steps, *, collapse=False, hedge=False, pad=False, prompts=8, group=8):
    """One GRPO batch of emotion questions: the policy improves slowly; a collapsing one
    answers 'joy' more and more, a hedging one lists two labels more and more, a padding
    one writes longer thinks as its reward rises."""
    progress = step / max(steps - 1, 1)
    completions, solutions = [], []
    for _ in range(prompts):
        truth = rng.choice(LABELS)
        for _ in range(group):
            if collapse and rng.random() < progress:
                answer = "joy"
            elif hedge and rng.random() < progress:
                answer = f"{truth} or {rng.choice(LABELS)}"
            elif rng.random() < 0.35 + 0.15 * progress:
                answer = truth
            else:
                answer = rng.choice(LABELS)
            think = "warm light and open faces " * (1 + int(40 * progress * pad) + rng.randrange(3))
            if rng.random() < 0.05:
                completions.append(f"{think} {answer}")  # malformed now and then
            else:
                completions.append(f"<think>{think}</think><answer>{answer}</answer>")
            solutions.append(truth)
    tasks = ["emotion"] * len(completions)
    rewards = {
        "format_reward": FORMAT(completions=completions, solution=solutions, task=tasks),
        "accuracy_reward": ACCURACY(completions=completions, solution=solutions, task=tasks),
    }
    return {"completions": completions, "solutions": solutions, "tasks": tasks, "rewards": rewards}


def _run(signals, steps=40, seed=0, **kind):
    rng = random.Random(seed)
    for step in range(steps):
        signals.observe(step, **_batch(rng, step, steps, **kind))
    return signals


@pytest.mark.parametrize("seed", range(4))
def test_a_run_whose_answers_collapse_is_flagged_and_a_healthy_one_is_not(seed):
    collapsed = _run(HackingSignals(weights={"format_reward": 0.5}, warn=False), seed=seed,
                     collapse=True)  # fmt: skip
    assert "answer_collapse" in collapsed.flagged
    flag = next(f for f in collapsed.flags if f.signal == "answer_collapse")
    assert flag.evidence["top_answer"] == "joy" and "joy" in flag.message
    healthy = _run(HackingSignals(weights={"format_reward": 0.5}, warn=False), seed=seed)
    assert healthy.flags == []


def test_rising_noncommittal_answers_with_a_rising_reward_are_flagged():
    # a hedge that a soft reward pays: 'joy or fear' reads as nothing, yet scores
    signals = HackingSignals(warn=False)
    rng = random.Random(1)
    for step in range(30):
        batch = _batch(rng, step, 30, hedge=True)
        batch["rewards"]["accuracy_reward"] = [
            1.0 if " or " in c else s
            for c, s in zip(batch["completions"], batch["rewards"]["accuracy_reward"], strict=True)
        ]
        signals.observe(step, **batch)
    assert "noncommittal_rise" in signals.flagged


def test_length_drifting_with_the_reward_is_flagged():
    signals = HackingSignals(warn=False)
    rng = random.Random(2)
    for step in range(30):
        batch = _batch(rng, step, 30, pad=True)
        # a reward that pays length: the longer the think, the more it pays
        batch["rewards"]["accuracy_reward"] = [
            min(1.0, len(c) / 1200) for c in batch["completions"]
        ]
        signals.observe(step, **batch)
    assert "length_drift" in signals.flagged


def test_one_auxiliary_term_carrying_the_variance_is_flagged():
    signals = HackingSignals(warn=False, patience=3)
    for step in range(5):
        completions = ["<think>t</think><answer>joy</answer>", "joy"] * 8
        signals.observe(
            step,
            completions=completions,
            rewards={"format_reward": [1.0, 0.0] * 8, "accuracy_reward": [0.5] * 16},
            tasks=["emotion"] * 16,
            solutions=LABELS[:4] * 4,
        )
    assert "term_dominance" in signals.flagged
    assert signals.flags[0].evidence["term"] == "format_reward"


# TRL's logged metrics of a run whose format is saturated while accuracy does not move
_STALLED = {
    "reward": 0.7,
    "rewards/format_reward/mean": 1.0,
    "rewards/format_reward/std": 0.0,
    "rewards/accuracy_reward/mean": 0.2,
    "rewards/accuracy_reward/std": 0.4,
    "completions/mean_length": 100.0,
}


def test_format_saturated_while_accuracy_stalls_is_flagged_from_logged_metrics():
    signals = HackingSignals(warn=False, window=10)
    for step in range(12):
        signals.observe(step, metrics=_STALLED)
    assert signals.flagged == {"format_saturation"}


def test_each_signal_warns_once_with_its_evidence():
    signals = HackingSignals(weights={"format_reward": 0.5})
    with pytest.warns(HackingWarning, match="answer_collapse") as caught:
        _run(signals, collapse=True)
    assert sum("answer_collapse" in str(w.message) for w in caught) == 1
    values = signals.observe(99, **_batch(random.Random(0), 39, 40, collapse=True))
    assert values["hacking/answer_collapse_flag"] == 1.0
    assert set(f"hacking/{s}_flag" for s in SIGNALS) <= set(values)


def test_the_monitor_inside_a_trainer_logs_through_trl_and_flags():
    pytest.importorskip("transformers")
    from transformers import TrainerControl, TrainerState

    from eemo_rewards.audit.monitor import HackingMonitor

    monitor = HackingMonitor()
    funcs = monitor.wrap([FORMAT, ACCURACY])
    assert [f.__name__ for f in funcs] == ["format_reward", "accuracy_reward"]
    args = SimpleNamespace(reward_weights=[0.5, 1.0])  # what the callback reads of GRPOConfig
    state, control = TrainerState(), TrainerControl()
    monitor.on_train_begin(args, state, control)
    assert monitor.signals.weights == {"format_reward": 0.5, "accuracy_reward": 1.0}
    logged: dict[str, list[float]] = {}
    rng = random.Random(3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(40):
            state.global_step = step
            batch = _batch(rng, step, 40, collapse=True)
            for func in funcs:  # what GRPOTrainer._calculate_rewards does
                scores = func(
                    prompts=["q"] * len(batch["completions"]),
                    completions=[
                        [{"role": "assistant", "content": c}] for c in batch["completions"]
                    ],
                    solution=batch["solutions"],
                    task=batch["tasks"],
                    trainer_state=state,
                    log_metric=lambda name, value: logged.setdefault(name, []).append(value),
                )
                assert scores == batch["rewards"][func.__name__]
    assert "answer_collapse" in monitor.signals.flagged
    assert any(issubclass(w.category, HackingWarning) for w in caught)
    assert logged["hacking/answer_collapse_flag"][-1] == 1.0
    assert len(logged["hacking/answer_collapse_flag"]) == 40  # one value per batch


def test_the_monitor_reads_logged_metrics_when_rewards_are_not_wrapped():
    pytest.importorskip("transformers")
    from transformers import TrainerControl, TrainerState

    from eemo_rewards.audit.monitor import HackingMonitor

    monitor = HackingMonitor(window=10, warn=False)
    state, control = TrainerState(), TrainerControl()
    args = SimpleNamespace(reward_weights=None)
    for step in range(12):
        state.global_step = step
        logs = dict(_STALLED)
        state.log_history.append({**logs, "step": step})
        monitor.on_log(args, state, control, logs=logs)
    assert logs["hacking/format_saturation_flag"] == 1.0
    assert state.log_history[-1]["hacking/format_saturation_flag"] == 1.0


def test_verl_rollout_dumps_feed_the_same_signals(tmp_path):
    rng = random.Random(4)
    for step in range(1, 31):
        batch = _batch(rng, step - 1, 30, collapse=True)
        with open(tmp_path / f"{step}.jsonl", "w") as fh:
            for i, completion in enumerate(batch["completions"]):
                fh.write(json.dumps({
                    "input": "prompt", "output": completion, "step": step,
                    "gts": json.dumps({"task": "emotion", "solution": batch["solutions"][i]}),
                    "score": 0.0,
                    "format_reward": batch["rewards"]["format_reward"][i],
                    "accuracy_reward": batch["rewards"]["accuracy_reward"][i],
                }) + "\n")  # fmt: skip
    batches = list(read_verl_rollouts(tmp_path))
    assert [b["step"] for b in batches] == list(range(1, 31))  # numeric order, not 1, 10, 11
    assert set(batches[0]["rewards"]) == {"format_reward", "accuracy_reward"}
    signals = HackingSignals(warn=False)
    for batch in batches:
        signals.observe(batch.pop("step"), **batch)
    assert "answer_collapse" in signals.flagged


def test_openrlhf_reward_function_feeds_the_signals():
    pytest.importorskip("torch")
    from eemo_rewards.adapters.openrlhf import make_reward_func

    reward_func = watch_openrlhf(make_reward_func("default"), batch=64,
                                 signals=HackingSignals(warn=False))  # fmt: skip
    rng = random.Random(5)
    for step in range(30):
        batch = _batch(rng, step, 30, collapse=True)
        for completion, truth in zip(batch["completions"], batch["solutions"], strict=True):
            prompt = "<|user|>Which emotion?<|assistant|>"
            label = json.dumps({"task": "emotion", "solution": truth})
            reward_func([prompt + completion], [prompt], [label])
    assert "answer_collapse" in reward_func.signals.flagged


def _main_job_runs() -> list[Path]:
    """GRPO folders of the main job in this checkout's runs/ (the quickstart's first command
    writes one), with at least 20 logged steps."""
    import polars as pl

    found = []
    for metrics in sorted((ROOT / "runs").glob("*/grpo/metrics.parquet")):
        if not (metrics.parents[1] / "settings.json").is_file():
            continue
        logged = pl.read_parquet(metrics)
        if "reward" in logged.columns and logged["reward"].drop_nulls().len() >= 20:
            found.append(metrics.parent)
    return found


@pytest.mark.parametrize("grpo", _main_job_runs() or [None])
def test_the_main_jobs_logs_raise_no_flag(grpo):
    """The main job (notebooks/grpo.py) is a healthy run: its logged GRPO metrics, replayed
    through the monitor, flag nothing. CI checks the run it exports
    (``python -m eemo_rewards.audit.signals runs/tiny-*/grpo``)."""
    if grpo is None:
        pytest.skip("no main job run with 20 logged GRPO steps in runs/ (run the quickstart)")
    signals = run_signals(grpo)
    assert len(signals.history) >= 20
    assert signals.flags == [], [f.message for f in signals.flags]


def test_the_run_replay_command_fails_on_a_flagged_run(tmp_path, capsys):
    import polars as pl

    from eemo_rewards.audit.signals import main

    grpo = tmp_path / "grpo"
    grpo.mkdir()
    pl.DataFrame([{**_STALLED, "step": step} for step in range(25)]).write_parquet(
        grpo / "metrics.parquet"
    )
    assert main([str(grpo)]) == 1
    assert "format_saturation at step" in capsys.readouterr().out
    healthy = [{**_STALLED, "rewards/format_reward/mean": 0.6, "step": s} for s in range(25)]
    pl.DataFrame(healthy).write_parquet(grpo / "metrics.parquet")
    assert main([str(grpo), "--min-steps", "20"]) == 0
    assert main([str(grpo), "--min-steps", "30"]) == 2
    assert main([str(tmp_path / "missing")]) == 2
