"""Accuracy reward: every answer kind, synonyms, never-substring, soft matrices, TRL batches."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eemo_rewards.answers.tasks import TaskInferenceError, infer_task
from eemo_rewards.rewards.accuracy import AccuracyReward, accuracy_reward, soft_reward_matrix
from eemo_rewards.tasks import normalise_task
from eemo_rewards.taxonomy import emotion_similarity, get_taxonomy, normalise_phrase

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
EEMO_LOGIC = REFERENCE / "eemo-logic"
needs_eemo_logic = pytest.mark.skipif(
    not (EEMO_LOGIC / "reward_matrix_1.json").is_file(),
    reason=f"EEmo-Logic reference matrices not found at {EEMO_LOGIC}",
)


def wrap(answer: str) -> str:
    return f"<think>looking at the image</think><answer>{answer}</answer>"


# -- emotion ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("answer", "solution"),
    [
        ("joy", "joy"),
        ("Joy", "joy"),
        ("JOYFUL.", "joy"),
        ("happiness", "joy"),
        ("pleasure", "joy"),
        ("Emotion: joy", "joy"),
        ("The dominant emotion is joy.", "joy"),
        ("content", "contentment"),
        ("contentment", "content"),  # the solution folds too
        ("sad", "sadness"),
        ("Neutrality", "neutral"),
        ("shock", "surprise"),
        ("amused", "amusement"),
        ("scared", "fear"),
    ],
)
def test_emotion_correct_answers_score_one(answer, solution):
    assert accuracy_reward.score(wrap(answer), solution, task="emotion") == 1.0


@pytest.mark.parametrize(
    ("answer", "solution"),
    [
        ("fear", "joy"),
        ("joy or fear", "joy"),
        ("not joy but fear", "joy"),
        ("joy, anger, disgust, sadness, surprise, fear, neutral", "joy"),
        ("joyless", "joy"),
        ("discontent", "contentment"),
        ("enjoy", "joy"),
        ("", "joy"),
        ("I cannot tell", "joy"),
        ("not joy", "joy"),  # negating the label is not naming it
        ("It isn't joy.", "joy"),
        ("Emotion: never joy", "joy"),
        ("no joy here", "joy"),
    ],
)
def test_emotion_wrong_ambiguous_or_substring_answers_score_zero(answer, solution):
    assert accuracy_reward.score(wrap(answer), solution, task="emotion") == 0.0


def test_emotion_taxonomy_from_parameter_then_column_then_solution():
    # "happiness" is EEmo-Bench's joy but Ekman's own label
    assert accuracy_reward.score(wrap("happy"), "happiness", task="emotion") == 1.0
    assert AccuracyReward(taxonomy="ekman6").score(wrap("joy"), "happiness") == 1.0
    mikels = AccuracyReward(taxonomy="mikels8")
    # with Mikels labels "happy" names nothing, so it cannot be correct
    assert mikels.score(wrap("happy"), "contentment", task="emotion") == 0.0
    assert accuracy_reward.score(wrap("content"), "contentment", taxonomy="mikels8") == 1.0


def test_unknown_taxonomy_column_warns_once_and_infers():
    with pytest.warns(UserWarning, match="unknown taxonomy 'nope'"):
        assert accuracy_reward.score(wrap("joy"), "joy", task="emotion", taxonomy="nope") == 1.0


def test_emotion_outside_every_taxonomy_needs_an_exact_match():
    assert accuracy_reward.score(wrap("Nostalgic bliss"), "nostalgic bliss", task="emotion") == 1.0
    assert accuracy_reward.score(wrap("bliss"), "nostalgic bliss", task="emotion") == 0.0


def test_long_emotion_answers_score_zero():
    essay = "The image shows a sunny beach " * 10 + "so joy."
    assert accuracy_reward.score(wrap(essay), "joy", task="emotion") == 0.0
    assert AccuracyReward(max_answer_words=None).score(wrap(essay), "joy", task="emotion") == 1.0


# -- format requirement -------------------------------------------------------------------
def test_require_format_and_the_lenient_mode():
    assert accuracy_reward.score("joy", "joy", task="emotion") == 0.0
    assert accuracy_reward.score("<answer>joy</answer>", "joy", task="emotion") == 0.0
    lenient = AccuracyReward(require_format=False)
    assert lenient.score("<answer>joy</answer> trailing", "joy", task="emotion") == 1.0
    assert lenient.score("Joy.", "joy", task="emotion") == 1.0
    assert lenient.score([{"role": "assistant", "content": "B"}], "B", task="mc") == 1.0


# -- multiple choice and yes/no ----------------------------------------------------------
OPTIONS = "{'A': 'Joy', 'B': 'Neutral', 'C': 'Surprise', 'D': 'Anger'}"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("B", 1.0),
        ("(B)", 1.0),
        ("B: Neutral", 1.0),
        ("Neutral", 1.0),
        ("A", 0.0),
        ("B or C", 0.0),
        ("B C", 0.0),
        ("B B B B B B C", 0.0),
    ],
)
def test_multiple_choice(answer, expected):
    assert accuracy_reward.score(wrap(answer), "B", task="multiple_choice", options=OPTIONS) == (
        expected
    )


def test_multiple_choice_without_options_reads_letters():
    assert accuracy_reward.score(wrap("The answer is C."), "C", task="multiple_choice") == 1.0
    assert accuracy_reward.score(wrap("(c)"), "C", task="multiple_choice") == 1.0
    assert accuracy_reward.score(wrap("A strong guess"), "A", task="multiple_choice") == 0.0


def test_multiple_choice_solution_may_be_the_option_text():
    assert accuracy_reward.score(wrap("B"), "Neutral", task="multiple_choice", options=OPTIONS) == 1


@pytest.mark.parametrize(
    ("answer", "solution", "expected"),
    [
        ("yes", "yes", 1.0),
        ("Yes, clearly.", "yes", 1.0),
        ("No.", "no", 1.0),
        ("no", "yes", 0.0),
        ("not really", "no", 1.0),  # an idiom for no
        ("not really", "yes", 0.0),
        ("I don't know", "no", 0.0),
        ("none", "no", 0.0),
        ("yes or no", "yes", 0.0),
        ("yes/no", "yes", 0.0),
        ("Yes, no", "no", 0.0),
        ("Yes. No.", "yes", 0.0),
    ],
)
def test_yes_no_whole_words(answer, solution, expected):
    assert accuracy_reward.score(wrap(answer), solution, task="yes_no") == expected


@pytest.mark.parametrize("solution", ["B", "yes", "Yes."])
def test_yes_no_with_options_accepts_letter_or_word_solutions(solution):
    options = {"A": "No.", "B": "Yes."}
    for answer in ("B", "B: Yes.", "Yes"):
        assert accuracy_reward.score(wrap(answer), solution, task="yes_no", options=options) == 1
    assert accuracy_reward.score(wrap("A"), solution, task="yes_no", options=options) == 0


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Yes, although no", 0.0),
        ("No, but in some ways yes.", 0.0),
        ("Yes, although no one looks sad.", 1.0),
    ],
)
def test_yes_no_hedge_naming_both_scores_zero(answer, expected):
    assert accuracy_reward.score(wrap(answer), "yes", task="yes_no") == expected
    options = {"A": "No.", "B": "Yes."}
    assert accuracy_reward.score(wrap(answer), "B", task="yes_no", options=options) == expected


@pytest.mark.parametrize("answer", ["B|C", "B-C", "B or maybe C", "B and/or C", "B (or perhaps C)"])
def test_two_joined_letters_score_zero(answer):
    assert accuracy_reward.score(wrap(answer), "B", task="multiple_choice", options=OPTIONS) == 0
    assert accuracy_reward.score(wrap(answer), "B", task="multiple_choice") == 0


def test_a_samples_ground_truth_is_prepared_from_its_content_not_its_identity():
    # GRPO repeats each sample's ground truth once per generation, and the reward prepares
    # it once; what it keeps must follow the options' content, whatever their shape.
    options = ["calm", "joy", "fear"]
    assert accuracy_reward.score(wrap("joy"), "B", task="multiple_choice", options=options) == 1
    options[1] = "awe"  # the same list, edited in place
    assert accuracy_reward.score(wrap("joy"), "B", task="multiple_choice", options=options) == 0
    assert accuracy_reward.score(wrap("awe"), "B", task="multiple_choice", options=options) == 1
    # 1 == True == 1.0 as keys, but they are different option texts
    for texts, expected in (([1, 2], 1.0), ([True, 2], 0.0), ([1.0, 2], 0.0)):
        got = accuracy_reward.score(wrap("1"), "A", task="multiple_choice", options=texts)
        assert got == expected, texts
    # a dict in another order, and options that cannot be hashed, score the same
    shuffled = {"C": "fear", "A": "calm", "B": "joy"}
    assert accuracy_reward.score(wrap("joy"), "B", task="multiple_choice", options=shuffled) == 1
    nested = [["calm"], ["joy"]]  # unhashable entries: read as their text, never cached
    assert accuracy_reward.score(wrap("B"), "B", task="multiple_choice", options=nested) == 1


@pytest.mark.parametrize(
    ("answer", "solution", "options", "expected"),
    [
        ("yes", "yes", None, 1.0),
        ("B", "B", ["No.", "Yes."], 1.0),
        ("Neutral", "B", OPTIONS, 1.0),
        ("C", "C", None, 1.0),
        ("joyful", "joy", None, 1.0),
        ("fear", "joy", None, 0.0),
    ],
)
def test_task_none_infers_the_answer_kind(answer, solution, options, expected):
    assert accuracy_reward.score(wrap(answer), solution, options=options) == expected


# -- soft mode ----------------------------------------------------------------------------
def test_soft_mode_partial_credit_correct_is_one_unparseable_is_zero():
    soft = AccuracyReward(mode="soft", taxonomy="mikels8")
    R = soft_reward_matrix(get_taxonomy("mikels8").labels)
    labels = get_taxonomy("mikels8").labels
    near = soft.score(wrap("awe"), "contentment")
    assert near == pytest.approx(R[labels.index("contentment")][labels.index("awe")])
    assert 0.0 < near < 1.0
    assert soft.score(wrap("content"), "contentment") == 1.0
    assert soft.score(wrap("awe or fear"), "contentment") == 0.0
    assert soft.score(wrap("no idea"), "contentment") == 0.0
    assert soft.score(wrap("fear"), "amusement") < near  # a far miss earns less
    # other answer kinds stay binary in soft mode
    assert soft.score(wrap("A"), "B", task="multiple_choice", options=OPTIONS) == 0.0


def test_soft_mode_with_a_similarity_matrix():
    labels = get_taxonomy("eemo_bench7").labels
    n = len(labels)
    square = [[1.0 if i == j else 0.1 * ((i + j) % 5) for j in range(n)] for i in range(n)]
    keyed = {
        gt: dict(zip(labels, row, strict=True)) for gt, row in zip(labels, square, strict=True)
    }
    a = AccuracyReward(mode="soft", taxonomy="eemo_bench7", similarity=square)
    b = AccuracyReward(mode="soft", taxonomy="eemo_bench7", similarity=keyed)
    R = soft_reward_matrix(labels, similarity=square)
    for gt in ("joy", "fear"):
        for pred in labels:
            expected = R[labels.index(gt)][labels.index(pred)]
            assert a.score(wrap(pred), gt) == pytest.approx(expected)
            assert b.score(wrap(pred), gt) == pytest.approx(expected)


def test_soft_matrix_without_similarity_is_s_to_the_p():
    R = soft_reward_matrix(["joy", "fear", "anger"], p=1)
    for row in R:
        assert max(row) == 1.0 and min(row) == 0.0  # diagonal 1, farthest option 0
    assert soft_reward_matrix(["joy", "fear", "anger"], p=3)[0][2] == pytest.approx(R[0][2] ** 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labels": ["joy"]}, "at least two distinct"),
        ({"labels": ["joy", "Joy"]}, "at least two distinct"),
        ({"labels": "joy, fear"}, "list of emotion words"),
        ({"labels": ["joy", "blorp"]}, r"no VAD norm for \['blorp'\]"),
        ({"labels": ["joy", "fear"], "alpha": 2}, "alpha must lie in"),
        ({"labels": ["joy", "fear"], "k": 0}, "positive exponents"),
        ({"labels": ["joy", "fear"], "p": float("nan")}, "finite number"),
        ({"labels": ["joy", "fear"], "similarity": [[1.0]]}, "2x2 matrix"),
        (
            {"labels": ["joy", "fear"], "similarity": {"joy": {"joy": 1, "fear": 0}}},
            "no row for 'fear'",
        ),
        ({"labels": ["joy", "fear"], "similarity": {"joy": {"joy": 1}}}, "no entry for 'fear'"),
        ({"labels": ["joy", "fear"], "similarity": [[1, float("inf")], [0, 1]]}, "finite"),
        ({"labels": ["joy", "fear"], "similarity": "x"}, "square list"),
    ],
)
def test_soft_matrix_validates_its_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        soft_reward_matrix(**kwargs)


def test_soft_matrix_custom_norms():
    norms = {"calm": (6.0, 2.0, 6.0), "tense": (3.0, 7.0, 4.0)}
    assert soft_reward_matrix(["calm", "tense"], norms=norms) == [[1.0, 0.0], [0.0, 1.0]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "fuzzy"}, "mode must be"),
        ({"taxonomy": "nope"}, "unknown taxonomy"),
        ({"similarity": [[1.0]]}, "similarity needs taxonomy"),
        ({"taxonomy": "ekman6", "similarity": [[1.0]]}, "6x6 matrix"),
        ({"max_answer_words": 0}, "positive int"),
        ({"alpha": -0.1}, "alpha must lie in"),
    ],
)
def test_constructor_validates(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AccuracyReward(**kwargs)


def _reference(name: str) -> dict:
    data = json.loads((EEMO_LOGIC / name).read_text())
    if isinstance(data, list):  # vad_distance.json is a list of one-key dicts
        data = {k: v for part in data for k, v in part.items()}
    return data


def _max_abs_diff(a, b) -> float:
    return max(
        abs(x - y)
        for row_a, row_b in zip(a, b, strict=True)
        for x, y in zip(row_a, row_b, strict=True)
    )


@needs_eemo_logic
def test_vad_similarity_matches_the_released_s_matrices():
    released = _reference("vad_distance.json")
    assert len(released) == 5
    for key, s_matrix in released.items():
        labels = [label.strip() for label in key.split(",")]
        # alpha=1, p=1 and no similarity: R is S itself
        ours = soft_reward_matrix(labels, alpha=1.0, p=1)
        assert _max_abs_diff(ours, s_matrix) < 1e-12, key


@needs_eemo_logic
def test_every_released_reward_matrix_is_reproduced():
    rewards = _reference("reward_matrix_1.json")
    embeddings = _reference("check_embedding.json")
    assert len(rewards) == 5
    for key, r_matrix in rewards.items():
        labels = [label.strip() for label in key.split(",")]
        ours = soft_reward_matrix(labels, 0.6, 2, 3, similarity=embeddings[key])
        assert _max_abs_diff(ours, r_matrix) < 1e-9, key


@needs_eemo_logic
def test_reward_uses_the_released_matrix_for_eemo_bench():
    rewards = _reference("reward_matrix_1.json")
    embeddings = _reference("check_embedding.json")
    key = "fear, joy, anger, sadness, surprise, disgust, neutral"
    order = [x.strip() for x in key.split(",")]
    labels = get_taxonomy("eemo_bench7").labels
    reorder = [[embeddings[key][order.index(a)][order.index(b)] for b in labels] for a in labels]
    soft = AccuracyReward(mode="soft", taxonomy="eemo_bench7", similarity=reorder)
    for i, gt in enumerate(order):
        for j, pred in enumerate(order):
            assert soft.score(wrap(pred), gt) == pytest.approx(rewards[key][i][j], abs=1e-12)


# -- the TRL contract ---------------------------------------------------------------------
def test_trl_batch_returns_none_for_other_tasks():
    out = accuracy_reward(
        prompts=["p"] * 5,
        completions=[
            [{"role": "assistant", "content": wrap("joy")}],
            wrap("B"),
            wrap("yes"),
            wrap("joy, fear, awe"),
            wrap("valence: 0.7"),
        ],
        solution=["joy", "B", "yes", "joy, fear, awe", "valence: 0.73"],
        task=["emotion", "multiple_choice", "yes_no", "ranking", "assessment"],
        options=[None, OPTIONS, None, None, None],
        taxonomy=["eemo_bench7", None, None, None, None],
        trainer_state=None,
    )
    assert out == [1.0, 1.0, 1.0, None, None]
    assert accuracy_reward.__name__ == "accuracy_reward"


def test_pickles_with_its_configuration():
    soft = AccuracyReward(mode="soft", taxonomy="mikels8", name="acc_soft")
    soft.score(wrap("awe"), "contentment")
    clone = pickle.loads(pickle.dumps(soft))
    assert clone.__name__ == "acc_soft"
    assert clone.score(wrap("awe"), "contentment") == soft.score(wrap("awe"), "contentment")
    assert pickle.loads(pickle.dumps(accuracy_reward))(completions=[wrap("joy")], solution=["joy"])


_completions = st.one_of(
    st.text(max_size=300),
    st.text(max_size=80).map(wrap),
    st.sampled_from([None, b"\xff<answer>joy", 3, [{"role": "assistant"}], {"content": None}]),
)
_solutions = st.one_of(
    st.sampled_from(["joy", "B", "yes", "no", "contentment", "", "doubt/confusion"]),
    st.text(max_size=20),
    st.none(),
    st.lists(st.text(max_size=5), max_size=3),
    st.floats(allow_nan=True),
)
_tasks = st.sampled_from([None, "emotion", "yes_no", "multiple_choice", "mc", "Yes-or-No"])
_options = st.one_of(st.none(), st.text(max_size=30), st.lists(st.text(max_size=10), max_size=5))


@settings(max_examples=300, deadline=None)
@given(_completions, _solutions, _tasks, _options, st.sampled_from(["binary", "soft"]))
def test_reward_never_raises_never_nan_and_stays_in_range(
    completion, solution, task, options, mode
):
    reward = AccuracyReward(mode=mode, require_format=False) if mode == "soft" else accuracy_reward
    try:
        value = reward.score(completion, solution, task=task, options=options)
    except TaskInferenceError:  # refused: only a sample whose task cannot be told
        assert normalise_task(task) is None and infer_task(solution, options) is None
        return
    assert isinstance(value, float)
    assert not math.isnan(value)
    assert 0.0 <= value <= 1.0


@needs_eemo_logic
@pytest.mark.parametrize("taxonomy", ["eemo_bench7", "mikels8", "emotic26", "plutchik24"])
def test_released_similarity_reproduces_the_released_rewards(taxonomy):
    rewards = _reference("reward_matrix_1.json")
    labels = get_taxonomy(taxonomy).labels
    key = next(
        k
        for k in rewards
        if sorted(normalise_phrase(x) for x in k.split(","))
        == sorted(normalise_phrase(x) for x in labels)
    )
    order = [normalise_phrase(x) for x in key.split(",")]
    soft = AccuracyReward(mode="soft", taxonomy=taxonomy, similarity="eemo-logic")
    for i, gt in enumerate(order):
        for j, pred in enumerate(order):
            score = soft.score(wrap(get_taxonomy(taxonomy).normalise(pred)), gt)
            assert score == pytest.approx(rewards[key][i][j], abs=1e-12), (gt, pred)


def test_released_similarity_is_available_for_four_taxonomies():
    for name in ("eemo_bench7", "mikels8", "emotic26", "plutchik24"):
        E = emotion_similarity(name)
        labels = get_taxonomy(name).labels
        assert list(E) == list(labels)
        assert all(E[x][x] == 1.0 and min(E[x].values()) >= 0.0 for x in labels)
    with pytest.raises(ValueError, match="no released similarity for taxonomy 'ekman6'"):
        emotion_similarity("ekman6")
    with pytest.raises(ValueError, match="no released similarity"):
        AccuracyReward(mode="soft", taxonomy="ekman6", similarity="eemo-logic")
