"""Which option does a free-form answer choose? Multiple-choice and yes/no answer extraction.

Models rarely answer with a bare letter. :func:`extract_choice` reads what they actually write:
``"B"``, ``"(B)"``, ``"B: Yes."``, ``"The answer is B."``, ``"**B**"``, the option's text
without its letter (``"Joy"``), yes/no words for yes/no options, and answers wrapped in
``<answer>`` tags. It returns ``None`` rather than guess when an answer names several
options (``"A or B"``) or none.

Evidence is read in tiers, strongest first, and the first tier that names any option
decides; a tier that names several options makes the answer ambiguous:

1. a letter that opens the answer (``"B"``, ``"(B)"``, ``"B: …"``, ``"**B**"``, ``"Answer: B"``);
   an answer that opens by listing the options one per line, or with two letters joined
   (``"A or B"``, ``"B, C"``, ``"B|C"``, ``"B-C"``, ``"B or maybe C"``), names several;
2. an explicit statement (``"answer is B"``, ``"the correct option is (B)"``, ``"I choose B"``);
3. a reference (``"Option C is the most suitable"``);
4. a letter followed by its own option text anywhere (``"… is C: Neutral."``), a letter in
   parentheses or bold, or a letter that ends the answer (``"I think it's B"``);
5. an option's whole text set in bold (``"**anger**"``);
6. the option texts themselves, as whole words (``"Joy"``), and for yes/no options a
   leading ``yes``/``no`` (a hedge opening with both, ``"yes/no"``, ``"Yes, although
   no"``, names both).

The rule throughout: an answer that names two different options, or both yes and no,
chooses none.

When the strongest tier names several options, a final paragraph or sentence that reads as
a conclusion (``"Therefore, the answer is A."``) and names one option decides; otherwise the
answer is ambiguous and the result is ``None``. On 2,012 real GPT-4o and Qwen2-VL answers to
EEmo-Bench pair questions this agrees with the benchmark's official judgement on 99.5% and
99.4% of items (``tests/test_reference_responses.py``).

The English article ``"A"`` and the pronoun ``"I"`` are letters only when punctuation or
their option text marks them as such (``"A: …"``, ``"(A)"``, ``"A strong sense"`` when that
is option A's text), never in running prose.
"""

from __future__ import annotations

import ast
import functools
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from eemo_rewards._text import completion_text
from eemo_rewards.parsing import ANSWER_CLOSE, ANSWER_OPEN

__all__ = ["choose_option", "extract_choice", "normalise_options", "read_yes_no"]

_MAX_OPTIONS_CHARS = 100_000
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_WORD = re.compile(r"[^\W_]+")
_OWN_LETTER_PREFIX = re.compile(r"^\s*\(?([A-Z])\s*[.:)]\s+")

