"""Ranking reward (emotion rankings and pair comparisons) and the batch Thurstone reward."""

import itertools
import json
import math
import pickle
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eemo_rewards.rewards.ranking import (
    RankingReward,
    ThurstoneReward,
    parse_comparison,
    parse_ranking,
    ranking_reward,
    thurstone_reward,
)

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
EEMO7 = ["joy", "anger", "disgust", "sadness", "surprise", "fear", "neutral"]


def done(answer: str) -> str:
    return f"<think>looking at the image</think><answer>{answer}</answer>"


def rank(answer, solution="joy, fear, sadness", reward=ranking_reward, **columns):
    return reward.score(done(answer), solution, task="ranking", **columns)


# -- parsing ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "answer",
    [
        "Emotion ranking: joy, fear, sadness",
        "joy, fear, sadness",
        "1. joy 2. fear 3. sadness",
        "1) Joy\n2) Fear\n3) Sadness",
        "joy > fear > sadness",
        "joy -> fear -> sadness",
        "Joy\nFear\nSadness",
        "Emotion ranking:\n- joy\n- fear\n- sadness",
        "**Joy** (strongest), then fear and sadness.",
        "Joyful; fear; sad",
    ],
)
def test_ranking_formats_all_read_the_same(answer):
    assert parse_ranking(answer, "eemo_bench7") == ["joy", "fear", "sadness"]
    assert rank(answer) == 1.0


def test_eemo_bench_synonyms_are_folded():
    assert parse_ranking("Neutrality, Joyful, Shock, Pleasure", "eemo_bench7") == [
        "neutral",
        "joy",
        "surprise",
        "joy",
    ]
    # also without a taxonomy (open vocabulary)
    assert parse_ranking("Neutrality, Joyful, Shock", vocabulary=["joy"]) == [
        "neutral",
        "joy",
        "surprise",
    ]
    assert rank("Pleasure, Shock, Neutrality", "Joy, Surprise, Neutral") == 1.0


def test_pieces_without_a_known_emotion_still_count_as_entries():
    assert parse_ranking("joy, contentment, fear", "eemo_bench7") == ["joy", "contentment", "fear"]


# -- scoring and anti-gaming rules -----------------------------------------------------------
def test_scores_by_hand():
    assert rank("joy, fear, sadness") == 1.0
    assert rank("fear, joy, sadness") == pytest.approx((50 + (1 / 3 + 1) * 25) / 100)
    assert rank("joy") == pytest.approx(0.25)
    assert rank("anger, disgust, surprise") == 0.0


def test_released_kendall_mode():
    released = RankingReward(kendall="released")
    # one adjacent swap: τ = 1/3 over positions, −1 with the released alphabetical τ
    assert rank("anger, joy, fear", "joy, anger, fear", reward=released) == pytest.approx(0.5)
    assert rank("anger, joy, fear", "joy, anger, fear") == pytest.approx(50 / 100 + 100 / 300)


def test_ndcg_method():
    ndcg_reward = RankingReward(method="ndcg")
    ideal = 3 + 2 / math.log2(3) + 1 / 2
    assert rank("joy, fear, sadness", reward=ndcg_reward) == 1.0
    assert rank("fear, joy", reward=ndcg_reward) == pytest.approx((2 + 3 / math.log2(3)) / ideal)


@pytest.mark.parametrize("reward", [RankingReward(), RankingReward(method="ndcg")])
def test_gaming_never_beats_an_honest_wrong_ranking(reward):
    honest_wrong = rank("anger, disgust, surprise", reward=reward)
    games = [
        ", ".join(EEMO7),  # every label
        "joy, fear, sadness, anger",  # more than k
        "joy, joy, joy",  # repeating the likely top emotion
        "joy, joyful, fear",  # a duplicate through a synonym
        "joy joy joy",  # repeats inside one piece
        "joy joyful happy",
        "joy fear sadness anger disgust surprise neutral",
        "joy, fear, sadness, awe",  # an extra unknown entry still counts
    ]
    for game in games:
        assert rank(game, reward=reward) <= honest_wrong == 0.0, game


