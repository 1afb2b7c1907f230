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
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from eemo_rewards._text import completion_text
from eemo_rewards.answers._common import fold
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
    if not region.isascii() or "\\" in region or "{" in region or "$" in region:
        region = fold(region).strip()  # \boxed{B}, $\text{B}$, {B}, （Ｂ）
    # a denied or retracted letter is no evidence: "Not B", "B is ruled out", "B? No, C"
    lower = region.lower()
    hinted = _CUE.search(lower) is not None
    original = region
    if hinted:
        region = _mask_denied(region, lower)
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
    if len(found) != 1:
        return None
    letter = found.pop()
    if letter not in opts:
        return None
    # "B, if not C", "B (C is also plausible)": another option kept open commits to neither
    if hinted and any(cue in lower for cue in _HEDGE_CUES):
        for m in _HEDGED.finditer(original):
            other = m.group(1) or m.group(2) or m.group(3)
            if other != letter and other in opts:
                return None
    return letter


def _blank(m: re.Match) -> str:
    return " " * len(m.group(0))


_L = r"(?<![A-Za-z0-9'’])\(?\*{0,2}([A-Z])\*{0,2}\)?(?![A-Za-z0-9'’])"
_L_PLAIN = r"(?<![A-Za-z0-9'’])\(?\*{0,2}[A-Z]\*{0,2}\)?(?![A-Za-z0-9'’])"
_OPTION_WORD = r"(?i:(?:the\s+)?(?:option|choice|answer|letter)\s+)?"
# Denials and retractions of a letter, masked before any tier reads the answer. Each
# pattern is run only when its cue word occurs (a cheap scan): most answers carry none, and
# a long answer pays one linear pass per cue it does contain. Every quantifier is bounded
# or on a class disjoint from what follows it, so each pass is linear on any input.
_DENIALS = (
    (  # "not B", "never B", "except B", "rule out B", "rather than B", "isn't B", "can't be B"
        (
            "not",
            "never",
            "except",
            "exclud",
            "eliminat",
            "rul",
            "rather",
            "instead",
            "other",
            "anything",
            "n't",
            "n’t",
        ),
        re.compile(
            r"(?i:\b(?:not|never|except|excluding|exclude|eliminate|eliminating|rule\s{1,3}out|"
            r"ruling\s{1,3}out|rather\s{1,3}than|instead\s{1,3}of|other\s{1,3}than|"
            r"anything\s{1,3}but|cannot)|n['’]t)\s{1,3}(?i:be\s{1,3})?" + _OPTION_WORD + _L_PLAIN
        ),
    ),
    (  # "B is ruled out", "B is wrong", "B is not correct", "B doesn't fit"
        (
            "not",
            "incorrect",
            "wrong",
            "false",
            "unlikely",
            "out",
            "eliminated",
            "excluded",
            "inaccurate",
            "implausible",
            "impossible",
            "n't",
            "n’t",
        ),
        re.compile(
            _L_PLAIN + r"[ \t]{0,3}(?i:(?:is|was|seems|looks|appears|would\s{1,3}be|must\s{1,3}be|"
            r"can\s{1,3}be|should\s{1,3}be|has\s{1,3}been|gets)\s{1,3}(?:(?:clearly|definitely|"
            r"also|probably|certainly|therefore|thus|then)\s{1,3})?(?:not\b|incorrect|wrong|false|"
            r"unlikely|out\b|ruled\s{1,3}out|eliminated|excluded|inaccurate|implausible|impossible)|"
            r"(?:ruled\s{1,3}out|eliminated|excluded)\b|(?:doesn['’]t|does\s{1,3}not|can['’]t|"
            r"cannot|won['’]t)\s{1,3}(?:be|fit|apply|match|work)\b)"
        ),
    ),
    (  # "B? No, …"
        ("?",),
        re.compile(_L_PLAIN + r"[ \t]{0,3}\?{1,3}[ \t]{0,3}(?i:no|nope|nah)\b"),
    ),
    (  # "B. Actually C", "B, or rather C", "B; on second thought, C": the first is retracted
        (
            "actually",
            "wait",
            "scratch",
            "second",
            "reflection",
            "correction",
            "mean",
            "rather",
            "sorry",
            "make",
        ),
        re.compile(
            _L_PLAIN
            + r"[\s.,;:!?…]{0,4}(?i:actually|wait|scratch\s{1,3}that|on\s{1,3}second\s{1,3}"
            r"thoughts?|on\s{1,3}reflection|correction|i\s{1,3}mean|or\s{1,3}rather|sorry|"
            r"no\s{1,3}wait|make\s{1,3}that)\b(?=[\s,:;.!-]{0,4}(?i:(?:it['’]?s|it\s{1,3}is|"
            r"the\s{1,3}answer\s{1,3}is|option|i\s{1,3}choose)\s{1,3})?\(?\*{0,2}[A-Z]"
            r"(?![A-Za-z0-9'’]))"
        ),
    ),
)
# Another option kept open: "if not C", "C is also plausible", "C could also fit", "C too",
# "maybe C", "or possibly C".
_HEDGE_CUES = (
    "if", "also", "equally", "could", "might", "may", "too", "well", "possibly", "perhaps",
    "alternatively",
)  # fmt: skip
_HEDGED = re.compile(
    r"(?i:\bif\s{1,3}not)\s{1,3}"
    + _OPTION_WORD
    + _L
    + r"|"
    + _L
    + r"[ \t]{0,3}(?i:(?:is|seems|would\s{1,3}be|could\s{1,3}be|might\s{1,3}be|may\s{1,3}be)"
    r"\s{1,3}(?:also|equally)\b|(?:could|might|may)\s{1,3}(?:also\s{1,3})?(?:be|work|fit|apply)\b|"
    r"(?:also|too)\b|as\s{1,3}well\b)"
    + r"|(?i:\b(?:possibly|perhaps|maybe|alternatively))[\s,]{1,3}"
    + _OPTION_WORD
    + _L
)


