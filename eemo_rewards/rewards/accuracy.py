"""Accuracy reward: yes/no, multiple choice and dominant emotion, binary or soft.

Binary mode gives 1.0 for a correct answer and 0.0 otherwise. Soft mode (emotion answers
only) gives partial credit for a near miss, following EEmo-Logic's dominant-emotion reward
(arXiv 2602.01173; released code ``train/Stage_2``): reward = ``R[gt][pred]`` with

    R = (α·S + (1−α)·E^k)^p                 (α = 0.6, k = 2, p = 3 by default)

- ``S`` is VAD similarity: ``d_ij = sqrt(0.5·ΔV² + 0.3·ΔA² + 0.2·ΔD²)`` over the 1–9 VAD
  norms (:func:`~eemo_rewards.taxonomy.vad_norms`), ``S_ij = 1 − d_ij / max_k d_ik`` (each row
  scaled so that the farthest label scores 0).
- ``E`` is an optional semantic similarity (e.g. cosine similarity of embedded emotion
  definitions). It is prepared as in the released code: each row min–max normalised (the
  diagonal included), divided by the largest off-diagonal value of the whole matrix, clipped
  to [0, 1], diagonal set to 1.
- Without ``E`` the VAD term carries all the weight: ``R = S^p`` (``α`` and ``k`` are then
  unused). This keeps the correct answer at 1 and the farthest label at 0, like the full
  formula, whereas plugging ``E = 0`` into it would cap a correct answer at ``α^p``.

Matrices are computed once per (labels, parameters) and cached, so scoring is a dictionary
lookup per sample.
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from eemo_rewards.answers.choice import choose_option, normalise_options, read_yes_no
from eemo_rewards.answers.labels import read_label_in
from eemo_rewards.parsing import ParsedCompletion
from eemo_rewards.rewards.base import RewardFunction
from eemo_rewards.taxonomy import (
    Taxonomy,
    emotion_similarity,
    get_taxonomy,
    normalise_phrase,
    taxonomies,
    vad_distance,
    vad_norms,
)

__all__ = ["AccuracyReward", "accuracy_reward", "soft_reward_matrix"]

_WORD = re.compile(r"[^\W_]+")
_SOLUTION_LETTER = re.compile(r"^\W*([A-Za-z])\W*$")
_LETTER_OPTIONS = {letter: "" for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_YES_NO = {"yes": "yes", "no": "no", "true": "yes", "false": "no"}
_RELEASED = ("eemo-logic", "eemo_logic", "eemologic")


def _check_params(alpha: Any, k: Any, p: Any) -> tuple[float, float, float]:
    for name, value in (("alpha", alpha), ("k", k), ("p", p)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1] (the weight of the VAD term), got {alpha}")
    if k <= 0 or p <= 0:
        raise ValueError(f"k and p must be positive exponents, got k={k}, p={p}")
    return float(alpha), float(k), float(p)


def _norm_lookup(labels: Sequence[str], norms: Mapping[str, Sequence[float]] | None):
    table = vad_norms() if norms is None else norms
    by_phrase = {normalise_phrase(str(word)): vad for word, vad in table.items()}
    out, missing = [], []
    for label in labels:
        vad = (
            table.get(label)
            or table.get(label.strip().lower())
            or by_phrase.get(normalise_phrase(label))
        )
        if vad is None:
            missing.append(label)
            continue
        if len(vad) != 3 or not all(isinstance(x, int | float) and math.isfinite(x) for x in vad):
            raise ValueError(f"VAD norm of {label!r} must be three finite numbers, got {vad!r}")
        out.append(tuple(float(x) for x in vad))
    if missing:
        raise ValueError(
            f"no VAD norm for {missing}; pass norms={{label: (valence, arousal, dominance)}} "
            "on the 1-9 scale, or use labels from eemo_rewards.taxonomy.vad_norms()"
        )
    return out


def _similarity_rows(labels: Sequence[str], similarity: Any) -> list[list[float]]:
    n = len(labels)
    if isinstance(similarity, Mapping):
        keyed = {normalise_phrase(str(k)): v for k, v in similarity.items()}
        rows = []
        for gt in labels:
            row = keyed.get(normalise_phrase(gt))
            if not isinstance(row, Mapping):
                raise ValueError(
                    f"similarity has no row for {gt!r}; a dict-of-dicts similarity must cover "
                    f"every label: {list(labels)}"
                )
            row = {normalise_phrase(str(k)): v for k, v in row.items()}
            try:
                rows.append([row[normalise_phrase(pred)] for pred in labels])
            except KeyError as exc:
                raise ValueError(
                    f"similarity row {gt!r} has no entry for {exc.args[0]!r}; cover every "
                    f"label: {list(labels)}"
                ) from None
    elif isinstance(similarity, Sequence) and not isinstance(similarity, str | bytes):
        rows = [list(r) if isinstance(r, Sequence) else None for r in similarity]
        if len(rows) != n or any(r is None or len(r) != n for r in rows):
            raise ValueError(
                f"similarity must be a {n}x{n} matrix in the order of the labels {list(labels)} "
                "(rows = ground truth, columns = prediction), or a dict of dicts"
            )
    else:
        raise ValueError(
            "similarity must be a square list of lists in label order or a dict of dicts "
            f"{{gt: {{pred: value}}}}; got {type(similarity).__name__}"
        )
    for row in rows:
        for x in row:
            if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
                raise ValueError(f"similarity values must be finite numbers, got {x!r}")
    return [[float(x) for x in row] for row in rows]


def _prepare_similarity(raw: list[list[float]]) -> list[list[float]]:
    """Row min–max, divide by the largest off-diagonal value, clip to [0, 1], diagonal 1."""
    n = len(raw)
    scaled = []
    for row in raw:
        lo, hi = min(row), max(row)
        span = hi - lo
        scaled.append([(x - lo) / span if span > 0 else 0.0 for x in row])
    top = max((scaled[i][j] for i in range(n) for j in range(n) if i != j), default=0.0)
    return [
        [
            1.0 if i == j else (min(1.0, max(0.0, scaled[i][j] / top)) if top > 0 else 0.0)
            for j in range(n)
        ]
        for i in range(n)
    ]


def soft_reward_matrix(
    labels: Sequence[str],
    alpha: float = 0.6,
    k: float = 2,
    p: float = 3,
    similarity: Any = None,
    *,
    norms: Mapping[str, Sequence[float]] | None = None,
) -> list[list[float]]:
    """The soft reward matrix ``R[gt][pred]`` over ``labels`` (rows = ground truth).

    ``R = (alpha·S + (1−alpha)·E^k)^p`` with ``S`` from VAD norms and ``E`` from
    ``similarity``; without ``similarity``, ``R = S^p``. See the module docstring for the
    exact definitions (they reproduce EEmo-Logic's released ``reward_matrix_1.json``).

    Parameters
    ----------
    labels : sequence of str
        At least two distinct emotion words with VAD norms (case-insensitive).
    alpha, k, p : float
        Weight of the VAD term in [0, 1], exponent of ``E``, outer exponent.
    similarity : list of lists or dict of dicts, optional
        Semantic similarity, in the order of ``labels`` or keyed by label.
    norms : mapping, optional
        Label → (valence, arousal, dominance) on the 1–9 scale; defaults to
        :func:`~eemo_rewards.taxonomy.vad_norms`.

    Examples
    --------
    >>> R = soft_reward_matrix(["joy", "fear", "sadness"])
    >>> [[round(x, 3) for x in row] for row in R]  # fear is nearer sadness than joy
    [[1.0, 0.001, 0.0], [0.0, 1.0, 0.159], [0.0, 0.207, 1.0]]
    >>> E = [[1.0, 0.1, 0.2], [0.1, 1.0, 0.6], [0.2, 0.6, 1.0]]
    >>> [round(x, 3) for x in soft_reward_matrix(["joy", "fear", "sadness"], similarity=E)[1]]
    [0.0, 1.0, 0.381]
    """
    alpha, k, p = _check_params(alpha, k, p)
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise ValueError(f"labels must be a list of emotion words, got {type(labels).__name__}")
    labels = [str(label) for label in labels]
    if len(labels) < 2 or len({normalise_phrase(x) for x in labels}) != len(labels):
        raise ValueError(f"labels must hold at least two distinct emotions, got {labels}")
    vad = _norm_lookup(labels, norms)
    n = len(labels)
    sim_vad = []
    for i in range(n):
        dist = [vad_distance(vad[i], vad[j]) for j in range(n)]
        far = max(dist)
        sim_vad.append([1.0 - d / far if far > 0 else 1.0 for d in dist])
    if similarity is None:
        return [[max(0.0, s) ** p for s in row] for row in sim_vad]
    sim_sem = _prepare_similarity(_similarity_rows(labels, similarity))
    return [
        [
            min(1.0, max(0.0, alpha * sim_vad[i][j] + (1 - alpha) * sim_sem[i][j] ** k)) ** p
            for j in range(n)
        ]
        for i in range(n)
    ]


@functools.lru_cache(maxsize=64)
def _cached_matrix(labels: tuple[str, ...], alpha: float, k: float, p: float):
    rows = soft_reward_matrix(labels, alpha, k, p)
    return {gt: dict(zip(labels, row, strict=True)) for gt, row in zip(labels, rows, strict=True)}


class AccuracyReward(RewardFunction):
    """Is the answer right? Yes/no, multiple-choice letters and dominant-emotion labels.

    Parameters
    ----------
    mode : {"binary", "soft"}, default "binary"
        ``"soft"`` gives emotion answers partial credit ``R[gt][pred]`` (see
        :func:`soft_reward_matrix`); other answer kinds stay binary.
    taxonomy : str, optional
        The emotion taxonomy of every sample. Default: the sample's ``taxonomy`` column, else
        the first taxonomy (``eemo_bench7``, ``mikels8``, ``ekman6``, ``emotic26``,
        ``plutchik24``) containing the solution label. A solution label in no taxonomy is
        scored by exact (normalised) match of the answer.
    require_format : bool, default True
        Only a well-formed completion (``<think>…</think><answer>…</answer>``) can score.
        With False, the answer block is read even in a malformed completion, and the whole
        text when there is none (for evaluating base models).
    alpha, k, p : float
        Soft-mode parameters, as in :func:`soft_reward_matrix`.
    similarity : "eemo-logic", list of lists or dict of dicts, optional
        Soft mode's semantic similarity ``E`` over the taxonomy's labels: ``"eemo-logic"``
        for the released one (:func:`~eemo_rewards.taxonomy.emotion_similarity`, which with
        the default parameters reproduces EEmo-Logic's reward matrices), a square list in
        the order of ``get_taxonomy(taxonomy).labels``, or ``{gt: {pred: value}}``.
        Requires ``taxonomy``. Without it, soft mode uses the VAD norms alone.
    max_answer_words : int or None, default 32
        An emotion answer longer than this scores 0: the answer is a label, perhaps with a
        short lead-in, and an essay that happens to name one label is not an answer.

    An emotion answer is read with :func:`~eemo_rewards.answers.labels.read_label`: it
    must name exactly one distinct label of the taxonomy (synonyms fold first: "joyful" is
    joy) and deny none ("joy or fear", "not joy but fear", "anything but joy", "zero fear"
    score 0). Multiple-choice answers are read with
    :func:`~eemo_rewards.answers.choice.extract_choice`; yes/no answers with
    :func:`~eemo_rewards.answers.choice.read_yes_no` (idioms included: "Absolutely not." is
    no, "Yeah." is yes; a hedge or retraction such as ``"yes/no"`` or ``"Yes. On reflection,
    no."`` scores 0), or as options when the sample has them. A sample without a task column
    has it inferred (:func:`~eemo_rewards.answers.tasks.infer_task`).

    Examples
    --------
    >>> accuracy_reward.score("<think>warm</think><answer>Joyful.</answer>", "joy")
    1.0
    >>> accuracy_reward.score("<think>hm</think><answer>joy or fear</answer>", "joy")
    0.0
    >>> accuracy_reward(
    ...     completions=["<think>a</think><answer>B: Yes.</answer>", "<think>a</think>x</answer>"],
    ...     solution=["B", "a summary"],
    ...     task=["yes_no", "description"],
    ...     options=[{"A": "No.", "B": "Yes."}, None],
    ... )
    [1.0, None]
    >>> soft = AccuracyReward(mode="soft", taxonomy="mikels8")
    >>> round(soft.score("<think>calm</think><answer>awe</answer>", "contentment"), 3)
    0.581
    """

    default_name = "accuracy_reward"
    default_tasks = frozenset({"yes_no", "multiple_choice", "emotion"})
    columns = ("taxonomy",)

    def __init__(
        self,
        *,
        mode: str = "binary",
        taxonomy: str | None = None,
        alpha: float = 0.6,
        k: float = 2,
        p: float = 3,
        similarity: Any = None,
        max_answer_words: int | None = 32,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if mode not in ("binary", "soft"):
            raise ValueError(f"mode must be 'binary' or 'soft', got {mode!r}")
        self.alpha, self.k, self.p = _check_params(alpha, k, p)
        if max_answer_words is not None and (
            isinstance(max_answer_words, bool)
            or not isinstance(max_answer_words, int)
            or max_answer_words < 1
        ):
            raise ValueError(
                f"max_answer_words must be a positive int or None, got {max_answer_words!r}"
            )
        self.mode = mode
        # keep the name, not the Taxonomy object, so that instances pickle as plain data
        self.taxonomy = get_taxonomy(taxonomy).name if taxonomy is not None else None
        self.max_answer_words = max_answer_words
        self.similarity = None
        self._matrix: dict[str, dict[str, float]] | None = None
        if similarity is not None:
            if self.taxonomy is None:
                raise ValueError(
                    "similarity needs taxonomy=...: the matrix is defined over one taxonomy's "
                    "labels"
                )
            labels = get_taxonomy(self.taxonomy).labels
            if isinstance(similarity, str) and similarity.strip().lower() in _RELEASED:
                similarity = emotion_similarity(self.taxonomy)
            rows = soft_reward_matrix(labels, self.alpha, self.k, self.p, similarity)
            self.similarity = _similarity_rows(labels, similarity)
            self._matrix = {
                gt: dict(zip(labels, row, strict=True))
                for gt, row in zip(labels, rows, strict=True)
            }

    def _score(
        self,
        parsed: ParsedCompletion,
        solution: Any,
        *,
        task: str | None,
        options: Any,
        taxonomy: Any = None,
        **columns: Any,
    ) -> float:
        answer = parsed.answer if parsed.ok else self.answer_text(parsed)
        if not answer or solution is None:
            return 0.0
        if task == "emotion":
            return self._score_emotion(answer, solution, taxonomy)
        kind, gold, opts = _sample_plan(solution, options, task)
        if kind == _EMOTION:
            return self._score_emotion(answer, solution, taxonomy)
        if gold is None:
            return 0.0
        if kind == _YES_NO_WORD:
            return 1.0 if read_yes_no(answer) == gold else 0.0
        if len(answer) <= _MEMO_CHARS and type(opts) is _Options:
            return 1.0 if _memo_choice(answer, opts) == gold else 0.0
        return 1.0 if choose_option(answer, opts) == gold else 0.0

    def _score_emotion(self, answer: str, solution: Any, taxonomy: Any) -> float:
        if type(solution) is not str:
            if isinstance(solution, Sequence) and not isinstance(solution, str) and solution:
                solution = solution[0]  # a native list solution: its first (dominant) label
            solution = str(solution)
        limit = self.max_answer_words
        # n words need at least 2n - 1 characters: count only answers that could be too long
        if (
            limit is not None
            and len(answer) >= 2 * limit + 1
            and len(_WORD.findall(answer)) > limit
        ):
            return 0.0
        tax, gold = self._gold_label(solution, taxonomy)
        if gold is None:
            wanted = normalise_phrase(solution)
            return 1.0 if wanted and normalise_phrase(answer) == wanted else 0.0
        pred = read_label_in(answer, tax)
        if pred is None:
            return 0.0
        if pred == gold:
            return 1.0
        if self.mode == "binary":
            return 0.0
        matrix = self._matrix if self._matrix is not None and tax.name == self.taxonomy else None
        if matrix is None:
            matrix = _cached_matrix(tax.labels, self.alpha, self.k, self.p)
        return matrix[gold][pred]

    def _gold_label(self, solution: str, column: Any) -> tuple[Taxonomy | None, str | None]:
        """The taxonomy that scores this sample and the solution's label in it."""
        name = self.taxonomy
        if name is None and isinstance(column, str) and column.strip():
            try:
                name = get_taxonomy(column).name
            except ValueError as exc:
                _warn_once(f"{self.__name__}: {exc}; inferring the taxonomy from the solution")
        return _resolve_gold(solution, name)


@functools.lru_cache(maxsize=4096)
def _resolve_gold(solution: str, taxonomy: str | None) -> tuple[Taxonomy | None, str | None]:
    # solutions repeat once per generation: resolve each (solution, taxonomy) once
    if taxonomy is not None:
        tax = get_taxonomy(taxonomy)
        return tax, tax.normalise(solution)
    for tax in taxonomies().values():
        label = tax.normalise(solution)
        if label is not None:
            return tax, label
    return None, None


def _warn_once(message: str) -> None:
    # once per call site and message under warnings' default filter; every time under
    # simplefilter("always") (no module-level memory that would outlive a notebook re-run)
    warnings.warn(message, UserWarning, stacklevel=4)


def _options_or_none(options: Any) -> dict[str, str] | None:
    if options is None:
        return None
    try:
        opts = normalise_options(options)
    except ValueError:
        return None
    return opts or None


def _phrase(value: Any) -> str:
    return " ".join(_WORD.findall(str(value).lower()))


def _infer_kind(solution: Any, opts: dict[str, str] | None) -> str:
    sol = _phrase(solution)
    if sol in _YES_NO:
        return "yes_no"
    if opts is not None:
        texts = {_phrase(t) for t in opts.values()}
        return "yes_no" if texts and texts <= set(_YES_NO) else "multiple_choice"
    if _SOLUTION_LETTER.match(str(solution)):
        return "multiple_choice"
    return "emotion"


def _gold_letter(solution: Any, opts: dict[str, str] | None) -> str | None:
    text = str(solution)
    m = _SOLUTION_LETTER.match(text)
    if m and (opts is None or m.group(1).upper() in opts):
        return m.group(1).upper()
    if opts is not None:  # the solution names an option by its text
        wanted = _phrase(text)
        hits = [letter for letter, t in opts.items() if _phrase(t) == wanted]
        if len(hits) == 1:
            return hits[0]
    return None


# What a sample's ground truth asks for: (kind, the gold letter or yes/no word, options).
_CHOICE = "choice"  # choose_option(answer, options) must give the gold letter
_YES_NO_WORD = "yes_no_word"  # read_yes_no(answer) must give the gold word
_EMOTION = "emotion"
_DICT_OPTIONS = object()  # marks a dict's items in a cache key


def _sample_plan(solution: Any, options: Any, task: str | None) -> tuple[str, Any, Any]:
    """The prepared ground truth of a yes/no or multiple-choice sample (or the emotion kind,
    when inferred), cached for hashable solutions and options: a GRPO batch repeats each
    sample's ground truth once per generation."""
    if task not in ("yes_no", "multiple_choice"):
        task = None  # inferred from the solution and options
    if type(solution) is str:
        key = _options_key(options)
        if key is not _UNHASHABLE:
            return _cached_plan(solution, key, task)
    return _plan(solution, options, task)


_UNHASHABLE = object()


def _options_key(options: Any) -> Any:
    """A hashable stand-in for ``options`` that fixes its normalised form, else
    :data:`_UNHASHABLE`. Only text (and None) entries qualify: ``1``, ``1.0`` and ``True``
    are equal keys but different option texts."""
    if options is None or type(options) is str:
        return options
    if type(options) is list or type(options) is tuple:
        key = tuple(options)
        for text in key:
            if type(text) is not str and text is not None:
                return _UNHASHABLE
        return key
    if type(options) is dict:
        items = tuple(options.items())
        for letter, text in items:
            if type(letter) is not str or (type(text) is not str and text is not None):
                return _UNHASHABLE
        return (_DICT_OPTIONS, items)
    return _UNHASHABLE


@functools.lru_cache(maxsize=4096)
def _cached_plan(solution: str, options_key: Any, task: str | None) -> tuple[str, Any, Any]:
    if type(options_key) is tuple and options_key and options_key[0] is _DICT_OPTIONS:
        return _plan(solution, dict(options_key[1]), task)
    return _plan(solution, options_key, task)


class _Options(dict):
    """A sample's normalised options, hashable by content (they are never changed after
    planning), so that the reading of a short answer can be memoised per option set."""

    __slots__ = ("_key",)

    def __init__(self, opts: dict[str, str]):
        super().__init__(opts)
        self._key = tuple(opts.items())

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Options) and self._key == other._key


# A GRPO group's rollouts, and a dataset's samples, repeat the same short answers: reading
# one is memoised (readers are pure functions of the answer and the options).
_MEMO_CHARS = 160


@functools.lru_cache(maxsize=16384)
def _memo_choice(answer: str, opts: _Options) -> str | None:
    return choose_option(answer, opts)


def _plan(solution: Any, options: Any, task: str | None) -> tuple[str, Any, Any]:
    opts = _options_or_none(options)
    kind = task if task is not None else _infer_kind(solution, opts)
    if kind == "multiple_choice":
        return _CHOICE, _gold_letter(solution, opts), _Options(opts or _LETTER_OPTIONS)
    if kind != "yes_no":
        return _EMOTION, None, None
    gold_word = _YES_NO.get(_phrase(solution))
    if opts is not None:
        if gold_word is not None:
            letters = [k for k, t in opts.items() if _YES_NO.get(_phrase(t)) == gold_word]
            gold = letters[0] if len(letters) == 1 else None
        else:
            gold = _gold_letter(solution, opts)
        return _CHOICE, gold, _Options(opts)
    if gold_word is None:
        return _CHOICE, _gold_letter(solution, None), _Options(_LETTER_OPTIONS)
    return _YES_NO_WORD, gold_word, None


accuracy_reward = AccuracyReward()
