"""Ranking rewards: emotion rankings, pairwise comparisons and a batch-level Thurstone reward.

:class:`RankingReward` scores two tasks:

- ``ranking``: the answer lists the top-k evoked emotions, strongest first, and is scored
  against the ground-truth ranking with EEmo-Bench's ranking score
  (:func:`~eemo_rewards.metrics.eemo_bench_ranking_score`) or NDCG;
- ``comparison``: the answer says which image of a pair evokes more of something
  (``"first"``, ``"second"`` or ``"same"``).

:class:`ThurstoneReward` ranks the images of a GRPO batch against each other from their
rollouts' scores, after VisualQuality-R1 (REFERENCE §3).

Reading a ranking answer
------------------------
The answer is split into entries at ``,``, ``;``, ``>``, ``|``, ``→``, ``->``, line breaks,
the words ``and``/``then`` and list numbers (``1.``, ``2)``), so ``"Emotion ranking: joy,
fear, awe"``, ``"1. joy 2. fear 3. awe"``, ``"joy > fear > awe"`` and one emotion per line
all read as ``joy, fear, awe``. In each piece the emotions are found as whole words or
phrases and folded to their canonical label by the taxonomy (``"Joyful"`` → ``joy``,
``"Shock"`` → ``surprise``, ``"Neutrality"`` → ``neutral``, ``"Pleasure"`` → ``joy``). A piece
that names no emotion of the taxonomy (``"contentment"`` under EEmo-Bench's seven) is still
an entry, one that matches nothing; a piece ending in ``:`` is a header and skipped.

Rules against gaming the ranking score: an answer with **more than k entries** or the
**same emotion twice** scores 0 (listing every label, or repeating the likely top emotion,
can then never beat an honest wrong ranking, which also scores 0); an answer with no entry
scores 0.

The taxonomy is, in order: the reward's ``taxonomy`` argument, the sample's ``taxonomy``
column, else the first built-in taxonomy that contains every ground-truth emotion
(EEmo-Bench's seven first). When none does, the vocabulary is open: an entry is its own
lower-cased text with EEmo-Bench's synonyms folded, and the ground truth's emotions are
found in each piece by whole-word match.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

from eemo_rewards.metrics import eemo_bench_ranking_score, ndcg
from eemo_rewards.parsing import ParsedCompletion, parse_completion
from eemo_rewards.rewards.base import RewardFunction, RewardInternalError, _column
from eemo_rewards.rewards.intensity import DIMENSIONS, IntensityReward, parse_scores

__all__ = [
    "RankingReward",
    "ThurstoneReward",
    "parse_comparison",
    "parse_ranking",
    "ranking_reward",
    "thurstone_reward",
]

# EEmo-Bench's scorer folds these before matching (REFERENCE §2).
_EEMO_BENCH_SYNONYMS = {
    "neutrality": "neutral",
    "joyful": "joy",
    "shock": "surprise",
    "pleasure": "joy",
}

# Entry separators: ",;>|•→", "->", line breaks, the words "and"/"then", list numbers "1.",
# "2)", "(3)". Every alternative opens with a character, so the scan skips the text between
# separators quickly: "\band" is written "a(?<!\wa)nd" (no word character before the "a")
# and "(?<!\S)\(?[0-9]" as "(" or a digit with no non-space before it.
_SPLIT = re.compile(
    r"[,;>\n|•→]|->"
    r"|a(?<!\wa)nd\b|t(?<!\wt)hen\b"
    r"|(?:\((?<!\S\()[0-9]{1,2}|[0-9](?<!\S[0-9])[0-9]?)[.):]"
)
_WORD = re.compile(r"[^\W_]+")
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


def _open_label(text: str) -> str:
    words = _WORD.findall(text.lower())
    phrase = " ".join(words)
    return _EEMO_BENCH_SYNONYMS.get(phrase, phrase)


def _pieces(answer: str) -> list[str]:
    out = []
    for piece in _SPLIT.split(answer):
        piece = piece.strip()
        if piece and not piece.endswith(":") and _WORD.search(piece):
            out.append(piece)
    return out


def parse_ranking(answer: Any, taxonomy: Any = None, *, vocabulary: Sequence[str] = ()) -> list:
    """Read an emotion ranking, strongest first, as a list of canonical labels.

    Each entry is a label, or (for a piece naming no emotion of the vocabulary) the piece's
    normalised text, so that such entries still count (see the module docstring).

    Parameters
    ----------
    answer : str
    taxonomy : str or Taxonomy, optional
        The vocabulary with its synonyms. Without one, labels are open (lower-cased text,
        EEmo-Bench's synonyms folded) and the words in ``vocabulary`` are found inside pieces.
    vocabulary : sequence of str
        Labels to look for inside a piece when ``taxonomy`` is None.

    Examples
    --------
    >>> parse_ranking("Emotion ranking: Joyful, fear and shock", "eemo_bench7")
    ['joy', 'fear', 'surprise']
    >>> parse_ranking("1. joy 2. contentment 3. fear", "eemo_bench7")
    ['joy', 'contentment', 'fear']
    >>> parse_ranking("awe > Amusement", vocabulary=["awe", "amusement"])
    ['awe', 'amusement']
    >>> parse_ranking("joy joy, fear", "eemo_bench7")
    ['joy', 'joy', 'fear']
    """
    if not isinstance(answer, str):
        return []
    tax = _taxonomy(taxonomy) if taxonomy is not None else None
    known = frozenset(_open_label(v) for v in vocabulary) if tax is None else frozenset()
    return _read_ranking(answer, tax, known)


def _read_ranking(answer: str, tax: Any, known: frozenset[str]) -> list[str]:
    """:func:`parse_ranking` with the taxonomy resolved and, without one, the vocabulary
    already folded to open labels."""
    synonyms = tax.synonyms if tax is not None else None
    entries: list[str] = []
    for piece in _SPLIT.split(answer):
        piece = piece.strip()
        if not piece or piece.endswith(":"):
            continue
        # the common piece is one plain word ("fear"); ASCII letters lower-case to one word
        words = (
            [piece.lower()] if piece.isascii() and piece.isalpha() else _WORD.findall(piece.lower())
        )
        if len(words) == 1:  # one word: read without phrase windows
            word = words[0]
            label = synonyms.get(word) if synonyms is not None else None
            entries.append(label if label is not None else _EEMO_BENCH_SYNONYMS.get(word, word))
            continue
        if not words:
            if _WORD.search(piece):  # a word that lower-casing turned into none
                entries.append(_open_label(piece))
            continue
        if tax is not None:
            found = tax._labels_in_words(words)
            word_labels = [synonyms.get(w) for w in words]
        else:
            label = " ".join(words)
            label = _EEMO_BENCH_SYNONYMS.get(label, label)
            found = [label] if label in known else []
            word_labels = [_EEMO_BENCH_SYNONYMS.get(w, w) for w in words]
            if not found:
                found = list(dict.fromkeys(w for w in word_labels if w in known))
        if not found:
            entries.append(_open_label(piece))
        for label in found:
            # "joy joy joy" in one piece is three entries, so the duplicate rule sees them
            entries.extend([label] * max(1, word_labels.count(label)))
    return entries


_FIRST = frozenset({"first", "1st", "former", "left"})
_SECOND = frozenset({"second", "2nd", "latter", "right"})
_SAME = frozenset({"same", "equal", "equally", "neither", "similar", "tie", "identical", "both"})
_IMAGE_WORDS = frozenset({"image", "picture", "photo", "img", "pic"})
_IMAGE_FIRST = frozenset({"1", "one", "a"})
_IMAGE_SECOND = frozenset({"2", "two", "b"})


def parse_comparison(answer: Any) -> str | None:
    """Read which image of a pair the answer picks: ``"first"``, ``"second"``, ``"same"``,
    or ``None`` when it names none or more than one.

    Recognised: first / 1st / former / left / image 1 (or one, A); second / 2nd / latter /
    right / image 2 (or two, B); same / equal(ly) / neither / similar / tie / identical /
    both / no difference. Whole words only, any case.

    Examples
    --------
    >>> parse_comparison("The first image."), parse_comparison("Image 2")
    ('first', 'second')
    >>> parse_comparison("About the same"), parse_comparison("first, or maybe the second")
    ('same', None)
    """
    if not isinstance(answer, str):
        return None
    found: set[str] = set()
    previous = ""
    for word in _WORD.findall(answer.lower()):
        if word in _FIRST:
            found.add("first")
        elif word in _SECOND:
            found.add("second")
        elif word in _SAME or (word == "difference" and previous == "no"):
            found.add("same")
        elif previous in _IMAGE_WORDS:
            if word in _IMAGE_FIRST:
                found.add("first")
            elif word in _IMAGE_SECOND:
                found.add("second")
        previous = word
    return found.pop() if len(found) == 1 else None


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
        Score only well-formed completions; ``False`` scores any single answer block.

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
        require_format: bool = True,
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
        self.require_format = require_format
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
        if self.require_format and not parsed.ok:
            return 0.0
        if not isinstance(parsed.answer, str):
            return 0.0
        pred = _read_ranking(parsed.answer, truth.taxonomy, truth.known)
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
        if self.require_format and not parsed.ok:
            return 0.0
        return 1.0 if parse_comparison(parsed.answer) == truth else 0.0


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
    raw = _pieces(solution) if isinstance(solution, str) else list(solution)
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


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _group_key(image_id: Any, prompt: Any) -> Any:
    key = image_id if image_id is not None else prompt
    if key is None:
        return None
    if isinstance(key, str):
        return ("s", key)
    try:
        hash(key)
    except TypeError:
        return ("r", repr(key))
    return ("h", key)


class ThurstoneReward(IntensityReward):
    """Batch-level ranking reward over the images of a GRPO batch (Thurstone model).

    After VisualQuality-R1 (REFERENCE §3). Each completion's score ``q`` is read with
    :func:`~eemo_rewards.rewards.intensity.parse_scores` (the sample's ``dimension``) and,
    like the solution, mapped to ``[0, 1]`` by the sample's scale. Rollouts are grouped by
    image (the ``image_id`` column, else the prompt); image ``i``'s valid rollouts give its
    mean ``μ_i`` and variance ``σ_i²``. Rollout ``k`` of image ``i`` is compared with every
    other image ``j`` of the batch::

        p  = Φ((q_ik − μ_j) / sqrt(σ_i² + σ_j² + 1e-6))
        gt = 1, 0 or 0.5 as image i's true score is above, below or equal to j's
        r  = mean_j [ sqrt(p·gt + ε) + sqrt((1 − p)(1 − gt) + ε) ]

    Without an ``image_id`` column and without prompts, every rollout belongs to one group.
    ``r`` is clipped to the declared range ``[0, 1]`` (it can exceed 1 by at most
    ``2·sqrt(ε)``). A completion that is malformed (with ``require_format``), has no
    readable score or one outside the scale scores 0 and is left out of every ``μ``/``σ``.

    With no other image in the batch (one image, or all others unreadable) there is nothing
    to rank against: the rollout gets its linear intensity score ``1 − |q − s|`` on the
    normalised scale instead, which is also what :meth:`score` (one sample) returns.

    Parameters
    ----------
    scale, dimensions, require_format
        As in :class:`~eemo_rewards.rewards.intensity.IntensityReward`.
    eps : float, default 1e-8
        ε in the reward.

    Examples
    --------
    >>> done = "<think>t</think><answer>{}</answer>"
    >>> rewards = thurstone_reward(
    ...     completions=[done.format(x) for x in ("0.8", "0.7", "0.2", "0.3")],
    ...     solution=["0.9", "0.9", "0.1", "0.1"], image_id=["a", "a", "b", "b"],
    ...     task=["assessment"] * 4)
    >>> [round(r, 3) for r in rewards]
    [1.0, 1.0, 1.0, 1.0]
    """

    default_name = "thurstone_reward"
    columns = ("dimension", "scale", "image_id")

    def __init__(
        self,
        *,
        scale: Any = "0-1",
        dimensions: Sequence[str] = DIMENSIONS,
        require_format: bool = True,
        eps: float = 1e-8,
        **kwargs: Any,
    ):
        super().__init__(
            kernel="linear",
            scale=scale,
            dimensions=dimensions,
            require_format=require_format,
            **kwargs,
        )
        if not (isinstance(eps, int | float) and math.isfinite(eps) and eps >= 0):
            raise ValueError(f"eps must be a non-negative number, got {eps!r}")
        self.eps = float(eps)

    def _normalised_truth(self, solution: Any, dimension: Any, scale: tuple[float, float]):
        dim = self._dimension(dimension)
        truth = self._solution_values(solution, dim, scale)
        if truth is None:
            return None, None
        if len(truth) == 1:
            key, value = next(iter(truth.items()))
        elif dim is not None and dim in truth:
            key, value = dim, truth[dim]
        else:
            _warn(
                self.__name__,
                f"solution {solution!r} has several dimensions; give the sample a 'dimension' "
                "column naming the one to rank",
            )
            return None, None
        lo, hi = scale
        return key, (value - lo) / (hi - lo)

    def _normalised_answer(self, parsed: ParsedCompletion, key: Any, scale) -> float | None:
        if self.require_format and not parsed.ok:
            return None
        answer = parse_scores(parsed.answer, self.dimensions, scale=scale)
        if key is not None and key in answer:
            value = answer[key]
        elif len(answer) == 1 and (key is None or None in answer):
            value = next(iter(answer.values()))
        else:
            return None
        lo, hi = scale
        if not (lo <= value <= hi):
            return None
        return (value - lo) / (hi - lo)

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        """TRL's reward contract, scoring the whole batch at once."""
        if completions is None:
            return []
        n = len(completions)
        tasks = _column(kwargs, "task", n)
        solutions = _column(kwargs, "solution", n)
        dimensions = _column(kwargs, "dimension", n)
        scales = _column(kwargs, "scale", n)
        image_ids = _column(kwargs, "image_id", n)
        prompt_list = [None] * n if prompts is None else prompts
        if len(prompt_list) != n:
            raise ValueError(
                f"{len(prompt_list)} prompts for {n} completions; pass one prompt per completion"
            )
        out: list[float | None] = [None] * n
        applicable = [i for i in range(n) if self.applies_to(tasks[i])]
        for i in applicable:
            out[i] = 0.0
        try:
            self._score_batch(
                applicable,
                completions,
                solutions,
                dimensions,
                scales,
                image_ids,
                prompt_list,
                out,
            )
        except Exception as exc:  # the last line of defence: a training loop must not crash
            warnings.warn(
                f"{self.__name__} failed on a batch ({type(exc).__name__}: {exc}); scored "
                f"{self.low}. Please report this with the batch that caused it.",
                RewardInternalError,
                stacklevel=2,
            )
            return [self.low if i in set(applicable) else None for i in range(n)]
        return out

    def _score_batch(
        self, applicable, completions, solutions, dimensions, scales, image_ids, prompts, out
    ) -> None:
        # Per rollout: (group, q or None, true value); per group: true value and valid qs.
        rollouts: list[tuple[int, Any, float | None, float]] = []
        groups: dict[Any, list[float]] = {}
        group_truth: dict[Any, float] = {}
        for i in applicable:
            scale = self._sample_scale(scales[i])
            if scale is None:
                continue
            key, truth = self._normalised_truth(solutions[i], dimensions[i], scale)
            if truth is None:
                continue
            q = self._normalised_answer(parse_completion(completions[i]), key, scale)
            # Without an image id or a prompt nothing says which rollouts share an image:
            # they form one group, and the batch falls back to the per-sample score.
            group = _group_key(image_ids[i], prompts[i])
            group_truth.setdefault(group, truth)
            valid = groups.setdefault(group, [])
            if q is not None:
                valid.append(q)
            rollouts.append((i, group, q, truth))
        stats: dict[Any, tuple[float, float]] = {}
        for group, qs in groups.items():
            if qs:
                mean = math.fsum(qs) / len(qs)
                stats[group] = (mean, math.fsum((q - mean) ** 2 for q in qs) / len(qs))
        eps = self.eps
        for i, group, q, truth in rollouts:
            if q is None:
                continue
            others = [g for g in stats if g != group]
            if not others:
                out[i] = 1.0 - abs(q - truth)
                continue
            var_i = stats[group][1]
            total = 0.0
            for g in others:
                mean_j, var_j = stats[g]
                p = _phi((q - mean_j) / math.sqrt(var_i + var_j + 1e-6))
                truth_j = group_truth[g]
                gt = 1.0 if truth > truth_j else 0.0 if truth < truth_j else 0.5
                total += math.sqrt(p * gt + eps) + math.sqrt((1.0 - p) * (1.0 - gt) + eps)
            out[i] = min(self.high, max(self.low, total / len(others)))


thurstone_reward = ThurstoneReward()