# A letter that opens the answer: optional markup, the letter, then punctuation or the end.
_LEADING = re.compile(
    r"^[\s*_#>\"'`\[(]*(?:(?:final\s+)?answer\s*[:：]\s*[*_\[(]*)?([A-Z])(?![A-Za-z0-9'’])"
    r"([\s*_\])]*)(.?)",
    re.IGNORECASE,
)
# "answer is B", "Answer: (B)", "the correct option is B", "I choose B". A bare "option B" is
# not a statement: long answers discuss every option by letter before concluding.
_STATED = re.compile(
    r"\b(?:answer|(?:correct|best|right|final)\s+(?:option|choice)|choose|chose|select|pick)\b"
    r"(?:\s+(?:is|would\s+be|should\s+be|will\s+be|be)\b)?"
    # one run of separators (never two adjacent runs that could trade characters: that
    # would backtrack polynomially on long whitespace)
    r"[\s:：*_\[(\"']*(?:option\b[\s*_\[(]*)?([A-Z])(?![A-Za-z0-9'’])",
    re.IGNORECASE,
)
# "Option C is the most suitable", "(Option B)": a reference, weaker than a statement.
_OPTION_REF = re.compile(r"\b[Oo]ption[\s*_\[(]*([A-Z])(?![A-Za-z0-9'’])")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")
_CONCLUSION_CUE = re.compile(
    r"\b(?:therefore|thus|hence|so|overall|conclusion|conclude|summary|answer|final|finally|"
    r"given)\b",
    re.IGNORECASE,
)
# A standalone capital letter followed by a delimiter, or in parentheses or bold.
_MARKED_LETTER = re.compile(r"(?<![A-Za-z0-9'’])(?:\(([A-Z])\)|\*\*([A-Z])\*\*|([A-Z])\s*[:.)])")
# A capital letter that ends the answer ("I think it's B"): never an article there.
_FINAL_LETTER = re.compile(r"(?<![A-Za-z0-9'’])([A-Z])[\s*_.)\]]*$")
# Two letters joined into one answer name both: "B, C", "B or C", "B|C", "B or maybe C",
# "B and/or C", "B vs C", "B-C". Every run of separators is possessive (``*+``): what
# follows it never starts with one of its characters, so giving some back could not help,
# and the hedge words are bounded; no backtracking beyond a few steps.
_JOINER = r"(?:[,;/&|+]|\bor\b|\band\b|\bnor\b|\bvs\b\.?|\bversus\b)"
_HEDGES = (
    r"(?:(?:maybe|perhaps|possibly|probably|also|even|either|likely|rather|else|option)\b"
    r"[\s*(,]*+){0,3}"
)
_DASH = r"[-–—]{1,3}"
# ... and the letter listed before it ("… would be A and B", "… is B or maybe C").
_LISTED_BEFORE = re.compile(
    rf"(?<![A-Za-z0-9'’])([A-Z])[\s*).\]:]*+"
    rf"(?:(?:{_JOINER}[\s*(]*+){{1,3}}{_HEDGES}|{_DASH}[\s*(]*+)$"
)
_LISTED_WINDOW = 40
_LINE_LETTER = re.compile(r"^[ \t*_\-•>#]*\(?([A-Z])[ \t]*[:.)]", re.MULTILINE)
# Another letter right after the leading one: "A or B", "B, C", "B/C", "B|C", "B or maybe C",
# "B-C", "B C", "B B B C". After bare spaces or a dash the letter must not start prose
# ("B. I think …", "B: A strong sense …", "B - A strong sense …").
_NEXT_LETTER = re.compile(
    rf"[\s*().\[\]:]*+(?:(?:{_JOINER}[\s*(]*+){{1,3}}{_HEDGES}([A-Z])"
    rf"|(?:{_DASH}[\s*(]*+)?\(?([A-Z])(?!\s+[a-z]))"
    r"(?![A-Za-z0-9'’])"
)


