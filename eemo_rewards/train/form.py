"""What the main job's settings form shows, worked out from :class:`JobSettings` alone.

``notebooks/grpo.py`` builds its widgets from these (so the editor and the command line
cannot drift apart): which settings come first and which wait in an "advanced" section
(:func:`settings_layout`), what a typed value means or what is wrong with it
(:func:`field_value`, :func:`validate_form`, :func:`model_problem`), what a reward preset
really uses (:func:`spec_controls`), the numbers a setting implies before anything runs
(:func:`derived_numbers`: the time estimate), and how finished runs are told apart
(:func:`run_label`, :func:`differing_settings`, :func:`compare_rows`). Standard library
only at import.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eemo_rewards.train.pipeline import JobSettings

__all__ = [
    "BASIC_SETTINGS",
    "compare_rows",
    "derived_numbers",
    "differing_settings",
    "field_text",
    "field_value",
    "model_label",
    "model_problem",
    "run_label",
    "settings_layout",
    "spec_controls",
    "spec_name",
    "validate_form",
]

#: The settings a newcomer sets first, in this order; every other form field is "advanced".
BASIC_SETTINGS = ("model", "n_images", "sft_steps", "grpo_steps", "eval_rows")


def settings_layout() -> dict[str, dict[str, dict[str, Any]]]:
    """``{"basic": {name: field}, "advanced": {name: field}}`` over every form field of
    :meth:`JobSettings.form_fields` that has a group (the others are command-line only);
    basic in :data:`BASIC_SETTINGS` order, advanced in the dataclass order.

    Examples
    --------
    >>> layout = settings_layout()
    >>> list(layout["basic"])[:2], "beta" in layout["advanced"]
    (['model', 'n_images'], True)
    """
    fields = {
        name: field
        for name, field in JobSettings.form_fields().items()
        if field.get("group") is not None
    }
    missing = [name for name in BASIC_SETTINGS if name not in fields]
    if missing:
        raise ValueError(f"BASIC_SETTINGS names {missing}, which are not form fields")
    return {
        "basic": {name: fields[name] for name in BASIC_SETTINGS},
        "advanced": {n: f for n, f in fields.items() if n not in BASIC_SETTINGS},
    }


def spec_controls(spec: Any) -> dict[str, str]:
    """The per-term choices a reward spec uses and the values it sets: ``accuracy_mode``
    when it has an accuracy term (its ``mode``, ``binary`` when unset), ``kernel`` when it has
    an intensity term (its ``kernel``, ``linear`` when unset). A control that is absent does
    nothing for this spec and should not be shown.

    Examples
    --------
    >>> from eemo_rewards.spec import preset
    >>> spec_controls(preset("soft"))
    {'accuracy_mode': 'soft', 'kernel': 'gaussian'}
    >>> spec_controls(preset("format_only"))
    {}
    """
    out: dict[str, str] = {}
    for term in spec.terms:
        if term.name == "accuracy" and "accuracy_mode" not in out:
            out["accuracy_mode"] = str(term.params.get("mode", "binary"))
        if term.name == "intensity" and "kernel" not in out:
            out["kernel"] = str(term.params.get("kernel", "linear"))
    return out


def field_text(value: Any) -> str:
    """How a setting's value is written into a text field: floats in their shortest form
    (``1e-05``, ``0.0003``), the rest as text.

    Examples
    --------
    >>> field_text(1e-5), field_text(3e-4), field_text(600), field_text("tiny")
    ('1e-05', '0.0003', '600', 'tiny')
    """
    return f"{value:g}" if isinstance(value, float) else str(value)


def field_value(name: str, raw: Any) -> tuple[Any, str | None]:
    """The value of form field ``name`` as typed (``raw``), or ``(None, error)``.

    Numbers are read as Python reads them, scientific notation included (``2e-5``,
    ``1E3``); an integer field takes whole numbers only; the field's range (its
    :meth:`JobSettings.form_fields` ``range``, ends included) and choices are enforced;
    learning rates must be above 0. The error says what the field accepts. Nothing is
    replaced by a default.

    Examples
    --------
    >>> field_value("grpo_learning_rate", " 2e-5 ")
    (2e-05, None)
    >>> field_value("grpo_learning_rate", "-0.001")[1]
    'GRPO learning rate must be above 0 and at most 1 (got -0.001)'
    >>> field_value("grpo_steps", "1e2")
    (100, None)
    >>> field_value("grpo_steps", "2.5")[1]
    'GRPO steps must be a whole number (got 2.5)'
    >>> field_value("sft_steps", "abc")[1]
    "SFT steps must be a number, e.g. 600 (got 'abc')"
    """
    field = JobSettings.form_fields()[name]
    label, kind, default = field["label"], field["type"], field["default"]
    if "choices" in field:
        if raw not in field["choices"]:
            return None, f"{label} must be one of {', '.join(field['choices'])} (got {raw!r})"
        return raw, None
    if kind not in ("int", "float"):
        text = str(raw).strip()
        return (text, None) if text else (None, f"{label} cannot be empty")
    text = str(raw).strip().replace("_", "")
    try:
        number = float(text)
    except ValueError:
        return None, f"{label} must be a number, e.g. {field_text(default)} (got {raw!r})"
    if not math.isfinite(number):
        return None, f"{label} must be a finite number (got {raw!r})"
    if kind == "int":
        if number != int(number):
            return None, f"{label} must be a whole number (got {text})"
        number = int(number)
    low, high = field.get("range", (None, None, None))[:2]
    positive = name.endswith("learning_rate")
    if positive and number <= 0:
        return None, f"{label} must be above 0 and at most {field_text(high)} (got {text})"
    if low is not None and not low <= number <= high:
        return None, (
            f"{label} must be between {field_text(low)} and {field_text(high)} (got {text})"
        )
    return number, None


def model_problem(model: str) -> str | None:
    """What is wrong with a model name before anything loads it, with what to do; ``None``
    when it can be loaded offline: ``tiny``, ``smollm2``, a folder holding a model, or a
    hub id already in the local cache (nothing is downloaded).

    Examples
    --------
    >>> model_problem("tiny") is None
    True
    >>> print(model_problem("no-such-org/no-such-model"))
    'no-such-org/no-such-model' is not in this machine's model cache ...
    """
    name = str(model).strip()
    if name in ("tiny", "smollm2"):
        return None
    folder = Path(name).expanduser()
    if folder.is_dir():
        if (folder / "config.json").exists() or (folder / "adapter_config.json").exists():
            return None
        return f"the folder {name!r} holds no model (no config.json); pick a model folder"
    looks_like_a_path = name.count("/") > 1 or name.startswith((".", "/", "~"))
    if looks_like_a_path or (os.sep != "/" and os.sep in name):
        return f"no folder {name!r}; give an existing model folder, a cached hub id or 'tiny'"
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # without the [train] extra nothing can load it anyway
        return "the [train] extra is not installed: pip install -e '.[train]'"
    try:
        cached = try_to_load_from_cache(name, "config.json")
    except ValueError:  # not a valid repo id
        cached = None
    if isinstance(cached, str):
        return None
    return (
        f"{name!r} is not in this machine's model cache and nothing here downloads weights. "
        "Use 'tiny' (offline, built here) or 'smollm2', a folder holding a model, or "
        f"download it once in a terminal (`hf download {name}`) and type its id again."
    )


def validate_form(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``(values, errors)`` of a form's fields as typed: every field of ``raw`` through
    :func:`field_value`, the model through :func:`model_problem` too. A field with an error
    has no value; the caller must not run while ``errors`` is not empty.

    Examples
    --------
    >>> values, errors = validate_form({"grpo_learning_rate": "2e-5", "sft_steps": "-1"})
    >>> values, list(errors)
    ({'grpo_learning_rate': 2e-05}, ['sft_steps'])
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, text in raw.items():
        value, error = field_value(name, text)
        if error is None and name == "model":
            error = model_problem(value)
        if error is None:
            values[name] = value
        else:
            errors[name] = error
    return values, errors


def _work(settings: JobSettings, plan: Mapping[str, Any]) -> dict[str, int]:
    """The work units (:func:`~eemo_rewards.train.pipeline.work_units`) a planned job has
    left: SFT when it is not reused, the GRPO steps beyond what the folder holds, and the
    evaluation unless a stored one matches."""
    from eemo_rewards.train.pipeline import eval_stamp, stored_eval, work_units

    job = plan.get("settings", settings)
    action = plan.get("action", "new")
    work = {"sft": 0, "grpo": 0, "eval": 0}
    if plan.get("sft") == "train" and not job.sft_from:
        work["sft"] = work_units(job, "sft", job.sft_steps)
    left = {"new": job.grpo_steps, "branch": job.grpo_steps}.get(action)
    if action in ("continue", "resume"):
        left = max(0, job.grpo_steps - int(plan.get("trained", 0)))
    work["grpo"] = work_units(job, "grpo", left or 0)
    stamp = eval_stamp(job, job.sft_steps, job.grpo_steps)
    if action not in ("reuse",) or stored_eval(job.run_dir, stamp) is None:
        work["eval"] = work_units(job, "eval")
    return work


def _rates(runs: Sequence[Mapping[str, Any]], model: str) -> dict[str, tuple[float, int]]:
    """Seconds per work unit of each stage, measured on this machine by the runs of
    ``model`` (their ``timing.json``, newest five of each stage): ``{stage: (seconds per
    unit, runs measured)}``."""
    from eemo_rewards.train.pipeline import timing_records

    records = [
        r
        for run in runs
        for r in timing_records(run["path"])
        if str(r.get("model")) == str(model) and r.get("units")
    ]
    records.sort(key=lambda r: r.get("when", 0), reverse=True)
    rates = {}
    for stage in ("sft", "grpo", "eval"):
        newest = [r for r in records if r["stage"] == stage][:5]
        if newest:
            seconds = sum(float(r["seconds"]) for r in newest)
            rates[stage] = (seconds / sum(int(r["units"]) for r in newest), len(newest))
    return rates


def derived_numbers(
    settings: JobSettings,
    runs: Sequence[Mapping[str, Any]] = (),
    plan: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What the settings imply: completions per GRPO step and in all, SFT demonstrations
    seen, and the estimated seconds of what is left to do (SFT, GRPO and the evaluation,
    each by :func:`~eemo_rewards.train.pipeline.plan_job`'s ``plan``) at the speed the
    finished ``runs`` of the same model measured on this machine (their ``timing.json``).
    The estimate is ``None`` while a stage that has work has never been measured here.

    Examples
    --------
    >>> numbers = derived_numbers(JobSettings(grpo_steps=10, prompts_per_step=2,
    ...                                       num_generations=4), plan={"action": "new"})
    >>> numbers["completions per GRPO step"], numbers["GRPO completions in all"]
    (8, 80)
    >>> numbers["estimated seconds"] is None
    True
    """
    per_step = settings.prompts_per_step * settings.num_generations
    sft_steps = 0 if settings.sft_from else settings.sft_steps
    out: dict[str, Any] = {
        "completions per GRPO step": per_step,
        "GRPO completions in all": per_step * settings.grpo_steps,
        "SFT demonstrations seen": sft_steps * settings.sft_batch_size,
        "estimated seconds": None,
        "seconds per stage": {},
        "estimated from": None,
        "reused": False,
    }
    if plan is None:
        from eemo_rewards.train.pipeline import plan_job

        plan = plan_job(settings)
    work = _work(settings, plan)
    out["reused"] = not any(work.values())
    rates = _rates(runs, settings.model)
    if all(stage in rates or not units for stage, units in work.items()):
        per_stage = {
            stage: round(units * rates[stage][0], 1) for stage, units in work.items() if units
        }
        out["seconds per stage"] = per_stage
        out["estimated seconds"] = round(sum(per_stage.values()), 1)
        measured = max((n for _, n in rates.values()), default=0)
        out["estimated from"] = (
            f"the speed of up to {measured} earlier {settings.model} stage(s) on this machine"
            if rates
            else "nothing left to do"
        )
    return out


