"""Does a GRPO recipe hold every held-out metric against its SFT checkpoint across seeds?
The table behind ``scripts/check_recipe.py`` and the main job's report.

Each seed's job evaluates its SFT and GRPO models on the same held-out rows (the data seed
is fixed, the training seed varies), so every metric's change pairs by seed and item
(:func:`eemo_rewards.analysis.power.paired_difference`).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eemo_rewards.analysis.power import (
    NO_VERDICT,
    POWER_COVERS,
    metric_coverage,
    metric_kind,
    metric_names,
    paired_difference,
    paired_values,
)

__all__ = [
    "load_recipe",
    "recipe_markdown",
    "recipe_metrics",
    "recipe_note",
    "recipe_table",
    "write_recipe",
]

# settings that do not change what the recipe trains (where it runs, how it is evaluated)
_NOT_RECIPE = ("name", "runs_dir", "seed", "report_to", "eval_batch_size", "save_steps")


def recipe_metrics(items: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every metric the items support: mean metrics as they are, and ``<dim>_srcc`` /
    ``<dim>_plcc`` where items carry ``<dim>_true`` and ``<dim>_pred``
    (:func:`eemo_rewards.analysis.power.metric_names`).

    Examples
    --------
    >>> recipe_metrics([{"emotion_acc": 1.0, "valence_true": 0.2, "valence_pred": 0.4}])
    ['emotion_acc', 'valence_srcc', 'valence_plcc']
    """
    return metric_names(items)


def recipe_table(runs: Sequence[Mapping[str, Any]], *, seed: int = 0) -> list[dict[str, Any]]:
    """One row per (decoding, metric): ``before`` (SFT), ``after`` (GRPO), ``change``,
    ``low``, ``high``, ``verdict``, ``items`` and ``seeds``.

    ``runs`` holds one entry per training seed with ``eval``: the job's evaluation rows
    (``stage``, ``decoding``, ``items``)."""
    by: dict[tuple[str, str], list[Sequence[Mapping[str, Any]]]] = {}
    for run in runs:
        for row in run["eval"]:
            if row.get("items"):
                by.setdefault((row["decoding"], row["stage"]), []).append(row["items"])
    out = []
    for decoding in ("greedy", "sampled"):
        sft, grpo = by.get((decoding, "sft")), by.get((decoding, "grpo"))
        if not sft or not grpo or len(sft) != len(grpo):
            continue
        for metric in recipe_metrics([i for items in sft for i in items]):
            kind = metric_kind(metric)
            pairs = [paired_values(b, a, metric) for b, a in zip(sft, grpo, strict=True)]
            before, after = [p[0] for p in pairs], [p[1] for p in pairs]
            if not all(before):
                continue
            if kind != "mean" and min(len(b) for b in before) < 3:
                continue
            # a stage that answered none of the metric's items gets no verdict
            covered = [metric_coverage([i for items in stage for i in items], metric)
                       for stage in (sft, grpo)]  # fmt: skip
            known = [c for c in covered if c is not None]
            result = paired_difference(
                before, after, kind=kind, seed=seed, coverage=min(known) if known else None
            )
            out.append({"decoding": decoding, "metric": metric, **result})
    return out


