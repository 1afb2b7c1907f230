"""The study runs the recipe the project ships: every arm is the main job's settings (a
``dataclasses.replace`` of the shipped defaults) run through the main job's stage functions."""

from __future__ import annotations

import dataclasses

import pytest

from eemo_rewards.train.settings import JobSettings

pytest.importorskip("trl", reason="the study's runner needs the [train] extra")

from eemo_rewards.train import study

# what a cell sets on purpose: the budget's scale, the cell's task/seed/folders, the arm's
# rewards, greedy-only held-out answers and one checkpoint (neither is in the job id)
_SCALE = {"n_images", "sft_steps", "grpo_steps", "eval_rows"}
_CELL = {"tasks", "seed", "runs_dir", "name", "spec", "eval_sampled", "save_steps"}


def _changed(settings: JobSettings) -> set[str]:
    shipped = JobSettings()
    return {
        f.name
        for f in dataclasses.fields(JobSettings)
        if getattr(settings, f.name) != getattr(shipped, f.name)
    }


@pytest.mark.parametrize("budget", ["full", "small"])
def test_every_arm_is_the_shipped_recipe_with_only_its_own_changes(budget):
    shipped = JobSettings()
    seen_rates = set()
    for name in study.STUDY_SETTINGS:
        setting = study.SETTINGS[name]
        for arm in [study.Arm("stage1", None), *study.arms_for(setting)]:
            job = study.arm_settings(setting, arm, study.BUDGETS[budget], 2)
            own = set(dict(arm.changes))
            assert _changed(job) <= _SCALE | _CELL | own, (name, arm.name)
            for key in ("grpo_learning_rate", "prompts_per_step", "num_generations",
                        "temperature", "max_completion_length", "image_size", "think",
                        "eval_batch_size", "beta", "loss_type", "sft_learning_rate"):  # fmt: skip
                if key not in own:
                    assert getattr(job, key) == getattr(shipped, key), (name, arm.name, key)
            seen_rates.add(job.grpo_learning_rate)
    # the old rate survives as one arm, against the shipped one
    assert seen_rates == {shipped.grpo_learning_rate, study.OLD_LEARNING_RATE}
    lr_arm = study.ARMS["grpo_intensity_lr3e5"]
    assert dict(lr_arm.changes) == {"grpo_learning_rate": study.OLD_LEARNING_RATE}


def test_an_arm_changing_an_unknown_setting_is_refused():
    arm = study.Arm("grpo_x", "emotion", (("format", 1.0, ()),), changes=(("lr", 1e-3),))
    with pytest.raises(ValueError, match="unknown job setting"):
        study.arm_settings(study.SETTINGS["noisy"], arm, study.BUDGETS["smoke"], 0)


@pytest.mark.slow
def test_a_cell_trains_through_the_main_jobs_stage_functions(tmp_path, monkeypatch):
    """Stage 1 and every GRPO arm go through run_sft_stage / run_grpo_stage with the arm's
    JobSettings, so the study cannot drift from the main job's recipe."""
    from eemo_rewards.train import pipeline

    seen: dict[str, list[JobSettings]] = {"sft": [], "grpo": []}
    real_sft, real_grpo = pipeline.run_sft_stage, pipeline.run_grpo_stage

    def sft(settings, data, **kwargs):
        seen["sft"].append(settings)
        return real_sft(settings, data, **kwargs)

    def grpo(settings, sft_final, prompts, **kwargs):
        seen["grpo"].append(settings)
        return real_grpo(settings, sft_final, prompts, **kwargs)

    monkeypatch.setattr(pipeline, "run_sft_stage", sft)
    monkeypatch.setattr(pipeline, "run_grpo_stage", grpo)
    budget = study.Budget("t", n_images=70, sft_steps=1, grpo_steps=1, eval_rows=4,
                          eval_images=4, changes=(("num_generations", 2),
                          ("prompts_per_step", 2), ("max_completion_length", 8)))  # fmt: skip
    out = study.run_cell(
        "diagnosis", 0, budget=budget, root=tmp_path, arms=["grpo_intensity_lr3e5"]
    )
    assert [d["row"]["arm"] for d in out] == ["stage1", "grpo_intensity_lr3e5"]
    assert len(seen["sft"]) == 1 and seen["sft"][0].sft_steps == 1
    (job,) = seen["grpo"]
    assert job.grpo_learning_rate == study.OLD_LEARNING_RATE
    assert (job.prompts_per_step, job.num_generations) == (2, 2)
    assert job.beta == JobSettings().beta and job.loss_type == JobSettings().loss_type
    assert job.spec.identity() == study.ARMS["grpo_intensity_lr3e5"].spec().identity()


def test_full_budget_names_the_shipped_recipe():
    full = study.BUDGETS["full"]
    assert len(full.seeds) >= 5 and full.held_out_images >= 200 and full.eval_rows >= 200
    assert full.changes == ()  # nothing but scale: the recipe is the main job's
    job = full.settings()
    assert _changed(job) <= _SCALE
