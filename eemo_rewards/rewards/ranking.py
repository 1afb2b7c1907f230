"""Ranking reward: emotion rankings and pairwise comparisons.

:class:`RankingReward` scores two tasks:

- ``ranking``: the answer lists the top-k evoked emotions, strongest first, and is scored
  against the ground-truth ranking with EEmo-Bench's ranking score
  (:func:`~eemo_rewards.metrics.eemo_bench_ranking_score`) or NDCG;
- ``comparison``: the answer says which image of a pair evokes more of something
  (``"first"``, ``"second"`` or ``"same"``).

Answers are read by :func:`eemo_rewards.answers.rankings.parse_ranking` and
:func:`eemo_rewards.answers.comparisons.parse_comparison` (re-exported here; see them for
what each accepts and refuses). :class:`~eemo_rewards.rewards.thurstone.ThurstoneReward`,
the batch-level ranking of V/A/D scores, lives in :mod:`eemo_rewards.rewards.thurstone` and
is re-exported here too.

Rules against gaming the ranking score: an answer with **more than k entries** or the
**same emotion twice** scores 0 (listing every label, or repeating the likely top emotion,
can then never beat an honest wrong ranking, which also scores 0); an answer with no entry,
or a negated list, scores 0.

The taxonomy is, in order: the reward's ``taxonomy`` argument, the sample's ``taxonomy``
column, else the first built-in taxonomy that contains every ground-truth emotion
(EEmo-Bench's seven first). When none does, the vocabulary is open: an entry is its own
lower-cased text with EEmo-Bench's synonyms folded, and the ground truth's emotions are
found in each piece by whole-word match.
"""

from __future__ import annotations

import functools
import itertools
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

from eemo_rewards.answers.comparisons import parse_comparison
from eemo_rewards.answers.rankings import _open_label, parse_ranking, pieces, read_ranking
from eemo_rewards.metrics import eemo_bench_ranking_score, ndcg
from eemo_rewards.parsing import ParsedCompletion
from eemo_rewards.rewards.base import RewardFunction

__all__ = [
    "RankingReward",
    "ThurstoneReward",
    "parse_comparison",
    "parse_ranking",
    "ranking_reward",
    "thurstone_reward",
]

_DEFAULT_TAXONOMY_ORDER = ("eemo_bench7", "mikels8", "ekman6", "emotic26", "plutchik24")


_TAXONOMY_CACHE: dict[str, Any] = {}


def _taxonomy(name: Any):
    if isinstance(name, str):
        found = _TAXONOMY_CACHE.get(name)
        if found is not None:
            return found
    from eemo_rewards.taxonomy import get_taxonomy  # lazy: resources are read on first use

    found = get_taxonomy(name)
    if isinstance(name, str):
        _TAXONOMY_CACHE[name] = found
    return found


# A GRPO group's rollouts repeat the same short answers: reading one is memoised (the
# reader is a pure function of the text and the vocabulary; the result is only read).
_MEMO_CHARS = 160


@functools.lru_cache(maxsize=16384)
def _memo_ranking(text: str, taxonomy: str | None, known: frozenset[str]) -> list[str]:
    return read_ranking(text, _taxonomy(taxonomy) if taxonomy else None, known)


def _warn(reward: str, message: str) -> None:
    warnings.warn(f"{reward}: {message}; the sample scored 0", UserWarning, stacklevel=4)