def _phrase(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


@functools.lru_cache(maxsize=8192)
def _option_phrase(option_text: str) -> str:
    # option texts repeat across a dataset's generations; answers are not cached
    return _phrase(option_text)


def normalise_options(options: Any) -> dict[str, str]:
    """Turn any accepted shape of an ``options`` column into ``{letter: option text}``.

    Accepted: a list of option texts (letters A, B, … implied), a dict letter → text (``None``
    values are ignored, as Arrow struct columns produce), or a JSON or Python-literal string
    of either (EEmo-Bench ships ``"{'A': 'No.', 'B': 'Yes.'}"``). An option text that
    repeats its own letter (``"A. Joy"``) loses the prefix.

    Raises
    ------
    ValueError
        When ``options`` has another shape, a key is not a single letter, or a string does
        not parse; the message says what was found.

    Examples
    --------
    >>> normalise_options("{'A': 'No.', 'B': 'Yes.'}")
    {'A': 'No.', 'B': 'Yes.'}
    >>> normalise_options(["joy", "fear"])
    {'A': 'joy', 'B': 'fear'}
    >>> normalise_options({"a": "A. joy", "b": None, "c": "fear"})
    {'A': 'joy', 'C': 'fear'}
    """
    if isinstance(options, bytes | bytearray):
        options = bytes(options).decode("utf-8", errors="replace")
    if isinstance(options, str):
        return dict(_normalise_options_string(options))
    return _normalise_parsed_options(options)


@functools.lru_cache(maxsize=4096)
def _normalise_options_string(options: str) -> tuple[tuple[str, str], ...]:
    # a dataset repeats the same options string for every generation of a prompt
    return tuple(_normalise_parsed_options(_parse_options_string(options)).items())


def _normalise_parsed_options(options: Any) -> dict[str, str]:
    if isinstance(options, Mapping):
        items = []
        for key, text in options.items():
            letter = str(key).strip().upper()
            if len(letter) != 1 or letter not in _LETTERS:
                raise ValueError(
                    f"options key {key!r} is not a single letter A-Z; pass options as "
                    "{'A': text, 'B': text, ...} or as a list of texts"
                )
            if text is not None:
                items.append((letter, text))
    elif isinstance(options, Sequence):
        if len(options) > len(_LETTERS):
            raise ValueError(f"{len(options)} options given; at most 26 (A-Z) are supported")
        items = [(_LETTERS[i], t) for i, t in enumerate(options) if t is not None]
    else:
        raise ValueError(
            f"options must be a list of texts, a dict letter -> text, or a JSON/Python-literal "
            f"string of either; got {type(options).__name__}"
        )
    out: dict[str, str] = {}
    for letter, text in items:
        text = str(text).strip()
        prefix = _OWN_LETTER_PREFIX.match(text)
        if prefix and prefix.group(1) == letter:
            text = text[prefix.end() :].strip()
        out[letter] = text
    return out


def _parse_options_string(text: str) -> Any:
    if len(text) > _MAX_OPTIONS_CHARS:
        raise ValueError(
            f"options string has {len(text)} characters (limit {_MAX_OPTIONS_CHARS}); "
            "pass a list or dict of option texts"
        )
    stripped = text.strip()
    if not stripped:
        raise ValueError("options is an empty string; pass a list or dict of option texts")
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    try:
        value = ast.literal_eval(stripped)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ValueError(
            f"options string {stripped[:80]!r} is neither JSON nor a Python literal "
            f"({type(exc).__name__}); pass a list or dict of option texts"
        ) from None
    if isinstance(value, str):
        raise ValueError(
            f"options string {stripped[:80]!r} holds a single string; pass a list or dict"
        )
    return value


def _answer_region(text: str) -> str:
    """The content of the last ``<answer>`` block, or the whole text when there is none."""
    start = text.rfind(ANSWER_OPEN)
    if start < 0:
        return text
    start += len(ANSWER_OPEN)
    end = text.find(ANSWER_CLOSE, start)
    return text[start:] if end < 0 else text[start:end]


def extract_choice(text: Any, options: Any) -> str | None:
    """The letter of the one option that ``text`` chooses, else ``None``.

    Parameters
    ----------
    text : str or completion
        A free-form answer (any completion shape; an ``<answer>`` block, when present,
        is the part read).
    options : list, dict or string
        The options, in any shape :func:`normalise_options` accepts. Invalid options give
        ``None`` (this function never raises).

    Returns
    -------
    str or None
        An option letter (a key of the normalised options), or ``None`` when the answer
        chooses no option or several.

    Examples
    --------
    >>> opts = {"A": "No.", "B": "Yes."}
    >>> extract_choice("B: Yes.", opts), extract_choice("Yes, it does.", opts)
    ('B', 'B')
    >>> extract_choice("I don't know", opts) is None
    True
    >>> mc = ["Joy", "Fear", "A strong sense of dominance"]
    >>> extract_choice("The answer is (B).", mc), extract_choice("A strong sense of dominance", mc)
    ('B', 'C')
    >>> extract_choice("A or B", mc) is None
    True
    """
    try:
        opts = (
            dict(_normalise_options_string(options))
            if isinstance(options, str)
            else normalise_options(options)
        )
    except ValueError:
        return None
    return choose_option(completion_text(text), opts)


def choose_option(text: str, opts: dict[str, str]) -> str | None:
    """:func:`extract_choice` for options already normalised by :func:`normalise_options`
    (rewards normalise a sample's options once and reuse them).

    Examples
    --------
    >>> choose_option("(B)", {"A": "No.", "B": "Yes."})
    'B'
    """
    if not opts or not isinstance(text, str):
        return None
    if not text.strip():
        return None
    region = _answer_region(text).strip()
    found = _chosen(region, opts)
    if len(found) > 1:
        # Long answers weigh every option before concluding: a final paragraph, else a final
        # sentence, that reads as a conclusion ("Therefore, …") and names one option decides.
        paragraphs = [p for p in _PARAGRAPH_BREAK.split(region) if p.strip()]
        sentences = [s for s in _SENTENCE_END.split(region) if s.strip()]
        for parts in (paragraphs, sentences):
            if len(parts) > 1 and _CONCLUSION_CUE.search(parts[-1]):
                found = _chosen(parts[-1].strip(), opts) or found
            if len(found) == 1:
                break
    return found.pop() if len(found) == 1 else None


def _chosen(region: str, opts: dict[str, str]) -> set[str]:
    """The options named by the strongest tier of evidence that names any."""
    for tier in (
        _leading_letter,
        _stated_letters,
        _option_references,
        _letters_with_text,
        _emphasised_texts,
        _option_texts,
    ):
        found = tier(region, opts)
        if found:
            return found
    return set()


def _option_references(region: str, opts: dict[str, str]) -> set[str]:
    return {m.group(1) for m in _OPTION_REF.finditer(region) if m.group(1) in opts}


def _emphasised_texts(region: str, opts: dict[str, str]) -> set[str]:
    """Options whose whole text is set in bold (``**anger**``)."""
    if "**" not in region:
        return set()
    bold = [part for i, part in enumerate(region.split("**")) if i % 2 == 1]
    phrases = {letter: _option_phrase(text) for letter, text in opts.items()}
    return {letter for letter, p in phrases.items() if p and any(_phrase(b) == p for b in bold)}


def _is_own_text(rest: str, option_text: str) -> bool:
    """Whether ``rest`` (the text after a letter) starts with the option's own text."""
    if not rest:
        return False
    own = _option_phrase(option_text)
    if not own:
        return False
    head = _phrase(rest[: len(option_text) + 8])
    return head == own or head.startswith(own + " ")


def _leading_letter(region: str, opts: dict[str, str]) -> set[str]:
    m = _LEADING.match(region)
    if not m:
        return set()
    letter, markup, delimiter = m.groups()
    upper = letter.upper()
    if upper not in opts:
        return set()
    rest = region[m.end(1) :]
    own_text = _is_own_text(rest, opts[upper])
    if not own_text:
        run = _letter_run(region, m.end(1), opts)
        if run and run != {upper}:
            return run | {upper}  # "A or B", "A and C", "B, C", "B C"
    if "\n" in region:  # only several lines can list the options one per line
        listed = {x for x in _LINE_LETTER.findall(region) if x in opts}
        if len(listed) > 1:
            return listed  # the answer opens by listing the options, one per line
    # "A strong sense", "I think", "a joyful scene" are prose, not letters, unless marked by
    # punctuation (an empty delimiter is the end of the text or of the line: a letter on its
    # own) or followed by the option's own text; "B yes" is a letter
    if (
        (letter != upper or upper in "AI")
        and delimiter not in (".", ":", ")", "：", "")
        and not any(c in markup for c in "*)]")
        and not own_text
    ):
        return set()
    return {upper}


def _letter_run(region: str, pos: int, opts: dict[str, str]) -> set[str]:
    """The option letters that directly follow ``region[:pos]``, one after another."""
    found: set[str] = set()
    for _ in range(len(_LETTERS) + 1):
        m = _NEXT_LETTER.match(region, pos)
        if not m:
            break
        letter = m.group(1) or m.group(2)
        if letter not in opts:
            break
        found.add(letter)
        pos = m.end()
    return found


def _stated_letters(region: str, opts: dict[str, str]) -> set[str]:
    found = set()
    for m in _STATED.finditer(region):
        letter = m.group(1)
        if not letter.isupper() or letter not in opts:
            continue
        if letter in "AI" and not _marked_at(region, m.start(1), m.end(1), opts[letter]):
            continue
        found.add(letter)
        if not _is_own_text(region[m.end(1) :], opts[letter]):
            found |= _letter_run(region, m.end(1), opts)  # "the answer is B and C"
    return found


def _marked_at(region: str, start: int, end: int, option_text: str) -> bool:
    """Whether the letter at ``region[start:end]`` is punctuated or followed by its text."""
    before = region[start - 1 : start]
    after = region[end : end + 1]
    if before in "(*[\"'" and before != "":
        return True
    if after in (".", ":", ")", "*", "") or region[end:].strip() == "":
        return True
    return _is_own_text(region[end:], option_text)


def _letters_with_text(region: str, opts: dict[str, str]) -> set[str]:
    found = set()
    final = _FINAL_LETTER.search(region)
    if final and final.group(1) in opts:
        found.add(final.group(1))
        before = _LISTED_BEFORE.search(
            region, max(0, final.start() - _LISTED_WINDOW), final.start()
        )
        if before and before.group(1) in opts:
            found.add(before.group(1))
    for m in _MARKED_LETTER.finditer(region):
        letter = m.group(1) or m.group(2) or m.group(3)
        if letter not in opts:
            continue
        if m.group(3) and not _is_own_text(region[m.end() :], opts[letter]):
            continue
        found.add(letter)
    return found


_YES_NO = {"yes": "yes", "no": "no", "true": "yes", "false": "no"}
_BOTH = "both"
_HEDGE_JOINERS = frozenset({"and", "or", "but", "maybe", "then", "nor"})
# Words that may stand between an opening yes/no and the opposite word of a hedge ("Yes,
# although no", "No, but in some ways yes", "Yes, I'd say no"): bounded to a few words.
_HEDGE_WORDS = _HEDGE_JOINERS | frozenset(
    {
        "although", "though", "however", "yet", "perhaps", "possibly", "probably", "also",
        "still", "actually", "rather", "even", "well", "partly", "partially", "i", "d",
        "guess", "think", "mean", "would", "say", "sort", "kind", "of", "in", "some", "a",
        "way", "ways", "sense", "at", "same", "time", "the",
    }
)  # fmt: skip
_MAX_HEDGE_WORDS = 5
_CLAUSE_END = frozenset(",.;:!?)]*\"'…\n")


def _leading_yes_no(words: list[str], text: str) -> str | None:
    """``"yes"``/``"no"`` for an answer that opens with one of them, :data:`_BOTH` for a
    hedge that opens with both, else ``None``. ``words`` are the lower-case words of
    ``text`` (at least its first ``_MAX_HEDGE_WORDS + 2``).

    Both are named when the opposite word follows the opening one directly or after one
    joiner ("yes/no", "Yes. No.", "yes or no"), or after a few hedge words and ends its
    clause ("Yes, although no", "No, but in some ways yes."); "Yes, although no one …" uses
    "no" as a determiner and stays yes."""
    first = _YES_NO.get(words[0]) if words else None
    if first is None:
        return None
    n = len(words)
    nxt = words[1] if n > 1 else None
    if nxt in _HEDGE_JOINERS:
        nxt = words[2] if n > 2 else None
    other = _YES_NO.get(nxt)
    if other is not None and other != first:
        return _BOTH
    i = 1
    while i < n and i <= _MAX_HEDGE_WORDS and words[i] in _HEDGE_WORDS:
        i += 1
    if i > 1 and i < n:
        other = _YES_NO.get(words[i])
        if other is not None and other != first:
            if words[i] == "yes":  # never a determiner
                return _BOTH
            # "no", "true", "false" must end their clause
            word = next(itertools.islice(_WORD.finditer(text), i, None), None)
            rest = text[word.end() :].lstrip(" \t") if word is not None else ""
            if not rest or rest[0] in _CLAUSE_END:
                return _BOTH
    return first


def read_yes_no(text: Any) -> str | None:
    """``"yes"`` or ``"no"`` for an answer that says one of them, else ``None``.

    An answer that opens with yes/no (or true/false) is read by that word, unless it opens
    with both ("yes/no", "Yes. No.", "yes or no", "Yes, although no"); otherwise the whole
    words ``yes`` and ``no`` must name one side only. ``"not"``, ``"know"`` and ``"none"``
    are not ``"no"``.

    Examples
    --------
    >>> read_yes_no("Yes, there is no doubt."), read_yes_no("I don't know"), read_yes_no("yes/no")
    ('yes', None, None)
    >>> read_yes_no("Yes, although no."), read_yes_no("Yes, although no one is sad.")
    (None, 'yes')
    """
    text = completion_text(text)
    words = _WORD.findall(text.lower())
    lead = _leading_yes_no(words, text)
    if lead is not None:
        return None if lead == _BOTH else lead
    said = {w for w in words if w in ("yes", "no")}
    return said.pop() if len(said) == 1 else None


def _option_texts(region: str, opts: dict[str, str]) -> set[str]:
    words = _phrase(region)
    if not words:
        return set()
    phrases = {letter: _option_phrase(text) for letter, text in opts.items()}
    yes_no = {_YES_NO[p]: letter for letter, p in phrases.items() if p in _YES_NO}
    if yes_no:
        lead = _leading_yes_no(words.split(" ", _MAX_HEDGE_WORDS + 2), region)
        if lead == _BOTH:
            return set(yes_no.values())
        if lead in yes_no:
            return {yes_no[lead]}
    padded = f" {words} "
    hits = {letter for letter, p in phrases.items() if p and f" {p} " in padded}
    # "much higher" also contains "higher": keep only the longest of nested matches
    return {
        letter
        for letter in hits
        if not any(
            other != letter and f" {phrases[letter]} " in f" {phrases[other]} " for other in hits
        )
    }
