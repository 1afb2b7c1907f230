"""The main job's settings, command line and data splits."""

from __future__ import annotations

import pytest

pytest.importorskip("polars")
pytest.importorskip("trl")

from eemo_rewards.train.pipeline import (
    DEFAULT_TASKS,
    HELDOUT_SETS,
    JobSettings,
    builtin_splits,
    heldout_set,
    tokenizer_corpus,
)


def test_command_line_flags_map_to_settings():
    settings = JobSettings.from_args(
        ["--grpo-steps", "7", "--lora", "TRUE", "--tasks", "emotion, yes_no", "--beta", "0.04"]
    )
    assert settings.grpo_steps == 7 and settings.lora is True and settings.beta == 0.04
    assert settings.tasks == ("emotion", "yes_no")
    # marimo's cli_args() gives a dict with typed values
    from_marimo = JobSettings.from_args({"eval-sampled": False, "num_generations": 4})
    assert from_marimo.eval_sampled is False and from_marimo.num_generations == 4
    assert JobSettings.from_args([]) == JobSettings()
    with pytest.raises(SystemExit, match="--grpo-steps"):
        JobSettings.from_args(["--grpo-step", "7"])


def test_settings_round_trip_and_name_the_run_folder(tmp_path):
    settings = JobSettings(runs_dir=str(tmp_path), grpo_steps=3)
    again = JobSettings.from_dict(settings.to_dict())
    assert again == settings
    assert settings.run_dir.parent == tmp_path
    assert settings.run_dir.name == f"tiny-{settings.short_id()}"
    # more GRPO steps continue the same run; any other GRPO setting is another run
    assert JobSettings(grpo_steps=4).short_id() == settings.short_id()
    assert JobSettings(grpo_learning_rate=1e-4).short_id() != settings.short_id()
    assert JobSettings(eval_rows=5).short_id() == settings.short_id()
    # SFT is keyed by the SFT settings alone: GRPO settings share one SFT folder
    assert JobSettings(runs_dir=str(tmp_path), beta=0.1).sft_dir == settings.sft_dir
    assert JobSettings(runs_dir=str(tmp_path), sft_steps=9).sft_dir != settings.sft_dir
    assert settings.sft_dir.parent == tmp_path and settings.sft_final.name == "final"
    assert JobSettings(sft_from="/x/final").sft_final == JobSettings(sft_from="/x/final").sft_dir
    # where the run lives is not part of what it is
    assert JobSettings(runs_dir="elsewhere", grpo_steps=3).short_id() == settings.short_id()
    assert JobSettings(name="mine", runs_dir=str(tmp_path)).run_dir == tmp_path / "mine"
    with pytest.raises(ValueError, match="grpo_stepz"):
        JobSettings.from_dict({"grpo_stepz": 3})


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    settings = JobSettings(n_images=140, sft_rows=40, grpo_rows=80, eval_rows=30)
    return builtin_splits(settings, cache_dir=tmp_path_factory.mktemp("builtin"))


def test_splits_keep_held_out_images_out_of_training(splits, tmp_path):
    assert len(splits["sft"]) == 40 and len(splits["grpo"]) == 80
    # the held-out set is sized per reported metric: eval_rows per task and per V/A/D
    # dimension, as many as the 14 test images allow
    test = splits["test"].to_polars()
    per_metric = splits["counts"]["eval_per_metric"]
    assert sum(per_metric.values()) == len(test) == splits["counts"]["eval_rows"]
    assert {"assessment/valence", "assessment/arousal", "assessment/dominance"} <= set(per_metric)
    assert max(per_metric.values()) <= 30
    full = test.group_by("task").len()
    assert set(full["task"]) == set(DEFAULT_TASKS) & set(test["task"])
    few = builtin_splits(JobSettings(n_images=140, eval_rows=3), cache_dir=tmp_path)["counts"]
    assert set(few["eval_per_metric"].values()) == {3}
    train_images = set(splits["grpo"]["image_id"]) | set(splits["sft"]["image_id"])
    assert not train_images & set(splits["test"]["image_id"])
    assert set(splits["grpo"]["task"]) <= set(DEFAULT_TASKS)
    assert {"prompt", "images", "completion", "solution", "task"} <= set(splits["sft"].column_names)
    # SFT demonstrations are the first rows of the same shuffled training pool GRPO uses
    assert splits["sft"]["id"] == splits["grpo"]["id"][:40]


def test_tokenizer_corpus_reads_prompt_and_target_text(splits):
    texts = tokenizer_corpus(splits["sft"], limit=5)
    assert any("<think>" in t for t in texts)
    assert any("?" in t for t in texts)


def test_heldout_sets(tmp_path, monkeypatch):
    monkeypatch.setenv("EEMO_REWARDS_DATA", str(tmp_path))
    settings = JobSettings(eval_rows=12, tasks=("emotion",))
    fresh = heldout_set("builtin-fresh", settings)
    assert len(fresh) == 12 and set(fresh["task"]) == {"emotion"}
    with pytest.raises(ValueError, match="openmoji"):
        heldout_set("no-such-set", settings)
    assert set(HELDOUT_SETS) == {"builtin-test", "builtin-fresh", "openmoji"}
