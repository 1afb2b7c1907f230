"""Reading which image of a pair an answer picks: ``"first"``, ``"second"`` or ``"same"``.

What :func:`parse_comparison` accepts
-------------------------------------
- a reference: first / 1st / former / image 1 (or one, A); second / 2nd / latter / image 2
  (or two, B); same / equal(ly) / neither / similar / tie / identical / both / no
  difference. ``image``, ``picture``, ``photo``, ``figure`` and ``pic`` are one word here;
- left and right as places: ``"the left one"``, ``"the right image"``, ``"on the right"``,
  or the word alone;
- a comparison written as a sentence picks its subject: ``"The first image evokes more
  fear than the second."`` → first, ``"Image 2 is more intense than image 1."`` → second.
  What follows ``than``, ``compared to`` or ``unlike`` is the image compared against, not
  the one picked.

What it refuses (returns ``None``)
----------------------------------
- an answer that names both images outside such a comparison, or none;
- a denied reference: ``"Not the first"``, ``"not image 1"`` (``"not the first but the
  second"`` is second);
- a comparison in the other direction, ``"the first evokes less fear than the second"``:
  whether the question asked for more or for less is not in the answer;
- ``right`` that is not a place: ``"the right answer"``, ``"that's right"``;
  ``first`` as in ``"at first"`` or ``"first of all"``.

Whole words only, any case; one pass over the words, linear in the answer's length.
"""

from __future__ import annotations

import re
from typing import Any

from eemo_rewards.answers._common import fold

__all__ = ["parse_comparison"]

_TOKEN = re.compile(r"[^\W_]+|[.,;:!?()\n]")
_FIRST = frozenset({"first", "1st", "former", "firstly"})
_SECOND = frozenset({"second", "2nd", "latter", "secondly"})
_SAME = frozenset({"same", "equal", "equally", "neither", "similar", "tie", "identical", "both"})
_IMAGE_WORDS = frozenset(
    {"image", "images", "picture", "pictures", "photo", "photos", "img", "pic", "figure",
     "fig", "photograph"}
)  # fmt: skip
_IMAGE_FIRST = frozenset({"1", "one", "a"})
_IMAGE_SECOND = frozenset({"2", "two", "b"})
_PLACE_NEXT = _IMAGE_WORDS | {"one", "side", "hand", "panel"}
_PUNCT = frozenset(".,;:!?()\n")
_NEGATORS = frozenset({"not", "never", "nor", "neither", "except", "t", "unlike", "instead"})
_AGAINST = frozenset({"than", "unlike", "versus", "vs"})
_REVERSED = frozenset({"less", "fewer", "lesser"})
# words that may stand between a negator or "than" and the reference it governs
_FILLER = frozenset({"the", "a", "an", "image", "picture", "photo", "figure", "in", "of", "one"})
_WINDOW = 3
_ONE_WORD = {
    **dict.fromkeys(_FIRST, "first"),
    **dict.fromkeys(_SECOND, "second"),
    **dict.fromkeys(_SAME, "same"),
    "left": "first",
    "right": "second",
}


def parse_comparison(answer: Any) -> str | None:
    """Read which image of a pair the answer picks: ``"first"``, ``"second"``, ``"same"``,
    or ``None`` when it names none or more than one (see the module docstring).

    Examples
    --------
    >>> parse_comparison("The first image."), parse_comparison("Image 2")
    ('first', 'second')
    >>> parse_comparison("About the same"), parse_comparison("first, or maybe the second")
    ('same', None)
    >>> parse_comparison("The first image evokes more fear than the second.")
    'first'
    >>> parse_comparison("Not the first."), parse_comparison("That is the right answer.")
    (None, None)
    """
    if not isinstance(answer, str):
        return None
    if answer.isascii() and answer.isalpha():  # one plain word, the common answer
        return _ONE_WORD.get(answer.lower())
    if not answer.isascii() or "\\" in answer or "{" in answer:
        answer = fold(answer)
    tokens = _TOKEN.findall(answer.lower())
    n = len(tokens)
    found: set[str] = set()
    negated_until = -1  # tokens up to this index are governed by a negator
    against_until = -1  # ... by "than", "compared to", "unlike"
    reversed_direction = False
    previous = ""
    for i, word in enumerate(tokens):
        if word in _PUNCT:
            negated_until = against_until = -1
            previous = word
            continue
        kind = None
        if word in _FIRST:
            if not (
                previous == "at" or (i + 2 < n and tokens[i + 1] == "of" and tokens[i + 2] == "all")
            ):
                kind = "first"
        elif word in _SECOND:
            kind = "second"
        elif word in _SAME or (word == "difference" and previous == "no"):
            kind = "same"
        elif word == "left" or word == "right":
            nxt = tokens[i + 1] if i + 1 < n else ""
            if nxt in _PLACE_NEXT or (
                (nxt == "" or nxt in _PUNCT) and (previous in ("the", "") or n == 1)
            ):
                kind = "first" if word == "left" else "second"
        elif previous in _IMAGE_WORDS:
            if word in _IMAGE_FIRST:
                kind = "first"
            elif word in _IMAGE_SECOND:
                kind = "second"
        elif word in _REVERSED:
            reversed_direction = True
        if word in _NEGATORS and (word != "t" or previous.endswith("n")):
            negated_until = i + _WINDOW
        elif word in _AGAINST or (word in ("to", "with") and previous == "compared"):
            against_until = i + _WINDOW
        elif word in _FILLER:
            # "not the first image", "than the second one": a filler keeps the window open
            if negated_until >= i:
                negated_until = i + 1
            if against_until >= i:
                against_until = i + 1
        if kind is not None:
            if i <= negated_until and kind != "same":
                pass  # "not the first"
            elif i <= against_until and kind != "same":
                pass  # "than the second": what the picked image is compared against
            else:
                found.add(kind)
        previous = word
    if reversed_direction and found and found != {"same"}:
        return None  # "less fear than": the direction asked for is not in the answer
    return found.pop() if len(found) == 1 else None