# any cue of a denial, retraction or hedge: answers without one (most) skip those passes
_CUE = re.compile(
    "|".join(
        sorted(
            {re.escape(c) for cues, _ in _DENIALS for c in cues}
            | {re.escape(c) for c in _HEDGE_CUES},
            key=len,
            reverse=True,
        )
    )
)


def _mask_denied(region: str, lower: str) -> str:
    """``region`` with every denied or retracted letter (and its cue) blanked out;
    ``lower`` is ``region.lower()``."""
    for cues, pattern in _DENIALS:
        for cue in cues:
            if cue in lower:
                region = pattern.sub(_blank, region)
                break
    return region


def _chosen(region: str, opts: dict[str, str]) -> set[str]:
    """The options named by the strongest tier of evidence that names any."""
    for tier in (
        _leading_letter,
        _stated_letters,
        _option_references,
        _letters_with_text,
        _emphasised_texts,
        _option_texts,
        _restated,
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


def _is_own_text(region: str, pos: int, option_text: str) -> bool:
    """Whether ``region[pos:]`` (the text after a letter) starts with the option's own text.
    Only a window of the option's length is read: the check costs the same anywhere in a
    long answer."""
    if pos >= len(region):
        return False
    own = _option_phrase(option_text)
    if not own:
        return False
    head = _phrase(region[pos : pos + len(option_text) + 8])
    return head == own or head.startswith(own + " ")


def _leading_letter(region: str, opts: dict[str, str]) -> set[str]:
    m = _LEADING.match(region)
    if not m:
        return set()
    letter, markup, delimiter = m.groups()
    upper = letter.upper()
    if upper not in opts:
        return set()
    own_text = _is_own_text(region, m.end(1), opts[upper])
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
        and not _letter_follows(region, m.end(1), upper)
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
    tail = len(region.rstrip())  # a letter ending here ends the answer
    for m in _STATED.finditer(region):
        letter = m.group(1)
        if not letter.isupper() or letter not in opts:
            continue
        if letter in "AI" and not _marked_at(region, m.start(1), m.end(1), opts[letter], tail):
            continue
        found.add(letter)
        if not _is_own_text(region, m.end(1), opts[letter]):
            found |= _letter_run(region, m.end(1), opts)  # "the answer is B and C"
    return found


def _marked_at(region: str, start: int, end: int, option_text: str, tail: int) -> bool:
    """Whether the letter at ``region[start:end]`` is punctuated, followed by what only
    follows a letter ("A, because", "A is correct"), or followed by its own text."""
    before = region[start - 1 : start]
    after = region[end : end + 1]
    if before in "(*[\"'" and before != "":
        return True
    if after in (".", ":", ")", "*", "") or end >= tail:
        return True
    if _letter_follows(region, end, region[start]):
        return True
    return _is_own_text(region, end, option_text)


# What follows a letter and never the article "A" or the pronoun "I": a comma or other
# clause punctuation ("A, because …", "I choose A, as …"; not "I, for one, …"), a dash
# before prose, or a verb or conjunction ("A is correct", "A because …", "A fits best").
_AFTER_LETTER = re.compile(
    r"[ \t]*(?:[,;!?](?![ \t]*(?:for\b|personally|myself|too\b|however|though|honestly|"
    r"frankly|think|believe|guess|would|am\b))|[-–—](?=\s)|(?<=[A-Z])\s+(?:is|was|seems|looks|"
    r"fits|matches|because|since|as|given|wins|best|would|should|must|makes|describes|"
    r"applies|it\s+is)\b)"
)


# "I would …", "I was …", "I must …" are the pronoun: for I only verbs no pronoun takes
_AFTER_I = re.compile(
    r"[ \t]*(?:[,;!?](?![ \t]*(?:for\b|personally|myself|too\b|however|though|honestly|"
    r"frankly|think|believe|guess|would|am\b))|[-–—](?=\s)|\s+(?:is|seems|looks|fits|matches|"
    r"because|since|given|wins|describes|applies)\b)"
)


def _letter_follows(region: str, end: int, letter: str) -> bool:
    """Whether what follows ``region[:end]`` (a capital letter) marks it as an option
    letter rather than the article "A" or the pronoun "I"."""
    pattern = _AFTER_I if letter == "I" else _AFTER_LETTER
    return pattern.match(region, end) is not None


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
        if m.group(3) and not _is_own_text(region, m.end(), opts[letter]):
            continue
        found.add(letter)
    return found


_YES_NO = {"yes": "yes", "no": "no", "true": "yes", "false": "no"}
_BOTH = "both"

# Reading yes/no: every word or idiom that says yes or no is a vote; an answer whose votes
# all agree says that, one with votes on both sides ("yes/no", "Yes. On reflection, no.")
# says nothing, and a denied yes/no word ("not no", "isn't true") says nothing either.
_YN_TOKEN = re.compile(r"[^\W_]+|[.,;:!?…)\]\n\-—–]")
_YN_PUNCT = frozenset(".,;:!?…)]\n-—–")
_YES_WORDS = frozenset({"yes", "yeah", "yep", "yup", "yea", "aye", "true", "affirmative", "ya"})
_NO_WORDS = frozenset({"no", "nope", "nah", "false", "nay"})
# "Absolutely.", "Of course!", "Sure, it does." say yes when they stand alone in a clause;
# followed by "not" they say no ("Absolutely not.", "Certainly not")
_EMPHATIC = frozenset(
    {"absolutely", "certainly", "definitely", "surely", "indeed", "sure", "clearly",
     "obviously", "totally", "exactly", "undoubtedly", "course"}
)  # fmt: skip
# "no doubt", "no question", "no wonder": an idiom, not a no
_AFTER_IDIOM_NO = frozenset({"doubt", "question", "wonder", "matter", "kidding"})
# a "no" followed by one of these answers the question ("I'd say no because …"); followed
# by any other word it is a determiner ("there is no fear")
_NO_ANSWERS_BEFORE = frozenset(
    {"because", "since", "as", "but", "it", "i", "this", "that", "there", "they", "and", "or",
     "on", "not", "nope", "although", "though", "however", "so", "then", "sir", "way"}
)  # fmt: skip
_DENY = frozenset({"not", "never", "t"})


def _yes_no_votes(text: str) -> str | None:
    """``"yes"``, ``"no"``, :data:`_BOTH` (votes on both sides, or a denied yes/no word) or
    ``None`` (no vote) for ``text``."""
    tokens = _YN_TOKEN.findall(text.lower())
    n = len(tokens)
    votes: set[str] = set()
    for i, word in enumerate(tokens):
        if word in _YN_PUNCT:
            continue
        prev = tokens[i - 1] if i else ""
        nxt = tokens[i + 1] if i + 1 < n else ""
        ends = nxt == "" or nxt in _YN_PUNCT
        starts = prev == "" or prev in _YN_PUNCT
        if word in _YES_WORDS:
            if prev in _DENY:
                return _BOTH  # "not yes", "isn't true"
            votes.add("yes")
        elif word in _NO_WORDS:
            if word == "no":
                if nxt in _AFTER_IDIOM_NO:
                    continue  # "no doubt"
                if prev == "by" and nxt == "means":
                    votes.add("no")  # "by no means"
                    continue
                if not (starts or ends or nxt in _NO_ANSWERS_BEFORE):
                    continue  # "there is no fear": a determiner
            if prev in _DENY:
                return _BOTH  # "not no", "not false"
            votes.add("no")
        elif word == "not":
            if (
                ends
                or prev in _EMPHATIC
                or nxt == "really"
                or (nxt == "at" and i + 2 < n and tokens[i + 2] == "all")
            ):
                votes.add("no")  # "Absolutely not.", "Of course not", "I think not.", "not at all"
        elif word in _EMPHATIC and ends:
            opens = starts or (
                word == "course" and prev == "of" and (i < 2 or tokens[i - 2] in _YN_PUNCT)
            )
            if opens:
                votes.add("yes")  # "Absolutely.", "Of course!", "Sure, it does."
        if len(votes) > 1:
            return _BOTH
    return votes.pop() if votes else None


def read_yes_no(text: Any) -> str | None:
    """``"yes"`` or ``"no"`` for an answer that says one of them, else ``None``.

    Every word or idiom that answers yes or no is a vote: ``yes``, ``yeah``, ``yep``,
    ``true``, ``"Absolutely."``, ``"Of course!"``; ``no``, ``nope``, ``nah``, ``false``,
    ``"Absolutely not."``, ``"Of course not."``, ``"not at all"``, ``"not really"``, ``"I
    think not."``, ``"by no means"``. The answer says yes or no when all its votes agree;
    votes on both sides (``"yes/no"``, ``"Yes. No."``, ``"Yes, although no"``, ``"Yes. On
    reflection, no."``) and a denied yes/no word (``"not no"``) say nothing. ``"no"`` inside
    a sentence is a determiner (``"there is no fear"``) and ``"no doubt"`` an idiom, neither
    a vote; ``"not"``, ``"know"`` and ``"none"`` are not ``"no"``.

    Examples
    --------
    >>> read_yes_no("Yes, there is no doubt."), read_yes_no("I don't know"), read_yes_no("yes/no")
    ('yes', None, None)
    >>> read_yes_no("Absolutely not."), read_yes_no("Yeah."), read_yes_no("No doubt, yes.")
    ('no', 'yes', 'yes')
    >>> read_yes_no("Yes. On reflection, no."), read_yes_no("Yes, although no one is sad.")
    (None, 'yes')
    """
    text = completion_text(text)
    if text.isascii() and text.isalpha():  # one plain word, the common answer
        word = text.lower()
        if word in _YES_WORDS or word in _EMPHATIC:
            return "yes" if word != "course" else None
        return "no" if word in _NO_WORDS else None
    if not text.isascii() or "\\" in text or "{" in text:
        text = fold(text)
    vote = _yes_no_votes(text)
    return None if vote == _BOTH else vote


_NEGATED_BEFORE = frozenset(
    {"not", "no", "never", "without", "except", "excluding", "nor", "neither", "t", "zero",
     "isnt", "free", "lacking", "devoid", "minus"}
)  # fmt: skip
_NEGATED_TWO_BEFORE = frozenset(
    {"anything but", "rather than", "instead of", "other than", "free of", "devoid of",
     "absence of", "lack of", "far from"}
)  # fmt: skip


def _negated_at(words: str, start: int) -> bool:
    """Whether the phrase starting at ``words[start:]`` (a space-joined word string) is
    denied by the one or two words before it."""
    before = words[max(0, start - 24) : start].split()
    if not before:
        return False
    if before[-1] in _NEGATED_BEFORE:
        return True
    return len(before) > 1 and f"{before[-2]} {before[-1]}" in _NEGATED_TWO_BEFORE


def _option_texts(region: str, opts: dict[str, str]) -> set[str]:
    words = _phrase(region)
    if not words:
        return set()
    phrases = {letter: _option_phrase(text) for letter, text in opts.items()}
    yes_no = {_YES_NO[p]: letter for letter, p in phrases.items() if p in _YES_NO}
    if yes_no:
        vote = _yes_no_votes(region)
        if vote == _BOTH:
            return set(yes_no.values())
        if vote in yes_no:
            return {yes_no[vote]}
        if vote is None and len(yes_no) == len(phrases):
            return set()  # yes/no options, and the answer says neither
    padded = f" {words} "
    hits = {letter for letter, p in phrases.items() if p and f" {p} " in padded}
    # "much higher" also contains "higher": keep only the longest of nested matches
    hits = {
        letter
        for letter in hits
        if not any(
            other != letter and f" {phrases[letter]} " in f" {phrases[other]} " for other in hits
        )
    }
    for letter in hits:
        p = phrases[letter]
        start = padded.find(f" {p} ")
        while start >= 0:
            if _negated_at(padded, start + 1):
                return set(_REFUSED)  # "not fear", "anything but joy": commits to nothing
            start = padded.find(f" {p} ", start + 1)
    return hits


_REFUSED = frozenset({"\0", "\1"})  # two markers: an answer that chooses no option

# Prose restating an option: image, picture, figure and photo are one word, and "image 1",
# "figure 1", "1st image" are "first image".
_IMAGE_WORDS = frozenset(
    {"image", "images", "picture", "pictures", "figure", "figures", "fig", "photo", "photos",
     "photograph", "pic", "img"}
)  # fmt: skip
_ORDINALS = {"1": "first", "one": "first", "2": "second", "two": "second", "1st": "first",
             "2nd": "second"}  # fmt: skip
_ARTICLES = frozenset({"the", "a", "an"})
_AGAINST = frozenset({"than", "unlike", "versus", "vs", "to", "with", "over"})


def _canonical_words(text: str) -> list[str]:
    out: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word in _IMAGE_WORDS:
            word = "image"
        elif word in _ORDINALS and out and out[-1] == "image":
            out[-1] = _ORDINALS[word]  # "image 1" -> "first image"
            word = "image"
        elif word in ("1st", "2nd"):
            word = _ORDINALS[word]
        out.append(word)
    return out


@functools.lru_cache(maxsize=8192)
def _restatement_phrase(option_text: str) -> str:
    words = _canonical_words(option_text)
    while words and words[0] in _ARTICLES:
        words = words[1:]
    return " ".join(words) if len(words) >= 2 else ""


def _restated(region: str, opts: dict[str, str]) -> set[str]:
    """The one option whose text (image/picture/figure as one word) the answer restates as
    the subject of what it says; ``"than the second image"``, ``"compared to figure 2"`` and
    a denied restatement do not count. Several restated options choose none."""
    phrases = {letter: _restatement_phrase(text) for letter, text in opts.items()}
    if not any(phrases.values()):
        return set()
    words = " " + " ".join(_canonical_words(region)) + " "
    hits = set()
    for letter, p in phrases.items():
        if not p:
            continue
        start = words.find(f" {p} ")
        while start >= 0:
            before = words[max(0, start - 24) : start].split()
            while before and before[-1] in _ARTICLES:
                before.pop()
            against = before and (before[-1] in _AGAINST or before[-1] in _NEGATED_BEFORE)
            if not against:
                hits.add(letter)
                break
            start = words.find(f" {p} ", start + 1)
    hits = {
        letter
        for letter in hits
        if not any(other != letter and phrases[letter] in phrases[other] for other in hits)
    }
    return hits if len(hits) == 1 else set()
