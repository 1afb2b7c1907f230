"""Reading an emotion ranking, strongest first, as people write it.

What :func:`parse_ranking` accepts
----------------------------------
The answer is split into entries at ``,``, ``;``, ``>``, ``|``, ``→``, ``->``, line breaks,
the words ``and``/``then`` and list numbers (``1.``, ``2)``), so ``"Emotion ranking: joy,
fear, awe"``, ``"1. joy 2. fear 3. awe"``, ``"joy > fear > awe"`` and one emotion per line
all read as ``joy, fear, awe``. In each piece the emotions are found as whole words or
phrases and folded to their canonical label by the taxonomy (``"Joyful"`` → ``joy``,
``"Shock"`` → ``surprise``, ``"Neutrality"`` → ``neutral``, ``"Pleasure"`` → ``joy``).
Besides:

- a header is skipped: ``"Top 3: joy, fear, sadness"``, ``"Ranking (strongest first): …"``,
  ``"From strongest to weakest, joy, fear, sadness"``; a header that orders the other way
  (``"From weakest to strongest: …"``, ``"in ascending order"``) reverses the list;
- glosses in parentheses are not entries: ``"1. Joy (happiness)"`` is joy;
- emotions given with scores are ranked by them, highest first: ``"joy: 0.6, fear: 0.3,
  sadness: 0.1"``, ``"fear 30%, joy 60%"``. A tie between two scores commits to no order,
  and numbers that are exactly 1, 2, …, n could be ranks or scores: both read as no
  ranking.

A piece that names no emotion of the taxonomy (``"contentment"`` under EEmo-Bench's seven)
is still an entry, one that matches nothing, so padding a list never helps.

What it refuses
---------------
A negated list commits to nothing and reads as no ranking: ``"Neither joy, fear nor
sadness"``, ``"not joy, fear or sadness"``, ``"joy, fear, but no sadness"``. The reward
then scores 0, as it does for duplicates and for more than k entries.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import eemo_rewards.answers.grammar as grammar
from eemo_rewards.answers.grammar import AFFIRMED, HEDGED, NEGATED, Mention, Tokens, fold

__all__ = ["EEMO_BENCH_SYNONYMS", "parse_ranking", "read_ranking"]

# EEmo-Bench's scorer folds these before matching (REFERENCE §2).
EEMO_BENCH_SYNONYMS = {
    "neutrality": "neutral",
    "joyful": "joy",
    "shock": "surprise",
    "pleasure": "joy",
}

# Entry separators: ",;>|•→", "->", line breaks, the words "and"/"then", list numbers "1.",
# "2)", "(3)". Every alternative opens with a character, so the scan skips the text between
# separators quickly: "\band" is written "a(?<!\wa)nd" (no word character before the "a")
# and "(?<!\S)\(?[0-9]" as "(" or a digit with no non-space before it.
_SPLIT = re.compile(
    r"[,;>\n|•→]|->"
    r"|a(?<!\wa)nd\b|t(?<!\wt)hen\b"
    r"|(?:\((?<!\S\()[0-9]{1,2}|[0-9](?<!\S[0-9])[0-9]?)[.):](?![0-9])"
)
_WORD = re.compile(r"[^\W_]+")
_SIMPLE_LIST = re.compile(r"[A-Za-z]+(?:,? [A-Za-z]+){0,12}")
_DIGIT = re.compile(r"[0-9]")
_GLOSS = re.compile(r"\([^()\n]{0,120}\)")
_SCORE_PIECE = re.compile(
    r"^[ \t]*(?:\(?[0-9]{1,2}[.)][ \t]+)?"
    r"(?P<label>[^\W\d_][^\W\d_ \t'’-]*(?:[ \t'’-]+[^\W\d_]+){0,2})"
    r"[ \t]*[:=(–-]?[ \t]*(?P<num>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)[ \t]*(?P<pct>%)?[ \t]*\)?[ \t.]*$"
)
_SCORE_SPLIT = re.compile(r"[,;\n|]")
# Words a header is made of ("Top 3", "From strongest to weakest", "Emotion ranking").
_HEADER_WORDS = frozenset(
    {"from", "strongest", "weakest", "to", "most", "least", "intense", "top", "the", "emotions",
     "emotion", "ranking", "ranked", "rank", "order", "in", "of", "descending", "ascending",
     "evoked", "are", "is", "my", "answer", "final", "list", "first", "dominant", "by",
     "strength", "intensity", "these", "three", "two", "four", "five", "emotional", "ranks",
     "strong", "weak", "highest", "lowest", "here", "s", "it", "a", "i", "would",
     "them", "as", "follows", "decreasing", "increasing", "last", "image", "picture",
     "this", "what", "they", "1", "2", "3", "4", "5", "k", "responses", "response", "main",
     "primary", "evokes", "evoke", "feelings", "feeling", "likely", "probably", "think"}
)  # fmt: skip
_ASCENDING = re.compile(
    r"\b(?:weakest|least)\b[^,;:\n]{0,40}\b(?:strongest|most)\b|\bascending\b|\bincreasing\b"
    r"|\b(?:weakest|least|lowest)\s+first\b",
    re.IGNORECASE,
)
# a denial after the list takes it back ("joy, fear, sadness: none of these")
_DENIALS = frozenset(p[0] for p in grammar.LEXICON["denial_clause"]) | {"none", "neither"}
# words that tie entries: no order is committed to
_TIES = frozenset({"=", "equally", "tie", "tied", "equal", "same"})


def _open_label(text: str) -> str:
    words = _WORD.findall(text.lower())
    phrase = " ".join(words)
    return EEMO_BENCH_SYNONYMS.get(phrase, phrase)


def pieces(answer: str) -> list[str]:
    """The entries of a ranking written by a dataset (solutions), header pieces skipped."""
    out = []
    for piece in _SPLIT.split(answer):
        piece = piece.strip()
        if piece and not piece.endswith(":") and _WORD.search(piece):
            out.append(piece)
    return out


def _taxonomy(name: Any):
    from eemo_rewards.taxonomy import get_taxonomy  # cached there

    return get_taxonomy(name)


def parse_ranking(answer: Any, taxonomy: Any = None, *, vocabulary: Sequence[str] = ()) -> list:
    """Read an emotion ranking, strongest first, as a list of canonical labels.

    Each entry is a label, or (for a piece naming no emotion of the vocabulary) the piece's
    normalised text, so that such entries still count (see the module docstring).

    Parameters
    ----------
    answer : str
    taxonomy : str or Taxonomy, optional
        The vocabulary with its synonyms. Without one, labels are open (lower-cased text,
        EEmo-Bench's synonyms folded) and the words in ``vocabulary`` are found inside pieces.
    vocabulary : sequence of str
        Labels to look for inside a piece when ``taxonomy`` is None.

    Examples
    --------
    >>> parse_ranking("Emotion ranking: Joyful, fear and shock", "eemo_bench7")
    ['joy', 'fear', 'surprise']
    >>> parse_ranking("1. joy 2. contentment 3. fear", "eemo_bench7")
    ['joy', 'contentment', 'fear']
    >>> parse_ranking("Top 3: joy, fear (dread), sadness", "eemo_bench7")
    ['joy', 'fear', 'sadness']
    >>> parse_ranking("fear: 0.3, joy: 0.6, sadness: 0.1", "eemo_bench7")
    ['joy', 'fear', 'sadness']
    >>> parse_ranking("Neither joy, fear nor sadness", "eemo_bench7")
    []
    >>> parse_ranking("awe > Amusement", vocabulary=["awe", "amusement"])
    ['awe', 'amusement']
    >>> parse_ranking("joy joy, fear", "eemo_bench7")
    ['joy', 'joy', 'fear']
    """
    if not isinstance(answer, str):
        return []
    tax = _taxonomy(taxonomy) if taxonomy is not None else None
    known = frozenset(_open_label(v) for v in vocabulary) if tax is None else frozenset()
    return read_ranking(answer, tax, known)


def _label_of(text: str, tax: Any, known: frozenset[str]) -> str | None:
    if tax is not None:
        return tax.normalise(text)
    label = _open_label(text)
    return label if label in known else None


def read_ranking(answer: str, tax: Any, known: frozenset[str]) -> list[str]:
    """:func:`parse_ranking` with the taxonomy resolved and, without one, the vocabulary
    already folded to open labels."""
    # "joy, fear, sadness": the common answer, one word per entry, nothing to weigh
    if _SIMPLE_LIST.fullmatch(answer) and all(" " not in p.strip() for p in answer.split(",")):
        return _read_pieces(answer, tax, known, False)
    answer = _committed_region(fold(answer), tax, known)
    if not answer:
        return []
    reverse = False
    head, colon, rest = answer.partition(":")
    if colon and "\n" not in head and not _read_pieces(_GLOSS.sub(" ", head), tax, known, True):
        # "Top 3: …", "Ranking (strongest first): …" — a header naming no emotion
        reverse = bool(_ASCENDING.search(head))
        answer = rest
    if _DIGIT.search(answer):
        scored = _scored(answer, tax, known)
        if scored is not None:
            return scored[::-1] if reverse else scored
    if "(" in answer:
        answer = _GLOSS.sub(" ", answer)  # "1. Joy (happiness)": the gloss is no entry
    if "<" in answer and ">" not in answer:
        answer = answer.replace("<", ",")  # "sadness < fear < joy": weakest first
        reverse = not reverse
    ascending: list[bool] = []
    entries = _read_pieces(answer, tax, known, False, ascending)
    if ascending:
        reverse = not reverse
    return entries[::-1] if reverse else entries


def _committed_region(folded: str, tax: Any, known: frozenset[str]) -> str:
    """The part of an answer holding the one ranking it commits to, by the grammar of
    answers; ``""`` when it commits to none (a denied, hedged, tied or doubted list, two
    rankings, a retracted one with nothing after it)."""
    reading = grammar.read(folded, _ranking_mentions, tax, known)
    if reading.uncertain:
        return ""
    mentions = reading.mentions
    if any(m.polarity in (NEGATED, HEDGED) for m in mentions):
        return ""  # "not joy, fear or sadness", "either … or …", "joy, fear? No."
    kept = [m for m in mentions if m.polarity == AFFIRMED]
    if not kept:
        return ""
    toks = reading.tokens
    # two rankings given as two sentences commit to neither ("Answer: … Answer: …")
    per_clause: dict[int, set] = {}
    for m in kept:
        per_clause.setdefault(toks.clause[m.first], set()).add(m.value)
    if sum(1 for labels in per_clause.values() if len(labels) > 1) > 1:
        return ""
    first, last = kept[0].first, kept[-1].last
    clause_end = last
    while clause_end + 1 < len(toks) and toks.clause[clause_end + 1] == toks.clause[last]:
        clause_end += 1
    if any(t in _TIES for t in toks.text[first : clause_end + 1]):
        return ""  # "joy = fear = sadness", "joy, fear and sadness are equally strong"
    if any(t in _DENIALS for t in toks.text[last + 1 : clause_end + 1]):
        return ""  # "joy, fear, sadness: none of these"
    # back over a header ("Weakest first:", "1.", "The answer is"), on over scores
    while first > 0 and (
        toks.text[first - 1] in _HEADER_WORDS
        or toks.text[first - 1] in (":", ".", "(", ")")
        or toks.text[first - 1].isdigit()
    ):
        first -= 1
    n = len(toks)
    while last + 1 < n and (
        toks.text[last + 1][0].isdigit() or toks.text[last + 1] in ("%", ")", ":", "=")
    ):
        last += 1
    end = toks.start[last] + len(toks.raw[last])
    return folded[toks.start[first] : end]


def _ranking_mentions(toks: Tokens, tax: Any, known: frozenset[str]) -> list[Mention]:
    if tax is not None:
        from eemo_rewards.answers.labels import label_mentions

        return label_mentions(toks, tax)
    return [
        Mention(label, i, i)
        for i, word in enumerate(toks.text)
        if (label := EEMO_BENCH_SYNONYMS.get(word, word)) in known
    ]


def _scored(answer: str, tax: Any, known: frozenset[str]) -> list[str] | None:
    """Emotions given with scores, highest first; ``None`` when the answer is not a list of
    (emotion, score) pairs, ``[]`` when two scores tie (no order is committed to)."""
    pairs = []
    for piece in _SCORE_SPLIT.split(answer):
        if not piece.strip():
            continue
        m = _SCORE_PIECE.match(piece)
        if m is None:
            return None
        label = _label_of(m.group("label"), tax, known)
        if label is None:
            return None
        pairs.append((float(m.group("num")), label))
    if len(pairs) < 2:
        return None
    values = [v for v, _ in pairs]
    if len(set(values)) != len(values):
        return []
    if sorted(values) == [float(i) for i in range(1, len(values) + 1)]:
        return []  # "joy 1, fear 2": ranks or scores? Either order could be meant
    return [label for _, label in sorted(pairs, key=lambda p: -p[0])]


def _read_pieces(
    answer: str,
    tax: Any,
    known: frozenset[str],
    labels_only: bool,
    header_out: list | None = None,
) -> list[str]:
    synonyms = tax.synonyms if tax is not None else None
    entries: list[str] = []
    for piece in _SPLIT.split(answer):
        piece = piece.strip()
        if not piece or piece.endswith(":"):
            continue
        # the common piece is one plain word ("fear"); ASCII letters lower-case to one word
        words = (
            [piece.lower()] if piece.isascii() and piece.isalpha() else _WORD.findall(piece.lower())
        )
        if len(words) == 1:  # one word: read without phrase windows
            word = words[0]
            label = synonyms.get(word) if synonyms is not None else None
            if label is None and synonyms is None:
                label = EEMO_BENCH_SYNONYMS.get(word, word)
                if labels_only and label not in known:
                    label = None
            if label is not None:
                entries.append(label)
            elif not labels_only and not (entries == [] and word in _HEADER_WORDS):
                entries.append(EEMO_BENCH_SYNONYMS.get(word, word))
            continue
        if not words:
            if _WORD.search(piece) and not labels_only:  # a word lower-casing turned into none
                entries.append(_open_label(piece))
            continue
        if tax is not None:
            found = tax._labels_in_words(words)
            word_labels = [synonyms.get(w) for w in words]
        else:
            label = " ".join(words)
            label = EEMO_BENCH_SYNONYMS.get(label, label)
            found = [label] if label in known else []
            word_labels = [EEMO_BENCH_SYNONYMS.get(w, w) for w in words]
            if not found:
                found = list(dict.fromkeys(w for w in word_labels if w in known))
        if not found:
            if labels_only:
                continue
            if not entries and all(w in _HEADER_WORDS for w in words):
                # "From strongest to weakest, joy, …": a header, not an entry
                if header_out is not None and _ASCENDING.search(piece):
                    header_out.append(True)
                continue
            entries.append(_open_label(piece))
        for label in found:
            # "joy joy joy" in one piece is three entries, so the duplicate rule sees them
            entries.extend([label] * max(1, word_labels.count(label)))
    return entries
