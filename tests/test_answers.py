"""The readers of :mod:`eemo_rewards.answers`, one section per class of what real models write.

Each class has cases that commit to an answer (read it), and cases that commit to nothing
or to another option (never read the one they name). Linear time is checked by structure
(megabyte inputs read to the right result), never by timing; ``benchmarks/rewards.py``
measures the scaling.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eemo_rewards.answers import (
    extract_choice,
    fold,
    parse_comparison,
    parse_ranking,
    parse_scores,
    read_label,
    read_yes_no,
)
from eemo_rewards.rewards.intensity import parse_scores as old_parse_scores
from eemo_rewards.rewards.ranking import parse_comparison as old_parse_comparison
from eemo_rewards.rewards.ranking import parse_ranking as old_parse_ranking

EEMO_YES_NO = {"A": "No.", "B": "Yes."}
EEMO_YES_NO_SWAPPED = {"A": "Yes.", "B": "No."}
FOUR = {"A": "calm", "B": "joy", "C": "fear", "D": "anger"}
NINE = dict(zip("ABCDEFGHI", ["calm", "joy", "fear", "anger", "awe", "disgust", "sadness",
                              "surprise", "neutral"], strict=True))  # fmt: skip
OPTION_SETS = [EEMO_YES_NO, EEMO_YES_NO_SWAPPED, FOUR, NINE]
E7 = "eemo_bench7"


def test_public_names_still_import_from_their_old_homes():
    assert old_parse_scores is parse_scores
    assert old_parse_ranking is parse_ranking
    assert old_parse_comparison is parse_comparison


# -- 1. every option letter alike ----------------------------------------------------------
PHRASINGS = [
    "{L}, because the scene is peaceful.",
    "{L} because the colours are warm.",
    "The answer is {L}, since the light is soft.",
    "The answer is {L} because the sky is dark.",
    "{L} is correct.",
    "{L} is the answer.",
    "I choose {L}, as the mood is quiet.",
    "The correct option is {L}, given the faces.",
    "{L}; the people are smiling.",
    "{L} - the composition is open.",
    "{L}.",
    "({L})",
    "**{L}**",
    "Answer: {L}",
    "Option {L}.",
]


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_every_letter_followed_by_a_reason_is_that_letter(data):
    """Property: for every option set (EEmo-Bench's yes/no ones included), every letter and
    every phrasing, the letter is read; "A" and "I" are not treated as article/pronoun."""
    options = data.draw(st.sampled_from(OPTION_SETS))
    letter = data.draw(st.sampled_from(sorted(options)))
    phrasing = data.draw(st.sampled_from(PHRASINGS))
    assert extract_choice(phrasing.format(L=letter), options) == letter


@pytest.mark.parametrize("options", OPTION_SETS, ids=["no-yes", "yes-no", "four", "nine"])
def test_a_and_b_followed_by_the_same_reason_read_alike(options):
    # the bug that taught a policy to avoid A: "A, because …" read as nothing, "B, …" as B
    for letter in ("A", "B"):
        assert extract_choice(f"{letter}, because the scene is peaceful.", options) == letter


@pytest.mark.parametrize(
    "text",
    [
        "A strong feeling overall",
        "I think so",
        "A lovely scene",
        "I am not sure",
        "I, for one, agree",
    ],
)
def test_the_article_and_the_pronoun_in_prose_are_still_not_letters(text):
    assert extract_choice(text, NINE) is None


# -- 2. wrappers ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["\\boxed{B}", "$\\boxed{\\text{B}}$", "{B}", "**B**", "（B）", "Ｂ", "\\textbf{B}", "$B$"],
)
def test_wrapped_letters_are_read(text):
    assert extract_choice(text, FOUR) == "B"


def test_wrappers_fold_for_every_reader():
    assert read_label("\\boxed{joy}", E7) == "joy"
    assert read_label("Ｊｏｙ", E7) == "joy"
    assert read_yes_no("\\boxed{yes}") == "yes"
    assert parse_scores("Valence: \\boxed{0.8}") == {"valence": 0.8}
    assert parse_ranking("\\boxed{joy, fear}", E7) == ["joy", "fear"]
    assert parse_comparison("\\boxed{\\text{first}}") == "first"
    assert fold("\\boxed{\\boxed{B}}") == "B"


def test_two_wrapped_letters_are_two_letters():
    assert extract_choice("\\boxed{B} or \\boxed{C}", FOUR) is None
    assert extract_choice("（Ｂ）（Ｃ）", FOUR) is None


# -- 3. negation and retraction ------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Not B", None),
        ("B is ruled out, so C", "C"),
        ("B? No, C.", "C"),
        ("B. Actually C.", "C"),
        ("B, or rather C", "C"),
        ("B; on second thought, C.", "C"),
        ("It isn't B, it's C.", "C"),
        ("B is wrong.", None),
        ("Anything but B", None),
        ("B, if not C", None),
        ("B (C is also plausible)", None),
        ("B. Maybe C.", None),
        ("B, though C could also fit.", None),
        ("Option B is incorrect. Therefore, the answer is C.", "C"),
        ("B. (A is wrong)", "B"),  # a denied other letter leaves the chosen one
    ],
)
def test_denied_retracted_and_hedged_letters(text, expected):
    assert extract_choice(text, FOUR) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Anything but joy",
        "Free of joy",
        "joy-free",
        "Zero joy",
        "not joy",
        "It isn't joy.",
        "no joy at all",
        "without joy",
        "devoid of joy",
        "far from joyful",
        "rather than joy",
        "joy, if not fear",
        "joy (fear is also plausible)",
        "Joy. Scratch that.",
    ],
)
def test_denied_or_hedged_labels_are_no_label(text):
    assert read_label(text, E7) is None


def test_a_retraction_commits_to_what_replaces_it():
    # one rule for every reader: the retracted mention is no evidence, its replacement is
    assert read_label("Joy. Actually, fear.", E7) == "fear"
    assert read_yes_no("Yes. On reflection, no.") == "no"
    assert extract_choice("B. Actually, C.", FOUR) == "C"


def test_denied_option_texts_choose_nothing():
    assert extract_choice("not fear", FOUR) is None
    assert extract_choice("anything but joy", FOUR) is None
    assert extract_choice("fear", FOUR) == "C"


# -- 4. yes/no idioms ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Absolutely not.", "no"),
        ("Of course not.", "no"),
        ("Nope.", "no"),
        ("Nah, it doesn't.", "no"),
        ("Certainly not!", "no"),
        ("I think not.", "no"),
        ("By no means.", "no"),
        ("Yeah.", "yes"),
        ("Yep, it does.", "yes"),
        ("No doubt, yes.", "yes"),
        ("Absolutely.", "yes"),
        ("Of course!", "yes"),
        ("Sure, it does.", "yes"),
        ("Yes, there is no fear in it.", "yes"),  # "no" as a determiner
        ("Yes. On reflection, no.", "no"),  # the retraction's replacement
        ("Yes? No.", "no"),  # "X? No." denies X, and "No" answers
        ("Yeah, nope.", None),
        ("not yes", None),
        ("No doubt.", None),
        ("That isn't true.", None),
    ],
)
def test_yes_no_idioms(text, word):
    assert read_yes_no(text) == word


@pytest.mark.parametrize("options", [EEMO_YES_NO, EEMO_YES_NO_SWAPPED])
def test_yes_no_idioms_choose_eemo_bench_options(options):
    no = next(k for k, v in options.items() if v == "No.")
    yes = next(k for k, v in options.items() if v == "Yes.")
    assert extract_choice("Absolutely not.", options) == no
    assert extract_choice("Nope.", options) == no
    assert extract_choice("Yeah.", options) == yes
    assert extract_choice("No doubt, yes.", options) == yes
    assert extract_choice("Yes. On reflection, no.", options) == no
    assert extract_choice("Yes and no.", options) is None


# -- 5. rankings as people write them ------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Top 3: joy, fear, sadness", ["joy", "fear", "sadness"]),
        ("joy: 0.6, fear: 0.3, sadness: 0.1", ["joy", "fear", "sadness"]),
        ("sadness 10%, joy 60%, fear 30%", ["joy", "fear", "sadness"]),
        ("1. Joy (happiness)\n2. Fear (dread)\n3. Sadness", ["joy", "fear", "sadness"]),
        ("From strongest to weakest, joy, fear, sadness", ["joy", "fear", "sadness"]),
        ("From weakest to strongest: sadness, fear, joy", ["joy", "fear", "sadness"]),
        ("In ascending order: sadness, fear, joy", ["joy", "fear", "sadness"]),
        ("Ranking (strongest first): joy > fear > sadness", ["joy", "fear", "sadness"]),
        ("Neither joy, fear nor sadness", []),
        ("not joy, fear or sadness", []),
        ("joy: 0.5, fear: 0.5, sadness: 0.1", []),  # a tie commits to no order
        ("joy 1, fear 2, sadness 3", []),  # ranks or scores: either order could be meant
    ],
)
def test_rankings_as_people_write_them(text, expected):
    assert parse_ranking(text, E7) == expected


# -- 6. comparisons as sentences -----------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The first image evokes more fear than the second.", "first"),
        ("Image 2 is more intense than image 1.", "second"),
        ("The second picture is brighter compared to the first one.", "second"),
        ("Figure 1 is scarier than figure 2.", "first"),
        ("The right image.", "second"),
        ("On the left.", "first"),
        ("Not the first, but the second.", "second"),
        ("That is the right answer.", None),
        ("Not the first", None),
        ("not image 1", None),
        ("The first image evokes less fear than the second.", None),
        ("At first glance, the second.", "second"),
        ("The first image is calm, while the second is tense.", None),
    ],
)
def test_comparisons_as_sentences(text, expected):
    assert parse_comparison(text) == expected


# -- 7. scores with their scale beside them; bounds are not values -------------------------
@pytest.mark.parametrize(
    ("text", "scale", "expected"),
    [
        ("Valence (0–1): 0.8", "0-1", {"valence": 0.8}),
        ("Valence: 0.8 on a scale of 0 to 1", "0-1", {"valence": 0.8}),
        ("Valence: 7 (out of 9)", "sam9", {"valence": 7.0}),
        ("Valence: 7 (out of 9)", "0-1", {"valence": 7 / 9}),
        ("Valence: 7 (1-9)", "0-1", {"valence": 0.75}),
        ("On a 1-9 scale, valence is 7", "0-1", {"valence": 0.75}),
        ("V/A/D: 0.8/0.3/0.5", "0-1", {"valence": 0.8, "arousal": 0.3, "dominance": 0.5}),
        ("(valence, arousal) = (0.8, 0.3)", "0-1", {"valence": 0.8, "arousal": 0.3}),
        (
            "1. Valence: 0.8\n2. Arousal: 0.3\n3. Dominance: 0.5",
            "0-1",
            {"valence": 0.8, "arousal": 0.3, "dominance": 0.5},
        ),
        ("1) valence 0.8 2) arousal 0.3", "0-1", {"valence": 0.8, "arousal": 0.3}),
        ("Valence (0.2–0.8)", "0-1", {}),  # not a common scale: a hedged range
        ("Valence (0-1): 8", "0-1", {}),  # outside the scale the answer stated
    ],
)
def test_scores_with_their_scale_beside_them(text, scale, expected):
    assert parse_scores(text, scale=scale) == pytest.approx(expected)


@pytest.mark.parametrize(
    "bound",
    [
        "a minimum of 0.8",
        "north of 0.8",
        "south of 0.8",
        "in excess of 0.8",
        "upwards of 0.8",
        "0.8, or even higher",
        "0.8 or possibly lower",
        "0.8↑",
        "0.8↓",
        "≲ 0.8",
        "≳ 0.8",
        "at least 0.8",
        "0.8 at most",
        "no less than 0.8",
    ],
)
def test_bounds_are_not_values(bound):
    assert parse_scores(f"Valence: {bound}") == {}


def test_approximations_still_commit_to_a_value():
    assert parse_scores("Valence: about 0.8") == {"valence": 0.8}
    assert parse_scores("Valence: 0.8 or so") == {"valence": 0.8}


# -- 8. prose restating exactly one option -------------------------------------------------
PAIR = {"A": "The second picture.", "B": "The first picture."}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The first image evokes a more negative emotional response than the second.", "B"),
        ("The first image evokes a more negative emotional response.", "B"),
        ("Image 2 is more intense.", "A"),
        ("Figure 2 is brighter than figure 1.", "A"),
        ("The first photo, which shows a storm, is scarier.", "B"),
        ("The first image is calm and the second image is tense.", None),
        ("Not the first image.", None),
    ],
)
def test_prose_restating_one_option(text, expected):
    assert extract_choice(text, PAIR) == expected


def test_restating_a_joint_option():
    options = {"A": "Figure 1", "B": "Figure 2", "C": "Figure 1 and Figure 2"}
    assert extract_choice("Both figure 1 and figure 2 evoke joy.", options) == "C"


# -- 11. linear time: megabyte inputs read to the right result -----------------------------
MB = 1_000_000


def test_megabyte_inputs_read_to_the_right_result():
    assert extract_choice(("x B. " * (MB // 5))[:MB], FOUR) == "B"
    assert extract_choice(("answer is B. " * (MB // 13))[:MB], FOUR) == "B"
    assert extract_choice("A or " * (MB // 5), FOUR) is None
    assert read_yes_no("yes " * (MB // 4)) == "yes"
    assert read_yes_no("yes no " * (MB // 7)) is None
    assert parse_scores("valence 0.5 " * (MB // 12)) == {}  # repeated: a hedge
    assert parse_ranking("joy, " * (MB // 5), E7)[:2] == ["joy", "joy"]
    assert parse_comparison("first " * (MB // 6)) == "first"
    assert read_label("joy " * (MB // 4), E7) == "joy"
