"""Consistency reward: does the ``<think>`` reasoning argue for the completion's own answer?

An optional term (``RewardTerm("consistency")``) that pays 1.0 when a judge reading the
reasoning alone reaches the answer the completion gives, else 0.0 — the training-time form of
EEmo-Logic's reasoning-consistency evaluation (``../shared/REFERENCE.md`` §6; ERV, AAAI 2026,
uses an emotion classifier over rationales the same way). The judges and the agreement rule
are :mod:`eemo_rewards.judges.consistency`'s.

It does not say whether the answer is right: pair it with the accuracy, intensity or ranking
terms, which do. Alone, a policy could make a wrong answer "consistent" by reasoning towards
it; beside them, it rewards reasoning that supports the answer the other terms pay for.

Why an undecidable completion scores 0, not ``None``
----------------------------------------------------
The evaluation metric leaves a row without a verdict out of its mean. A reward cannot: a
completion that makes the judge give up (an empty think, a think that names every emotion,
a think that argues for nothing) would otherwise be unscored and so never worse than one
whose reasoning supports its answer, and GRPO would learn that empty reasoning is free. So
every completion of a routed task gets a number: 1.0 only for a supported answer.

Why a restatement scores 0 (``require_cues``, default True)
-----------------------------------------------------------
``"<think>joy</think><answer>joy</answer>"`` agrees with itself but gives no reason. By
default the reward also judges the reasoning with the label names, explicit V/A/D
statements (``"valence high"``) and numbers masked out
(:func:`~eemo_rewards.judges.consistency.mask_restatements`): what is left (a smiling face,
a warm palette, a calm scene) must still reach the answer. ``require_cues=False`` pays any
agreement, as the metric counts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eemo_rewards.judges import (
    CueJudge,
    JudgeContext,
    agreement,
    get_judge,
    mask_restatements,
    split_pair,
)
from eemo_rewards.parsing import ParsedCompletion, parse_completion
from eemo_rewards.rewards.base import RewardFunction

__all__ = ["ConsistencyReward"]


class ConsistencyReward(RewardFunction):
    """1.0 when the reasoning argues for the completion's own answer, else 0.0.

    Parameters
    ----------
    judge : "cue", "embedding", Judge or callable, default "cue"
        Who reads the reasoning (:func:`~eemo_rewards.judges.consistency.get_judge`):
        ``"cue"`` the cue-vocabulary judge (no model), ``"embedding"`` the offline sentence-
        embedding judge (``pip install 'eemo-rewards[judge]'``), or any judge object.
    require_cues : bool, default True
        Pay only reasoning that still reaches the answer with label names, V/A/D statements
        and numbers masked (see the module docstring).
    level_tolerance, score_tolerance : float
        How far past a judged level's band, or a stated score, an assessment answer may lie
        (:func:`~eemo_rewards.judges.consistency.agreement`).
    require_format : bool, default True
        Only a well-formed completion can score; False reads the think and answer blocks of
        a malformed one (both must exist).

    Routed by default to the tasks whose row tells the judge what to compare: ``emotion``,
    ``ranking``, ``assessment``, ``multiple_choice``, ``comparison``. A ``yes_no`` row needs
    an ``asked`` column (what the question asks about); add ``"yes_no"`` to ``tasks`` for a
    dataset that has one. Reads the ``taxonomy``, ``dimension``, ``asked`` and ``qtype``
    columns when the dataset has them.

    Examples
    --------
    >>> reward = ConsistencyReward()
    >>> reward.score("<think>a small frowning face</think><answer>sadness</answer>",
    ...              "sadness", task="emotion")
    1.0
    >>> reward.score("<think>a small frowning face</think><answer>joy</answer>",
    ...              "joy", task="emotion")
    0.0
    >>> reward.score("<think>sadness</think><answer>sadness</answer>", "sadness",
    ...              task="emotion")  # a restatement, no cue
    0.0
    >>> reward(completions=["<think>calm, cool palette</think><answer>valence: 0.2</answer>"],
    ...        solution=["valence: 0.25"], task=["assessment"], dimension=["valence"])
    [1.0]
    """

    default_name = "consistency_reward"
    default_tasks = frozenset({"emotion", "ranking", "assessment", "multiple_choice", "comparison"})
    columns = ("taxonomy", "dimension", "asked", "qtype")

    def __init__(
        self,
        *,
        judge: Any = "cue",
        require_cues: bool = True,
        level_tolerance: float = 0.05,
        score_tolerance: float = 0.1,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        tolerances = {"level_tolerance": level_tolerance, "score_tolerance": score_tolerance}
        for label, value in tolerances.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{label} must be a number in [0, 1], got {value!r}")
        # keep a name as a name (pickles as plain data); resolve it now so a bad one fails here
        self.judge = judge
        self._judge = get_judge(judge)
        self.require_cues = bool(require_cues)
        self.level_tolerance = float(level_tolerance)
        self.score_tolerance = float(score_tolerance)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if isinstance(self.judge, str):
            state["_judge"] = None  # the receiving process resolves the name again
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self._judge is None:
            self._judge = get_judge(self.judge)

    def _agrees(self, think: str, answer: str, context: JudgeContext) -> bool:
        verdict = self._judge.argue(think, context)
        value = agreement(
            verdict,
            answer,
            context,
            level_tolerance=self.level_tolerance,
            score_tolerance=self.score_tolerance,
        )
        return value == 1.0

    def _mask(self, think: str, context: JudgeContext) -> str:
        mask = getattr(self._judge, "mask", None)
        return (
            mask(think, context) if callable(mask) else mask_restatements(think, context.taxonomy)
        )

    def _score(
        self,
        parsed: ParsedCompletion,
        solution: Any,
        *,
        task: str | None,
        options: Any,
        taxonomy: Any = None,
        dimension: Any = None,
        asked: Any = None,
        qtype: Any = None,
        **_: Any,
    ) -> float:
        if not parsed.ok and self.require_format:
            return 0.0
        think, answer = parsed.think, parsed.answer
        if not think or not think.strip() or not answer:
            return 0.0  # no reasoning is no support (see the module docstring)
        context = JudgeContext.from_row(
            {
                "task": task,
                "solution": solution,
                "options": options,
                "taxonomy": taxonomy,
                "dimension": dimension,
                "asked": asked,
                "qtype": qtype,
            }
        )
        if not self._agrees(think, answer, context):
            return 0.0
        if self.require_cues and not self._agrees(self._mask(think, context), answer, context):
            return 0.0
        return 1.0

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        """TRL's contract; a judge that batches (an embedding model) first encodes every
        reasoning of the batch at once."""
        prepare = getattr(self._judge, "prepare", None)
        if completions and callable(prepare) and not isinstance(self._judge, CueJudge):
            taxonomies = kwargs.get("taxonomy")
            if not isinstance(taxonomies, Sequence) or isinstance(taxonomies, str):
                taxonomies = [taxonomies] * len(completions)
            texts: list[str] = []
            for completion, taxonomy in zip(completions, taxonomies, strict=False):
                think = parse_completion(completion).think
                if not think or not think.strip():
                    continue
                variants = [think]
                if self.require_cues:
                    tax = JudgeContext.from_row({"taxonomy": taxonomy}).taxonomy
                    variants.append(mask_restatements(think, tax))
                for text in variants:
                    halves = split_pair(text)
                    texts.extend([text, *(halves or ())])
            if texts:
                prepare(texts)
        return super().__call__(prompts, completions, completion_ids, **kwargs)

    def __repr__(self) -> str:
        return f"ConsistencyReward(name={self.__name__!r}, judge={self.judge!r})"