def test_k_controls_the_longest_allowed_list():
    top5 = RankingReward(method="ndcg", k=5)
    assert rank("joy, fear, sadness, anger, disgust", reward=top5) == 1.0
    assert rank("joy, fear, sadness, anger, disgust, surprise", reward=top5) == 0.0


def test_taxonomy_inferred_given_or_from_the_column():
    mikels = "amusement, awe, fear"
    assert rank("amused, awe, scared", mikels) == 1.0  # inferred: mikels8 holds all three
    assert rank("amusement, awe, fear", "amusement, awe, fear", taxonomy="mikels8") == 1.0
    fixed = RankingReward(taxonomy="eemo_bench7")
    assert rank("happiness, fear, sadness", reward=fixed) == 1.0
    # open vocabulary when no taxonomy holds the ground truth
    assert rank("zest, glee, fear", "zest, glee, fear") == 1.0


def test_empty_and_malformed_answers_score_zero():
    assert rank("") == 0.0
    assert rank("I cannot tell") == 0.0
    assert ranking_reward.score("joy, fear, sadness", "joy, fear, sadness", task="ranking") == 0.0
    lenient = RankingReward(require_format=False)
    assert lenient.score("<answer>joy, fear, sadness</answer>", "joy, fear, sadness") == 1.0


@pytest.mark.parametrize("solution", ["", None, "joy, joy", "a, b, c, d", 3])
def test_unusable_ranking_solution_warns_and_scores_zero(solution):
    with pytest.warns(UserWarning, match="solution"):
        assert rank("joy", solution) == 0.0


def test_bad_taxonomy_is_reported():
    with pytest.raises(ValueError, match="unknown taxonomy"):
        RankingReward(taxonomy="klingon")
    with pytest.warns(UserWarning, match="bad 'taxonomy' column"):
        assert rank("joy", taxonomy="klingon") == 0.0


def test_constructor_validation():
    with pytest.raises(ValueError, match="method"):
        RankingReward(method="spearman")
    with pytest.raises(ValueError, match="kendall"):
        RankingReward(kendall="names")
    with pytest.raises(ValueError, match="k must be"):
        RankingReward(k=0)


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference is absent (CI-only data)")
def test_reference_ground_truth_rankings_score_one_against_themselves():
    items = json.loads((REFERENCE / "eemo-bench" / "single_annotations.json").read_text())
    for item in items[:300]:
        names = [name for name, _votes in item["emotion_list"]]
        truth = ", ".join(names)
        assert rank(f"Emotion ranking: {truth}", truth) == 1.0
        assert rank(", ".join(reversed(names)), truth) < 1.0 or len(names) == 1


# -- comparison ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("first", "first"),
        ("The first image", "first"),
        ("Image 1", "first"),
        ("the left one", "first"),
        ("the former", "first"),
        ("Second.", "second"),
        ("image two", "second"),
        ("Picture B", "second"),
        ("the latter", "second"),
        ("About the same", "same"),
        ("neither", "same"),
        ("They are equal", "same"),
        ("no difference", "same"),
        ("first and second", None),
        ("the first, or the same", None),
        ("I don't know", None),
        ("", None),
    ],
)
def test_parse_comparison(answer, expected):
    assert parse_comparison(answer) == expected


def test_comparison_scores():
    def compare(answer, solution):
        return ranking_reward.score(done(answer), solution, task="comparison")

    assert compare("The first image", "first") == 1.0
    assert compare("second", "first") == 0.0
    assert compare("first or second", "first") == 0.0
    assert compare("equal", "same") == 1.0
    with pytest.warns(UserWarning, match="comparison solution"):
        assert compare("first", "joy") == 0.0


def test_trl_batch_call_routes_tasks():
    out = ranking_reward(
        prompts=["p"] * 4,
        completions=[
            done("joy, fear, sadness"),
            [{"role": "assistant", "content": done("second")}],
            done("Valence: 0.5"),
            done("joy"),
        ],
        solution=["joy, fear, sadness", "second", "0.5", "joy"],
        task=["ranking", "comparison", "assessment", "emotion"],
    )
    assert out == [1.0, 1.0, None, None]


