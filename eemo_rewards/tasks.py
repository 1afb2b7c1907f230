"""The task vocabulary that routes samples to rewards.

Every QA sample carries a ``task`` column naming what kind of answer it expects. Rewards
declare which tasks they score and return ``None`` for the rest (TRL's "not applicable").

========================  ==============================================  ===================
task                      answer                                          ``solution`` holds
========================  ==============================================  ===================
``yes_no``                yes or no (perception, judge questions)        ``"yes"``/``"no"``
                                                                          or an option letter
``multiple_choice``       an option letter (perception what/how)         ``"B"``
``emotion``               one emotion label (dominant emotion)           ``"joy"``
``ranking``               the top-k emotions, strongest first            ``"joy, fear, awe"``
``assessment``            V/A/D scores                                   ``"valence: 0.73"``
``comparison``            which image of a pair evokes more of something ``"first"``/
                                                                          ``"second"``/``"same"``
``description``           free text (judged elsewhere; format only)      reference text
========================  ==============================================  ===================

A sample without a ``task`` has it inferred by :func:`infer_task` from its solution and
options when they tell (options → yes/no or multiple choice; ``"yes"`` → yes/no; ``"B"`` →
multiple choice; ``"first"`` → comparison; ``"valence: 0.7"`` → assessment; ``"joy"`` →
emotion; ``"joy, fear, awe"`` → ranking). Free text tells nothing (it may be a description
or a label outside every taxonomy): a reward then raises :class:`TaskInferenceError`, naming
the column to add, instead of scoring the sample with every reward.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["TASKS", "TaskInferenceError", "infer_task", "normalise_task", "resolve_task"]

TASKS = (
    "yes_no",
    "multiple_choice",
    "emotion",
    "ranking",
    "assessment",
    "comparison",
    "description",
)

_ALIASES = {
    "yes_no": "yes_no",
    "yesno": "yes_no",
    "yes-or-no": "yes_no",
    "yes_or_no": "yes_no",
    "judge": "yes_no",
    "multiple_choice": "multiple_choice",
    "mc": "multiple_choice",
    "what/how": "multiple_choice",
    "what_how": "multiple_choice",
    "choose": "multiple_choice",
    "emotion": "emotion",
    "dominant_emotion": "emotion",
    "classification": "emotion",
    "ranking": "ranking",
    "emotion_ranking": "ranking",
    "assessment": "assessment",
    "vad": "assessment",
    "score": "assessment",
    "intensity": "assessment",
    "comparison": "comparison",
    "pair_comparison": "comparison",
    "pairwise": "comparison",
    "description": "description",
    "open_ended": "description",
    "open-ended": "description",
}


def normalise_task(task: Any) -> str | None:
    """Map a task name (or one of its aliases, any case) to its canonical name.

    Returns ``None`` for ``None``/empty, and the lower-cased input for an unknown name (so
    that a reward can report it instead of silently mis-routing it).

    Examples
    --------
    >>> normalise_task("Yes-or-No"), normalise_task("What/How"), normalise_task(None)
    ('yes_no', 'multiple_choice', None)
    """
    try:
        return _normalised[task]
    except (KeyError, TypeError):  # not seen yet, or unhashable
        pass
    if task is None:
        return None
    key = str(task).strip().lower().replace(" ", "_")
    result = _ALIASES.get(key, key) if key else None
    if isinstance(task, str) and len(_normalised) < 4096:
        _normalised[task] = result
    return result


# every sample of a batch names its task; most batches use a handful of names
_normalised: dict[str, str | None] = {}


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
    from eemo_rewards.answers._common import phrase

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
    eemo_rewards.tasks.TaskInferenceError: reward: a sample has no 'task' and its solution \
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
