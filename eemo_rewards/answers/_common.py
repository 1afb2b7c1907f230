"""Pieces every reader shares: folding wrappers and look-alike characters, and negation cues.

:func:`fold` turns what decorates an answer into plain text before any reader looks at it:
full-width and other compatibility characters become their plain forms (``（B）`` → ``(B)``,
``Ｂ`` → ``B``, ``：`` → ``:``) and LaTeX wrappers lose their markup (``\\boxed{B}``,
``$\\boxed{\\text{B}}$``, ``\\textbf{joy}`` → the letter or word inside; a lone letter in
braces, ``{B}``, becomes ``(B)``). Plain ASCII answers without a backslash, brace or dollar
sign are returned unchanged at the cost of a few ``str`` scans, so the common answer pays
nothing.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["NEGATION_WORDS", "fold", "phrase", "words"]

_WORD = re.compile(r"[^\W_]+")
# \boxed{…}, \text{…}, \mathrm{…}: keep what is inside (no nested braces; bounded length, so
# a failed match costs a bounded number of steps)
_LATEX_WRAPPER = re.compile(
    r"\\(?:boxed|fbox|text|textbf|textit|textrm|textsf|mathrm|mathbf|mathit|mbox|emph|underline)"
    r"[ \t]{0,3}\{([^{}\\]{0,200})\}"
)
_LATEX_BRACKET = re.compile(r"\\[()\[\]]")  # \( \) \[ \]: math delimiters
_BRACED_LETTER = re.compile(r"\{[ \t]{0,3}([A-Za-z])[ \t]{0,3}\}")

# Words that deny what follows them, for readers that must not count a denied label or
# option: "not joy", "no fear", "never B", "without fear", "free of fear", "zero fear".
NEGATION_WORDS = frozenset(
    {
        "not", "no", "never", "neither", "nor", "none", "nothing", "without", "hardly",
        "cannot", "cant", "isnt", "arent", "wasnt", "doesnt", "dont", "didnt", "wont",
        "zero", "free", "lacks", "lacking", "lack", "absent", "absence", "devoid", "except",
        "excluding", "minus", "nope",
    }
)  # fmt: skip


def fold(text: str) -> str:
    """``text`` with compatibility characters and LaTeX/brace wrappers folded away.

    Examples
    --------
    >>> fold("（Ｂ）"), fold("{B}"), fold("\\\\boxed{joy}")
    ('(B)', '(B)', 'joy')
    >>> fold("$\\\\boxed{\\\\text{B}}$").strip()
    'B'
    """
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
    return text


def words(text: str) -> list[str]:
    """The lower-case words of ``text`` (letters and digits; apostrophes split words)."""
    return _WORD.findall(text.lower())


def phrase(text: str) -> str:
    """The lower-case words of ``text`` joined by single spaces."""
    return " ".join(_WORD.findall(text.lower()))
