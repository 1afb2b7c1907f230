"""Reasoning-consistency judges: what the ``<think>`` reasoning argues for, and whether the
answer agrees with it.

A judge is not a reader: it weighs the evidence of a whole reasoning (label names, facial
expressions, level words, the built-in images' visual cues, stated scores) where a reader
decides what an answer commits to. It reads label names and denials with the
:mod:`eemo_rewards.answers` grammar, and the answer with the readers themselves.

=======================  ===============================================================
name                     what it is
=======================  ===============================================================
:class:`CueJudge`        the default: a cue vocabulary (standard library only)
:class:`EmbeddingJudge`  nearest anchor under a sentence encoder (extra ``[judge]``)
:func:`get_judge`        ``"cue"``, ``"embedding"``, a judge or a callable → a judge
:func:`agreement`        whether an answer agrees with a verdict (1.0, 0.0 or ``None``)
:func:`consistency_score`  one completion's agreement; :func:`consistency_scores` a batch
=======================  ===============================================================
"""

from eemo_rewards.judges.consistency import *  # noqa: F403  (the package's face)
from eemo_rewards.judges.consistency import __all__  # noqa: F401
