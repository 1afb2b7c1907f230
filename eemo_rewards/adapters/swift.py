"""ms-swift adapter: an ORM class for swift's GRPO ``--reward_funcs``.

Register it from a plugin file and name it on the command line::

    # plugin.py
    from eemo_rewards.adapters.swift import register
    register()                      # orms["eemo"] = EEmoORM (the default spec)
    register("eemo_logic", spec="eemo_logic")

    swift rlhf --rlhf_type grpo --external_plugins plugin.py --reward_funcs eemo ...

(older releases name the option ``--plugin``).

Swift instantiates the registered class and calls it with the response strings and the
dataset columns as keyword lists (``solution``, ``task``, ``options``, ...), expecting one
float per completion. A sample that no term of the spec applies to scores ``fallback``
(default 0.0; swift has no "not applicable").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from eemo_rewards.adapters import composite_for
from eemo_rewards.rewards.base import _column
from eemo_rewards.spec import RewardSpec

__all__ = ["EEmoORM", "register"]


class EEmoORM:
    """The composite reward of a spec under swift's ORM contract.

    Parameters
    ----------
    spec : RewardSpec, preset name or None
        ``None`` uses the class attribute ``default_spec`` (the default spec).
    fallback : float, default 0.0

    Examples
    --------
    >>> orm = EEmoORM(spec="format_only")
    >>> orm(["<think>warm</think><answer>joy</answer>", "joy"], solution=["joy", "joy"])
    [1.0, 0.0]
    """

    default_spec: ClassVar[RewardSpec | str | None] = None

    def __init__(self, spec: RewardSpec | str | None = None, fallback: float = 0.0):
        self.spec = self.default_spec if spec is None else spec
        self.fallback = float(fallback)

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float]:
        composite = composite_for(self.spec, fallback=self.fallback)
        n = len(completions)
        solutions = _column(kwargs, "solution", n)
        tasks = _column(kwargs, "task", n)
        options = _column(kwargs, "options", n)
        extras = {c: _column(kwargs, c, n) for c in composite.columns}
        return [
            composite.score(
                completion,
                solutions[i],
                task=tasks[i],
                options=options[i],
                **{c: v[i] for c, v in extras.items()},
            )
            for i, completion in enumerate(completions)
        ]


def register(name: str = "eemo", spec: RewardSpec | str | None = None, *, orms=None):
    """Register an :class:`EEmoORM` for ``spec`` in swift's ``orms`` dict under ``name``.

    ``orms`` defaults to swift's own registry (``swift.plugin.orms``, or ``swift.rewards.orms``
    in newer releases), imported here so that this module does not need swift. Returns the
    registered class.
    """
    if orms is None:
        orms = _swift_orms()
    cls = EEmoORM if spec is None else type(f"EEmoORM_{name}", (EEmoORM,), {"default_spec": spec})
    orms[name] = cls
    return cls


def _swift_orms():
    for module_name in ("swift.plugin", "swift.rewards", "swift.plugin.orm"):
        try:
            module = __import__(module_name, fromlist=["orms"])
        except ImportError:
            continue
        if hasattr(module, "orms"):
            return module.orms
    raise ImportError(
        "ms-swift is not installed (or has no 'orms' registry); install ms-swift, or pass "
        "your own dict as register(..., orms=...)"
    )
