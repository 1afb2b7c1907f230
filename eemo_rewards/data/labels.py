"""What the data layer needs from the emotion taxonomies, on top of :mod:`eemo_rewards.taxonomy`.

The label sets, synonyms and VAD norms (1–9 scale, from the EEmo-Logic release) are the core
taxonomy module's; this module adds two things QA generation needs: a projection of labels
*across* taxonomies (a Mikels ``amusement`` read into EEmo-Bench's vocabulary becomes ``joy``)
and hard-negative ordering by VAD distance.
"""

from __future__ import annotations

import math
from types import MappingProxyType

from eemo_rewards.taxonomy import TAXONOMIES, get_taxonomy, vad_distance, vad_norms

__all__ = [
    "TAXONOMY_LABELS",
    "VAD_NORMS",
    "canonical_label",
    "label_distance",
    "nearest_labels",
    "taxonomy_labels",
]

TAXONOMY_LABELS: MappingProxyType = MappingProxyType(
    {name: tuple(tax.labels) for name, tax in TAXONOMIES.items()}
)
"""Canonical taxonomy name → its labels, in the taxonomy's order."""

VAD_NORMS: MappingProxyType = vad_norms()
"""Emotion word → (valence, arousal, dominance) on the 1–9 scale."""

# When a source label belongs to another taxonomy, the closest label by meaning: Mikels'
# positive classes are kinds of joy, awe is closest to surprise in EEmo-Bench's set.
_CROSS: dict[str, dict[str, str]] = {
    "eemo_bench7": {
        "amusement": "joy",
        "awe": "surprise",
        "contentment": "joy",
        "excitement": "joy",
        "happiness": "joy",
    },
    "ekman6": {
        "amusement": "happiness",
        "awe": "surprise",
        "contentment": "happiness",
        "excitement": "happiness",
        "joy": "happiness",
    },
}


def taxonomy_labels(taxonomy: str) -> tuple[str, ...]:
    """The labels of a taxonomy, or a clear error naming the known ones."""
    try:
        return TAXONOMY_LABELS[taxonomy]
    except KeyError:
        known = ", ".join(sorted(TAXONOMY_LABELS))
        raise ValueError(f"unknown taxonomy {taxonomy!r}; use one of: {known}") from None


def canonical_label(label: object, taxonomy: str) -> str | None:
    """Map a raw label onto ``taxonomy``'s vocabulary, or return ``None`` when it has no match.

    Case and punctuation are ignored; the taxonomy's synonyms apply, then the projection of
    another taxonomy's labels onto this one.

    Examples
    --------
    >>> canonical_label(" Joyful.", "eemo_bench7"), canonical_label("content", "mikels8")
    ('joy', 'contentment')
    >>> canonical_label("awe", "eemo_bench7"), canonical_label("boredom", "eemo_bench7") is None
    ('surprise', True)
    """
    taxonomy_labels(taxonomy)
    if not isinstance(label, str):
        return None
    found = get_taxonomy(taxonomy).normalise(label)
    if found is not None:
        return found
    cross = _CROSS.get(taxonomy, {})
    for other in TAXONOMIES.values():
        in_other = other.normalise(label)
        if in_other in cross:
            return cross[in_other]
    return None


def label_distance(a: str, b: str) -> float:
    """Weighted VAD distance ``sqrt(0.5 ΔV² + 0.3 ΔA² + 0.2 ΔD²)`` between two labels.

    The weights are those of EEmo-Logic's soft reward (valence matters most); a label
    without norms is infinitely far.

    Examples
    --------
    >>> round(label_distance("joy", "sadness"), 2), label_distance("fear", "fear")
    (4.6, 0.0)
    """
    if a not in VAD_NORMS or b not in VAD_NORMS:
        return math.inf
    return vad_distance(VAD_NORMS[a], VAD_NORMS[b])


def nearest_labels(label: str, taxonomy: str) -> tuple[str, ...]:
    """The other labels of ``taxonomy``, nearest to ``label`` in VAD first (hard negatives).

    Examples
    --------
    >>> nearest_labels("joy", "eemo_bench7")[:3]
    ('surprise', 'neutral', 'disgust')
    """
    others = [x for x in taxonomy_labels(taxonomy) if x != label]
    return tuple(sorted(others, key=lambda x: (label_distance(label, x), x)))
