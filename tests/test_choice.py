"""``extract_choice`` and ``normalise_options``: what real models write, and bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eemo_rewards.answers import choose_option, extract_choice, normalise_options, read_yes_no

YES_NO = {"A": "No.", "B": "Yes."}
EMOTIONS = ["Joy", "Fear", "A strong sense of dominance", "Neutral"]


@pytest.mark.parametrize(
    "text",
    [
        "B",
        "(B)",
        "B.",
        "B)",
        "B: Yes.",
        "B:Yes.",
        "Answer: B",
        "The answer is B.",
        "The correct answer is (B).",
        "**B**",
        "**B: Yes.**",
        "I think it's B",
        "Yes.",
        "yes, it does",
        "<think>maybe A</think><answer>B</answer>",
    ],
)
def test_letters_and_yes_words_choose_b(text):
    assert extract_choice(text, YES_NO) == "B"


@pytest.mark.parametrize("text", ["No.", "no", "A: No.", "No, it does not.", "(A)"])
def test_no_words_choose_a(text):
    assert extract_choice(text, YES_NO) == "A"


@pytest.mark.parametrize(
    "text",
    [
        "not sure",
        "I don't know",
        "none of them",
        "nothing",
        "maybe",
        "",
        "   ",
        "Yes or no",
        "yes/no",
        "Yes, no",
        "Yes. No.",
        "No and yes",
        "Yes, although no",
        "No, but in some ways yes.",
        "Yes, I'd say no.",
    ],
)
def test_no_choice_is_none(text):
    assert extract_choice(text, YES_NO) is None


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("Joy", "A"),
        ("fear.", "B"),
        ("A strong sense of dominance", "C"),  # the article "A" is option text here
        ("C: A strong sense of dominance", "C"),
        ("A: Joy", "A"),
        ("A.", "A"),
        ("The answer is A.", "A"),
        ("Option D", "D"),
        ("The emotion shared by both images is D: Neutral. Neither evokes joy or fear.", "D"),
        ("b) fear", "B"),
        ("**Fear**", "B"),
        ("B - Fear", "B"),  # a dash before the option's own text is not a second letter
        ("C – A strong sense of dominance", "C"),
        ("B. (A is wrong)", "B"),
        ("It's joy, not fear", "A"),  # a contrastive commits to its affirmed side
    ],
)
def test_multiple_choice_answers(text, letter):
    assert extract_choice(text, EMOTIONS) == letter


@pytest.mark.parametrize(
    "text",
    [
        "A or B",
        "A and C",
        "B, C",
        "B C",
        "B B B B B B C",
        "B/C",
        "B|C",
        "B-C",
        "B -- C",
        "B+C",
        "B or maybe C",
        "B, or possibly C",
        "B and/or C",
        "B (or perhaps C)",
        "B vs C",
        "I think it is B or maybe C",
        "(B) (C)",
        "The answer is B and C.",
        "So the most accurate options would be A and B.",
        "A strong feeling overall",  # the article, not a letter, and not option C's text
        "I think so",  # the pronoun
        "E",  # not an option
    ],
)
def test_ambiguous_or_unrelated_answers_are_none(text):
    assert extract_choice(text, EMOTIONS) is None


def test_a_concluding_sentence_decides_after_discussing_every_option():
    text = (
        "Let's look at each option.\n\n- A: Joy - present in image 1.\n- B: Fear - absent.\n\n"
        "Therefore, the answer is **B: Fear**."
    )
    assert extract_choice(text, EMOTIONS) == "B"
    undecided = "A: Joy - present in image 1.\nB: Fear - present in image 2."
    assert extract_choice(undecided, EMOTIONS) is None


def test_a_letter_then_prose_is_one_letter():
    assert extract_choice("B. I think so, because A is wrong", EMOTIONS) == "B"
    assert extract_choice("C: A strong sense of dominance, not B", EMOTIONS) == "C"


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Yes, there is no doubt.", "yes"),
        ("no", "no"),
        ("True.", "yes"),
        ("It clearly does, yes.", "yes"),
        ("I don't know", None),
        ("not at all", "no"),
        ("none", None),
        ("yes/no", None),
        ("Yes. No.", None),
        ("Yes, no", None),
        ("Yes, although no", None),
        ("No, but at the same time yes", None),
        ("Yes, although no one looks sad.", "yes"),  # "no" as a determiner
        ("Yes, although not strongly.", "yes"),
        ("maybe yes, maybe no", None),
        ("", None),
        (None, None),
    ],
)
def test_read_yes_no(text, word):
    assert read_yes_no(text) == word


def test_pronoun_i_is_a_letter_only_when_marked():
    nine = [f"option {i}" for i in range(9)]
    assert extract_choice("I.", nine) == "I"
    assert extract_choice("(I)", nine) == "I"
    assert extract_choice("I would say so", nine) is None


@pytest.mark.parametrize(
    "options",
    [
        {"A": "No.", "B": "Yes."},
        "{'A': 'No.', 'B': 'Yes.'}",
        '{"A": "No.", "B": "Yes."}',
        ["No.", "Yes."],
        "['No.', 'Yes.']",
        ("No.", "Yes."),
        {"A": "No.", "B": "Yes.", "C": None},
        {"a": "A. No.", "b": "B. Yes."},
        b"{'A': 'No.', 'B': 'Yes.'}",
    ],
)
def test_every_options_shape_normalises_the_same(options):
    assert normalise_options(options) == {"A": "No.", "B": "Yes."}
    assert extract_choice("B", options) == "B"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (None, "got NoneType"),
        (5, "got int"),
        ("not a literal {", "neither JSON nor a Python literal"),
        ("", "empty string"),
        ("'just a string'", "single string"),
        ({"AB": "x"}, "not a single letter"),
        ({1: "x"}, "not a single letter"),
        (["x"] * 27, "at most 26"),
        ("[" + "'x'," * 40_000 + "]", "characters"),
    ],
)
def test_invalid_options_raise_a_clear_error(options, message):
    with pytest.raises(ValueError, match=message):
        normalise_options(options)
    assert extract_choice("A", options) is None


def test_normalise_options_returns_a_fresh_dict():
    first = normalise_options("{'A': 'No.', 'B': 'Yes.'}")
    first["A"] = "changed"
    assert normalise_options("{'A': 'No.', 'B': 'Yes.'}") == {"A": "No.", "B": "Yes."}


def test_choose_option_takes_normalised_options():
    assert choose_option("(B)", {"A": "No.", "B": "Yes."}) == "B"
    assert choose_option("(B)", {}) is None
    assert choose_option(None, {"A": "x"}) is None


def test_message_list_completions_are_read():
    completion = [{"role": "assistant", "content": "<think>x</think><answer>(B)</answer>"}]
    assert extract_choice(completion, YES_NO) == "B"


_option_texts = st.lists(st.text(max_size=20), min_size=1, max_size=6)
_options = st.one_of(
    _option_texts,
    _option_texts.map(lambda ts: {chr(65 + i): t for i, t in enumerate(ts)}),
    _option_texts.map(lambda ts: repr({chr(65 + i): t for i, t in enumerate(ts)})),
    st.text(max_size=30),
    st.none(),
    st.integers(),
)
_answers = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["A", "(B)", "C: x", "yes", "no", "The answer is D.", "A or B", "**A**"]),
    st.lists(
        st.sampled_from(["A", "B", "yes", "no", ":", "(", ")", "answer", "is", "**", "\n"])
    ).map(" ".join),
)


@settings(max_examples=300, deadline=None)
@given(_answers, _options)
def test_extract_choice_never_raises_and_returns_an_option_key_or_none(text, options):
    letter = extract_choice(text, options)
    if letter is not None:
        assert letter in normalise_options(options)
