"""What the main job's settings form shows, worked out from :class:`JobSettings` alone.

``notebooks/grpo.py`` builds its widgets from these (so the editor and the command line
cannot drift apart): which settings come first and which wait in an "advanced" section
(:func:`settings_layout`), what a reward preset really uses (:func:`spec_controls`), and the
numbers a setting implies before anything runs (:func:`derived_numbers`). Standard library
only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eemo_rewards.train.pipeline import JobSettings

__all__ = ["BASIC_SETTINGS", "derived_numbers", "run_label", "settings_layout", "spec_controls"]

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


def _rates(runs: Sequence[Mapping[str, Any]], model: str) -> dict[str, float]:
    """Seconds per SFT step and per GRPO completion measured by earlier runs of ``model``
    (``train_runtime`` that the trainer logs at the end of a stage)."""
    from eemo_rewards.train.runs import RunFolder

    for run in runs:
        settings = run["settings"]
        if str(settings.model) != str(model) or not run.get("finished"):
            continue
        rates: dict[str, float] = {}
        for stage, folder, units in (
            ("sft", settings.sft_dir, settings.sft_steps),
            ("grpo", run["path"] / "grpo", _completions(settings)),
        ):
            runtime = [
                r["train_runtime"]
                for r in RunFolder(folder).read_metrics()
                if r.get("train_runtime") is not None
            ]
            if runtime and units:
                rates[stage] = float(runtime[-1]) / units
        if len(rates) == 2:
            return rates
    return {}


def _finished_at(run: Any, steps: int) -> bool:
    finished = run.finished()
    return finished is not None and int(finished.get("global_step", -1)) == int(steps)


def _completions(settings: JobSettings) -> int:
    return settings.grpo_steps * settings.prompts_per_step * settings.num_generations


def derived_numbers(
    settings: JobSettings, runs: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """What the settings imply: completions per GRPO step and in all, SFT demonstrations
    seen, and an estimated training time from the speed of the newest finished run of the
    same model in ``runs`` (:func:`~eemo_rewards.train.pipeline.list_runs`); ``None`` where no
    such run exists (the time then is not guessed). Stages that finished with these settings
    count 0 s (they are reused); ``reused`` says both did.

    Examples
    --------
    >>> numbers = derived_numbers(JobSettings(grpo_steps=10, prompts_per_step=2,
    ...                                       num_generations=4))
    >>> numbers["completions per GRPO step"], numbers["GRPO completions in all"]
    (8, 80)
    >>> numbers["estimated training seconds"] is None
    True
    """
    per_step = settings.prompts_per_step * settings.num_generations
    sft_steps = 0 if settings.sft_from else settings.sft_steps
    out: dict[str, Any] = {
        "completions per GRPO step": per_step,
        "GRPO completions in all": per_step * settings.grpo_steps,
        "SFT demonstrations seen": sft_steps * settings.sft_batch_size,
        "estimated training seconds": None,
        "estimated from": None,
        "reused": False,
    }
    rates = _rates(runs, settings.model)
    if rates:
        # a finished stage with these settings is reused, not trained again
        from eemo_rewards.train.runs import RunFolder

        if _finished_at(RunFolder(settings.sft_dir), settings.sft_steps):
            sft_steps = 0
        grpo = 0 if _finished_at(RunFolder(settings.run_dir / "grpo"), settings.grpo_steps) else 1
        out["reused"] = sft_steps == 0 and grpo == 0
        seconds = rates["sft"] * sft_steps + grpo * rates["grpo"] * _completions(settings)
        out["estimated training seconds"] = round(seconds, 1)
        out["estimated from"] = (
            f"an earlier {settings.model} run: {rates['sft']:.3f} s per SFT step, "
            f"{rates['grpo']:.3f} s per GRPO completion"
        )
    return out


def run_label(run: Mapping[str, Any]) -> str:
    """How a run picker names an entry of :func:`~eemo_rewards.train.pipeline.list_runs`:
    folder, GRPO steps, reward preset and the greedy GRPO reward mean when evaluated.

    Examples
    --------
    >>> from pathlib import Path
    >>> run_label({"path": Path("runs/tiny-1"), "grpo_step": 4, "settings": JobSettings(),
    ...            "eval": [{"stage": "grpo", "decoding": "greedy", "reward_mean": 0.51234}]})
    'tiny-1 · 4 GRPO steps · default · reward 0.512'
    """
    # JobSettings holds a RewardSpec, whichever way the recipe was spelled
    name = str(run["settings"].spec.name or "custom spec")
    reward = next(
        (
            r.get("reward_mean")
            for r in run.get("eval") or ()
            if r.get("stage") == "grpo" and r.get("decoding") == "greedy"
        ),
        None,
    )
    tail = f" · reward {reward:.3f}" if isinstance(reward, int | float) else ""
    return f"{run['path'].name} · {run['grpo_step']} GRPO steps · {name}{tail}"
