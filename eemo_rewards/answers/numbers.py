"""Reading V/A/D scores: one value per dimension, with the scale an answer states beside it.

What :func:`parse_scores` accepts
---------------------------------
- a label then one number: ``"Valence: 0.73"``, ``"valence 0.7, arousal 0.4"``,
  ``"V: 0.7 A: 0.4 D: 0.5"``, ``"valence = .7"``; labels are the dimension names in any
  case, their first three letters (``val``, ``aro``, ``dom``) and, upper case only, their
  first letter (``V``, ``A``, ``D``: a lower-case ``a`` is the English article); words
  between a label and its number are skipped (``"valence is about 0.7"``);
- several labels then as many numbers: ``"V/A/D: 0.8/0.3/0.5"``,
  ``"(valence, arousal) = (0.8, 0.3)"``;
- numbered lists: ``"1. Valence: 0.8\\n2. Arousal: 0.3"`` (the list numbers are not values);
- a bare number when no label precedes it: ``"0.73"`` (reported under the key ``None``);
- numbers: ``0.73``, ``.73``, ``7``, signed ``-0.1``, a decimal comma ``0,73`` (a comma
  between two digits; write lists with a space after the comma), a fraction ``7/9`` or
  ``7 out of 9`` and a percentage ``73%``;
- the scale beside a value: ``"Valence (0–1): 0.8"``, ``"Valence: 0.8 on a scale of 0 to
  1"``, ``"Valence: 7 (out of 9)"``, ``"on a 1-9 scale, valence 7"``. A value given on a
  stated scale is placed the same fraction of the way along the declared one, so
  ``"Valence: 7 (1-9)"`` read on 0–1 is 0.75; a value outside its own stated scale is not
  read. A range in parentheses is a scale only when it is a common one (0–1, 1–5, 1–7,
  0–10, 1–9, 1–10, 0–100, −1–1) or the declared scale; any other range (``"(0.2–0.8)"``)
  is two numbers, a hedge.

``x/y`` means "x on a scale whose top is y": when ``y`` is the top of the declared scale
the value is ``x`` itself (``"7/9"`` on the 1–9 SAM scale is 7); otherwise the answer used
another scale and the value is placed the fraction ``x/y`` of the way along the declared
scale (``"7/9"`` on 0–1 is 0.778). ``"73%"`` is 73% of the way along the declared scale.

What it refuses
---------------
A dimension given more than one number anywhere in the answer is a hedge and is not parsed:
``"between 0.2 and 0.8"``, ``"0.2-0.8"``, ``"0.2 or 0.8"``, ``"valence 0.3 … valence 0.6"``.
So is a dimension given a bound instead of a value, since a bound names an interval, not a
point: ``"0.8 or lower"``, ``"0.8, or even higher"``, ``"0.8 and above"``, ``"0.8 at
most"``, ``"0.8 max"``, ``"0.8+"``, ``"0.8↑"``, ``"at least 0.8"``, ``"a minimum of 0.8"``,
``"north of 0.8"``, ``"in excess of 0.8"``, ``"more than 0.5"``, ``"up to 0.3"``, ``"above
0.6"``, ``"under 0.4"``, ``"not 0.8"``, ``"> 0.5"``, ``"≤ 0.3"``, ``"≲ 0.8"``.
Approximations still commit to one value and are read: ``"about 0.8"``, ``"approximately
0.8"``, ``"roughly 0.8"``, ``"around 0.8"``, ``"nearly 0.8"``, ``"~0.8"``, ``"0.8 or so"``
(the kernel already grades how near the value is; ``"approximately 0.8 or lower"`` is still
a bound).

The scanner is bounded regular expressions applied once each, linear in the answer's length.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from typing import Any

import eemo_rewards.answers.grammar as grammar
from eemo_rewards.answers.grammar import AFFIRMED, RETRACTED, Mention, Tokens, fold
from eemo_rewards.taxonomy import DIMENSIONS

__all__ = ["DIMENSIONS", "SCALES", "parse_scores", "resolve_scale"]


SCALES: dict[str, tuple[float, float]] = {
    "0-1": (0.0, 1.0),
    "sam9": (1.0, 9.0),
    "1-9": (1.0, 9.0),
    "1-5": (1.0, 5.0),
    "0-100": (0.0, 100.0),
}
"""Named scales; any ``"lo-hi"`` string or ``(lo, hi)`` pair is accepted as well."""

# Ranges in parentheses that name a scale rather than hedge between two values.
_COMMON_SCALES = frozenset(
    {(0.0, 1.0), (1.0, 5.0), (1.0, 7.0), (0.0, 10.0), (1.0, 9.0), (1.0, 10.0), (0.0, 100.0),
     (-1.0, 1.0), (0.0, 5.0), (0.0, 9.0)}
)  # fmt: skip

_NUMBER = r"[-+]?(?:[0-9]+(?:[.,][0-9]+)?|\.[0-9]+)"
_PLAIN = r"[-+]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)"  # no decimal comma inside a scale
_TO = r"[ \t]{0,3}(?:-|–|—|to)[ \t]{0,3}"
_SP = r"[ \t]{0,3}"
_S1 = r"[ \t]{1,3}"
# Every quantifier is either on a disjoint character class or bounded, so a failed match
# costs at most a few steps past its start: the scan is linear on any input.
# Comparison signs and arrows are read as words: "> 0.5", "<=0.3", "0.8+", "0.8↑".
_VALUE = (
    rf"(?P<num>{_NUMBER})"
    r"(?:(?P<pct>[ ]?%)|[ \t]{0,3}(?:/|out[ \t]{1,3}of)[ \t]{0,3}(?P<den>[0-9]+(?:\.[0-9]+)?))?"
    r"|(?P<word>[^\W\d_]+|[<>](?<![-=<>][<>])(?![<>])=?|[≤≥⩽⩾≲≳⪅⪆≪≫↑↓⇡⇣]|\+(?![0-9.]))"
)
_TOKEN = re.compile(
    # a scale: "(0–1)", "(scale 1-9)", "on a scale of 0 to 1", "on a 1-9 scale", "(out of 9)"
    rf"\({_SP}(?:(?:on{_S1}a{_S1})?scale{_S1}(?:of{_S1}|from{_S1})?)?"
    rf"(?P<plo>{_PLAIN}){_TO}(?P<phi>{_PLAIN}){_SP}\)"
    rf"|(?:(?:on|in)[ \t]{{1,3}}(?:a|the)[ \t]{{1,3}})?scale[ \t]{{1,3}}(?:of|from)[ \t]{{1,3}}"
    rf"(?P<slo>{_PLAIN}){_TO}(?P<shi>{_PLAIN})"
    rf"|on{_S1}a{_S1}(?P<alo>{_PLAIN}){_TO}(?P<ahi>{_PLAIN}){_S1}(?:point{_S1})?scale"
    rf"|\({_SP}(?:out[ \t]{{1,3}}of|/){_SP}(?P<top>[0-9]+(?:\.[0-9]+)?){_SP}\)"
    # list numbers: "1. " at the start of a line, "2) " anywhere
    r"|^[ \t]{0,8}\(?[0-9]{1,2}[.)](?=[ \t])|(?<![^\s(])[0-9]{1,2}\)(?=[ \t]+[^\W\d_])"
    rf"|{_VALUE}",
    re.MULTILINE | re.IGNORECASE,
)
# The common answer ("Valence: 0.73") states no scale and lists nothing: the same groups
# without those alternatives (the first alternative never matches; it only holds the groups)
_TOKEN_PLAIN = re.compile(
    r"(?!)(?P<plo>)(?P<phi>)(?P<slo>)(?P<shi>)(?P<alo>)(?P<ahi>)(?P<top>)|" + _VALUE
)
# Several labels then as many numbers: "V/A/D: 0.8/0.3/0.5", "(valence, arousal) = (0.8, 0.3)"
_COMPOUND = re.compile(
    r"(?<![^\W_])(?P<labels>[^\W\d_]{1,12}(?:[ \t]{0,3}[/,][ \t]{0,3}[^\W\d_]{1,12}){1,5})"
    r"[ \t]{0,3}\)?[ \t]{0,3}(?:[:=]|\bis\b|\bare\b)?[ \t]{0,3}\(?[ \t]{0,3}"
    rf"(?P<nums>{_PLAIN}(?:[ \t]{{0,3}}[/,][ \t]{{0,3}}{_PLAIN}){{1,5}})(?![0-9/]|\.[0-9])"
)
_LIST_SPLIT = re.compile(r"[ \t]*[/,][ \t]*")
# A bound is not a value: words right before a number that make it one end of an interval
# ("at least 0.8", "more than 0.5", "up to 0.3", "above 0.6", "a minimum of 0.8", "north of
# 0.8") or deny it ("not 0.8"), and words right after it ("0.8 or lower", "0.8 and above",
# "0.8 at most", "0.8 max", "0.8↑"). Words approximating a value ("about", "roughly", "~",
# "or so") are not bounds.
_BOUND_BEFORE = frozenset(
    {"than", "above", "below", "over", "under", "beyond", "exceeding", "least", "most",
     "minimum", "maximum", "max", "min", "not", "north", "south", "excess", "upwards",
     "downwards", "upward", "downward", "<", ">", "<=", ">=", "≤", "≥", "⩽", "⩾", "≲", "≳",
     "⪅", "⪆", "≪", "≫", "never", "no", "bound", "ceiling", "floor", "cap", "limit"}
)  # fmt: skip
_BOUND_AFTER = frozenset({"minimum", "maximum", "max", "min", "plus", "+", "↑", "↓", "⇡", "⇣"})
_DIRECTIONS = frozenset(
    {"lower", "higher", "less", "more", "above", "below", "greater", "smaller", "larger",
     "over", "under", "up", "down", "beyond", "fewer", "bigger", "stronger", "weaker"}
)  # fmt: skip
# words that may stand between a bound word and its number ("a minimum of 0.8", "north of
# 0.8", "in excess of 0.8") or between "or" and a direction ("0.8, or even higher")
_BOUND_FILLER = frozenset({"of", "a", "the", "at"})
_DIRECTION_FILLER = frozenset(
    {"even", "maybe", "possibly", "perhaps", "probably", "slightly", "somewhat", "a", "bit",
     "little", "much", "far", "potentially", "likely", "touch"}
)  # fmt: skip
# the words that can start a bound before a number; the rest matter only after one
_BOUND_START = _BOUND_BEFORE | {"up"}
# what the words after a number have said so far
_AFTER_NONE, _AFTER_NUMBER, _AFTER_OR, _AFTER_AT = range(4)


def resolve_scale(scale: Any) -> tuple[float, float]:
    """Return ``(lo, hi)`` for a scale name (``"0-1"``, ``"sam9"``, ``"1-5"``, ``"0-100"``,
    any ``"lo-hi"``) or a ``(lo, hi)`` pair.

    Examples
    --------
    >>> resolve_scale("sam9"), resolve_scale((0, 10)), resolve_scale("2-7")
    ((1.0, 9.0), (0.0, 10.0), (2.0, 7.0))
    """
    if isinstance(scale, str):
        key = scale.strip().lower().replace(" ", "").replace("–", "-")
        if key in SCALES:
            return SCALES[key]
        lo_text, sep, hi_text = key.partition("-")
        try:
            lo, hi = float(lo_text), float(hi_text)
        except ValueError:
            lo = hi = math.nan
        if not sep or math.isnan(lo) or math.isnan(hi):
            raise ValueError(
                f"unknown scale {scale!r}; use one of {sorted(SCALES)}, a 'lo-hi' string such "
                "as '1-7', or a (lo, hi) pair"
            )
    elif isinstance(scale, Sequence) and len(scale) == 2:
        try:
            lo, hi = float(scale[0]), float(scale[1])
        except (TypeError, ValueError):
            raise ValueError(f"scale {scale!r} must hold two numbers (lo, hi)") from None
    else:
        raise ValueError(
            f"scale must be a name such as '0-1' or 'sam9' or a (lo, hi) pair, got {scale!r}"
        )
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"scale {scale!r} needs finite bounds with lo < hi")
    return lo, hi


@functools.lru_cache(maxsize=64)
def label_table(dimensions: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    """(lower-case spellings → dimension, upper-case single letters → dimension)."""
    names: dict[str, str] = {}
    letters: dict[str, str] = {}
    for dim in dimensions:
        d = str(dim).strip().lower()
        names[d] = d
        if len(d) > 3:
            names.setdefault(d[:3], d)
        letters.setdefault(d[:1].upper(), d)
    return names, letters


def _number_value(number: str, pct: str, denominator: str, lo: float, hi: float) -> float:
    value = float(number.replace(",", "."))
    if pct:
        return lo + value / 100.0 * (hi - lo)
    if denominator:
        top = float(denominator)
        if top <= 0.0:
            return math.nan
        if top == hi:
            return value
        return lo + value / top * (hi - lo)
    return value


def parse_scores(
    answer: Any,
    dimensions: Sequence[str] = DIMENSIONS,
    *,
    scale: Any = (0.0, 1.0),
) -> dict[str | None, float]:
    """Read the scores an answer gives, one per dimension.

    Parameters
    ----------
    answer : str
        The answer text (the content of ``<answer>…</answer>``).
    dimensions : sequence of str, default ("valence", "arousal", "dominance")
        The dimension names to recognise as labels (see the module docstring).
    scale : str or (lo, hi), default (0, 1)
        The declared scale: fractions, percentages and values on a stated scale are mapped
        onto it.

    Returns
    -------
    dict
        ``{dimension: value}`` for each dimension given exactly one number, plus ``{None:
        value}`` for one number given before any label. A hedged dimension (two or more
        numbers, or a bound such as ``"0.8 or lower"``) is absent; values are not
        range-checked against the declared scale (the reward does that).

    Examples
    --------
    >>> parse_scores("Valence: 0.73")
    {'valence': 0.73}
    >>> parse_scores("V/A/D: 0.7/0.4/0.5")
    {'valence': 0.7, 'arousal': 0.4, 'dominance': 0.5}
    >>> parse_scores("73%"), parse_scores("7/9", scale="sam9")
    ({None: 0.73}, {None: 7.0})
    >>> parse_scores("Valence (0-1): 0.8"), parse_scores("Valence: 7 (out of 9)", scale="sam9")
    ({'valence': 0.8}, {'valence': 7.0})
    >>> parse_scores("valence between 0.2 and 0.8, arousal 0.4")
    {'arousal': 0.4}
    >>> parse_scores("valence a minimum of 0.8"), parse_scores("valence about 0.8")
    ({}, {'valence': 0.8})
    """
    if not isinstance(answer, str):
        return {}
    if isinstance(dimensions, str) or not all(isinstance(d, str) for d in dimensions):
        raise ValueError(
            f"dimensions must be a sequence of names such as ('valence', 'arousal'), "
            f"got {dimensions!r}"
        )
    lo, hi = resolve_scale(scale)
    return read_scores(answer, tuple(dimensions), lo, hi)


def read_scores(
    answer: str,
    dimensions: tuple[str, ...],
    lo: float,
    hi: float,
    table: tuple[dict[str, str], dict[str, str]] | None = None,
) -> dict:
    """:func:`parse_scores` with the scale resolved (and the label table, when given): the
    numbers the grammar leaves committed, scanned. Every reader of an answer's scores goes
    through here; :func:`scan_scores` alone reads trusted text (a dataset's solution)."""
    text = _committed_text(_spelled(fold(answer)))
    return scan_scores(text, dimensions, lo, hi, table) if text else {}


# Numbers in words: "seven", "eighty percent", "7 of 9"
_UNITS = {
    w: str(i)
    for i, w in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    )
}
_TENS = {"twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60",
         "seventy": "70", "eighty": "80", "ninety": "90", "hundred": "100"}  # fmt: skip
