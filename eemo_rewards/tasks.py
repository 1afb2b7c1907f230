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

A sample without a ``task`` has it inferred by
:func:`eemo_rewards.answers.tasks.infer_task` from its solution and
options when they tell (options → yes/no or multiple choice; ``"yes"`` → yes/no; ``"B"`` →
multiple choice; ``"first"`` → comparison; ``"valence: 0.7"`` → assessment; ``"joy"`` →
emotion; ``"joy, fear, awe"`` → ranking). Free text tells nothing (it may be a description
or a label outside every taxonomy): a reward then raises :class:`TaskInferenceError`, naming
the column to add, instead of scoring the sample with every reward.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TASKS", "normalise_task"]

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
