"""Run folders, metrics parquet, callbacks and the reward instrumentation."""

from __future__ import annotations

import pickle

import pytest

pytest.importorskip("transformers")

from eemo_rewards import format_reward
from eemo_rewards.train.callbacks import (
    InstrumentedReward,
    MetricsRecorder,
    ProgressCallback,
    sample_rows,
)
from eemo_rewards.train.runs import RunFolder, read_records, write_records

GOOD = "<think>warm</think><answer>joy</answer>"


class _State:
    def __init__(self, history, step=0, max_steps=10):
        self.log_history = history
        self.global_step = step
        self.max_steps = max_steps
        self.is_world_process_zero = True


def test_records_round_trip_with_mixed_keys_and_types(tmp_path):
    records = [
        {"step": 1, "loss": 0.5, "note": "a"},
        {"step": 2, "loss": 1, "reward": float("nan"), "extra": [1, 2]},
        {"step": 3, "flag": True},
    ]
    write_records(tmp_path / "m.parquet", records)
    back = read_records(tmp_path / "m.parquet")
    assert [r["step"] for r in back] == [1, 2, 3]
    assert back[0]["loss"] == 0.5 and back[1]["loss"] == 1.0
    assert "reward" not in back[1], "NaN is stored as missing"
    assert back[1]["extra"] == "[1, 2]"
    assert back[2]["flag"] is True
    assert not (tmp_path / "m.parquet.tmp").exists()


def test_run_folder_finds_checkpoints_in_step_order(tmp_path):
    run = RunFolder(tmp_path)
    for step in (10, 2, 100):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-7").mkdir()  # no trainer state: an interrupted save
    (tmp_path / "checkpoint-x").mkdir()
    assert [p.name for p in run.checkpoints()] == [
        "checkpoint-2",
        "checkpoint-10",
        "checkpoint-100",
    ]
    assert run.latest_checkpoint().name == "checkpoint-100"
    with pytest.raises(FileNotFoundError, match="run folder"):
        run.read_json("config.json")
    run.write_json("config.json", {"a": tmp_path})
    assert run.read_json("config.json") == {"a": str(tmp_path)}


def test_metrics_recorder_mirrors_the_state_history(tmp_path):
    recorder = MetricsRecorder(RunFolder(tmp_path), stage="grpo")
    state = _State([{"step": 1, "reward": 0.5}])
    recorder.on_log(None, state, None, logs={"reward": 0.5})
    assert recorder.records == [{"step": 1, "reward": 0.5, "stage": "grpo"}]
    # a resumed trainer restores its history: the recorder follows it, no duplicates
    state.log_history = [{"step": 1, "reward": 0.5}, {"step": 2, "reward": 0.75}]
    recorder.on_train_begin(None, state, None)
    assert [r["step"] for r in RunFolder(tmp_path).read_metrics()] == [1, 2]
    state.is_world_process_zero = False
    state.log_history = [*state.log_history, {"step": 3}]
    recorder.on_log(None, state, None)
    assert [r["step"] for r in RunFolder(tmp_path).read_metrics()] == [1, 2]


def test_progress_callback_reports_steps_and_last_logs():
    seen = []
    progress = ProgressCallback(lambda step, total, logs: seen.append((step, total, dict(logs))))
    state = _State([], step=0, max_steps=4)
    progress.on_train_begin(None, state, None)
    progress.on_log(None, state, None, logs={"reward": 1.0})
    state.global_step = 1
    progress.on_step_end(None, state, None)
    assert seen == [(0, 4, {}), (1, 4, {"reward": 1.0})]
    with pytest.raises(TypeError, match="callable"):
        ProgressCallback("not a function")


def test_instrumented_reward_is_transparent_and_pickles():
    timed = InstrumentedReward(format_reward, keep=2)
    completions = [GOOD, "joy", [{"role": "assistant", "content": GOOD}]]
    assert timed(completions=completions, task=["emotion"] * 3) == format_reward(
        completions=completions
    )
    for _ in range(3):
        timed(completions=[GOOD])
    assert timed.calls == 4 and len(timed.history) == 2
    assert timed.seconds > 0
    clone = pickle.loads(pickle.dumps(timed))
    assert clone.__name__ == "format_reward" and clone(completions=[GOOD]) == [1.0]


def test_sample_rows_join_every_reward_by_step():
    from eemo_rewards.rewards.accuracy import accuracy_reward

    class Step:
        global_step = 5

    rewards = [InstrumentedReward(format_reward), InstrumentedReward(accuracy_reward)]
    batch = {
        "completions": [GOOD, "<think>x</think><answer>fear</answer>", "no tags"],
        "solution": ["joy", "joy", "yes"],
        "task": ["emotion", "emotion", "yes_no"],
        "trainer_state": Step(),
    }
    for reward in rewards:
        reward(**batch)
    rows = sample_rows(rewards)
    assert [r["format_reward"] for r in rows] == [1.0, 1.0, 0.0]
    assert [r["accuracy_reward"] for r in rows] == [1.0, 0.0, 0.0]
    assert rows[0]["step"] == 5 and rows[2]["task"] == "yes_no"
    assert sample_rows([]) == []
