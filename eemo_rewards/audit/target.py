"""The reward under audit: loaded from ``MODULE_OR_FILE:FUNCTION``, called through TRL's
contract in the completion shape it accepts, with every exception caught and counted.

A reward under audit may be anything TRL accepts: this project's rewards, TRL's own
``trl.rewards`` functions (which read ``completion[0]["content"]`` and so need message
lists), a user's function in a file. :class:`AuditTarget` calls it the way a trainer does
(``prompts``, ``completions`` and every dataset column as keyword lists) and never lets it
stop the audit: a call that raises is retried sample by sample, and each sample that still
raises is recorded in :attr:`AuditTarget.errors` (the totality check reports them) and
scores ``None`` (left out of the other checks, never silently: the report names them).
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SHAPES", "AuditTarget", "CallError", "load_reward"]

#: How completions are handed to the reward: plain strings, or TRL's conversational shape
#: (a one-message list ``[{"role": "assistant", "content": text}]``).
SHAPES = ("text", "messages")


@dataclass(frozen=True)
class CallError:
    """One sample on which the reward raised: where, what and the completion (cut)."""

    where: str
    error: str
    completion: str


def load_reward(target: str) -> Any:
    """The reward named by ``target``.

    ``target`` is ``MODULE:NAME`` (an importable module, e.g. ``trl.rewards:accuracy_reward``),
    ``FILE.py:NAME`` (a file of your own) or ``preset:NAME`` (a spec preset of this project,
    e.g. ``preset:default``: its composite reward). A :class:`~eemo_rewards.spec.RewardSpec`
    found there is turned into its composite, a class into an instance (no arguments).

    Examples
    --------
    >>> load_reward("preset:format_only").__name__
    'format_only'
    >>> load_reward("eemo_rewards.rewards.format:format_reward").__name__
    'format_reward'
    >>> load_reward("no_colon")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: reward 'no_colon' must be MODULE_OR_FILE:FUNCTION (e.g. ...)
    """
    where, sep, name = str(target).rpartition(":")
    if not sep or not where or not name:
        raise ValueError(
            f"reward {target!r} must be MODULE_OR_FILE:FUNCTION (e.g. "
            "trl.rewards:think_format_reward, my_reward.py:reward, preset:default)"
        )
    if where == "preset":
        from eemo_rewards.spec import preset

        spec = preset(name)
        return spec.composite(name=name)
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where).expanduser().resolve()
        if not path.is_file():
            raise FileNotFoundError(f"no reward file at {path}; give the path of a .py file")
        module_name = f"_audited_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path} as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module  # pickling and dataclasses look modules up here
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    if not hasattr(module, name):
        public = sorted(n for n in vars(module) if not n.startswith("_"))[:20]
        raise AttributeError(f"{where} has no {name!r}; it has {public}")
    obj = getattr(module, name)
    from eemo_rewards.spec import RewardSpec

    if isinstance(obj, RewardSpec):
        return obj.composite()
    if isinstance(obj, type):
        return obj()
    if not callable(obj):
        raise TypeError(f"{target} is a {type(obj).__name__}, not a reward function")
    return obj


def _as_shape(completion: Any, shape: str) -> Any:
    if shape == "messages" and isinstance(completion, str):
        return [{"role": "assistant", "content": completion}]
    return completion


def _prompt(task: Any, shape: str) -> Any:
    text = f"Answer the {task or 'emotion'} question about the image."
    return [{"role": "user", "content": text}] if shape == "messages" else text


class AuditTarget:
    """A reward wrapped for the audit: TRL's batch call in one completion shape, total.

    Parameters
    ----------
    reward : callable
        A TRL-contract reward function.
    shape : {"auto", "text", "messages"}
        ``"auto"`` tries plain strings on a well-formed sample first and message lists when
        strings raise or the reward scores nothing.
    value_range : (low, high), optional
        The reward's declared range; default its ``low``/``high`` attributes when it has
        them, else none (the audit then normalises by the scores it observed).

    Attributes
    ----------
    name, shape, low, high, declared_range
    errors : list of CallError
        Every sample on which the reward raised.
    bad_values : list of (where, value)
        Every score that was not ``None`` and not a finite number (NaN, inf, a string…).
    """

    def __init__(
        self,
        reward: Callable[..., Any],
        *,
        shape: str = "auto",
        value_range: tuple[float, float] | None = None,
    ):
        if not callable(reward):
            raise TypeError(f"the reward must be callable, got {type(reward).__name__}")
        if shape not in ("auto", *SHAPES):
            raise ValueError(f"shape must be 'auto', 'text' or 'messages', got {shape!r}")
        self.reward = reward
        self.name = str(getattr(reward, "__name__", type(reward).__name__))
        self.__name__ = self.name
        declared = value_range
        if declared is None and _finite(getattr(reward, "low", None)):
            high = getattr(reward, "high", None)
            declared = (float(reward.low), float(high)) if _finite(high) else None
        if declared is not None:
            low, high = float(declared[0]), float(declared[1])
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise ValueError(f"the range must be two finite numbers low < high, got {declared}")
            declared = (low, high)
        self.declared_range = declared
        self.low, self.high = declared if declared else (0.0, 1.0)
        self.errors: list[CallError] = []
        self.bad_values: list[tuple[str, Any]] = []
        self.shape = shape if shape != "auto" else "text"
        self.shape_note = ""
        if shape == "auto":
            self.shape, self.shape_note = self._pick_shape()

    # composites expose their terms so that a sample is normalised by the terms routed to it
    @property
    def rewards(self) -> Any:
        return getattr(self.reward, "rewards", None) if self.declared_range else None

    @property
    def weights(self) -> Any:
        return getattr(self.reward, "weights", None)

    @property
    def aggregation(self) -> Any:
        return getattr(self.reward, "aggregation", "sum")

    def _pick_shape(self) -> tuple[str, str]:
        probe = {
            "completions": ["<think>warm light, smiling faces</think><answer>joy</answer>"],
            "solution": ["joy"],
            "task": ["emotion"],
        }
        results = {}
        for shape in SHAPES:
            try:
                scores = self._raw(
                    probe["completions"], shape, {k: probe[k] for k in probe if k != "completions"}
                )
                results[shape] = scores
            except Exception as exc:
                results[shape] = exc
        text, messages = results["text"], results["messages"]
        if not isinstance(text, Exception) and any(s is not None for s in text):
            return "text", ""
        why = f"raise {type(text).__name__}" if isinstance(text, Exception) else "score None"
        if not isinstance(messages, Exception) and (
            any(s is not None for s in messages) or isinstance(text, Exception)
        ):
            return "messages", f"plain-string completions {why}; audited with message lists"
        return "text", ""

    def _raw(self, completions: Sequence[Any], shape: str, columns: dict[str, list]) -> list:
        n = len(completions)
        prompts = [_prompt(t, shape) for t in columns.get("task", [None] * n)]
        shaped = [_as_shape(c, shape) for c in completions]
        out = self.reward(prompts=prompts, completions=shaped, **columns)
        out = list(out) if out is not None else None
        if out is None or len(out) != n:
            got = "None" if out is None else f"{len(out)} scores"
            raise ValueError(f"returned {got} for {n} completions")
        return out

    def __call__(self, prompts=None, completions=None, **columns: Any) -> list[float | None]:
        """Score a batch in the target's shape; samples that raise score ``None`` and are
        recorded. Non-finite scores are recorded and score ``None`` too."""
        completions = list(completions or [])
        columns = {k: list(v) for k, v in columns.items() if v is not None}
        try:
            scores = self._raw(completions, self.shape, columns)
        except Exception:
            scores = []
            for i, completion in enumerate(completions):
                one = {k: [v[i]] for k, v in columns.items()}
                try:
                    scores.extend(self._raw([completion], self.shape, one))
                except Exception as exc:
                    task = one.get("task", [None])[0]
                    self.errors.append(
                        CallError(
                            f"task {task}", f"{type(exc).__name__}: {exc}"[:300], _cut(completion)
                        )
                    )
                    scores.append(None)
        return [self._checked(s, columns, i) for i, s in enumerate(scores)]

    def _checked(self, score: Any, columns: dict[str, list], i: int) -> float | None:
        if score is None:
            return None
        if isinstance(score, bool | str | bytes) or not _finite(score):
            task = columns.get("task", [None] * (i + 1))[i]
            self.bad_values.append((f"task {task}", score))
            return None
        return float(score)

    def call_one(self, completion: Any, columns: dict[str, Any], shape: str | None = None) -> Any:
        """One sample, as it is: the raw result or the exception (for the totality check)."""
        try:
            return self._raw(
                [completion], shape or self.shape, {k: [v] for k, v in columns.items()}
            )[0]
        except Exception as exc:
            return exc

    def __repr__(self) -> str:
        return f"AuditTarget({self.name!r}, shape={self.shape!r})"


def _finite(value: Any) -> bool:
    try:
        return not isinstance(value, bool) and math.isfinite(float(value))
    except (TypeError, ValueError, OverflowError):
        return False


def _cut(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"
