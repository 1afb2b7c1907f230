"""One grammar of answers: what an answer commits to, decided the same way for every task.

Every reader of :mod:`eemo_rewards.answers` and the reasoning-consistency judges go through
the same five stages:

1. **normalise once** (:func:`fold`): Unicode NFKC (full-width ``Ｂ`` → ``B``), look-alike
   Cyrillic and Greek letters folded to Latin (``Nоt`` with a Cyrillic ``о`` → ``Not``),
   zero-width characters, soft hyphens and bidi controls removed, HTML entities decoded,
   LaTeX wrappers (``\\boxed{B}``) and markdown emphasis (``**B**``, ``_joy_``, ```B```,
   ``> quote``) undone, and ``n't`` spelled ``not``;
2. **split into tokens and clauses** (:func:`tokens`): words, numbers and punctuation, with
   the clause each token is in (clauses end at ``. ! ? ;``, line breaks and ``but``);
3. **candidate mentions**: each reader finds what its task can answer (letters and option
   texts, yes/no words, labels with synonyms, image references, numbers, rankings) as
   :class:`Mention` spans over those tokens;
4. **polarity** (:func:`polarities`) from one lexicon (:data:`LEXICON`): a mention is
   *affirmed*, *negated* by a word before it (``not joy``) or a predicate after it (``joy is
   incorrect``, ``B? No.``), *hedged* (``maybe B``, ``B or C``, ``B, if not C``, ``C is also
   plausible``), *retracted* by a later clause (``B. Actually, C.``), or *listed*
   (``between B and C``); the whole answer is *uncertain* when it says so (``hard to
   say``, ``not sure``);
5. **one commitment rule** (:func:`commit`):

   - an uncertain answer commits to nothing;
   - negated, retracted and listed mentions are no evidence: ``"Joy, not fear."`` and
     ``"Not fear but joy."`` commit to joy, ``"B. Just kidding, C."`` to C;
   - a clause whose other words are all known to be neutral (:data:`NEUTRAL`: fillers such
     as ``the answer is``, ``I think``, ``option``; the lexicon's own cue words; a reason
     after ``because`` that names no other candidate) *commits*. When committing clauses
     name one value, that is the answer; when they name two, the answer commits to
     nothing (``"Answer: B. Answer: C."``);
   - without a committing clause, one affirmed value anywhere is the answer; two or more in
     unknown context commit to nothing (a reader may still let a concluding sentence decide:
     ``"… Therefore, the answer is B."``);
   - a hedged mention of any other value keeps that value open: nothing is committed
     (``"B. Maybe C."``).

Standard library only; every stage is one pass over the answer (linear time).
"""

from __future__ import annotations

import bisect
import functools
import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "AFFIRMED",
    "HEDGED",
    "LEXICON",
    "LISTED",
    "NEGATED",
    "NEUTRAL",
    "REASONING_WORDS",
    "RETRACTED",
    "Mention",
    "Reading",
    "Tokens",
    "cached",
    "clear_caches",
    "commit",
    "fold",
    "has_cue",
    "phrase",
    "polarities",
    "read",
    "tokens",
    "words",
]

AFFIRMED, NEGATED, HEDGED, RETRACTED, LISTED = (
    "affirmed",
    "negated",
    "hedged",
    "retracted",
    "listed",
)

# --------------------------------------------------------------------------- 1. normalise

# Latin look-alikes: Cyrillic and Greek letters that render as Latin ones.
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
        "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d",
        "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ɡ": "g",
        "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
        "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "Ԁ": "D",
        "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "κ": "k", "τ": "t", "υ": "u",
        "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
        "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    }
)  # fmt: skip
# zero-width characters, soft hyphen, bidi controls, word joiner, BOM: format characters
_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f"
                        "\u202a-\u202e\u2060-\u206f\ufeff\ufe00-\ufe0f]")  # fmt: skip
_LATEX_WRAPPER = re.compile(
    r"\\(?:boxed|fbox|text|textbf|textit|textrm|textsf|mathrm|mathbf|mathit|mbox|emph|underline)"
    r"[ \t]{0,3}\{([^{}\\]{0,200})\}"
)
_LATEX_BRACKET = re.compile(r"\\[()\[\]]")
_BRACED_LETTER = re.compile(r"\{[ \t]{0,3}([A-Za-z])[ \t]{0,3}\}")
# emphasis marks: runs of * _ ` ~ (a snake_case word keeps its underscore: both sides word)
_EMPHASIS = re.compile(r"(?<![^\W_])[*_`~]+|[*_`~]+(?![^\W_])|\*+|`+|~~")
_QUOTE_MARK = re.compile(r"^[ \t]{0,3}(?:>[ \t]?)+", re.MULTILINE)
_NOT = re.compile(r"(?i:\b(ca|wo)n['’]t\b)|(?i:n['’]t\b)")


