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

import eemo_rewards.answers.grammar as grammar
from eemo_rewards._text import completion_text
from eemo_rewards.answers.grammar import (
    AFFIRMED,
    AMBIGUOUS,
    HEDGED,
    LISTED,
    Mention,
    Tokens,
    fold,
)
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
    region = _answer_region(text)
    if len(region) < grammar._CACHED:
        return _choose_cached(region, tuple(opts.items()))
    return _choose(region, opts)


@grammar.cached
def _choose_cached(region: str, items: tuple[tuple[str, str], ...]) -> str | None:
    return _choose(region, dict(items))


def _choose(region: str, opts: dict[str, str]) -> str | None:
    region = fold(region).strip()
    if not region:
        return None
    reading = grammar.read(region, _option_mentions, opts)
    value = reading.commitment()
    if value is AMBIGUOUS or (value is None and not reading.uncertain and reading.is_reasoning()):
        # several options in unknown context, or a reasoning that weighs every option
        # before concluding: the tiers of evidence decide among the affirmed ones, with
        # every other mention blanked
        value = _by_tiers(_blank_unaffirmed(region, reading), opts, set(reading.values(AFFIRMED)))
    return value if value in opts else None


def _by_tiers(region: str, opts: dict[str, str], affirmed: set) -> str | None:
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
    return letter if letter in affirmed else None


def _blank_unaffirmed(region: str, reading: grammar.Reading) -> str:
    """``region`` with every mention that is not affirmed blanked out."""
    toks = reading.tokens
    chars = list(region)
    for m in reading.mentions:
        if m.polarity == AFFIRMED:
            continue
        start = toks.start[m.first]
        end = toks.start[m.last] + len(toks.raw[m.last])
        # "~" and not spaces: a long run of blanks would make the tiers' end-anchored
        # patterns rescan it from every position
        chars[start:end] = "~" * (end - start)
    return "".join(chars)


# ------------------------------------------------------------ candidate mentions (stage 3)

_STATING = frozenset({"answer", "choose", "chose", "select", "selected", "pick", "picked"})
_LETTER_AFTER = frozenset({"option", "choice", "letter", "answer", "(", ":"})
_PUNCT_NEXT = frozenset({".", ":", ")", ",", ";", "!", "?", "\n", "]", "-", "–", "—", "*", "("})
_JOINED = frozenset({"and", "or", "nor", "vs", "versus", "but", "rather"})
_JOINING = frozenset({"between", "not", "and", "or", "nor", "than", "vs", "versus"})
_REASON_NEXT = frozenset({"because", "since", "judging", "given", "due", "considering", "based"})


def _option_mentions(toks: Tokens, opts: dict[str, str]) -> list[Mention]:
    """Option letters and option texts named in an answer, as grammar mentions."""
    texts = _text_mentions(toks, opts)
    letters = _letter_mentions(toks, opts)
    taken = set()
    for m in texts:
        taken.update(range(m.first, m.last + 1))
    mentions = sorted([m for m in letters if m.first not in taken] + texts, key=lambda m: m.first)
    # a letter beside another option's text ("Option B (fear)" when fear is C) names both
    pairs = []  # a letter with its own text ("B: Yes."), as (letter, text)
    for a, b in itertools.pairwise(mentions):
        if _adjacent(toks, a, b) and _is_letter(toks, a) != _is_letter(toks, b):
            if a.value != b.value:
                a.polarity = b.polarity = HEDGED
            elif _is_letter(toks, a):
                pairs.append((a, b))
                a.strong = True  # a letter with its own text is put as the answer
    # the options restated one after another ("A: Yes. B: No.") are a list, not an answer
    run: list = []
    for m in texts:  # "Neutral: possible …": an option text heading a line is no answer
        nxt = m.last + 1
        m.heading = (
            nxt < len(toks)
            and toks.text[nxt] == ":"
            and not any(a is not None and b is m for a, b in pairs)
        )
    for pair in [*pairs, None]:
        if pair is not None and run and _follows(toks, run[-1][1], pair[0]):
            run.append(pair)
            continue
        if len({a.value for a, _ in run}) > 1:
            for a, b in run:
                a.polarity = b.polarity = LISTED
        run = [pair] if pair is not None else []
    return mentions