def json_text(value: Any) -> str:
    """A setting's value as comparable text (a spec is compared by its JSON)."""
    import json

    if isinstance(value, str) and value.lstrip().startswith("{"):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    return json.dumps(value, sort_keys=True, default=str)


def differing_settings(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The settings whose values are not the same in every run of ``runs``
    (:func:`~eemo_rewards.train.pipeline.list_runs` entries), in the form's order: what
    tells them apart.

    Examples
    --------
    >>> from pathlib import Path
    >>> a = {"path": Path("a"), "settings": JobSettings(sft_steps=100)}
    >>> b = {"path": Path("b"), "settings": JobSettings(sft_steps=200, grpo_learning_rate=5e-5)}
    >>> differing_settings([a, b])
    ['sft_steps', 'grpo_learning_rate']
    """
    names = [n for n in JobSettings.form_fields() if n not in ("name", "runs_dir")]
    seen: dict[str, set[str]] = {n: set() for n in names}
    for run in runs:
        data = run["settings"].to_dict()
        for name in names:
            seen[name].add(json_text(data.get(name)))
    return [n for n in names if len(seen[n]) > 1]


def _short(name: str, value: Any) -> str:
    label = JobSettings.form_fields()[name]["label"]
    if name == "spec":
        return f"reward {spec_name(value)}"
    return f"{label} {field_text(value)}"


def spec_name(spec: Any) -> str:
    """The name a reward spec goes by (any spelling :meth:`RewardSpec.coerce` reads): a
    preset's name, or the ``name`` the spec carries (``custom spec`` without one, or when
    the spelling is not a spec).

    Examples
    --------
    >>> from eemo_rewards.spec import preset
    >>> spec_name("soft"), spec_name('{"terms": []}'), spec_name(preset("binary"))
    ('soft', 'custom spec', 'binary')
    """
    from eemo_rewards.spec import RewardSpec

    try:
        return RewardSpec.coerce(spec).name or "custom spec"
    except (TypeError, ValueError, KeyError, OSError):
        return "custom spec"


def _greedy_reward(run: Mapping[str, Any]) -> float | None:
    return next(
        (
            r.get("reward_mean")
            for r in run.get("eval") or ()
            if r.get("stage") == "grpo" and r.get("decoding") == "greedy"
        ),
        None,
    )


def run_label(run: Mapping[str, Any], runs: Sequence[Mapping[str, Any]] = ()) -> str:
    """How a run picker names an entry of :func:`~eemo_rewards.train.pipeline.list_runs`:
    folder, date, GRPO steps, reward preset, the settings in which it differs from the other
    ``runs`` (:func:`differing_settings`) and the greedy GRPO reward mean when evaluated.

    Examples
    --------
    >>> from pathlib import Path
    >>> run_label({"path": Path("runs/tiny-1"), "grpo_step": 4, "settings": JobSettings(),
    ...            "eval": [{"stage": "grpo", "decoding": "greedy", "reward_mean": 0.51234}]})
    'tiny-1 · 4 GRPO steps · default · reward 0.512'
    """
    import time

    settings = run["settings"]
    parts = [run["path"].name]
    if run.get("modified"):
        parts.append(time.strftime("%b %d %H:%M", time.localtime(run["modified"])))
    parts += [f"{run['grpo_step']} GRPO steps", spec_name(settings.spec)]
    differ = [n for n in differing_settings(runs) if n not in ("grpo_steps", "spec")]
    data = settings.to_dict()
    parts += [_short(n, data[n]) for n in differ]
    reward = _greedy_reward(run)
    if isinstance(reward, int | float):
        parts.append(f"reward {reward:.3f}")
    return " · ".join(parts)


def compare_rows(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per run for a compare table: run, date, GRPO steps, the settings that differ
    between the runs, then the greedy held-out reward and format rate of each stage (values
    as they are; round them where they are shown)."""
    import time

    differ = [n for n in differing_settings(runs) if n != "grpo_steps"]
    rows = []
    for run in runs:
        data = run["settings"].to_dict()
        row: dict[str, Any] = {
            "run": run["path"].name,
            "date": time.strftime("%Y-%m-%d %H:%M", time.localtime(run.get("modified") or 0)),
            "GRPO steps": run["grpo_step"],
        }
        for name in differ:
            label = JobSettings.form_fields()[name]["label"]
            row[label] = spec_name(data[name]) if name == "spec" else field_text(data[name])
        for stage_row in run.get("eval") or ():
            if stage_row.get("decoding") == "greedy":
                for metric in ("reward_mean", "format_rate"):
                    row[f"{stage_row['stage']} {metric}"] = stage_row.get(metric)
        rows.append(row)
    return rows


def model_label(path: str, index: int | None = None) -> str:
    """How an evaluation names a model folder: the run it belongs to and its stage
    (``tiny-1a2b/grpo``, ``sft-tiny-9f8e``, ``tiny-1a2b/grpo step 40`` for a checkpoint),
    the name as given otherwise; prefixed by ``index`` when given.

    Examples
    --------
    >>> model_label("runs/tiny-1a2b/grpo/final", 1)
    '1: tiny-1a2b/grpo'
    >>> model_label("runs/sft-tiny-9f8e/final"), model_label("runs/x/grpo/checkpoint-40")
    ('sft-tiny-9f8e', 'x/grpo step 40')
    >>> model_label("tiny")
    'tiny'
    """
    folder = Path(path)
    name = str(path)
    if folder.name == "final" and folder.parent.name == "grpo":
        name = f"{folder.parent.parent.name}/grpo"
    elif folder.name == "final":
        name = folder.parent.name
    elif folder.name.startswith("checkpoint-"):
        stage = folder.parent
        owner = f"{stage.parent.name}/{stage.name}" if stage.name == "grpo" else stage.name
        name = f"{owner} step {folder.name.split('-', 1)[1]}"
    return name if index is None else f"{index}: {name}"
