"""Which task a sample is, read from its solution and options when it names none.

The project's rewards route samples by their ``task`` column. A trainer that passes no such
column (verl, OpenRLHF, EasyR1 and ms-swift labels often carry only the solution) would
otherwise have every reward score every sample; :func:`infer_task` reads the solution the
way the readers read an answer, and :func:`resolve_task` refuses a sample that does not
tell, with an error that says which column to add.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from eemo_rewards.tasks import TASKS

__all__ = ["TaskInferenceError", "infer_task", "resolve_task"]


class TaskInferenceError(ValueError):
    """A sample has no ``task`` and its solution and options do not say which task it is."""


_YES_NO_WORDS = frozenset({"yes", "no", "true", "false"})
_COMPARISON_WORDS = frozenset(
    {"first", "second", "same", "1st", "2nd", "former", "latter", "equal", "tie", "neither"}
)
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TAXONOMY_ORDER = ("eemo_bench7", "mikels8", "ekman6", "emotic26", "plutchik24")


def infer_task(solution: Any, options: Any = None) -> str | None:
    """The task a sample's solution and options imply, or ``None`` when they do not tell.

    ==================================================  =====================
    solution (and options)                              task
    ==================================================  =====================
    options whose texts are all yes/no                  ``"yes_no"``
    any other options                                   ``"multiple_choice"``
    ``"yes"``, ``"no"``, ``"true"``, ``"false"``        ``"yes_no"``
    one letter, ``"B"``                                 ``"multiple_choice"``
    ``"first"``, ``"second"``, ``"same"``               ``"comparison"``
    V/A/D scores, ``"valence: 0.7"``, ``0.7``, a dict   ``"assessment"``
    one emotion label of a built-in taxonomy            ``"emotion"``
    two or more distinct labels of one taxonomy         ``"ranking"``
    anything else (free text, None)                     ``None``
    ==================================================  =====================

    Examples
    --------
    >>> infer_task("joy"), infer_task("joy, fear, sadness"), infer_task("valence: 0.7")
    ('emotion', 'ranking', 'assessment')
    >>> infer_task("B", {"A": "No.", "B": "Yes."}), infer_task("C", ["calm", "joy", "fear"])
    ('yes_no', 'multiple_choice')
    >>> infer_task("first"), infer_task("yes"), infer_task("a calm lake at dusk") is None
    ('comparison', 'yes_no', True)
    """
    if type(solution) is str and (options is None or type(options) is str):
        return _cached_infer(solution, options)
    return _infer(solution, options)


@functools.lru_cache(maxsize=8192)
def _cached_infer(solution: str, options: str | None) -> str | None:
    # a GRPO batch repeats each sample once per generation
    return _infer(solution, options)


def _infer(solution: Any, options: Any) -> str | None:
    from eemo_rewards.answers.grammar import phrase

    if options is not None:
        from eemo_rewards.answers.choice import normalise_options

        try:
            opts = normalise_options(options)
        except ValueError:
            return None  # unreadable options tell nothing
        if opts:
            texts = {phrase(str(t)) for t in opts.values()}
            return "yes_no" if texts <= _YES_NO_WORDS else "multiple_choice"
    if solution is None or isinstance(solution, bool):
        return None
    if isinstance(solution, int | float):
        return "assessment" if math.isfinite(solution) else None
    if isinstance(solution, Mapping):
        return "assessment" if solution and _is_scores(solution) else None
    if isinstance(solution, bytes | bytearray):
        solution = bytes(solution).decode("utf-8", errors="replace")
    if isinstance(solution, Sequence) and not isinstance(solution, str):
        labels = [str(x) for x in solution]
        return _label_task(labels) if labels else None
    if not isinstance(solution, str):
        return None
    words = phrase(solution)
    if not words:
        return None
    if words in _YES_NO_WORDS:
        return "yes_no"
    stripped = solution.strip().strip(".()*:")
    if len(stripped) == 1 and stripped.upper() in _LETTERS:
        return "multiple_choice"
    if words in _COMPARISON_WORDS or words in ("no difference", "the first", "the second"):
        return "comparison"
    if any(c.isdigit() for c in solution):
        from eemo_rewards.answers.numbers import DIMENSIONS, scan_scores

        values = scan_scores(solution, DIMENSIONS, 0.0, 1.0)
        rest = {w for w in words.split() if not w.isdigit()}
        dims = {d for d in DIMENSIONS} | {d[:3] for d in DIMENSIONS} | {d[0] for d in DIMENSIONS}
        if values and rest <= dims:
            return "assessment"
        return None
    from eemo_rewards.answers.rankings import pieces

    parts = pieces(solution)
    return _label_task(parts) if parts else None


def _is_scores(solution: Mapping) -> bool:
    for key, value in solution.items():
        if str(key).strip().lower() not in ("valence", "arousal", "dominance"):
            return False
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
    return True


def _label_task(labels: list[str]) -> str | None:
    """``"emotion"`` for one emotion label, ``"ranking"`` for several distinct ones (each a
    label of some built-in taxonomy), else ``None``."""
    from eemo_rewards.taxonomy import get_taxonomy

    taxonomies = [get_taxonomy(name) for name in _TAXONOMY_ORDER]
    found = []
    for text in labels:
        label = next((t.normalise(text) for t in taxonomies if t.normalise(text)), None)
        if label is None:
            return None
        found.append(label)
    if len(found) == 1:
        return "emotion"
    return "ranking" if len(set(found)) == len(found) else None


def resolve_task(solution: Any, options: Any = None, *, who: str = "reward") -> str:
    """:func:`infer_task`, or a :class:`TaskInferenceError` that says which column to add.

    Examples
    --------
    >>> resolve_task("joy")
    'emotion'
    >>> resolve_task("a calm lake at dusk")
    Traceback (most recent call last):
    ...
    eemo_rewards.answers.tasks.TaskInferenceError: reward: a sample has no 'task' and its solution \
'a calm lake at dusk' does not say which task it is; add a 'task' column (one of yes_no, \
multiple_choice, emotion, ranking, assessment, comparison, description)
    """
    task = infer_task(solution, options)
    if task is not None:
        return task
    shown = repr(solution)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    extra = f" with options {options!r}"[:120] if options is not None else ""
    raise TaskInferenceError(
        f"{who}: a sample has no 'task' and its solution {shown}{extra} does not say which "
        f"task it is; add a 'task' column (one of {', '.join(TASKS)})"
    )