def _follows(toks: Tokens, a: Mention, b: Mention) -> bool:
    return all(not t[0].isalnum() for t in toks.text[a.last + 1 : b.first])


def _is_letter(toks: Tokens, m: Mention) -> bool:
    return m.first == m.last and len(toks.raw[m.first]) == 1


def _adjacent(toks: Tokens, a: Mention, b: Mention) -> bool:
    between = toks.text[a.last + 1 : b.first]
    return len(between) <= 2 and all(t in ("(", ":", "-", "–", "—", ")", ",") for t in between)


def _letter_mentions(toks: Tokens, opts: dict[str, str]) -> list[Mention]:
    raw, text = toks.raw, toks.text
    n = len(raw)
    out = []
    first_content = next((i for i in range(n) if text[i][0].isalnum()), -1)
    lone = sum(1 for t in text if t[0].isalnum()) == 1
    for i, tok in enumerate(raw):
        if len(tok) != 1 or not tok.isalpha():
            continue
        upper = tok.upper()
        if upper not in opts:
            continue
        prev = text[i - 1] if i else ""
        nxt = text[i + 1] if i + 1 < n else ""
        if tok.islower():
            if not (
                lone
                or prev in _LETTER_AFTER
                or (prev == "is" and i >= 2 and text[i - 2] == "answer")
            ):
                continue
            if tok in "ai" and not (lone or prev in ("option", "(")):
                continue
        elif tok in "AI":
            after = raw[i + 2] if i + 2 < n else ""
            after = raw[i + 3] if after in ("(", "than") and i + 3 < n else after
            after = raw[i + 4] if after == "(" and i + 4 < n else after
            marked = (
                nxt == ""
                or (nxt in _PUNCT_NEXT and nxt != ",")  # "I, for one": _letter_follows
                or nxt in _REASON_NEXT
                or prev in ("(", "option", "choice", "letter")
                or (nxt in _JOINED and len(after) == 1 and after in opts)
                or (prev in _JOINING and (nxt in _JOINED or nxt in _PUNCT_NEXT or nxt == ""))
                or _letter_follows(toks.source, toks.start[i] + 1, tok)
            )
            if not marked:
                continue
        window = [t for t in text[max(0, i - 4) : i] if t[0].isalnum()]
        strong = i == first_content or bool(_STATING.intersection(window[-3:]))
        out.append(Mention(upper, i, i, strong=strong))
    return out


def _text_mentions(toks: Tokens, opts: dict[str, str]) -> list[Mention]:
    phrases = {letter: _option_phrase(t) for letter, t in opts.items()}
    yes_no = {_YES_NO[p]: letter for letter, p in phrases.items() if p in _YES_NO}
    if yes_no and len(yes_no) == len(phrases):
        return [
            Mention(yes_no[m.value], m.first, m.last, polarity=m.polarity)
            for m in _vote_mentions(toks)
            if m.value in yes_no
        ]
    table = _phrase_table(tuple(sorted(opts.items())))
    canon = _canonical_tokens(toks)
    out: list[Mention] = []
    j, n = 0, len(canon)
    while j < n:
        word, first = canon[j]
        hit = None
        for words, letter in table.get(word, ()):
            k = len(words)
            if j + k <= n and all(canon[j + x][0] == w for x, w in enumerate(words)):
                hit = (k, letter)
                break
        if hit is None:
            j += 1
            continue
        k, letter = hit
        out.append(Mention(letter, first, canon[j + k - 1][1]))
        j += k
    return out


@functools.lru_cache(maxsize=4096)
def _phrase_table(items: tuple[tuple[str, str], ...]) -> dict[str, list]:
    """First canonical word → [(words, letter)], longest first (nested texts: "much higher"
    wins over "higher")."""
    table: dict[str, list] = {}
    for letter, text in items:
        words = _canonical_words(text)
        while len(words) > 1 and words[0] in _ARTICLES:
            words = words[1:]
        if words:
            table.setdefault(words[0], []).append((tuple(words), letter))
    for entries in table.values():
        entries.sort(key=lambda e: -len(e[0]))
    return table