_NUMBER_WORD = re.compile(
    r"\b(" + "|".join([*_UNITS, *_TENS]) + r")\b(?:[ \t-]{1,3}(" + "|".join(_UNITS) + r")\b)?",
    re.IGNORECASE,
)
_PERCENT_WORD = re.compile(r"[ \t]{0,3}\bper[ \t]?cent\b", re.IGNORECASE)
_OF = re.compile(r"\b([0-9]+(?:\.[0-9]+)?)[ \t]{1,3}of[ \t]{1,3}([0-9]+)\b")
_POINT_SCALE = re.compile(
    r"\bon[ \t]{1,3}(?:a|the)[ \t]{1,3}([0-9]+)[ \t-]{1,3}point[ \t]{1,3}(?:[a-z]+[ \t]{1,3})?"
    r"scale\b",
    re.IGNORECASE,
)


def _spelled(text: str) -> str:
    """``text`` with numbers in words as digits ("seven" → 7, "eighty percent" → 80%), "7 of
    9" as "7 out of 9" and "on the 9-point SAM scale" as its range."""
    lower = text.lower()
    if any(w in lower for w in _TENS) or any(f" {w}" in f" {lower}" for w in _UNITS):
        text = _NUMBER_WORD.sub(_digits, text)
    if "cent" in lower:
        text = _PERCENT_WORD.sub("%", text)
    if " of " in text:
        text = _OF.sub(r"\1 out of \2", text)
    if "point" in lower:
        text = _POINT_SCALE.sub(lambda m: f"({1 if m.group(1) != '100' else 0}-{m.group(1)})", text)
    return text


