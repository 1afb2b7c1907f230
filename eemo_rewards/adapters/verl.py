"""verl adapter: ``compute_score(data_source, solution_str, ground_truth, extra_info=None)``.

Point verl's custom reward at this file::

    custom_reward_function.path=<path of eemo_rewards/adapters/verl.py>
    custom_reward_function.name=compute_score

verl calls the function once per response with the decoded response string, the row's
``reward_model.ground_truth`` and its ``extra_info``. The task comes from
``extra_info["task"]``, else from a JSON ground truth's ``"task"``, else from
``data_source`` when that is a task name; options from ``extra_info["options"]`` or the JSON
ground truth; any other ``extra_info`` key a reward declares (``taxonomy``, ``dimension``,
...) is passed on. The result is a dict: ``"score"`` plus one float per reward term, the same
keys for every sample (a term that does not apply to the task reports ``fallback``, 0.0), as
verl collects each key into one list per batch.

For another spec, build a scorer and point ``custom_reward_function.name`` at it::

    # my_reward.py
    from eemo_rewards.adapters.verl import make_compute_score
    compute_score = make_compute_score("eemo_logic")
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eemo_rewards.adapters import composite_for, decode_label, score_sample
from eemo_rewards.spec import RewardSpec
from eemo_rewards.tasks import TASKS, normalise_task

__all__ = ["VerlComputeScore", "compute_score", "make_compute_score"]


class VerlComputeScore:
    """verl's ``compute_score`` bound to a reward spec (picklable; builds the spec lazily).

    Parameters
    ----------
    spec : RewardSpec, preset name or None
        ``None`` is :func:`~eemo_rewards.spec.default_spec`.
    fallback : float, default 0.0
        The score of a sample no term applies to, and the value reported for a
        non-applicable component.

    Examples
    --------
    >>> score = make_compute_score("format_only")
    >>> score("eemo", "<think>warm</think><answer>joy</answer>", "joy")
    {'score': 1.0, 'format_reward': 1.0}
    """

    def __init__(self, spec: RewardSpec | str | None = None, *, fallback: float = 0.0):
        self.spec = spec
        self.fallback = float(fallback)
        self.__name__ = "compute_score"

    def __call__(
        self,
        data_source: Any = None,
        solution_str: Any = None,
        ground_truth: Any = None,
        extra_info: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, float]:
        composite = composite_for(self.spec, fallback=self.fallback)
        label = decode_label(ground_truth)
        if isinstance(extra_info, Mapping):
            # the ground truth is authoritative for the solution; extra_info for the rest
            for key, value in extra_info.items():
                if key != "solution" and value is not None:
                    label[key] = value
        if label.get("task") is None and normalise_task(data_source) in TASKS:
            label["task"] = data_source
        total, parts = score_sample(composite, solution_str, label)
        return {"score": total, **parts}


def make_compute_score(spec: RewardSpec | str | None = None, *, fallback: float = 0.0):
    """A verl ``compute_score`` for ``spec`` (a :class:`RewardSpec` or a preset name)."""
    return VerlComputeScore(spec, fallback=fallback)


compute_score = VerlComputeScore()
"""The default spec's scorer, for ``custom_reward_function.name=compute_score``."""
