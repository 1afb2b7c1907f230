"""Emotion vocabularies (taxonomies) and valence–arousal–dominance norms, loaded from data.

A :class:`Taxonomy` is a closed label set with a synonym map: ``"joyful"``, ``"happy"`` and
``"pleasure"`` fold to EEmo-Bench's ``"joy"``, ``"content"`` to Mikels' ``"contentment"``.
Matching is exact membership of a normalised word or phrase (lower case, punctuation
replaced by spaces, whitespace collapsed), never a substring test: ``"discontent"`` is not
``"contentment"``, and ``"content"`` is ``"contentment"`` only because it is a declared
synonym.

The label sets and synonyms live in ``eemo_rewards/resources/taxonomies.json``; the VAD norms
(1–9 scale) in ``eemo_rewards/resources/vad_norms.json``, taken from the EEmo-Logic release
(workerred/EEmo-Logic, ``train/Stage_2/emotion_vad_scores.json``, Apache-2.0; arXiv
2602.01173). ``eemo_rewards/resources/emotion_similarity.json`` holds the same release's
semantic similarity of emotion labels (``check_embedding.json``) for the taxonomies it
covers. All are read once and cached.

=================  ===================================================================
name               labels
=================  ===================================================================
``eemo_bench7``    joy, anger, disgust, sadness, surprise, fear, neutral (EEmo-Bench)
``mikels8``        amusement, awe, contentment, excitement, anger, disgust, fear, sadness
``ekman6``         anger, disgust, fear, happiness, sadness, surprise
``emotic26``       the 26 EMOTIC categories
``plutchik24``     the 24 emotions of Plutchik's wheel
=================  ===================================================================
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

__all__ = [
    "CUE_NOUNS",
    "DIMENSIONS",
    "FACE_EXPRESSIONS",
    "LEVELS",
    "LEVEL_BAND",
    "LEVEL_CUES",
    "TAXONOMIES",
    "VAD_WEIGHTS",
    "Taxonomy",
    "emotion_similarity",
    "get_taxonomy",
    "level_of",
    "normalise_phrase",
    "taxonomies",
    "vad_distance",
    "vad_norms",
]

#: The affective dimensions, in the order every V/A/D triple of the project uses.
DIMENSIONS = ("valence", "arousal", "dominance")

#: V/A/D levels of a 0–1 value, lowest first.
LEVELS = ("low", "moderate", "high")

#: The level band: a 0–1 value ``<= LEVEL_BAND[0]`` is low, ``>= LEVEL_BAND[1]`` high, and
#: moderate between (the QA targets, the built-in images' cues and the judges all use it).
LEVEL_BAND = (0.4, 0.6)

#: How the built-in images show each dimension's level (``data.builtin`` draws them and
#: writes them into captions; the reasoning-consistency judges read them back):
#: ``LEVEL_CUES[dimension][level]`` is the cue word, ``CUE_NOUNS[dimension]`` its noun.
LEVEL_CUES = {
    "valence": {"low": "cool", "moderate": "mild", "high": "warm"},
    "arousal": {"low": "smooth", "moderate": "wavy", "high": "jagged"},
    "dominance": {"low": "small", "moderate": "medium", "high": "large"},
}
CUE_NOUNS = {"valence": "palette", "arousal": "halo", "dominance": "face"}

#: The facial expression the built-in images draw for each EEmo-Bench emotion.
FACE_EXPRESSIONS = {
    "joy": "smiling",
    "sadness": "frowning",
    "anger": "scowling",
    "fear": "wide-eyed",
    "surprise": "gasping",
    "disgust": "grimacing",
    "neutral": "blank",
}


def level_of(value: float) -> str:
    """The level of a 0–1 value in :data:`LEVEL_BAND`.

    Examples
    --------
    >>> level_of(0.4), level_of(0.41), level_of(0.6)
    ('low', 'moderate', 'high')
    """
    low, high = LEVEL_BAND
    return "low" if value <= low else "high" if value >= high else "moderate"


#: Weights of the V/A/D distance (valence matters most), as in EEmo-Logic's soft reward.
VAD_WEIGHTS = (0.5, 0.3, 0.2)


def vad_distance(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """The weighted V/A/D distance ``sqrt(0.5 ΔV² + 0.3 ΔA² + 0.2 ΔD²)`` of two triples.

    Examples
    --------
    >>> vad_distance((5.0, 5.0, 5.0), (7.0, 5.0, 5.0))
    1.4142135623730951
    """
    return math.sqrt(sum(w * (x - y) ** 2 for w, x, y in zip(VAD_WEIGHTS, a, b, strict=True)))


# Words are maximal runs of letters and digits; everything else separates them. One simple
# character class, so tokenising is linear and cannot backtrack.
_WORD = re.compile(r"[^\W_]+")
_MAX_PHRASE_WORDS = 3


def normalise_phrase(text: str) -> str:
    """Lower-case ``text``, turn punctuation into spaces and collapse whitespace.

    Examples
    --------
    >>> normalise_phrase("  Doubt/Confusion! ")
    'doubt confusion'
    """
    return " ".join(_WORD.findall(text.lower()))


@dataclass(frozen=True)
class Taxonomy:
    """A closed emotion label set with its synonyms.

    Parameters
    ----------
    name : str
        The canonical name, e.g. ``"eemo_bench7"``.
    labels : tuple of str
        The canonical labels, in the taxonomy's customary order.
    synonyms : mapping of str to str
        Normalised word or phrase (up to three words) → canonical label. Every label maps to
        itself, so this is the whole vocabulary.
    title : str
        A human-readable name.

    Examples
    --------
    >>> tax = get_taxonomy("EEmo-Bench")
    >>> tax.normalise("Joyful"), tax.normalise("pleasure"), tax.normalise("contentment")
    ('joy', 'joy', None)
    >>> tax.find_labels("Mostly joy, a little fear; the joyful mood dominates.")
    ['joy', 'fear']
    """

    name: str
    labels: tuple[str, ...]
    synonyms: MappingProxyType = field(repr=False)
    title: str = ""
    phrase_starts: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    """First words of the multi-word synonyms: only there is a longer window worth trying."""

    def __contains__(self, label: object) -> bool:
        return isinstance(label, str) and self.normalise(label) is not None

    def normalise(self, word: str) -> str | None:
        """The canonical label ``word`` names (a label, a synonym or an inflection), else
        ``None``. The whole of ``word`` must match; use :meth:`find_labels` for a sentence."""
        if not isinstance(word, str):
            return None
        return self.synonyms.get(normalise_phrase(word))

    def find_labels(self, text: str) -> list[str]:
        """The distinct labels ``text`` mentions, as whole words or phrases, in order of
        first mention.

        Longer phrases win over the words inside them (``"doubt/confusion"`` is one EMOTIC
        label, not two mentions). Runs in time linear in the text.
        """
        if not isinstance(text, str) or not text:
            return []
        if text.isascii() and text.isalpha():  # one plain word, the common answer
            label = self.synonyms.get(text.lower())
            return [] if label is None else [label]
        return self._labels_in_words(_WORD.findall(text.lower()))

    def mentions(self, text: str) -> list[tuple[int, int, str]]:
        """Every mention of a label in ``text``, in order, repeats included: ``(first word,
        number of words, label)``, counting the words of :func:`normalise_phrase`.

        The same matching as :meth:`find_labels` (longer phrases win); where a mention sits
        lets a reader check the words around it (a denial before it, say).

        Examples
        --------
        >>> get_taxonomy("eemo_bench7").mentions("not fear, but joy and more joy")
        [(1, 1, 'fear'), (3, 1, 'joy'), (6, 1, 'joy')]
        """
        out: list[tuple[int, int, str]] = []
        if isinstance(text, str) and text:
            self._labels_in_words(_WORD.findall(text.lower()), out)
        return out

    def _labels_in_words(
        self, words: list[str], mentions: list[tuple[int, int, str]] | None = None
    ) -> list[str]:
        """:meth:`find_labels` for text already split into lower-case words; every mention
        is appended to ``mentions`` when given (one loop serves both)."""
        synonyms = self.synonyms
        if len(words) == 1 and mentions is None:  # the common answer: no phrase to try
            label = synonyms.get(words[0])
            return [] if label is None else [label]
        found: list[str] = []
        i, n = 0, len(words)
        starts = self.phrase_starts
        while i < n:
            label, width = None, 1
            if words[i] in starts:
                for width in (3, 2):
                    if i + width <= n:
                        label = synonyms.get(" ".join(words[i : i + width]))
                        if label is not None:
                            break
            if label is None:
                label, width = synonyms.get(words[i]), 1
            if label is not None:
                if mentions is not None:
                    mentions.append((i, width, label))
                if label not in found:
                    found.append(label)
            i += width if label is not None else 1
        return found


def _alias_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.lower())


def _read_json(filename: str) -> dict[str, Any]:
    return json.loads(resources.files("eemo_rewards").joinpath("resources", filename).read_text())


@functools.cache
def _load() -> tuple[MappingProxyType, MappingProxyType]:
    data = _read_json("taxonomies.json")["taxonomies"]
    taxonomies: dict[str, Taxonomy] = {}
    aliases: dict[str, str] = {}
    for name, spec in data.items():
        synonyms: dict[str, str] = {}
        for label, words in spec["labels"].items():
            for word in (label, *words):
                key = normalise_phrase(word)
                if len(key.split()) > _MAX_PHRASE_WORDS:
                    raise ValueError(f"taxonomy {name}: synonym {word!r} has more than 3 words")
                if synonyms.get(key, label) != label:
                    raise ValueError(
                        f"taxonomy {name}: {word!r} is a synonym of both {synonyms[key]!r} "
                        f"and {label!r}; make it name one label"
                    )
                synonyms[key] = label
        taxonomies[name] = Taxonomy(
            name=name,
            labels=tuple(spec["labels"]),
            synonyms=MappingProxyType(synonyms),
            title=spec.get("title", name),
            phrase_starts=frozenset(k.split()[0] for k in synonyms if " " in k),
        )
        for alias in (name, *spec.get("aliases", ())):
            aliases[_alias_key(alias)] = name
    return MappingProxyType(taxonomies), MappingProxyType(aliases)


def get_taxonomy(name: str | Taxonomy) -> Taxonomy:
    """Look a taxonomy up by name or alias (case, ``-``, ``_`` and spaces ignored).

    Examples
    --------
    >>> get_taxonomy("mikels").labels[:3]
    ('amusement', 'awe', 'contentment')
    >>> get_taxonomy("Plutchik-24").name
    'plutchik24'
    """
    if isinstance(name, Taxonomy):
        return name
    taxonomies, aliases = _load()
    key = _alias_key(name) if isinstance(name, str) else None
    if key not in aliases:
        raise ValueError(
            f"unknown taxonomy {name!r}; use one of {sorted(taxonomies)} "
            f"(aliases: {sorted(a for a in aliases if a not in taxonomies)})"
        )
    return taxonomies[aliases[key]]


def taxonomies() -> MappingProxyType:
    """All taxonomies by canonical name (read-only)."""
    return _load()[0]


class _Taxonomies(Mapping):
    """A lazily loaded read-only mapping, so that importing the package reads no file."""

    def __getitem__(self, name: str) -> Taxonomy:
        return taxonomies()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(taxonomies())

    def __len__(self) -> int:
        return len(taxonomies())

    def __repr__(self) -> str:
        return f"TAXONOMIES({list(taxonomies())})"


TAXONOMIES = _Taxonomies()
"""Every taxonomy by canonical name, e.g. ``TAXONOMIES["mikels8"]``."""


@functools.cache
def vad_norms() -> MappingProxyType:
    """Valence, arousal and dominance norms (1–9 scale) by lower-case emotion word.

    From the EEmo-Logic release (``emotion_vad_scores.json``, Apache-2.0). Covers every label
    of every taxonomy.

    Examples
    --------
    >>> vad_norms()["joy"]
    (8.21, 5.55, 7.0)
    """
    norms = _read_json("vad_norms.json")["norms"]
    return MappingProxyType({word: tuple(float(x) for x in vad) for word, vad in norms.items()})


@functools.cache
def _similarity_table() -> MappingProxyType:
    return MappingProxyType(_read_json("emotion_similarity.json")["similarity"])


def emotion_similarity(taxonomy: str | Taxonomy) -> dict[str, dict[str, float]]:
    """EEmo-Logic's released semantic similarity ``E[gt][pred]`` over a taxonomy's labels.

    Cosine similarity of embedded emotion definitions, each row min–max normalised, from the
    EEmo-Logic release (``check_embedding.json``, Apache-2.0). Available for
    ``eemo_bench7``, ``mikels8``, ``emotic26`` and ``plutchik24``. Pass it as ``similarity``
    to :func:`~eemo_rewards.rewards.accuracy.soft_reward_matrix`, or use
    ``AccuracyReward(mode="soft", similarity="eemo-logic", taxonomy=...)``.

    Examples
    --------
    >>> E = emotion_similarity("eemo-bench")
    >>> E["joy"]["joy"], E["joy"]["neutral"]
    (1.0, 0.0)
    """
    name = get_taxonomy(taxonomy).name
    table = _similarity_table()
    if name not in table:
        raise ValueError(
            f"no released similarity for taxonomy {name!r}; it exists for {sorted(table)}. "
            "Pass your own similarity matrix, or use mode='soft' without one (VAD norms only)"
        )
    labels, matrix = table[name]["labels"], table[name]["matrix"]
    return {gt: dict(zip(labels, row, strict=True)) for gt, row in zip(labels, matrix, strict=True)}