def _not(m: re.Match) -> str:
    stem = m.group(1)
    if stem is None:
        return " not"
    return ("can" if stem.lower() == "ca" else "will") + " not"


def fold(text: str) -> str:
    """``text`` normalised once for every reader (stage 1 of the module docstring).

    Plain ASCII without markup, entities or contractions comes back unchanged at the cost of
    a few ``str`` scans.

    Examples
    --------
    >>> fold("（Ｂ）"), fold("{B}"), fold("\\\\boxed{joy}"), fold("**joy**")
    ('(B)', '(B)', 'joy', 'joy')
    >>> fold("N\\u043et j\\u00adoy"), fold("isn't"), fold("&nbsp;A&amp;B")
    ('Not joy', 'is not', ' A&B')
    """
    if not text.isascii():
        text = _INVISIBLE.sub("", text)
        text = unicodedata.normalize("NFKC", text)
        text = text.translate(_CONFUSABLES)
    if "&" in text:
        text = html.unescape(text)
        if not text.isascii():
            text = unicodedata.normalize("NFKC", text)
    if "\\" in text:
        for _ in range(4):  # nested wrappers, innermost first
            folded = _LATEX_WRAPPER.sub(r"\1", text)
            if folded == text:
                break
            text = folded
        text = _LATEX_BRACKET.sub(" ", text)
    if "{" in text:
        text = _BRACED_LETTER.sub(r"(\1)", text).replace("{", " ").replace("}", " ")
    if "$" in text:
        text = text.replace("$", " ")
    if "*" in text or "_" in text or "`" in text or "~" in text:
        text = _EMPHASIS.sub("", text)
    if ">" in text:
        text = _QUOTE_MARK.sub("", text)
    if "'" in text or "’" in text:
        text = _NOT.sub(_not, text)
    return text