class RankingReward(RewardFunction):
    """Reward an emotion ranking (task ``ranking``) or a pair comparison (``comparison``).

    Parameters
    ----------
    method : {"eemo_bench", "ndcg"}, default "eemo_bench"
        ``"eemo_bench"``: :func:`~eemo_rewards.metrics.eemo_bench_ranking_score` (hits
        weighted 25/15/10 plus Kendall's τ over the shared emotions, in [0, 1]);
        ``"ndcg"``: :func:`~eemo_rewards.metrics.ndcg` with graded relevance by true position.
    kendall : {"positions", "released"}, default "positions"
        τ over positions, or the released scorer's alphabetical τ (see the metric).
    k : int, default 3
        The most entries an answer may list; more scores 0.
    taxonomy : str, optional
        The emotion vocabulary (default: the sample's ``taxonomy`` column, else inferred
        from the ground truth; see the module docstring).
    require_format : bool, default True
        Score only well-formed completions; ``False`` reads the answer block of a malformed
        one, else its whole text.

    Examples
    --------
    >>> ranking_reward.score("<think>t</think><answer>Emotion ranking: joy, fear, sadness"
    ...                      "</answer>", "joy, fear, sadness", task="ranking")
    1.0
    >>> ranking_reward.score("<think>t</think><answer>joy, joy, joy</answer>",
    ...                      "joy, fear, sadness", task="ranking")
    0.0
    >>> ranking_reward.score("<think>t</think><answer>The left one</answer>", "first",
    ...                      task="comparison")
    1.0
    """

    default_name = "ranking_reward"
    default_tasks = frozenset({"ranking", "comparison"})
    columns = ("taxonomy",)

    def __init__(
        self,
        *,
        method: str = "eemo_bench",
        kendall: str = "positions",
        k: int = 3,
        taxonomy: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if method not in ("eemo_bench", "ndcg"):
            raise ValueError(f"method must be 'eemo_bench' or 'ndcg', got {method!r}")
        if kendall not in ("positions", "released"):
            raise ValueError(f"kendall must be 'positions' or 'released', got {kendall!r}")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer (the top-k listed), got {k!r}")
        if taxonomy is not None:
            taxonomy = _taxonomy(taxonomy).name  # validates the name now, not per sample
        self.method = method
        self.kendall = kendall
        self.k = k
        self.taxonomy = taxonomy
        # EEmo-Bench's hit weights cover three true emotions
        self._truth_limit = 3 if method == "eemo_bench" else k

    def _truth(self, solution: Any, column: Any) -> _Truth | None:
        """The prepared true ranking, or None with a warning when unusable."""
        if column is not None and not isinstance(column, str):
            _warn(self.__name__, f"the 'taxonomy' column holds {column!r}; give a taxonomy name")
            return None
        if isinstance(solution, str):
            found = _resolve_truth(solution, self.taxonomy, column, self._truth_limit)
        elif isinstance(solution, Sequence) and not isinstance(solution, bytes):
            found = _resolve_truth(
                tuple(str(x) for x in solution), self.taxonomy, column, self._truth_limit
            )
        else:
            found = f"solution {solution!r} is not a ranking"
        if isinstance(found, str):
            _warn(self.__name__, found)
            return None
        return found

    def _score(
        self,
        parsed: ParsedCompletion,
        solution: Any,
        *,
        task: str | None,
        options: Any,
        taxonomy: Any = None,
        **_: Any,
    ) -> float:
        if task == "comparison" or (task is None and _comparison_truth(solution) is not None):
            return self._score_comparison(parsed, solution)
        truth = self._truth(solution, taxonomy if taxonomy != "" else None)
        if truth is None:
            return 0.0
        text = parsed.answer if parsed.ok else self.answer_text(parsed)
        if not text:
            return 0.0
        if len(text) <= _MEMO_CHARS:
            name = truth.taxonomy.name if truth.taxonomy is not None else None
            pred = _memo_ranking(text, name, truth.known)
        else:
            pred = read_ranking(text, truth.taxonomy, truth.known)
        if not pred or len(pred) > self.k or len(set(pred)) != len(pred):
            return 0.0
        # the score depends only on where each entry stands in the truth (-1: nowhere), so
        # it is computed once per pattern
        positions = truth.positions
        pattern = tuple(map(positions.get, pred, itertools.repeat(-1)))
        return _pattern_score(truth.labels, pattern, self.method, self.kendall, self.k)

    def _score_comparison(self, parsed: ParsedCompletion, solution: Any) -> float:
        truth = _comparison_truth(solution)
        if truth is None:
            _warn(
                self.__name__,
                f"cannot read a comparison solution from {solution!r}; use 'first', 'second' "
                "or 'same'",
            )
            return 0.0
        text = parsed.answer if parsed.ok else self.answer_text(parsed)
        return 1.0 if text and parse_comparison(text) == truth else 0.0


class _Truth(NamedTuple):
    """A sample's true ranking, prepared once for every answer scored against it."""

    taxonomy: Any  # the Taxonomy the answers are read with, or None (open vocabulary)
    labels: tuple[str, ...]  # strongest first
    positions: dict[str, int]  # label -> index in labels
    known: frozenset[str]  # the labels found inside pieces of an open-vocabulary answer


def _comparison_truth(solution: Any) -> str | None:
    if type(solution) is str:
        return _cached_comparison(solution)
    return parse_comparison(solution) if isinstance(solution, str) else None


@functools.lru_cache(maxsize=4096)
def _cached_comparison(solution: str) -> str | None:
    # a GRPO batch repeats each solution once per generation: read it once
    return parse_comparison(solution)


@functools.lru_cache(maxsize=4096)
def _pattern_score(
    truth: tuple[str, ...], pattern: tuple[int, ...], method: str, kendall: str, k: int
) -> float:
    """The ranking score of a prediction given as each entry's index in ``truth`` (-1 for
    an entry not in it; entries are distinct). Only these indices, and the truth's labels
    (for the released scorer's alphabetical τ), enter either metric, so a stand-in that no
    label equals replaces each other entry."""
    pred = [truth[i] if i >= 0 else (None, j) for j, i in enumerate(pattern)]
    if method == "ndcg":
        return ndcg(list(truth), pred, k=k)
    return eemo_bench_ranking_score(list(truth), pred, kendall=kendall)


@functools.lru_cache(maxsize=8192)
def _resolve_truth(
    solution: str | tuple[str, ...], taxonomy: str | None, column: Any, limit: int
) -> _Truth | str:
    """The prepared true ranking for a solution, or a message saying what is wrong.

    Cached: a GRPO batch repeats each solution once per generation."""
    raw = pieces(solution) if isinstance(solution, str) else list(solution)
    if taxonomy is None and column is not None:
        try:
            taxonomy = _taxonomy(column).name
        except (ValueError, TypeError) as exc:
            return f"bad 'taxonomy' column ({exc})"
    if taxonomy is None and raw:
        for name in _DEFAULT_TAXONOMY_ORDER:
            tax = _taxonomy(name)
            if all(tax.normalise(x) is not None for x in raw):
                taxonomy = name
                break
    if taxonomy is not None:
        tax = _taxonomy(taxonomy)
        labels = [tax.normalise(x) for x in raw]
    else:
        labels = [_open_label(x) for x in raw]
    if not labels or not all(labels) or len(set(labels)) != len(labels) or len(labels) > limit:
        where = f" of taxonomy {taxonomy!r}" if taxonomy else ""
        return (
            f"cannot read a ranking of 1 to {limit} distinct emotions{where} from solution "
            f"{solution!r}; write it strongest first, e.g. 'joy, fear, awe'"
        )
    tax = _taxonomy(taxonomy) if taxonomy is not None else None
    return _Truth(
        taxonomy=tax,
        labels=tuple(labels),
        positions={label: i for i, label in enumerate(labels)},
        known=frozenset(_open_label(v) for v in labels) if tax is None else frozenset(),
    )


ranking_reward = RankingReward()


# the batch-level Thurstone reward once lived here; its public names still import from here
from eemo_rewards.rewards.thurstone import ThurstoneReward, thurstone_reward  # noqa: E402