def _canonical_tokens(toks: Tokens) -> list[tuple[str, int]]:
    """The answer's words as :func:`_canonical_words` spells them, each with its token."""
    out: list[tuple[str, int]] = []
    for i, word in enumerate(toks.text):
        if not word[0].isalnum() or "." in word or "," in word:
            continue
        if word in _IMAGE_WORDS:
            word = "image"
        elif word in _ORDINALS and out and out[-1][0] == "image":
            out[-1] = (_ORDINALS[word], out[-1][1])  # "image 1" -> "first image"
            word = "image"
        elif word in ("1st", "2nd"):
            word = _ORDINALS[word]
        out.append((word, i))
    return out


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

# Reading yes/no: every word or idiom that says yes or no is a mention of "yes" or "no";
# the grammar gives each its polarity ("not no" is denied) and commits when they agree.
_YES_WORDS = frozenset({"yes", "yeah", "yep", "yup", "yea", "aye", "true", "affirmative", "ya"})
_NO_WORDS = frozenset({"no", "nope", "nah", "false", "nay"})
# "Absolutely.", "Of course!", "Sure, it does." say yes when they stand alone in a clause;
# followed by "not" they say no ("Absolutely not.", "Certainly not")
_EMPHATIC = frozenset(
    {"absolutely", "certainly", "definitely", "surely", "indeed", "sure", "clearly",
     "obviously", "totally", "exactly", "undoubtedly", "course"}
)  # fmt: skip
# "no doubt", "no question", "no wonder": an idiom, not a no
_AFTER_IDIOM_NO = frozenset({"doubt", "question", "wonder", "matter", "kidding", "one"})
# a "no" followed by one of these answers the question ("I'd say no because …"); followed
# by any other word it is a determiner ("there is no fear")
_NO_ANSWERS_BEFORE = frozenset(
    {"because", "since", "as", "but", "it", "i", "this", "that", "there", "they", "and", "or",
     "on", "not", "nope", "although", "though", "however", "so", "then", "sir", "way", "is",
     "was", "would", "seems"}
)  # fmt: skip
# multi-word answers: (words, vote)
_VOTE_IDIOMS = (
    (("i", "do", "not", "think", "so"), "no"),
    (("i", "think", "not"), "no"),
    (("i", "think", "so"), "yes"),
    (("by", "no", "means"), "no"),
    (("not", "at", "all"), "no"),
    (("not", "really"), "no"),
    (("of", "course", "not"), "no"),
    (("of", "course"), "yes"),
)
_IDIOM_STARTS = frozenset(words[0] for words, _ in _VOTE_IDIOMS)
_YN_PUNCT = frozenset(".,;:!?…)]\n-—–")


def _vote_mentions(toks: Tokens) -> list[Mention]:
    """Every word or idiom of an answer that says yes or no, as a grammar mention."""
    text = toks.text
    n = len(text)
    out: list[Mention] = []
    i = 0
    while i < n:
        word = text[i]
        prev = text[i - 1] if i else ""
        if word in _IDIOM_STARTS:
            hit = next(
                (
                    (words, vote)
                    for words, vote in _VOTE_IDIOMS
                    if tuple(text[i : i + len(words)]) == words
                ),
                None,
            )
            if hit is not None:
                words, vote = hit
                end = i + len(words)
                if vote == "yes" and not (end >= n or text[end] in _YN_PUNCT):
                    i += 1  # "of course it is sad": an adverb, no answer
                    continue
                out.append(Mention(vote, i, end - 1))
                i = end
                continue
        nxt = text[i + 1] if i + 1 < n else ""
        ends = nxt == "" or nxt in _YN_PUNCT
        starts = prev == "" or prev in _YN_PUNCT
        if word in _YES_WORDS:
            out.append(Mention("yes", i, i))
        elif word in _NO_WORDS:
            if word == "no" and (
                nxt in _AFTER_IDIOM_NO
                or nxt == "wait"
                or not (starts or ends or nxt in _NO_ANSWERS_BEFORE or nxt in _YES_WORDS)
            ):
                i += 1  # "no doubt"; "there is no fear": a determiner, a denial of what follows
                continue
            out.append(Mention("no", i, i))
        elif word in _EMPHATIC and ends and starts:
            if nxt == "not":
                out.append(Mention("no", i, i + 1))
                i += 2
                continue
            out.append(Mention("yes", i, i))  # "Absolutely.", "Sure, it does."
        elif word in _EMPHATIC and nxt == "not" and starts:
            out.append(Mention("no", i, i + 1))  # "Absolutely not."
            i += 2
            continue
        elif word == "not" and ends and prev in ("think", "say", "believe", "guess", "hope"):
            out.append(Mention("no", i, i))  # "I'd say not."
        i += 1
    return out


