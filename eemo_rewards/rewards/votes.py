"""Distribution reward: how much of the annotators' vote does the answered emotion carry?

When an image evokes a *distribution* of emotions (annotator votes, as EEmo-Bench's top-3
with vote shares), one demonstrated label is a sample of it, while a reward can read the
whole distribution. :class:`VoteReward` reads the emotion a completion answers and pays

- ``mode="share"``: its vote share divided by the largest share (1.0 for the mode, 0.0 for
  a label nobody voted for);
- ``mode="topk"``: ``(k - r) / k`` for the label at rank ``r`` (0-based) of the ``k``
  most-voted labels, 0.0 below them (1.0 for the mode; tied votes share the better rank).

Its dataset columns are ``vote_labels`` (the labels) and ``votes`` (their votes, any
non-negative scale), one list per sample. An answer that names no label or several scores
0.0, like an unreadable one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from eemo_rewards.answers.labels import read_label_in
from eemo_rewards.parsing import ParsedCompletion
from eemo_rewards.rewards.base import RewardFunction
from eemo_rewards.taxonomy import get_taxonomy

__all__ = ["VoteReward"]

MODES = ("share", "topk")


class VoteReward(RewardFunction):
    """Pay the answered emotion's place in the annotators' vote distribution.

    Parameters
    ----------
    mode : {"share", "topk"}, default "share"
        See the module docstring.
    k : int, default 3
        How many top labels ``mode="topk"`` pays.
    taxonomy : str, optional
        The taxonomy the answers are read in; default the sample's ``taxonomy`` column,
        else the labels of the votes themselves.

    Examples
    --------
    >>> r = VoteReward(mode="share")
    >>> votes = dict(vote_labels=["joy", "surprise", "fear"], votes=[50, 30, 20])
    >>> r.score("<think>bright</think><answer>surprise</answer>", "joy", task="emotion",
    ...         taxonomy="eemo_bench7", **votes)
    0.6
    >>> VoteReward(mode="topk").score("<think>x</think><answer>fear</answer>", "joy",
    ...     task="emotion", taxonomy="eemo_bench7", **votes)
    0.3333333333333333
    """

    default_name = "vote_reward"
    default_tasks = frozenset({"emotion"})
    columns = ("vote_labels", "votes", "taxonomy")

    def __init__(self, *, mode: str = "share", k: int = 3, taxonomy: str | None = None, **kw):
        super().__init__(**kw)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}")
        self.mode = mode
        self.k = k
        self.taxonomy = get_taxonomy(taxonomy).name if taxonomy is not None else None

    def _score(
        self,
        parsed: ParsedCompletion,
        solution: Any,
        *,
        task: str | None,
        options: Any,
        vote_labels: Any = None,
        votes: Any = None,
        taxonomy: Any = None,
        **_: Any,
    ) -> float:
        shares = _shares(vote_labels, votes)
        answer = self.answer_text(parsed)
        if not answer or not shares:
            return 0.0
        name = self.taxonomy or (taxonomy if isinstance(taxonomy, str) and taxonomy else None)
        tax = get_taxonomy(name) if name else None
        if tax is None:
            pred = _read_plain(answer, shares)
        else:
            pred = read_label_in(answer, tax)
            pred = tax.normalise(pred) if pred is not None else None
            shares = {tax.normalise(label): v for label, v in shares.items()}
        if pred is None or pred not in shares:
            return 0.0
        top = max(shares.values())
        if self.mode == "share":
            return shares[pred] / top if top > 0 else 0.0
        rank = sum(1 for v in shares.values() if v > shares[pred])
        if shares[pred] <= 0 or rank >= self.k:
            return 0.0
        return (self.k - rank) / self.k


def _shares(labels: Any, votes: Any) -> dict[str, float]:
    """``{label: votes}`` from the two columns; empty when they are missing or malformed."""
    if not isinstance(labels, Sequence) or isinstance(labels, str):
        return {}
    if not isinstance(votes, Sequence) or isinstance(votes, str) or len(votes) != len(labels):
        return {}
    out: dict[str, float] = {}
    for label, vote in zip(labels, votes, strict=True):
        try:
            value = float(vote)
        except (TypeError, ValueError):
            return {}
        if not math.isfinite(value) or value < 0:
            return {}
        out[str(label).strip().lower()] = out.get(str(label).strip().lower(), 0.0) + value
    return out


def _read_plain(answer: str, shares: dict[str, float]) -> str | None:
    """The one vote label an answer names, without a taxonomy (whole-word match)."""
    import re

    text = answer.lower()
    found = [label for label in shares if re.search(rf"\b{re.escape(label)}\b", text)]
    return found[0] if len(found) == 1 else None
