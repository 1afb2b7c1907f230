"""Reading the one emotion label an answer commits to.

:func:`read_label` finds the taxonomy's labels (synonyms and inflections fold: ``"Joyful"``
is joy) and lets the grammar of :mod:`eemo_rewards.answers.grammar` decide: an answer that
affirms one label commits to it (``"Joyful."``, ``"The image evokes joy."``, ``"**Joy**"``,
``"\\boxed{joy}"``, ``"joy (happiness)"``, ``"Joy, not fear."``, ``"There is no fear; it's
joy."``, ``"Between joy and fear, joy."``, ``"Fear. Actually, joy."`` → joy); one that
denies, hedges or names several commits to nothing (``"not joy"``, ``"Joy is incorrect."``,
``"joy or fear"``, ``"joy, if not fear"``, ``"Anything but joy"``, ``"Free of fear"``,
``"fear-free"``, ``"Zero fear"``, ``"far from joyful"``, ``"Joy? Fear? Hard to say."``).
"""

from __future__ import annotations

from typing import Any

import eemo_rewards.answers.grammar as grammar
from eemo_rewards.answers.grammar import Mention, Tokens, fold

__all__ = ["label_mentions", "read_label"]


def read_label(answer: Any, taxonomy: Any) -> str | None:
    """The one label of ``taxonomy`` that ``answer`` commits to, else ``None``.

    Parameters
    ----------
    answer : str
        The answer text.
    taxonomy : str or Taxonomy
        The vocabulary (see :func:`~eemo_rewards.taxonomy.get_taxonomy`).

    Examples
    --------
    >>> read_label("Joyful.", "eemo_bench7"), read_label("\\\\boxed{fear}", "eemo_bench7")
    ('joy', 'fear')
    >>> read_label("joy or fear", "eemo_bench7"), read_label("Anything but joy", "eemo_bench7")
    (None, None)
    >>> read_label("Zero fear", "eemo_bench7"), read_label("free of fear", "eemo_bench7")
    (None, None)
    """
    if not isinstance(answer, str) or not answer:
        return None
    if isinstance(taxonomy, str):
        from eemo_rewards.taxonomy import get_taxonomy

        taxonomy = get_taxonomy(taxonomy)
    return read_label_in(answer, taxonomy)


def read_label_in(answer: str, tax: Any) -> str | None:
    """:func:`read_label` with the taxonomy resolved (the rewards' hot path)."""
    if answer.isascii() and answer.isalpha():  # one plain word, the common answer
        found = tax.find_labels(answer)
        return found[0] if len(found) == 1 else None
    if len(answer) < grammar._CACHED and _registered(tax):
        return _read_cached(answer, tax.name)
    return _read(answer, tax)


def _registered(tax: Any) -> bool:
    from eemo_rewards.taxonomy import get_taxonomy

    try:
        return get_taxonomy(tax.name) is tax
    except (KeyError, ValueError, TypeError, AttributeError):
        return False


@grammar.cached
def _read_cached(answer: str, taxonomy: str) -> str | None:
    from eemo_rewards.taxonomy import get_taxonomy

    return _read(answer, get_taxonomy(taxonomy))


def _read(answer: str, tax: Any) -> str | None:
    value = grammar.read(fold(answer), label_mentions, tax).commitment()
    return value if isinstance(value, str) else None


def label_mentions(toks: Tokens, tax: Any) -> list[Mention]:
    """Every mention of one of ``tax``'s labels in an answer, as grammar mentions."""
    index = toks.word_index()
    found: list[tuple[int, int, str]] = []
    tax._labels_in_words([toks.text[i] for i in index], found)
    return [Mention(label, index[w], index[w + width - 1]) for w, width, label in found]
