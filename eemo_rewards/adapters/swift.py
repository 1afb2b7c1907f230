"""ms-swift adapter: an ORM class for swift's GRPO ``--reward_funcs``.

Register it from a plugin file and name it on the command line (tested with ms-swift 4.6.0;
swift pins ``trl<1.0``, so it needs an environment apart from this project's ``[train]``
extra)::

    # plugin.py
    from eemo_rewards.adapters.swift import register
    register()                      # orms["eemo"] = EEmoORM (the default spec)
    register("eemo_soft", spec="soft")

    swift rlhf --rlhf_type grpo --external_plugins plugin.py --reward_funcs eemo ...

Swift builds each registered class as ``cls(args=args)`` (its training arguments) and calls
it with the response strings and the dataset columns as keyword lists (``solution``,
``task``, ``options``, ...), plus ``trainer_state``. The ORM needs nothing from ``args``
(spec and fallback are the registered class's); it keeps it as ``self.args``, as swift's own
ORMs do.

Swift turns a ``None`` score into NaN and sums the reward functions with ``nansum``, so
``None`` means "not applicable" there, as in TRL: by default a sample no term of the spec
applies to scores ``None`` (the other reward functions decide it; a row where every function
says ``None`` makes swift warn). Register with ``fallback=0.0`` for a number instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from eemo_rewards.adapters import TagWatch, composite_for
from eemo_rewards.spec import RewardSpec

__all__ = ["EEmoORM", "register"]


class EEmoORM:
    """The composite reward of a spec under swift's ORM contract.

    Parameters
    ----------
    args : swift's training arguments, optional
        What swift passes (``cls(args=args)``); kept as ``self.args``.
    spec : RewardSpec, preset name, spec dict/JSON/file or None
        ``None`` uses the class attribute ``default_spec`` (the default spec).
    fallback : float or None
        The score of a sample no term applies to; ``None`` (the class attribute
        ``default_fallback``, None unless registered otherwise) leaves it to swift's
        ``nansum``.

    Examples
    --------
    >>> orm = EEmoORM(spec="format_only")
    >>> orm(["<think>warm</think><answer>joy</answer>", "joy"], solution=["joy", "joy"])
    [1.0, 0.0]
    """

    default_spec: ClassVar[RewardSpec | str | None] = None
    default_fallback: ClassVar[float | None] = None

    def __init__(
        self,
        args: Any = None,
        spec: RewardSpec | str | None = None,
        fallback: float | None = None,
        **kwargs: Any,
    ):
        if isinstance(args, RewardSpec | str) and spec is None:  # EEmoORM("soft")
            args, spec = None, args
        self.args = args
        self.spec = self.default_spec if spec is None else spec
        fallback = self.default_fallback if fallback is None else fallback
        self.fallback = None if fallback is None else float(fallback)
        self._watch = TagWatch("ms-swift")

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        # the composite's batch call is TRL's contract, which swift's call matches: the
        # completions and every dataset column as keyword lists; None = not applicable
        composite = composite_for(self.spec)
        kwargs.pop("prompts", None)
        kwargs.pop("completion_ids", None)
        scores = composite(prompts=None, completions=list(completions), **kwargs)
        self._watch.observe(completions)
        if self.fallback is None:
            return scores
        return [self.fallback if s is None else s for s in scores]


def register(
    name: str = "eemo",
    spec: RewardSpec | str | None = None,
    *,
    fallback: float | None = None,
    orms=None,
):
    """Register an :class:`EEmoORM` for ``spec`` in swift's ``orms`` dict under ``name``.

    ``orms`` defaults to swift's own registry (``swift.rewards.orms`` in ms-swift 4, or
    ``swift.plugin.orms`` in older releases), imported here so that this module does not need
    swift. Returns the registered class.
    """
    if orms is None:
        orms = _swift_orms()
    if spec is None and fallback is None:
        cls = EEmoORM
    else:
        attrs = {"default_spec": spec, "default_fallback": fallback}
        cls = type(f"EEmoORM_{name}", (EEmoORM,), attrs)
    orms[name] = cls
    return cls


def _swift_orms():
    for module_name in ("swift.rewards", "swift.plugin", "swift.plugin.orm"):
        try:
            module = __import__(module_name, fromlist=["orms"])
            return module.orms
        except (ImportError, AttributeError):
            continue
    raise ImportError(
        "ms-swift is not installed (or has no 'orms' registry); install ms-swift, or pass "
        "your own dict as register(..., orms=...)"
    )