def _digits(m: re.Match) -> str:
    head, unit = m.group(1).lower(), m.group(2)
    if head in _UNITS:
        return _UNITS[head]
    value = int(_TENS[head]) + (int(_UNITS[unit.lower()]) if unit else 0)
    return str(value)


def _committed_text(text: str) -> str:
    """``text`` with every number the grammar does not leave affirmed blanked out: a denied
    one (``"not 0.8"``, ``"0.8? No."``), one before a retraction (``"0.8. Scratch that."``);
    ``""`` when the answer doubts itself or offers two sets of scores."""
    if text.count("/") > 3 and len(_TRIPLE.findall(text)) > 1:
        return ""  # "0.8/0.3/0.5 or 0.1/0.9/0.1": two sets of scores
    if not grammar.has_cue(text):
        return text  # nothing denies, hedges or retracts a number
    reading = grammar.read(text, _number_mentions)
    if reading.uncertain:
        return ""
    blank = [m for m in reading.mentions if m.polarity not in (AFFIRMED,)]
    if not blank:
        return text
    if all(m.polarity == RETRACTED for m in blank) and not any(
        m.polarity == AFFIRMED for m in reading.mentions
    ):
        return ""
    toks = reading.tokens
    chars = list(text)
    for m in blank:
        if m.polarity == "hedged":
            continue  # "0.2 or 0.8": the scanner reads two numbers as a hedge
        start = toks.start[m.first]
        end = start + len(toks.raw[m.first])
        chars[start:end] = " " * (end - start)
    return "".join(chars)


