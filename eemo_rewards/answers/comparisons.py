"""Reading which image of a pair an answer picks: ``"first"``, ``"second"`` or ``"same"``.

The candidates are references to an image: first / 1st / former / image 1 (or one, A);
second / 2nd / latter / image 2 (or two, B); same / equal(ly) / similar / tie / identical /
both / no difference; left and right as places (``"the left one"``, ``"on the right"``).
``image``, ``picture``, ``photo``, ``figure`` and ``pic`` are one word here. The grammar of
:mod:`eemo_rewards.answers.grammar` decides what the answer commits to, so a denied
reference (``"Not the first"``), a hedge (``"the first or the second"``), a retraction and a
predicate (``"The first is wrong."``) work as for every reader. What follows ``than``,
``compared to`` or ``unlike``, and the smaller side of a relation (``"image 1 > image 2"``,
``"image 2 < image 1"``), is the image compared against, not the one picked: ``"The first
image evokes more fear than the second."`` → first.

Refused (``None``): both images outside such a comparison, or none; a comparison in the other
direction (``"the first evokes less fear than the second"``: whether the question asked for
more or for less is not in the answer); ``right`` that is no place (``"the right answer"``);
``first`` as in ``"at first"`` or ``"first of all"``.
"""

from __future__ import annotations

import itertools
from typing import Any

import eemo_rewards.answers.grammar as grammar
from eemo_rewards.answers.grammar import LISTED, Mention, Tokens, fold

__all__ = ["comparison_mentions", "parse_comparison"]

_FIRST = frozenset({"first", "1st", "former", "firstly"})
_SECOND = frozenset({"second", "2nd", "latter", "secondly"})
_SAME = frozenset({"same", "equal", "equally", "similar", "tie", "identical", "both"})
_IMAGE_WORDS = frozenset(
    {"image", "images", "picture", "pictures", "photo", "photos", "img", "pic", "figure",
     "fig", "photograph", "one"}
)  # fmt: skip
_IMAGE_FIRST = frozenset({"1", "one", "a"})
_IMAGE_SECOND = frozenset({"2", "two", "b"})
_PLACE_NEXT = _IMAGE_WORDS | {"side", "hand", "panel"}
_REVERSED = frozenset({"less", "fewer", "lesser"})
_ONE_WORD = {
    **dict.fromkeys(_FIRST, "first"),
    **dict.fromkeys(_SECOND, "second"),
    **dict.fromkeys(_SAME, "same"),
    "neither": "same",
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
    reading = grammar.read(fold(answer), comparison_mentions)
    value = reading.commitment()
    if not isinstance(value, str):
        return None
    if value != "same" and any(t in _REVERSED for t in reading.tokens.text):
        return None  # "less fear than": the direction asked for is not in the answer
    return value


def comparison_mentions(toks: Tokens) -> list[Mention]:
    """Every reference to an image of the pair, as grammar mentions; the smaller side of a
    relation (``>``, ``<``) is marked as compared against."""
    text = toks.text
    n = len(text)
    out: list[Mention] = []
    i = 0
    while i < n:
        word = text[i]
        prev = text[i - 1] if i else ""
        nxt = text[i + 1] if i + 1 < n else ""
        kind, last = None, i
        if word in _FIRST:
            if not (prev == "at" or (nxt == "of" and i + 2 < n and text[i + 2] == "all")):
                kind = "first"
        elif word in _SECOND:
            if not (prev == "on" and nxt in ("thought", "thoughts")):  # a retraction
                kind = "second"
        elif word in _SAME or (word == "difference" and prev == "no"):
            kind = "same"
        elif word == "left" or word == "right":
            if nxt in _PLACE_NEXT or ((nxt == "" or not nxt[0].isalnum()) and prev in ("the", "")):
                kind = "first" if word == "left" else "second"
        elif word in _IMAGE_WORDS and word != "one" and nxt in _IMAGE_FIRST | _IMAGE_SECOND:
            kind, last = ("first" if nxt in _IMAGE_FIRST else "second"), i + 1
        if kind is None:
            i += 1
            continue
        if kind != "same" and last + 1 < n and text[last + 1] in _IMAGE_WORDS:
            last += 1  # "the first image", "the second one"
        if kind == "same" and prev == "no":
            out.append(Mention(kind, i - 1, last))  # "no difference": not a denial
        else:
            out.append(Mention(kind, i, last))
        i = last + 1
    for a, b in itertools.pairwise(out):
        between = text[a.last + 1 : b.first]
        if ">" in between:
            b.polarity = LISTED  # "image 1 > image 2": the second is compared against
        elif "<" in between:
            a.polarity = LISTED  # "image 2 < image 1"
    return out
