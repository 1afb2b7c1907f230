"""Reading what an answer commits to: one grammar of answers, used by every reward.

Each reader takes the text of an answer (the content of ``<answer>…</answer>``) and returns
what it commits to, or nothing. Negation, retraction and hedging commit to nothing: a
reward that misreads an answer teaches the policy the misreading.

=======================  ===============================================================
module                   reads
=======================  ===============================================================
:mod:`.choice`           an option letter (:func:`extract_choice`, :func:`choose_option`)
                         and yes/no (:func:`read_yes_no`)
:mod:`.labels`           one emotion label (:func:`read_label`)
:mod:`.numbers`          V/A/D scores with the scale stated beside them
                         (:func:`parse_scores`)
:mod:`.rankings`         a ranking of emotions, strongest first (:func:`parse_ranking`)
:mod:`.comparisons`      which image of a pair (:func:`parse_comparison`)
=======================  ===============================================================

What the ``<think>`` reasoning argues for is the judges' business (:mod:`eemo_rewards.judges`).

Every reader runs in time linear in the answer's length, uses the standard library only,
and folds wrappers first (``\\boxed{B}``, ``$\\text{B}$``, ``{B}``, full-width ``（Ｂ）``).
"""

from eemo_rewards.answers.choice import (
    choose_option,
    extract_choice,
    normalise_options,
    read_yes_no,
)
from eemo_rewards.answers.comparisons import parse_comparison
from eemo_rewards.answers.grammar import fold
from eemo_rewards.answers.labels import read_label
from eemo_rewards.answers.numbers import DIMENSIONS, SCALES, parse_scores, resolve_scale
from eemo_rewards.answers.rankings import parse_ranking

__all__ = [
    "DIMENSIONS",
    "SCALES",
    "choose_option",
    "extract_choice",
    "fold",
    "normalise_options",
    "parse_comparison",
    "parse_ranking",
    "parse_scores",
    "read_label",
    "read_yes_no",
    "resolve_scale",
]