def recipe_markdown(table: Sequence[Mapping[str, Any]], *, title: str = "") -> str:
    """The table as Markdown, regressions named first."""
    hurts = [r for r in table if r["verdict"] == "hurts"]
    unjudged = [r for r in table if r["verdict"] in NO_VERDICT]
    lines = [f"### {title}" if title else "", ""]
    verdict = (
        "**holds every held-out metric** (no change is below its interval's zero)"
        if not hurts
        else "**hurts " + ", ".join(f"{r['metric']} ({r['decoding']})" for r in hurts) + "**"
    )
    if unjudged:
        # a metric nobody answered is no evidence that the recipe holds it
        verdict = (
            "**no verdict on " + ", ".join(f"{r['metric']} ({r['decoding']}: {r['verdict']})"
                                           for r in unjudged)
            + "**; of the rest it " + verdict.replace("**holds every held-out metric**",
                                                      "**holds every judged metric**")
        )  # fmt: skip
    seeds = max((r["seeds"] for r in table), default=0)
    lines += [f"GRPO against its SFT checkpoint, {seeds} seeds: {verdict}.", ""]
    lines += [
        "| decoding | metric | seeds × items | SFT | GRPO | change [95% interval] | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in table:
        lines.append(
            f"| {r['decoding']} | {r['metric']} | {r['seeds']} × {r['items']} | "
            f"{r['before']:.3f} | {r['after']:.3f} | {r['change']:+.3f} "
            f"[{r['low']:+.3f}, {r['high']:+.3f}] | {r['verdict']} |"
        )
    return "\n".join(lines).strip() + "\n"


def write_recipe(
    table: Sequence[Mapping[str, Any]],
    runs: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    settings: Mapping[str, Any],
    command: str,
    wall_seconds: float,
) -> Path:
    """Write ``<path>.json`` (settings, seeds, per-seed counts and times, the table) and
    ``<path>.md``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    hurts = [f"{r['metric']} ({r['decoding']})" for r in table if r["verdict"] == "hurts"]
    data = {
        "command": command,
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": dict(settings),
        "seeds": [r["seed"] for r in runs],
        "seconds": {str(r["seed"]): round(r["seconds"], 1) for r in runs},
        "wall_seconds": round(wall_seconds, 1),
        "eval_per_metric": runs[0]["counts"].get("eval_per_metric") if runs else None,
        "holds": not hurts,
        "hurts": hurts,
        "interval": POWER_COVERS,
        "table": list(table),
    }
    json_path = path.with_suffix(".json")
    data["reused"] = {str(r["seed"]): bool(r.get("reused")) for r in runs}
    earlier = json.loads(json_path.read_text()) if json_path.is_file() else {}
    if runs and all(r.get("reused") for r in runs) and earlier.get("settings") == data["settings"]:
        # every job came from disk: the time it took to train them is the earlier run's
        data["trained_seconds"] = earlier.get("trained_seconds", earlier.get("seconds"))
        data["trained_wall_seconds"] = earlier.get(
            "trained_wall_seconds", earlier.get("wall_seconds")
        )
    else:
        data["trained_seconds"], data["trained_wall_seconds"] = (
            data["seconds"],
            data["wall_seconds"],
        )
    json_path.write_text(json.dumps(data, indent=1, default=str))
    path.with_suffix(".md").write_text(recipe_markdown(table, title=f"Recipe `{path.name}`"))
    return json_path


def load_recipe(path: str | Path) -> dict[str, Any] | None:
    """A written recipe check, or ``None`` when there is none."""
    path = Path(path).with_suffix(".json")
    return json.loads(path.read_text()) if path.is_file() else None


def _canonical(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings with the reward spec as its resolved dict (a preset name, its JSON text and
    the spec itself are one recipe) and tuples as lists."""
    out = {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}
    if "spec" in out:
        from eemo_rewards.spec import RewardSpec

        # what the rewards are, however the recipe was spelled (unreadable: as written)
        with contextlib.suppress(ValueError, TypeError, KeyError):
            out["spec"] = RewardSpec.coerce(out["spec"]).identity()
    return out


def recipe_note(check: Mapping[str, Any] | None, settings: Mapping[str, Any]) -> str:
    """One Markdown paragraph for a run's results: what the committed multi-seed check of
    the default recipe found, and whether this run uses that recipe.

    Examples
    --------
    >>> recipe_note(None, {})
    'No multi-seed check of the default recipe is committed (`python scripts/check_recipe.py`).'
    """
    if check is None:
        return (
            "No multi-seed check of the default recipe is committed "
            "(`python scripts/check_recipe.py`)."
        )
    theirs, ours = _canonical(check["settings"]), _canonical(settings)
    same = all(theirs.get(k) == v for k, v in ours.items() if k not in _NOT_RECIPE)
    seeds = len(check["seeds"])
    found = (
        f"holds every held-out metric against its SFT checkpoint across {seeds} seeds"
        if check["holds"]
        else f"hurts {', '.join(check['hurts'])} across {seeds} seeds"
    )
    which = "This run uses that recipe." if same else "This run's settings differ from it."
    return (
        f"**The default recipe, checked across seeds** (`{check['command']}`): GRPO {found} "
        f"(95% intervals resampling seeds and items). {which}"
    )