def _vote(text: str) -> str | None:
    value = grammar.read(text, _vote_mentions).commitment()
    return value if value in ("yes", "no") else None


def read_yes_no(text: Any) -> str | None:
    """``"yes"`` or ``"no"`` for an answer that says one of them, else ``None``.

    Every word or idiom that answers yes or no is a vote: ``yes``, ``yeah``, ``yep``,
    ``true``, ``"Absolutely."``, ``"Of course!"``; ``no``, ``nope``, ``nah``, ``false``,
    ``"Absolutely not."``, ``"Of course not."``, ``"not at all"``, ``"not really"``, ``"I
    think not."``, ``"by no means"``. The answer says yes or no when all its votes agree;
    votes on both sides (``"yes/no"``, ``"Yes. No."``, ``"Yes, although no"``) and a
    denied yes/no word (``"not no"``) say nothing; a later clause that retracts the first
    vote commits to the replacement (``"Yes. On reflection, no."`` is no). ``"no"`` inside a
    sentence is a determiner (``"there is no fear"``) and ``"no doubt"`` an idiom, neither
    a vote; ``"not"``, ``"know"`` and ``"none"`` are not ``"no"``.

    Examples
    --------
    >>> read_yes_no("Yes, there is no doubt."), read_yes_no("I don't know"), read_yes_no("yes/no")
    ('yes', None, None)
    >>> read_yes_no("Absolutely not."), read_yes_no("Yeah."), read_yes_no("No doubt, yes.")
    ('no', 'yes', 'yes')
    >>> read_yes_no("Yes. On reflection, no."), read_yes_no("Yes, although no one is sad.")
    ('no', 'yes')
    """
    text = completion_text(text)
    if text.isascii() and text.isalpha():  # one plain word, the common answer
        word = text.lower()
        if word in _YES_WORDS or word in _EMPHATIC:
            return "yes" if word != "course" else None
        return "no" if word in _NO_WORDS else None
    return _vote(fold(text))


def _option_texts(region: str, opts: dict[str, str]) -> set[str]:
    """Options whose whole text the (already masked) answer names."""
    words = _phrase(region)
    if not words:
        return set()
    phrases = {letter: _option_phrase(text) for letter, text in opts.items()}
    yes_no = {_YES_NO[p]: letter for letter, p in phrases.items() if p in _YES_NO}
    if yes_no:
        vote = _vote(region)
        if vote in yes_no:
            return {yes_no[vote]}
        if len(yes_no) == len(phrases):
            return set()  # yes/no options, and the answer says neither
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


# Prose restating an option: image, picture, figure and photo are one word, and "image 1",
# "figure 1", "1st image" are "first image".
_IMAGE_WORDS = frozenset(
    {"image", "images", "picture", "pictures", "figure", "figures", "fig", "photo", "photos",
     "photograph", "pic", "img"}
)  # fmt: skip
_ORDINALS = {"1": "first", "one": "first", "2": "second", "two": "second", "1st": "first",
             "2nd": "second"}  # fmt: skip
_ARTICLES = frozenset({"the", "a", "an"})
_DENIALS = grammar.LEXICON["negation_before"]
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
            against = before and (before[-1] in _AGAINST or (before[-1],) in _DENIALS)
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
