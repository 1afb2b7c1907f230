"""Reading the one emotion label an answer commits to.

What :func:`read_label` accepts: an answer that names exactly one distinct label of the
taxonomy, as a whole word or phrase, after synonyms and inflections fold (``"Joyful."``,
``"The image evokes joy."``, ``"**Joy**"``, ``"\\boxed{joy}"``, ``"JOY"``, ``"joy (happiness)"``
when the gloss is the same label).

What it refuses (returns ``None``):

- several labels, whatever the wording: ``"joy or fear"``, ``"joy, if not fear"``,
  ``"Fear. Actually, joy."``, ``"not fear but joy"``;
- a denied label: ``"not joy"``, ``"It isn't joy."``, ``"no fear"``, ``"never joy"``,
  ``"Anything but joy"``, ``"Free of fear"``, ``"fear-free"``, ``"Zero fear"``, ``"without
  fear"``, ``"lacking joy"``, ``"devoid of joy"``, ``"far from joyful"``, ``"rather than
  joy"``. Any such cue in an answer that is more than one plain word commits it to nothing,
  because "naming the one label while denying it" must never be paid as naming it.
"""

from __future__ import annotations

import re
from typing import Any

from eemo_rewards.answers._common import fold

__all__ = ["NEGATION", "read_label"]

NEGATION = re.compile(
    r"\b(?:not|no|never|neither|nor|none|nothing|without|hardly|cannot|zero|free|lacks?|"
    r"lacking|absent|absence|devoid|except|excluding|instead|rather\s+than|other\s+than|"
    r"anything\s+but|everything\s+but|all\s+but|far\s+from|opposite|nope|nil)\b|n['’]t\b",
    re.IGNORECASE,
)


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
    if not answer.isascii() or "\\" in answer or "{" in answer or "$" in answer:
        answer = fold(answer)
    found = tax.find_labels(answer)
    if len(found) != 1 or NEGATION.search(answer):
        return None
    return found[0]
