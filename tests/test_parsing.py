"""The answer-scheme parser: what is well formed, what is not, and why."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eemo_rewards import completion_text, parse_completion

WELL_FORMED = [
    ("<think>warm light</think><answer>joy</answer>", "warm light", "joy"),
    ("  <think>\nwarm light\n</think>\n\n<answer>\njoy\n</answer>\n  ", "warm light", "joy"),
    ("warm light</think><answer>joy</answer>", "warm light", "joy"),  # pre-filled <think>
    ("<think></think><answer>joy</answer>", "", "joy"),
    (
        "<think>a\nb\nc</think><answer>Emotion ranking:\njoy,\nfear</answer>",
        "a\nb\nc",
        "Emotion ranking:\njoy,\nfear",
    ),  # multi-line answers are fine (EEmo-Logic's regex fails)
]


@pytest.mark.parametrize(("text", "think", "answer"), WELL_FORMED)
def test_well_formed(text, think, answer):
    parsed = parse_completion(text)
    assert parsed.ok, parsed.reason
    assert (parsed.think, parsed.answer) == (think, answer)
    assert parsed.reason is None
    assert all(parsed.checks)


MALFORMED = [
    ("", "empty completion"),
    ("   \n ", "empty completion"),
    ("joy", "missing <answer> block"),
    ("<think>x</think>", "missing <answer> block"),
    ("<answer>joy</answer>", "missing <think> block"),
    ("<think>x</think><answer>joy</answer><answer>fear</answer>", "more than one <answer> block"),
    ("<think>x</think><answer><answer>joy</answer></answer>", "more than one <answer> block"),
    ("<think>x</think><think>y</think><answer>joy</answer>", "more than one <think> block"),
    ("<think><think>x</think></think><answer>joy</answer>", "more than one <think> block"),
    ("<think>x</think><answer>joy</answer> I am sure.", "text after </answer>"),
    ("<think>x</think><answer>  </answer>", "empty answer"),
    ("Sure! <think>x</think><answer>joy</answer>", "text outside the think and answer blocks"),
    ("<think>x</think> so: <answer>joy</answer>", "text outside the think and answer blocks"),
    ("<think>x <answer>joy</answer></think>", "<answer> inside or before the think block"),
    ("<answer>joy</answer><think>x</think>", "<answer> inside or before the think block"),
    ("<think>x</think></answer>joy<answer>", "</answer> before <answer>"),
    ("</think>x<think><answer>joy</answer>", "</think> before <think>"),
]


@pytest.mark.parametrize(("text", "reason"), MALFORMED)
def test_malformed_says_why(text, reason):
    parsed = parse_completion(text)
    assert not parsed.ok
    assert parsed.reason == reason


@pytest.mark.parametrize(
    "text",
    [
        "<think>x</think><ANSWER>joy</ANSWER>",
        "<think>x</think><Answer>joy</Answer>",
        "<think>x</think>< answer >joy</ answer >",
        "<think>x</think>＜answer＞joy＜/answer＞",  # fullwidth brackets
        "<think>x</think><аnswer>joy</аnswer>",  # Cyrillic a
        "<think>x</think><ans\u200bwer>joy</ans\u200bwer>",  # zero-width space
    ],
)
def test_look_alike_tags_are_not_tags(text):
    parsed = parse_completion(text)
    assert not parsed.ok
    assert parsed.answer is None


def test_answer_is_extracted_from_a_malformed_completion_when_unique():
    # lenient evaluation reads it; rewards only score it when the completion is well formed
    parsed = parse_completion("<think>x</think><answer>joy</answer> trailing")
    assert not parsed.ok
    assert parsed.answer == "joy"


def test_prefilled_think_can_be_refused():
    parsed = parse_completion("x</think><answer>joy</answer>", allow_prefilled_think=False)
    assert not parsed.ok
    assert parsed.reason == "missing <think>"
    assert parse_completion("x</think><answer>joy</answer>").prefilled_think


def test_large_adversarial_input_is_parsed_correctly():
    # structure, not timing: the benchmark measures speed
    junk = "<think" * 50_000 + "<answer" * 50_000 + "</" * 100_000
    text = "<think>" + junk + "</think><answer>fear</answer>"
    parsed = parse_completion(text)
    assert parsed.ok and parsed.answer == "fear"
    assert not parse_completion(text + "<answer>").ok


@pytest.mark.parametrize(
    ("completion", "text"),
    [
        ("plain", "plain"),
        (b"bytes \xff", "bytes \ufffd"),
        ([{"role": "assistant", "content": "msg"}], "msg"),
        (
            [{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "image"}]}],
            "a",
        ),
        ({"role": "assistant", "content": "dict"}, "dict"),
        ([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "a"),
        (None, ""),
        (42, ""),
        ([], ""),
        ([{"content": None}], ""),
    ],
)
def test_completion_text_shapes(completion, text):
    assert completion_text(completion) == text


@given(st.text(alphabet=st.sampled_from(list("<>/thinkanswer ab\n")), max_size=300))
def test_parser_never_raises_and_is_consistent(text):
    parsed = parse_completion(text)
    assert parsed.ok == (parsed.reason is None)
    if parsed.ok:
        assert parsed.answer
        assert parsed.think is not None
        assert all(parsed.checks)


_TAGGY = st.lists(
    st.sampled_from(
        ["<think>", "</think>", "<answer>", "</answer>", " ", "\n", "joy", "x", "<", ">", "/"]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=2000)
@given(_TAGGY, st.booleans())
def test_fast_path_agrees_with_the_full_parser(text, allow_prefilled):
    # the canonical fast path must be an exact shortcut: the same result, and taken by every
    # well-formed completion whose only "<" are its tags
    from eemo_rewards.parsing import _parse_canonical, _parse_full

    full = _parse_full(text, allow_prefilled)
    fast = _parse_canonical(text, allow_prefilled)
    if fast is not None:
        assert fast == full
    tags_only = text.count("<") == (3 if full.prefilled_think else 4)
    assert (fast is not None) == (full.ok and tags_only)


def test_a_bracket_inside_the_think_takes_the_full_parser_with_the_same_result():
    parsed = parse_completion("<think>valence < 0.5, so</think><answer>sadness</answer>")
    assert parsed.ok and parsed.think == "valence < 0.5, so" and parsed.answer == "sadness"