def test_pickles():
    reward = RankingReward(method="ndcg", kendall="released", k=4, taxonomy="mikels")
    clone = pickle.loads(pickle.dumps(reward))
    assert (clone.method, clone.kendall, clone.k, clone.taxonomy) == (
        "ndcg",
        "released",
        4,
        "mikels8",
    )
    assert clone.score(done("awe"), "awe, fear", task="ranking") == reward.score(
        done("awe"), "awe, fear", task="ranking"
    )
    assert pickle.loads(pickle.dumps(thurstone_reward)).eps == thurstone_reward.eps


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.sampled_from(["ranking", "comparison"]))
def test_never_raises_nan_or_leaves_range(answer, task):
    solution = "joy, fear, sadness" if task == "ranking" else "first"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for reward in (ranking_reward, RankingReward(method="ndcg", kendall="released")):
            value = reward.score(done(answer), solution, task=task)
            assert 0.0 <= value <= 1.0 and not math.isnan(value)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*EEMO7, "awe", "Joyful"]), max_size=9))
def test_ranking_of_any_labels_stays_in_range(labels):
    value = rank(", ".join(labels))
    assert 0.0 <= value <= 1.0
    if len(labels) > 3:
        assert value == 0.0


@settings(max_examples=300, deadline=None)
@given(
    st.permutations(EEMO7).map(lambda p: p[:3]),
    st.lists(st.sampled_from([*EEMO7, "awe", "contentment", "calm"]), max_size=3, unique=True),
    st.sampled_from([{}, {"method": "ndcg"}, {"kendall": "released"}, {"method": "ndcg", "k": 3}]),
)
def test_the_reward_is_the_metric_of_the_parsed_ranking(truth, pred, params):
    """Scores are computed once per pattern of true positions and cached: they must equal
    the metric applied to the labels themselves."""
    from eemo_rewards.metrics import eemo_bench_ranking_score, ndcg

    reward = RankingReward(**params)
    got = rank(", ".join(pred), ", ".join(truth), reward=reward)
    if not pred:
        assert got == 0.0
    elif params.get("method") == "ndcg":
        assert got == ndcg(truth, pred, k=3)
    else:
        assert got == eemo_bench_ranking_score(
            truth, pred, kendall=params.get("kendall", "positions")
        )


def test_long_adversarial_answer_scores_zero_without_hanging():
    import time

    text = "joy, " * 200_000
    start = time.perf_counter()
    assert rank(text) == 0.0
    # a guard against catastrophic backtracking, not a speed measurement
    assert time.perf_counter() - start < 30.0