_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The lower-case words of ``text`` (letters and digits; apostrophes split words)."""
    return _WORD.findall(text.lower())


def phrase(text: str) -> str:
    """The lower-case words of ``text`` joined by single spaces."""
    return " ".join(_WORD.findall(text.lower()))


# --------------------------------------------------------------------------- 2. tokens

# a number (0.73, 7, .5, 0,73), a word, a line break, or one other visible character
_TOKEN = re.compile(r"\d+(?:[.,]\d+)?|\.\d+|[^\W_]+|\n|[^\w\s]")
_CLAUSE_END = frozenset({".", "!", "?", ";", "\n", "…"})
_BUT_AFTER = frozenset({"anything", "everything", "all", "nothing"})


@dataclass(frozen=True)
class Tokens:
    """An answer as tokens: ``text[i]`` the lower-case token, ``raw[i]`` as written,
    ``start[i]`` its offset in the folded answer, ``clause[i]`` its clause number."""

    source: str
    raw: tuple[str, ...]
    text: tuple[str, ...]
    start: tuple[int, ...]
    clause: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.text)

    def index_at(self, offset: int) -> int:
        """The first token that starts at or after ``offset``."""
        return bisect.bisect_left(self.start, offset)

    def word_index(self) -> list[int]:
        """Token index of each word (what :func:`words` would count)."""
        return [i for i, t in enumerate(self.text) if _WORD.fullmatch(t) and "." not in t]


def tokens(folded: str) -> Tokens:
    """Tokens of an answer already :func:`fold`-ed, with their clauses.

    Examples
    --------
    >>> t = tokens("B. Actually, C but not D")
    >>> t.text, t.clause
    (('b', '.', 'actually', ',', 'c', 'but', 'not', 'd'), (0, 0, 1, 1, 1, 2, 2, 2))
    """
    raw, low, start, clause = [], [], [], []
    c = 0
    for m in _TOKEN.finditer(folded):
        tok = m.group(0)
        lt = tok.lower()
        if lt == "but" and (not low or low[-1] not in _BUT_AFTER):
            c += 1  # "not fear but joy": a new clause; "anything but joy" is one phrase
        raw.append(tok)
        low.append(lt)
        start.append(m.start())
        clause.append(c)
        if lt in _CLAUSE_END:
            c += 1
    return Tokens(folded, tuple(raw), tuple(low), tuple(start), tuple(clause))


# --------------------------------------------------------------------------- 3. mentions


@dataclass
class Mention:
    """One candidate named in an answer: ``value`` over tokens ``first..last`` (inclusive).

    ``strong`` marks a mention its reader knows is put as an answer (a letter opening the
    answer, ``"the answer is B"``); ``polarity`` and ``neutral`` are filled by
    :func:`polarities`."""

    value: object
    first: int
    last: int
    strong: bool = False
    polarity: str = AFFIRMED
    neutral: bool = False
    crowded: bool = False
    concluding: bool = False
    clause: int = 0
    heading: bool = False


# --------------------------------------------------------------------------- 4. polarity


def _split(text: str) -> list[str]:
    return text.split()


def _phrases(*entries: str) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(e.split()) for e in entries)


#: The one lexicon. Each entry is a phrase of lower-case tokens (``n't`` is folded to
#: ``not`` first, so ``isn't`` is ``is not``).
LEXICON: dict[str, frozenset[tuple[str, ...]]] = {
    # a word before a candidate that denies it: "not joy", "never B", "free of fear"
    "negation_before": _phrases(
        "not", "no", "never", "neither", "nor", "none", "without", "hardly", "cannot",
        "zero", "free of", "lacks", "lacking", "lack of", "absent", "absence of", "devoid of",
        "except", "excluding", "exclude", "minus", "far from", "anything but",
        "everything but", "all but", "rule out",
        "ruling out", "rules out", "eliminate", "eliminating", "nope", "nil", "opposite of",
    ),
    # a predicate after a candidate (through copulas, NEGATION_LINK) that denies it
    "negation_after": _phrases(
        "not", "incorrect", "wrong", "false", "unlikely", "implausible", "impossible",
        "inaccurate", "excluded", "eliminated", "ruled out", "invalid", "mistaken",
        "unsuitable", "inappropriate", "untrue", "a mistake", "no good", "- free",
    ),
    # what a clause is when it only denies the clause before it: "B? No."
    "denial_clause": _phrases("no", "nope", "nah", "wrong", "incorrect", "false", "not"),
    # a word before a candidate that keeps it open: "maybe C", "or C", "if not C"
    "hedge_before": _phrases(
        "maybe", "perhaps", "possibly", "either", "or", "alternatively", "vs",
        "versus", "or else",
    ),
    # after a candidate: "B or C", "C too", "C is also plausible", "C could also fit"
    "hedge_after": _phrases(
        "or", "too", "also", "as well", "plausible", "possible", "could also", "might also",
        "may also", "equally", "vs", "versus", "if not", "maybe", "perhaps", "possibly",
    ),
    # before a candidate: what it is compared against, not what is chosen ("more than the
    # second", "compared to image 2")
    "against": _phrases(
        "than", "instead of", "compared to", "compared with", "unlike", "in contrast to",
        "as opposed to", "relative to",
    ),
    # the answer declares itself uncertain
    "uncertain": _phrases(
        "hard to say", "hard to tell", "difficult to say", "difficult to tell", "not sure",
        "unsure", "uncertain", "can not tell", "cannot tell", "can not say", "cannot say",
        "do not know", "no idea", "unclear", "who knows", "not certain", "can not decide",
        "cannot decide", "could go either way", "toss up",
    ),
    # opening a clause: what came before is withdrawn
    "retraction": _phrases(
        "actually", "just kidding", "scratch that", "no wait", "wait", "on second thought",
        "on second thoughts", "on reflection", "on further reflection", "correction",
        "i mean", "or rather", "sorry", "make that", "i take that back", "take that back",
        "never mind", "nevermind", "change my answer", "let me correct",
    ),
    # idioms that hold a denial word yet deny nothing: "no doubt", "nothing but joy"
    "idiom": _phrases(
        "no doubt", "without doubt", "without a doubt", "no question", "not only",
        "no matter", "not least", "no wonder",
    ),
    # a candidate listed as an alternative, not chosen: "between B and C, B"
    "listing": _phrases("between"),
    # a reason follows: what it says is no answer unless it names another candidate
    "reason": _phrases(
        "because", "since", "as", "given", "due to", "judging by", "considering", "based on",
        "owing to", "thanks to", "for", "from",
    ),
}  # fmt: skip

#: Words a committing clause may contain besides its candidate (the allow-list), together
#: with every word of :data:`LEXICON`. Anything else around two candidates is unknown
#: context, and unknown context commits to nothing.
NEUTRAL = frozenset(
    _split("""
    the a an answer answers final my is it its s i think believe would say d choose chose
    pick select go with option options choice letter correct right best most likely
    probably definitely clearly certainly surely emotion emotions dominant main primary
    evoked evokes evoke evoking image picture photo this that here be should will feel
    feels feeling of to in overall so therefore thus hence conclusion summary label
    ranking order strongest weakest ll m am we ve re my our response result is are was
    will guess go going choosing selected chosen pick picked must response mood
    expressed expresses conveyed conveys shown shows displayed clear obvious one and
    valence arousal dominance score scores level v a d
    """)
)  # fmt: skip

# words that may stand between a candidate and a predicate denying it ("B is clearly the
# wrong one", "joy does not fit", "B can be ruled out")
_LINK = frozenset(
    _split("""
    is are was were be been being seems seem looks look appears appear would should must
    can will does do did has have had gets get definitely clearly certainly surely simply
    just obviously therefore thus then the a an option choice answer one here totally
    completely absolutely fit fits apply applies match matches work works quite really
    very
    """)
)  # fmt: skip
_BREAK = frozenset(
    {",", ";", ".", "!", "?", "\n", "but", "so", "because", "since", "however",
     "though", "although", "while", "whereas", "yet", "…", "-", "–", "—"}
)  # fmt: skip
# a clause holding one of these concludes: where long answers weigh several options, the
# last concluding clause that names one decides ("… Therefore, the answer is B.")
_CONCLUSION = frozenset(
    {"therefore", "thus", "hence", "overall", "conclusion", "conclude", "summary", "finally",
     "final", "so"}
)  # fmt: skip
_CLOSING = frozenset({")", "]", '"', "'", "”", "’"})
_LISTING_REACH = 40  # "between X and Y" spans at most this many tokens
_LIST_JOINERS = frozenset({"and", "or", "vs", "versus", "&"})
_COPULA = frozenset({"is", "are", "was", "were"})
_NEGATION_REACH = 6
_HEDGE_REACH = 3
# what may stand between a hedge and its candidate: "or the C", "maybe option (C)"
_HEDGE_GAP = frozenset({"the", "a", "an", "option", "choice", "letter", "(", "[", '"', "'", "even"})
_MAX_PHRASE = max(len(p) for entries in LEXICON.values() for p in entries)
_LEXICON_WORDS = frozenset(w for entries in LEXICON.values() for p in entries for w in p)


def _match(text: Sequence[str], i: int, entries: frozenset[tuple[str, ...]]) -> int:
    """Length of the longest entry that starts at token ``i`` (0 when none)."""
    widths = _by_first(entries).get(text[i])
    if widths is None:
        return 0
    for width in widths:
        if width == 1 or tuple(text[i : i + width]) in entries:
            return width
    return 0


@functools.lru_cache(maxsize=256)
def _by_first(entries: frozenset[tuple[str, ...]]) -> dict[str, tuple[int, ...]]:
    """First word → the widths of the entries it starts, longest first."""
    table: dict[str, set[int]] = {}
    for entry in entries:
        table.setdefault(entry[0], set()).add(len(entry))
    return {word: tuple(sorted(widths, reverse=True)) for word, widths in table.items()}


def polarities(toks: Tokens, mentions: list[Mention]) -> bool:
    """Give every mention its polarity and whether its clause commits (stage 4); return
    whether the whole answer declares itself uncertain.

    ``mentions`` must be in order and must not overlap.
    """
    text = toks.text
    n = len(text)
    owner = [-1] * n  # which mention covers each token
    for k, m in enumerate(mentions):
        for i in range(m.first, m.last + 1):
            owner[i] = k
    lex = LEXICON
    doubts: list[int] = []  # where the answer says it is unsure
    retracted_before = -1
    # one left-to-right pass: denials and hedges before a mention, retractions, listings
    negate_until = -1
    hedge_until = -1  # "maybe C", "or the C": a hedge reaches the next few tokens
    against_until = -1  # "than the second": what a candidate is compared against
    listing_until = -1
    last_clause = -1
    clause_start = True
    i = 0
    while i < n:
        k = owner[i]
        tok = text[i]
        if toks.clause[i] != last_clause:
            last_clause = toks.clause[i]
            clause_start = True
            negate_until = -1
        if k >= 0:
            m = mentions[k]
            if i <= negate_until:
                m.polarity = NEGATED
            elif i <= listing_until or i <= against_until:
                m.polarity = LISTED
            elif i <= hedge_until:
                m.polarity = HEDGED
            hedge_until = -1
            i = m.last + 1
            clause_start = False
            continue
        if hedge_until >= i and tok not in _HEDGE_GAP:
            hedge_until = -1  # "or conveyed is C": the hedge was about another word
        if against_until >= i and tok not in _HEDGE_GAP:
            against_until = -1
        if tok in _BREAK or (
            tok in _COPULA and negate_until >= i and text[i - 1] not in ("not", "no", "never")
        ):
            negate_until = -1
            listing_until = -1 if tok not in (",", "and") else listing_until
            if tok not in (",",):
                hedge_until = -1
            if tok in (",", ";", ":", "-", "–", "—", "…", "."):
                clause_start = True
            i += 1
            continue
        if tok in _LEXICON_WORDS:
            width = _match(text, i, lex["uncertain"])
            if width:
                doubts.append(i)
                i += width
                continue
            width = _match(text, i, lex["idiom"])
            if width:
                i += width
                clause_start = False
                continue
            if clause_start:
                width = _match(text, i, lex["retraction"])
                if width:
                    retracted_before = i  # what came before the last retraction is withdrawn
                    i += width
                    continue
            width = _match(text, i, lex["against"])
            if width:
                against_until = i + width - 1 + _HEDGE_REACH
                i += width
                continue
            width = _match(text, i, lex["listing"])
            if width:
                listing_until = _listing_end(text, owner, i + width)
                i += width
                continue
            width = _match(text, i, lex["hedge_before"])
            neg = _match(text, i, lex["negation_before"])
            if width and width >= neg:
                hedge_until = i + width - 1 + _HEDGE_REACH
                i += width
                clause_start = False
                continue
            if neg:
                negate_until = i + neg - 1 + _NEGATION_REACH
                i += neg
                clause_start = False
                continue
        clause_start = False
        i += 1
    for m in mentions:
        if m.last >= retracted_before:
            break
        if m.polarity in (AFFIRMED, HEDGED):
            m.polarity = RETRACTED
    # predicates after a mention, hedges after it, "B? No."
    for m in mentions:
        if m.polarity not in (AFFIRMED,):
            continue
        after = _after(toks, owner, m)
        if after is not None:
            m.polarity = after
    clauses = _Clauses(toks, owner, mentions)
    concluding = {toks.clause[i] for i in range(n) if text[i] in _CONCLUSION}
    for m in mentions:
        m.clause = toks.clause[m.first]
        m.crowded = clauses.crowded(m.clause, m.value)
        m.neutral = clauses.neutral(m.clause, m.first) and not m.crowded and not m.heading
        m.concluding = m.clause in concluding
    # "B, but I'm not sure" doubts the answer; "the uncertain weather" in a reason does not
    return any(clauses.neutral(toks.clause[i], i) for i in doubts)


def _listing_end(text: Sequence[str], owner: list[int], i: int) -> int:
    """Where "between X and Y" ends: the last token of Y (``i - 1`` when it is no such
    listing: "between the two images, the second …")."""
    n = min(len(text), i + _LISTING_REACH)
    seen = 0
    while i < n:
        k = owner[i]
        if k >= 0:
            while i < n and owner[i] == k:
                i += 1
            seen += 1
            if seen == 2:
                return i - 1
            # only "and"/"or"/"vs" (and markup) may join the two
            while i < n and owner[i] < 0 and not text[i][0].isalnum() and text[i] != ",":
                i += 1
            if i >= n or text[i] not in _LIST_JOINERS:
                return -1  # "between both images, A: …": no listing of two
            i += 1
            continue
        if text[i] in _CLAUSE_END or text[i] == ",":
            return -1
        i += 1
    return -1


def _after(toks: Tokens, owner: list[int], m: Mention) -> str | None:
    """The polarity a predicate after ``m`` gives it, or ``None``."""
    text = toks.text
    n = len(text)
    lex = LEXICON
    i = m.last + 1
    while i < n and text[i] in _CLOSING:  # "(B) is wrong", "'joy' is wrong", "(B)? No."
        i += 1
    # "B? No." / "B? Wrong."
    if i < n and text[i] == "?":
        j = i + 1
        while j < n and text[j] == "?":
            j += 1
        width = _match(text, j, lex["denial_clause"]) if j < n else 0
        if width and (j + width >= n or text[j + width] in _CLAUSE_END or text[j + width] == ","):
            return NEGATED
    steps = 0
    while i < n and steps < 8:
        if owner[i] >= 0:
            return None
        tok = text[i]
        if _match(text, i, lex["negation_after"]):
            return NEGATED  # "joy is incorrect", "fear-free"
        width = _match(text, i, lex["hedge_after"])
        if width:
            return HEDGED
        if tok == "," and i + 1 < n and text[i + 1] in ("or", "if"):
            i += 1
            continue
        if tok not in _LINK:
            return None
        i += 1
        steps += 1
    return None


class _Clauses:
    """What each clause holds, gathered in one pass: the affirmed values it names, its first
    word that is neither neutral nor in the lexicon (outside mentions), and where reasons
    start ("because …"): a clause commits to a candidate when no unknown word stands
    before the first reason after that candidate (what a reason says is no answer)."""

    def __init__(self, toks: Tokens, owner: list[int], mentions: list[Mention]):
        text, clause = toks.text, toks.clause
        self.values: dict[int, list] = {}
        self.unknown: dict[int, list[int]] = {}
        self.reasons: dict[int, list[int]] = {}
        lex = LEXICON["reason"]
        for m in mentions:
            if m.polarity == AFFIRMED:
                seen = self.values.setdefault(clause[m.first], [])
                if m.value not in seen and len(seen) < 2:
                    seen.append(m.value)
        for i, tok in enumerate(text):
            if owner[i] >= 0 or not tok[0].isalnum():
                continue
            if tok in _LEXICON_WORDS and _match(text, i, lex):
                self.reasons.setdefault(clause[i], []).append(i)
            elif not (tok in NEUTRAL or tok in _LEXICON_WORDS):
                self.unknown.setdefault(clause[i], []).append(i)

    def crowded(self, c: int, value: object) -> bool:
        """Whether clause ``c`` affirms a value other than ``value``."""
        return any(v != value for v in self.values.get(c, ()))

    def neutral(self, c: int, at: int) -> bool:
        """Whether every word of clause ``c`` before the first reason after token ``at`` is
        a mention, punctuation, a neutral word or a lexicon word."""
        unknown = self.unknown.get(c)
        if not unknown:
            return True
        reasons = self.reasons.get(c, ())
        k = bisect.bisect_right(reasons, at)
        limit = reasons[k] if k < len(reasons) else None
        return limit is not None and unknown[0] > limit


# --------------------------------------------------------------------------- 5. commit


class _Ambiguous:
    def __repr__(self) -> str:
        return "AMBIGUOUS"


AMBIGUOUS = _Ambiguous()
"""What :func:`commit` returns when affirmed candidates in unknown context disagree: the
caller may let a concluding sentence decide, else the answer commits to nothing."""


@dataclass(frozen=True)
class Reading:
    """What an answer's grammar found: its tokens, mentions with polarity, and whether it
    declares itself uncertain."""

    tokens: Tokens
    mentions: tuple[Mention, ...]
    uncertain: bool

    def commitment(self) -> object:
        """:func:`commit` of this reading."""
        return commit(self.mentions, uncertain=self.uncertain, reasoning=self.is_reasoning())

    def is_reasoning(self) -> bool:
        """Whether the answer is a reasoning (:data:`REASONING_WORDS` words or more) that may
        weigh several candidates before it concludes."""
        count = 0
        for tok in self.tokens.text:
            count += tok[0].isalnum()
            if count >= REASONING_WORDS:
                return True
        return False

    def values(self, *polarity: str) -> list:
        """Distinct values of the mentions with the given polarities, in order."""
        out: list = []
        for m in self.mentions:
            if m.polarity in polarity and m.value not in out:
                out.append(m.value)
        return out


#: An answer of this many words or more is a reasoning: it may name other candidates in
#: unknown context (weighing them) and still commit through its stronger evidence.
REASONING_WORDS = 20


def commit(
    mentions: Iterable[Mention], *, uncertain: bool = False, reasoning: bool = False
) -> object:
    """The one value the mentions commit to, ``None``, or :data:`AMBIGUOUS` (stage 5).

    Examples
    --------
    >>> commit([Mention("joy", 0, 0), Mention("fear", 2, 2, polarity=NEGATED)])
    'joy'
    >>> commit([Mention("B", 0, 0, neutral=True), Mention("C", 2, 2, neutral=True)]) is None
    True
    >>> commit([Mention("B", 0, 0), Mention("C", 5, 5)], reasoning=True)
    AMBIGUOUS
    """
    mentions = list(mentions)
    if uncertain:
        return None
    affirmed = [m for m in mentions if m.polarity == AFFIRMED]
    # a hedge in known context keeps its value open ("B. Maybe C."); one inside a long
    # reasoning ("… like joy or sadness …") is no answer and keeps nothing open
    hedged = {_key(m.value) for m in mentions if m.polarity == HEDGED and m.neutral}
    if not reasoning:
        # a short answer commits only when everything it affirms is one value, and it keeps
        # no other value open
        values = _distinct(m.value for m in affirmed)
        if len(values) != 1:
            return None
        if any(m.polarity == HEDGED and _key(m.value) != _key(values[0]) for m in mentions):
            return None
        return values[0]
    value: object = None
    # strongest evidence first: put as the answer, then a neutral clause, then anywhere
    for level in (
        [m for m in affirmed if m.strong and not m.crowded],
        [m for m in affirmed if m.neutral],
        affirmed,
    ):
        values = _distinct(m.value for m in level)
        if len(values) == 1:
            value = values[0]
            break
        if len(values) > 1:
            value = _concluded(level)
            if value is None:
                return None if level is not affirmed else AMBIGUOUS
            break
    if value is None:
        return None
    if hedged - {_key(value)}:
        return None
    return value


def _concluded(mentions: list[Mention]) -> object:
    """The one value the mentions of the last concluding clause name, else ``None``."""
    concluding = [m for m in mentions if m.concluding]
    if not concluding:
        return None
    last = max(m.clause for m in concluding)
    values = _distinct(m.value for m in concluding if m.clause == last)
    return values[0] if len(values) == 1 else None


def _key(value: object) -> object:
    if isinstance(value, dict):
        return tuple(sorted(value.items(), key=lambda kv: str(kv[0])))
    if isinstance(value, list):
        return tuple(value)
    return value


def _distinct(values: Iterable[object]) -> list:
    out, seen = [], set()
    for v in values:
        k = _key(v)
        if k not in seen:
            seen.add(k)
            out.append(v)
    return out


def has_cue(text: str) -> bool:
    """Whether ``text`` holds any word of :data:`LEXICON` or a question mark: without one,
    every mention is affirmed and no stage but the commitment rule has work to do."""
    if "?" in text:
        return True
    return not _vocabulary().isdisjoint(_WORD.findall(text.lower()))


@functools.lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    """Every word of :data:`LEXICON` (rebuilt by :func:`clear_caches`)."""
    return frozenset(w for entries in LEXICON.values() for p in entries for w in p)


def read(folded: str, find, *args) -> Reading:
    """Stages 2–4 on an answer already :func:`fold`-ed: ``find(tokens, *args)`` returns the
    task's candidate mentions, in order and not overlapping."""
    toks = _tokens_cached(folded) if len(folded) < _CACHED else tokens(folded)
    mentions = find(toks, *args)
    uncertain = polarities(toks, mentions)
    return Reading(toks, tuple(mentions), uncertain)


# a GRPO batch repeats short answers ("B", "joy, fear, awe") once per generation
_CACHED = 256
_CACHES: list = []  # the readers' caches of short answers' readings


def cached(function):
    """``functools.lru_cache`` for a reader's short answers, cleared with the lexicon."""
    wrapped = functools.lru_cache(maxsize=8192)(function)
    _CACHES.append(wrapped)
    return wrapped


def clear_caches() -> None:
    """Forget every cached reading (after changing :data:`LEXICON` or :data:`NEUTRAL`)."""
    for cache in _CACHES:
        cache.cache_clear()
    _vocabulary.cache_clear()
    _tokens_cached.cache_clear()


@functools.lru_cache(maxsize=4096)
def _tokens_cached(folded: str) -> Tokens:
    return tokens(folded)
