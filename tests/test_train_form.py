"""The main job's settings form (basic/advanced, preset controls, derived numbers), its live
curves, the run picker's labels, and ``--report-to`` passed through to TRL."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eemo_rewards.analysis.live import LiveCurves
from eemo_rewards.spec import PRESETS, preset
from eemo_rewards.train.form import (
    BASIC_SETTINGS,
    compare_rows,
    derived_numbers,
    differing_settings,
    field_value,
    model_problem,
    run_label,
    settings_layout,
    spec_controls,
    validate_form,
)
from eemo_rewards.train.pipeline import REPORT_TO, JobSettings


def test_every_grouped_setting_is_in_the_form_once_with_help_and_basic_comes_first():
    layout = settings_layout()
    assert tuple(layout["basic"]) == BASIC_SETTINGS
    shown = [*layout["basic"], *layout["advanced"]]
    grouped = [n for n, f in JobSettings.form_fields().items() if f["group"] is not None]
    assert sorted(shown) == sorted(grouped) and len(shown) == len(set(shown))
    assert "report_to" in layout["advanced"]
    assert layout["advanced"]["report_to"]["choices"] == REPORT_TO
    for name in layout["basic"]:
        assert layout["basic"][name]["help"], f"{name} has no help text"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_controls_start_at_the_presets_values_and_only_used_ones_show(name):
    spec = preset(name)
    controls = spec_controls(spec)
    names = {t.name for t in spec.terms}
    assert ("accuracy_mode" in controls) == ("accuracy" in names)
    assert ("kernel" in controls) == ("intensity" in names)
    for term in spec.terms:
        if term.name == "accuracy":
            assert controls["accuracy_mode"] == term.params.get("mode", "binary")
        if term.name == "intensity":
            assert controls["kernel"] == term.params.get("kernel", "linear")
    # the notebook applies them back: a spec rebuilt from its own controls is unchanged
    changes = {}
    for term in spec.terms:
        if term.name == "accuracy":
            changes[f"{term.key}.mode"] = controls["accuracy_mode"]
        if term.name == "intensity":
            changes[f"{term.key}.kernel"] = controls["kernel"]
    rebuilt = spec.with_settings(changes) if changes else spec
    assert spec_controls(rebuilt) == controls


def _timed_run(tmp_path: Path, settings: JobSettings, records: list[dict]) -> dict:
    from eemo_rewards.train.pipeline import TIMING_FILE

    settings.run_dir.mkdir(parents=True, exist_ok=True)
    (settings.run_dir / TIMING_FILE).write_text(json.dumps(records))
    return {"path": settings.run_dir, "settings": settings, "finished": True, "grpo_step": 0}


def test_the_estimate_counts_sft_grpo_and_evaluation_at_the_measured_speed(tmp_path):
    from eemo_rewards.train.pipeline import plan_job, work_units

    old = JobSettings(runs_dir=str(tmp_path), sft_steps=10, grpo_steps=5, prompts_per_step=2,
                      num_generations=4)  # fmt: skip
    runs = [
        _timed_run(tmp_path, old, [
            {"stage": "sft", "model": "tiny", "units": 100, "seconds": 50.0, "when": 1},
            {"stage": "grpo", "model": "tiny", "units": 1000, "seconds": 20.0, "when": 2},
            {"stage": "eval", "model": "tiny", "units": 400, "seconds": 40.0, "when": 3},
        ])
    ]  # fmt: skip
    new = JobSettings(runs_dir=str(tmp_path), sft_steps=30, grpo_steps=10, prompts_per_step=1,
                      num_generations=8)  # fmt: skip
    plan = plan_job(new)
    assert plan["action"] == "new" and plan["sft"] == "train"
    numbers = derived_numbers(new, runs, plan)
    assert numbers["completions per GRPO step"] == 8
    assert numbers["GRPO completions in all"] == 80
    assert numbers["SFT demonstrations seen"] == 30 * new.sft_batch_size
    expected = {
        "sft": 0.5 * work_units(new, "sft", 30),
        "grpo": 0.02 * work_units(new, "grpo", 10),
        "eval": 0.1 * work_units(new, "eval"),
    }
    assert numbers["seconds per stage"] == pytest.approx(expected)
    assert numbers["estimated seconds"] == pytest.approx(sum(expected.values()), abs=0.2)
    assert "tiny" in numbers["estimated from"] and not numbers["reused"]
    # a newer measurement moves the estimate (it updates after every run)
    runs.append(_timed_run(tmp_path, JobSettings(runs_dir=str(tmp_path), seed=9), [
        {"stage": "eval", "model": "tiny", "units": 100, "seconds": 100.0, "when": 4},
    ]))  # fmt: skip
    slower = derived_numbers(new, runs, plan)
    assert slower["seconds per stage"]["eval"] > numbers["seconds per stage"]["eval"]
    # another model: no guess
    other = derived_numbers(JobSettings(runs_dir=str(tmp_path), model="smollm2"), runs)
    assert other["estimated seconds"] is None


def test_run_labels_name_the_preset_of_an_edited_spec(tmp_path):
    spec = preset("soft").with_settings({"format.weight": 0.7}).to_json()
    label = run_label({"path": tmp_path / "tiny-1", "grpo_step": 3, "eval": [],
                       "settings": JobSettings(spec=spec)})  # fmt: skip
    assert label == "tiny-1 · 3 GRPO steps · soft"


def test_picker_labels_and_compare_rows_name_what_differs(tmp_path):
    runs = [
        {"path": tmp_path / "a", "grpo_step": 100, "eval": [], "modified": 0,
         "settings": JobSettings(sft_steps=600)},
        {"path": tmp_path / "b", "grpo_step": 100, "eval": [], "modified": 0,
         "settings": JobSettings(sft_steps=200, grpo_learning_rate=5e-5)},
    ]  # fmt: skip
    assert differing_settings(runs) == ["sft_steps", "grpo_learning_rate"]
    labels = [run_label(r, runs) for r in runs]
    assert "SFT steps 600" in labels[0] and "GRPO learning rate 1e-05" in labels[0]
    assert "SFT steps 200" in labels[1] and "GRPO learning rate 5e-05" in labels[1]
    assert len(set(labels)) == 2
    rows = compare_rows(runs)
    assert [r["SFT steps"] for r in rows] == ["600", "200"]
    assert "seed" not in rows[0]  # only what differs


FLOATS = [n for n, f in JobSettings.form_fields().items() if f["type"] == "float" and "range" in f]
INTS = [n for n, f in JobSettings.form_fields().items() if f["type"] == "int" and "range" in f]


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(FLOATS), value=st.floats(allow_nan=False, allow_infinity=False),
       style=st.sampled_from(["{:e}", "{:E}", "{!r}", "{:.3g}", " {} "]))  # fmt: skip
def test_a_float_field_takes_any_notation_or_says_what_is_wrong(name, value, style):
    text = style.format(value)
    field = JobSettings.form_fields()[name]
    low, high = field["range"][:2]
    number = float(text)
    parsed, error = field_value(name, text)
    ok = low <= number <= high and not (name.endswith("learning_rate") and number <= 0)
    if ok:
        assert error is None and parsed == number
    else:
        assert parsed is None and field["label"] in error and text.strip() in error


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(INTS), value=st.integers(-(10**7), 10**7) | st.floats(-1e7, 1e7))
def test_an_int_field_takes_whole_numbers_in_range_only(name, value):
    low, high = JobSettings.form_fields()[name]["range"][:2]
    parsed, error = field_value(name, str(value))
    if float(value) == int(value) and low <= value <= high:
        assert error is None and parsed == int(value)
    else:
        assert parsed is None and error


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=12))
def test_malformed_numbers_are_errors_never_a_default(text):
    for name in ("grpo_learning_rate", "sft_steps"):
        parsed, error = field_value(name, text)
        assert (parsed is None) != (error is None)
        if parsed is not None:
            assert parsed == float(text.strip().replace("_", ""))


def test_the_form_says_what_is_wrong_with_a_model_and_passes_what_loads(tmp_path):
    values, errors = validate_form({"model": "nobody/not-a-model", "sft_steps": "600"})
    assert values == {"sft_steps": 600} and "tiny" in errors["model"]
    assert "hf download nobody/not-a-model" in errors["model"]
    assert validate_form({"model": "tiny"}) == ({"model": "tiny"}, {})
    (tmp_path / "m").mkdir()
    assert "no config.json" in model_problem(str(tmp_path / "m"))
    (tmp_path / "m" / "config.json").write_text("{}")
    assert model_problem(str(tmp_path / "m")) is None
    assert "no folder" in model_problem("./missing/model")


def test_live_curves_keep_one_point_per_logged_step_and_time_each_stage_apart():
    clock = iter([0.0, 1.0, 2.0, 3.0, 10.0, 20.0, 30.0, 30.0])
    live = LiveCurves(every=2, clock=lambda: next(clock))
    logs = {"loss": 2.0}
    for step in range(4):  # SFT: 1 s per step; its log dict repeats between logs
        live.record("sft", step, 3, logs if step else {})
    assert live.points["sft"] == [(1, 2.0)]
    assert live.eta("sft") == 0.0 and live.seconds_per_step("sft") == pytest.approx(1.0)
    for step, reward in ((0, None), (1, 0.5), (2, 0.75)):  # GRPO: 10 s per step
        live.record("grpo", step, 10, {} if reward is None else {"reward": reward})
    assert live.seconds_per_step("grpo") == pytest.approx(10.0)
    # the newest completion rides along without adding a point of its own
    live.record("grpo", 2, 10, {"reward": 0.75, "sample_completion": "<answer>joy</answer>",
                                "sample_task": "emotion"})  # fmt: skip
    assert live.sample == ("emotion", "<answer>joy</answer>")
    assert [p for p in live.points["grpo"]] == [(1, 0.5), (2, 0.75)]
    assert live.eta("grpo") == pytest.approx(80.0)  # not mixed with SFT's fast steps
    assert "about 80 s left" in live.status()
    assert live.chart().to_dict()["hconcat"]  # loss and reward side by side, own axes
    with pytest.raises(ValueError, match="at least 1"):
        LiveCurves(every=0)


def test_report_to_reaches_the_trainer_arguments_and_a_bad_value_says_what_to_do(tmp_path):
    from eemo_rewards.train.pipeline import _grpo_args, _sft_args

    settings = JobSettings(runs_dir=str(tmp_path), report_to="tensorboard", grpo_steps=2,
                           prompts_per_step=1, num_generations=4)  # fmt: skip
    assert _sft_args(settings, None, tmp_path / "sft").report_to == ["tensorboard"]
    assert _grpo_args(settings, None, tmp_path / "grpo").report_to == ["tensorboard"]
    default = JobSettings(runs_dir=str(tmp_path))
    assert _sft_args(default, None, tmp_path / "sft").report_to in ("none", [], ["none"])
    assert JobSettings.from_args(["--report-to", "wandb"]).report_to == "wandb"
    with pytest.raises(ValueError, match="--report-to"):
        _sft_args(JobSettings(report_to="mlflw"), None, tmp_path / "x")
    # logging elsewhere does not change what was trained: same job, same folders
    assert (
        settings.run_dir
        == JobSettings(
            runs_dir=str(tmp_path), grpo_steps=2, prompts_per_step=1, num_generations=4
        ).run_dir
    )


@pytest.mark.slow
def test_report_to_tensorboard_writes_event_files(tmp_path, monkeypatch):
    if importlib.util.find_spec("tensorboard") is None:
        pytest.skip("tensorboard is not installed (pip install -e '.[logging]')")
    pytest.importorskip("trl")
    from eemo_rewards.train.pipeline import run_job

    monkeypatch.setenv("EEMO_REWARDS_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("EEMO_REWARDS_CACHE", str(tmp_path / "cache"))
    settings = JobSettings(
        runs_dir=str(tmp_path / "runs"), n_images=140, sft_rows=32, sft_steps=2,
        sft_batch_size=4, grpo_steps=2, prompts_per_step=1, num_generations=4,
        max_completion_length=8, eval_rows=8, report_to="tensorboard",
    )  # fmt: skip
    run_job(settings, evaluate=False)
    for stage in (settings.sft_dir, settings.run_dir / "grpo"):
        events = list(Path(stage).glob("runs/*/events.out.tfevents.*"))
        assert events and all(e.stat().st_size > 0 for e in events), (stage, events)
