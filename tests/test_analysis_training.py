"""The training ablation grid: settings, arms, data and the comparison with the SFT control."""

from __future__ import annotations

import polars as pl
import pytest

from eemo_rewards.analysis.training import gains_over_sft
from eemo_rewards.train.study import (
    ARMS,
    BUDGETS,
    SETTINGS,
    Budget,
    arms_for,
    run_study,
    setting_data,
)

pytest.importorskip("trl", reason="the training study needs the [train] extra")


def test_every_setting_has_an_sft_control_and_a_reward_arm():
    for setting in SETTINGS.values():
        names = [a.name for a in arms_for(setting)]
        # the diagnosis setting compares GRPO variants with their SFT checkpoint only
        assert names[0] == "sft" or setting.name == "diagnosis"
        assert any(ARMS[n].is_grpo for n in names), setting.name
    with pytest.raises(ValueError, match="unknown arm"):
        arms_for(SETTINGS["clean"], ["grpo_magic"])


def test_arm_specs_are_valid_reward_specs():
    for arm in ARMS.values():
        if arm.is_grpo:
            funcs, weights = arm.spec().build()
            assert funcs[0].__name__ == "format_reward"
            assert weights[0] == 0.5


def test_scarce_and_noisy_demonstrations(tmp_path):
    budget = BUDGETS["smoke"]
    demos, prompts, evaluation = setting_data(SETTINGS["scarce"], 0, budget, cache_dir=tmp_path)
    assert len(demos) == 16 and len(prompts) > len(demos)
    assert len(evaluation) <= budget.eval_rows
    noisy = Budget("noisy-test", n_images=70, sft_steps=1, grpo_steps=1, eval_rows=7)
    demos, prompts, _ = setting_data(SETTINGS["noisy"], 0, noisy, cache_dir=tmp_path)
    written = [c[0]["content"] for c in demos["completion"]]
    solutions = demos["solution"]
    wrong = sum(
        not c.endswith(f"<answer>{s}</answer>") for c, s in zip(written, solutions, strict=True)
    )
    # about 40% of the demonstrations name another emotion; the solutions stay annotated
    assert 0.2 < wrong / len(demos) < 0.6
    assert demos["solution"] == prompts["solution"]


def test_scarce_setting_needs_enough_images(tmp_path):
    tiny = Budget("tiny", n_images=14, sft_steps=1, grpo_steps=1, eval_rows=2)
    with pytest.raises(ValueError, match="raise n_images"):
        setting_data(SETTINGS["scarce"], 0, tiny, cache_dir=tmp_path)


def test_gains_over_sft_pairs_arms_with_the_same_seed():
    results = pl.DataFrame(
        {
            "setting": ["s"] * 6,
            "seed": [0, 0, 0, 1, 1, 1],
            "arm": ["stage1", "sft", "grpo_soft"] * 2,
            "eval_emotion_acc": [0.1, 0.5, 0.7, 0.1, 0.6, 0.6],
        }
    )
    gains = gains_over_sft(results, metric="eval_emotion_acc").row(0, named=True)
    assert gains["arm"] == "grpo_soft" and gains["seeds"] == 2
    assert gains["gain_mean"] == pytest.approx(0.1)
    assert (gains["gain_min"], gains["gain_max"]) == pytest.approx((0.0, 0.2))
    with pytest.raises(ValueError, match="no column"):
        gains_over_sft(results, metric="eval_f1")


def test_run_study_rejects_unknown_settings(tmp_path):
    with pytest.raises(ValueError, match="unknown setting"):
        run_study(["plentiful"], root=tmp_path)
    with pytest.raises(ValueError, match="at least one seed"):
        run_study(["scarce"], seeds=[], root=tmp_path)


@pytest.mark.slow
def test_smoke_study_runs_every_stage(tmp_path):
    budget = Budget(
        "test",
        n_images=70,
        sft_steps=2,
        grpo_steps=1,
        eval_rows=4,
        changes=(("num_generations", 4), ("prompts_per_step", 2), ("sft_batch_size", 4)),
    )
    results = run_study(["scarce"], ["sft", "grpo_binary"], [0], budget=budget, root=tmp_path)
    assert results["arm"].to_list() == ["stage1", "sft", "grpo_binary"]
    assert results["budget"].unique().to_list() == ["test"]
    by_arm = {r["arm"]: r for r in results.iter_rows(named=True)}
    assert by_arm["grpo_binary"]["steps"] == 1
    assert by_arm["grpo_binary"]["frac_reward_zero_std"] is not None
    assert by_arm["sft"]["steps"] >= 1  # matched to the GRPO arm's wall time
    assert {"eval_format_rate", "eval_emotion_acc", "budget"} <= set(results.columns)
