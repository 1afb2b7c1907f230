"""Thin adapters that expose the same scorers under other trainers' reward contracts.

TRL needs no adapter: every reward (and :class:`~eemo_rewards.spec.CompositeReward`) already
follows ``reward_func(prompts, completions, **columns)``. The other trainers get one module
each:

=========  ===================================  =============================================
trainer    module                               entry point
=========  ===================================  =============================================
verl       :mod:`eemo_rewards.adapters.verl`    ``compute_score(data_source, solution_str,
                                                ground_truth, extra_info=None)``
OpenRLHF   :mod:`eemo_rewards.adapters.openrlhf`  ``reward_func(queries, prompts, labels)``
EasyR1     :mod:`eemo_rewards.adapters.easyr1`  ``compute_score(reward_inputs)`` (batch)
ms-swift   :mod:`eemo_rewards.adapters.swift`   ``EEmoORM()(completions, **columns)``
=========  ===================================  =============================================

Only TRL understands "not applicable" (``None``). Every adapter here therefore scores with
the composite reward of a spec (by default :func:`~eemo_rewards.spec.default_spec`), which
sums the weighted terms that apply to the sample's task; a sample that no term applies to
scores ``fallback`` (default ``0.0``). Per-term components that adapters log are reported for
every sample with the same keys; a term that does not apply reports ``fallback`` too, so the
logged lists stay aligned (verl and EasyR1 need one float per key per sample).

Ground truth arrives in different places per trainer; :func:`decode_label` reads all of
them: a plain solution string, a dict, or a JSON string of a dict with ``solution`` and
optionally ``task``, ``options`` and extra columns (``taxonomy``, ``dimension``, ...).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from eemo_rewards.spec import CompositeReward, RewardSpec, preset

__all__ = ["LABEL_KEYS", "composite_for", "decode_label", "score_sample"]

LABEL_KEYS = ("task", "solution", "options")
"""Keys :func:`decode_label` reads; any other key is passed on as an extra column."""

_composites: dict[str, CompositeReward] = {}


def composite_for(spec: RewardSpec | str | None = None, *, fallback: float = 0.0):
    """The composite reward of ``spec`` (a :class:`RewardSpec`, a preset name, or ``None`` for
    the default), built once per spec and fallback and cached.

    Examples
    --------
    >>> composite_for("format_only").score("<think>a</think><answer>joy</answer>")
    1.0
    """
    if isinstance(spec, CompositeReward):
        return spec
    if spec is None:
        spec = "default"
    if isinstance(spec, str):
        key = f"preset:{spec}:{fallback!r}"
        if key not in _composites:
            _composites[key] = preset(spec).composite(fallback=fallback)
        return _composites[key]
    if isinstance(spec, RewardSpec):
        key = f"spec:{spec.to_json(sort_keys=True, default=str)}:{fallback!r}"
        if key not in _composites:
            _composites[key] = spec.composite(fallback=fallback)
        return _composites[key]
    raise TypeError(
        f"expected a RewardSpec, a preset name or None, got {type(spec).__name__}; "
        "see eemo_rewards.spec.PRESETS"
    )


def decode_label(label: Any) -> dict[str, Any]:
    """Read a ground-truth label into ``{"solution", "task", "options", ...extra columns}``.

    A dict is used as is; a string that is a JSON object is decoded; any other string is the
    solution itself. Missing keys are ``None``.

    Examples
    --------
    >>> decode_label('{"task": "emotion", "solution": "joy"}')
    {'task': 'emotion', 'solution': 'joy', 'options': None}
    >>> decode_label("joy")
    {'task': None, 'solution': 'joy', 'options': None}
    """
    data: Any = label
    if isinstance(label, bytes | bytearray):
        data = label = bytes(label).decode("utf-8", errors="replace")
    if isinstance(label, str):
        stripped = label.strip()
        data = label
        if stripped.startswith("{") and stripped.endswith("}"):
            try:
                data = json.loads(stripped)
            except json.JSONDecodeError:
                data = label  # a solution that happens to look like a dict stays text
    if isinstance(data, Mapping):
        if "solution" not in data:
            raise ValueError(
                f"label {dict(data)!r} has no 'solution' key; write labels as "
                '{"task": ..., "solution": ..., "options": ...} or as the plain solution'
            )
        out = {"task": data.get("task"), "solution": data["solution"], "options": None}
        out["options"] = data.get("options")
        for k, v in data.items():
            if k not in LABEL_KEYS:
                out[k] = v
        return out
    return {"task": None, "solution": data, "options": None}


def score_sample(
    composite: CompositeReward, completion: Any, label: Mapping[str, Any]
) -> tuple[float, dict[str, float]]:
    """Score one completion against a decoded label: ``(score, {component: float})``.

    Non-applicable components are reported as the composite's ``fallback``.
    """
    # only the columns some term declares: a label may carry anything (ids, prompts, ...)
    columns = {c: label.get(c) for c in composite.columns}
    total, parts = composite.score_with_components(
        completion,
        label.get("solution"),
        task=label.get("task"),
        options=label.get("options"),
        **columns,
    )
    fallback = composite.fallback
    return total, {k: fallback if v is None else v for k, v in parts.items()}
