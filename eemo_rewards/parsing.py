"""Parse the one answer scheme used everywhere: ``<think>…</think><answer>…</answer>``.

The parser works with ``str.count`` and ``str.find`` only, so it runs in linear time on any
input (there is no regular expression to backtrack). It is tolerant of surrounding whitespace
and of a chat template that pre-fills ``<think>`` (the completion then starts inside the
think block), and strict about everything else: a duplicated, nested or missing tag, text
before ``<think>``, between ``</think>`` and ``<answer>`` or after ``</answer>``, and an empty
answer all make a completion malformed, with the reason said.

Tags are matched exactly and case-sensitively: ``<Answer>``, ``< answer >`` or a look-alike
such as ``＜answer＞`` are not tags.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from eemo_rewards._text import completion_text

__all__ = [
    "ANSWER_CLOSE",
    "ANSWER_OPEN",
    "THINK_CLOSE",
    "THINK_OPEN",
    "ParsedCompletion",
    "parse_completion",
]

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
ANSWER_OPEN = "<answer>"
ANSWER_CLOSE = "</answer>"


class ParsedCompletion(NamedTuple):
    """The parts of a completion and whether it follows the answer scheme.

    ``think`` and ``answer`` are the stripped contents of the blocks, or ``None`` where the
    block is missing or ambiguous. ``answer`` is filled whenever exactly one answer block
    exists, even if the completion is malformed elsewhere (lenient evaluation uses it;
    rewards use it only when ``ok``). ``reason`` says why a completion is malformed.
    """

    think: str | None
    answer: str | None
    ok: bool
    reason: str | None
    prefilled_think: bool = False
    checks: tuple[bool, bool, bool, bool] = (False, False, False, False)
    """(one think block, one non-empty answer block, nothing between/before, nothing after)"""
    text: str = ""
    """The whole completion as text (lenient scoring reads it when there is no answer block)."""


def _fail(reason: str, think=None, answer=None, prefilled=False, checks=(False,) * 4):
    return ParsedCompletion(think, answer, False, reason, prefilled, checks)


_ALL_CHECKS = (True, True, True, True)
# tag lengths as constants: the fast path below runs once per completion
_LEN_THINK_OPEN, _LEN_THINK_CLOSE = len(THINK_OPEN), len(THINK_CLOSE)
_LEN_ANSWER_OPEN, _LEN_ANSWER_CLOSE = len(ANSWER_OPEN), len(ANSWER_CLOSE)
_new_parsed = tuple.__new__


def _parse_canonical(text: str, allow_prefilled_think: bool) -> ParsedCompletion | None:
    """The well-formed case in one memchr-speed pass; ``None`` sends the completion to the
    full parser, which then says what is wrong. Most completions of a trained policy are well
    formed, so this is the path that sets the reward throughput.

    Hopping from one ``<`` to the next proves every tag unique: when the only ``<`` are those
    of the tags, in order, no other tag can exist. A completion with any other ``<`` in it
    simply takes the full parser.
    """
    s = text.strip()
    if not s.endswith(ANSWER_CLOSE):
        return None
    if s.startswith(THINK_OPEN):
        think_start, prefilled = _LEN_THINK_OPEN, False
    elif allow_prefilled_think:
        think_start, prefilled = 0, True
    else:
        return None
    end = len(s) - _LEN_ANSWER_CLOSE
    t_close = s.find("<", think_start)
    if not s.startswith(THINK_CLOSE, t_close):
        return None
    a_open = s.find("<", t_close + _LEN_THINK_CLOSE)
    if not s.startswith(ANSWER_OPEN, a_open) or s.find("<", a_open + _LEN_ANSWER_OPEN) != end:
        return None
    between = s[t_close + _LEN_THINK_CLOSE : a_open]
    if between and not between.isspace():
        return None
    answer = s[a_open + _LEN_ANSWER_OPEN : end].strip()
    if not answer:
        return None
    think = s[think_start:t_close].strip()
    return _new_parsed(ParsedCompletion, (think, answer, True, None, prefilled, _ALL_CHECKS, text))


def parse_completion(completion: Any, *, allow_prefilled_think: bool = True) -> ParsedCompletion:
    """Split a completion into its think and answer parts and check the answer scheme.

    Parameters
    ----------
    completion : str, message list, dict, bytes or None
        Anything a trainer passes as a completion (see :func:`completion_text`).
    allow_prefilled_think : bool, default True
        Accept a completion without ``<think>`` that starts inside the think block, as
        produced when the chat template pre-fills ``<think>`` in the prompt.

    Examples
    --------
    >>> p = parse_completion("<think>warm colours</think> <answer>joy</answer>\\n")
    >>> p.ok, p.think, p.answer
    (True, 'warm colours', 'joy')
    >>> p.text
    '<think>warm colours</think> <answer>joy</answer>\\n'
    >>> parse_completion("warm colours</think><answer>joy</answer>").ok  # pre-filled <think>
    True
    >>> parse_completion("<think>a</think><answer>joy</answer> sure!").reason
    'text after </answer>'
    >>> parse_completion("<think>a</think><answer>joy</answer><answer>fear</answer>").reason
    'more than one <answer> block'
    """
    text = completion if type(completion) is str else completion_text(completion)
    fast = _parse_canonical(text, allow_prefilled_think)
    if fast is not None:
        return fast
    full = _parse_full(text, allow_prefilled_think)
    return _new_parsed(ParsedCompletion, (*full[:6], text))


def _parse_full(text: str, allow_prefilled_think: bool) -> ParsedCompletion:
    n_to, n_tc = text.count(THINK_OPEN), text.count(THINK_CLOSE)
    n_ao, n_ac = text.count(ANSWER_OPEN), text.count(ANSWER_CLOSE)

    # The answer block, when exactly one exists and is closed after it opens.
    answer = None
    a_open = a_close = -1
    if n_ao == 1 and n_ac == 1:
        a_open = text.find(ANSWER_OPEN)
        a_close = text.find(ANSWER_CLOSE)
        if a_close > a_open:
            answer = text[a_open + len(ANSWER_OPEN) : a_close].strip()
    has_answer = answer is not None and answer != ""
    after_ok = answer is not None and text[a_close + len(ANSWER_CLOSE) :].strip() == ""

    # The think block: one closing tag, at most one opening tag, both before the answer.
    think = None
    prefilled = False
    between_ok = False
    if n_tc == 1 and n_to <= 1:
        t_close = text.find(THINK_CLOSE)
        if n_to == 1:
            t_open = text.find(THINK_OPEN)
            if t_open < t_close:
                think = text[t_open + len(THINK_OPEN) : t_close].strip()
                between_ok = text[:t_open].strip() == ""
        elif allow_prefilled_think:
            think = text[:t_close].strip()
            prefilled = True
            between_ok = True
        if think is not None and answer is not None:
            between_ok = between_ok and a_open > t_close
            between_ok = between_ok and text[t_close + len(THINK_CLOSE) : a_open].strip() == ""
        else:
            between_ok = False
    one_think = think is not None
    checks = (one_think, has_answer, between_ok, after_ok)

    if not text.strip():
        return _fail("empty completion", checks=checks)
    if n_ao > 1 or n_ac > 1:
        return _fail("more than one <answer> block", think, None, prefilled, checks)
    if n_ao == 0 or n_ac == 0:
        return _fail("missing <answer> block", think, None, prefilled, checks)
    if answer is None:
        return _fail("</answer> before <answer>", think, None, prefilled, checks)
    if n_to > 1 or n_tc > 1:
        return _fail("more than one <think> block", None, answer, prefilled, checks)
    if n_tc == 0:
        return _fail("missing <think> block", None, answer, prefilled, checks)
    if n_to == 0 and not allow_prefilled_think:
        return _fail("missing <think>", None, answer, prefilled, checks)
    if think is None:
        return _fail("</think> before <think>", None, answer, prefilled, checks)
    if not between_ok:
        if text.find(THINK_CLOSE) > a_open:
            return _fail(
                "<answer> inside or before the think block", think, answer, prefilled, checks
            )
        return _fail("text outside the think and answer blocks", think, answer, prefilled, checks)
    if not after_ok:
        return _fail("text after </answer>", think, answer, prefilled, checks)
    if not has_answer:
        return _fail("empty answer", think, answer, prefilled, checks)
    return ParsedCompletion(think, answer, True, None, prefilled, checks)