# -- Thurstone -------------------------------------------------------------------------------
def _phi(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def test_thurstone_against_a_hand_computed_batch():
    eps = 1e-8
    answers = ["0.6", "0.8", "0.5", "0.3", "0.9"]
    solutions = ["0.7", "0.7", "0.4", "0.4", "0.7"]
    images = ["a", "a", "b", "b", "c"]
    out = ThurstoneReward(eps=eps, variant="visualquality-r1")(
        prompts=["p"] * 5,
        completions=[done(a) for a in answers],
        solution=solutions,
        image_id=images,
        task=["assessment"] * 5,
    )
    # images: a (0.6, 0.8), b (0.5, 0.3), c (0.9); truths a=0.7, b=0.4, c=0.7
    mu = {"a": 0.7, "b": 0.4, "c": 0.9}
    var = {"a": 0.01, "b": 0.01, "c": 0.0}
    truth = {"a": 0.7, "b": 0.4, "c": 0.7}
    expected = []
    for q, image in zip([0.6, 0.8, 0.5, 0.3, 0.9], images, strict=True):
        terms = []
        for other in ("a", "b", "c"):
            if other == image:
                continue
            p = _phi((q - mu[other]) / math.sqrt(var[image] + var[other] + 1e-6))
            gt = 1.0 if truth[image] > truth[other] else 0.0 if truth[image] < truth[other] else 0.5
            terms.append(math.sqrt(p * gt + eps) + math.sqrt((1 - p) * (1 - gt) + eps))
        expected.append(min(1.0, sum(terms) / len(terms)))
    assert out == pytest.approx(expected, abs=1e-12)
    assert all(0.0 <= r <= 1.0 for r in out)
    # the rollout that sides with the truth on the closer call is rewarded more
    assert out[1] > out[0]


def test_thurstone_parse_failures_score_zero_and_are_excluded():
    eps = 1e-8
    reward = ThurstoneReward(eps=eps, variant="visualquality-r1")
    completions = [done("0.8"), done("between 0.2 and 0.9"), "no tags at all 0.1", done("0.2")]
    out = reward(
        completions=completions,
        solution=["0.9", "0.9", "0.9", "0.1"],
        image_id=["a", "a", "a", "b"],
        task=["assessment"] * 4,
    )
    assert out[1] == 0.0 and out[2] == 0.0
    # image a has one valid rollout (0.8): σ_a² = 0, μ_a = 0.8; b: μ_b = 0.2
    p = _phi((0.8 - 0.2) / math.sqrt(1e-6))
    assert out[0] == pytest.approx(min(1.0, math.sqrt(p + eps) + math.sqrt(eps)))
    p_b = _phi((0.2 - 0.8) / math.sqrt(1e-6))
    assert out[3] == pytest.approx(min(1.0, math.sqrt(eps) + math.sqrt(1 - p_b + eps)))


def test_thurstone_single_image_falls_back_to_the_linear_score():
    out = thurstone_reward(
        prompts=["same prompt"] * 3,
        completions=[done("0.5"), done("0.7"), done("1.4")],
        solution=["0.6"] * 3,
        task=["assessment"] * 3,
    )
    assert out == pytest.approx([0.9, 0.9, 0.0])
    assert thurstone_reward.score(done("0.5"), "0.6") == pytest.approx(0.9)


def test_thurstone_groups_by_prompt_without_image_id():
    thurstone_reward = ThurstoneReward(variant="visualquality-r1")
    out = thurstone_reward(
        prompts=["img A", "img A", "img B", "img B"],
        completions=[done(x) for x in ("0.9", "0.8", "0.1", "0.2")],
        solution=["0.9", "0.9", "0.1", "0.1"],
        task=["assessment"] * 4,
    )
    assert all(r == pytest.approx(1.0, abs=1e-3) for r in out)
    swapped = thurstone_reward(
        prompts=["img A", "img A", "img B", "img B"],
        completions=[done(x) for x in ("0.1", "0.2", "0.9", "0.8")],
        solution=["0.9", "0.9", "0.1", "0.1"],
        task=["assessment"] * 4,
    )
    assert all(r < 0.01 for r in swapped)


def test_thurstone_uses_dimension_and_scale_columns_and_skips_other_tasks():
    out = thurstone_reward(
        completions=[done("Arousal: 8"), done("Arousal: 2"), done("joy")],
        solution=["valence: 2, arousal: 8.2", "valence: 0.1, arousal: 0.2", "joy"],
        dimension=["arousal", "arousal", None],
        scale=["sam9", "0-1", None],
        image_id=["a", "b", "c"],
        task=["assessment", "assessment", "emotion"],
    )
    assert out[2] is None
    # a: 8 on 1–9 is 0.875 vs truth 0.9; b: 2 on 0–1 is out of range -> 0, excluded
    assert out[1] == 0.0
    assert out[0] == pytest.approx(1 - abs(0.875 - 0.9))


def test_thurstone_multi_dimension_solution_without_dimension_warns():
    with pytest.warns(UserWarning, match="several dimensions"):
        out = thurstone_reward(
            completions=[done("0.5")],
            solution=["valence: 0.5, arousal: 0.2"],
            task=["assessment"],
        )
    assert out == [0.0]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.floats(-0.5, 1.5), st.text(max_size=12)),
            st.floats(0, 1),
            st.sampled_from("abcd"),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_thurstone_never_raises_or_leaves_range(batch):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = thurstone_reward(
            completions=[done(str(a)) for a, _, _ in batch],
            solution=[f"{s:.3f}" for _, s, _ in batch],
            image_id=[i for _, _, i in batch],
            task=["assessment"] * len(batch),
        )
    assert len(out) == len(batch)
    assert all(0.0 <= r <= 1.0 and not math.isnan(r) for r in out)


def test_every_permutation_of_three_respects_the_range():
    for perm in itertools.permutations(["joy", "fear", "sadness", "anger"], 3):
        assert 0.0 <= rank(", ".join(perm)) <= 1.0