# digits before a slash: a run of digits with no slash fails at once (no rescan)
_TRIPLE = re.compile(r"(?<![0-9.])[0-9.]{1,12}[ \t]{0,3}/[ \t]{0,3}[0-9.]{1,12}[ \t]{0,3}/")


def _number_mentions(toks: Tokens) -> list[Mention]:
    return [
        Mention(i, i, i)
        for i, tok in enumerate(toks.text)
        if tok[0].isdigit() or (tok[0] == "." and len(tok) > 1)
    ]


def _expand_compound(answer: str, names: dict[str, str], letters: dict[str, str]) -> str:
    """Rewrite "V/A/D: 0.8/0.3/0.5" as "V: 0.8; A: 0.3; D: 0.5" (labels that are all
    dimensions, as many as the numbers); anything else is left as it is."""

    def rewrite(m: re.Match) -> str:
        labels = _LIST_SPLIT.split(m.group("labels").strip())
        numbers = _LIST_SPLIT.split(m.group("nums").strip())
        # "V/A/D", and "v/a/d" too: a run of single letters is no article
        upper = len(labels) > 1 and all(len(x) == 1 for x in labels)
        dims = [names.get(x.lower()) or letters.get(x.upper() if upper else x) for x in labels]
        if len(dims) != len(numbers) or None in dims or len(set(dims)) != len(dims):
            return m.group(0)
        return " ; ".join(f"{d} : {n}" for d, n in zip(dims, numbers, strict=True)) + " ;"

    return _COMPOUND.sub(rewrite, answer)


def scan_scores(
    answer: str,
    dimensions: tuple[str, ...],
    lo: float,
    hi: float,
    table: tuple[dict[str, str], dict[str, str]] | None = None,
) -> dict:
    """:func:`parse_scores` with the scale resolved (and the label table, when given)."""
    names, letters = table if table is not None else label_table(dimensions)
    if not answer.isascii() or "\\" in answer or "{" in answer or "$" in answer:
        answer = fold(answer)
    if "/" in answer or "," in answer:
        answer = _expand_compound(answer, names, letters)
    first: dict[str | None, tuple[str, str, str]] = {}
    hedged: set[str | None] = set()
    stated: dict[str | None, tuple[float | None, float]] = {}  # scale written beside a value
    current: str | None = None
    bound_next = False  # the last token makes the next number a bound
    up = False  # the last word is "up" ("up to 0.3")
    after, after_key = _AFTER_NONE, None  # what the words after the last number said
    # findall's plain tuples keep the per-token cost low on very long answers.
    token = _TOKEN if ("(" in answer or "\n" in answer or "cale" in answer) else _TOKEN_PLAIN
    if token is _TOKEN_PLAIN and ")" in answer:
        token = _TOKEN  # "2) arousal": a list number
    for m in token.findall(answer):
        plo, phi, slo, shi, alo, ahi, top, number, pct, denominator, word = m
        if word:
            lower = word.lower()
            label = names.get(lower) or letters.get(word)
            if label is not None:
                current = label
                bound_next = up = False
                after = _AFTER_NONE
            elif bound_next or up or after:  # a bound may be under way
                if (
                    (after == _AFTER_NUMBER and lower in _BOUND_AFTER)
                    or (after == _AFTER_OR and lower in _DIRECTIONS)
                    or (after == _AFTER_AT and (lower == "least" or lower == "most"))
                ):
                    hedged.add(after_key)
                    after = _AFTER_NONE
                elif after == _AFTER_NUMBER and (lower == "or" or lower == "and"):
                    after = _AFTER_OR
                elif after == _AFTER_OR and lower in _DIRECTION_FILLER:
                    pass  # "0.8, or even higher"
                elif (after == _AFTER_NUMBER and lower == "at") or (
                    after == _AFTER_AT and lower == "the"
                ):
                    after = _AFTER_AT  # "0.8 at most", "0.8 at the least"
                else:
                    after = _AFTER_NONE
                if bound_next and lower in _BOUND_FILLER:
                    pass  # "a minimum of 0.8", "north of 0.8"
                else:
                    bound_next = lower in _BOUND_BEFORE or (up and lower == "to")
                up = lower == "up"
            elif lower in _BOUND_START:
                bound_next = lower in _BOUND_BEFORE
                up = lower == "up"
            continue
        if plo or slo or alo or top:  # a scale beside a value
            if top:
                scale = (None, float(top))
            else:
                a, b = (plo, phi) if plo else (slo, shi) if slo else (alo, ahi)
                scale = (float(a), float(b))
                if (plo and scale not in _COMMON_SCALES and scale != (lo, hi)) or not scale[
                    0
                ] < scale[1]:
                    # "(0.2-0.8)": two values, a hedge, not a scale
                    hedged.add(current)
                    continue
            if current in stated and stated[current] != scale:
                hedged.add(current)  # two different scales for one value
            stated.setdefault(current, scale)
            continue
        if not number:  # a list number ("1. ", "2) ")
            continue
        if current in first or bound_next:
            hedged.add(current)  # a second number, or a bound
        if current not in first:
            first[current] = (number, pct, denominator)
        bound_next = up = False
        after, after_key = _AFTER_NUMBER, current
    out: dict[str | None, float] = {}
    default_scale = stated.get(None)
    for key, (number, pct, denominator) in first.items():
        if hedged and key in hedged:
            continue
        own = stated.get(key, default_scale)
        if own is not None and not pct and not denominator:
            value = _on_stated_scale(float(number.replace(",", ".")), own, lo, hi)
        elif pct or denominator or "," in number:
            value = _number_value(number, pct, denominator, lo, hi)
        else:
            value = float(number)
        if math.isfinite(value):
            out[key] = value
    return out


def _on_stated_scale(value: float, stated: tuple[float | None, float], lo: float, hi: float):
    """``value`` given on the answer's own scale, placed on the declared ``(lo, hi)``."""
    own_lo, own_hi = stated
    if own_lo is None:  # "(out of 9)": a top only, read like "7/9"
        if own_hi <= 0.0 or not 0.0 <= value <= own_hi:
            return math.nan
        return value if own_hi == hi else lo + value / own_hi * (hi - lo)
    if not own_lo <= value <= own_hi:
        return math.nan  # outside the scale the answer itself stated
    if (own_lo, own_hi) == (lo, hi):
        return value
    return lo + (value - own_lo) / (own_hi - own_lo) * (hi - lo)
