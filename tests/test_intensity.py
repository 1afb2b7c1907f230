"""Intensity-distance reward and the score parser behind it."""

import json
import math
import pickle
import time
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eemo_rewards.rewards.intensity import (
    IntensityReward,
    intensity_reward,
    parse_scores,
    resolve_scale,
)


def done(answer: str) -> str:
    return f"<think>looking at the image</think><answer>{answer}</answer>"


# -- parse_scores ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Valence: 0.73", {"valence": 0.73}),
        ("0.73", {None: 0.73}),
        (".73", {None: 0.73}),
        ("0,73", {None: 0.73}),
        ("7/9", {None: 7 / 9}),
        ("7 out of 9", {None: 7 / 9}),
        ("73%", {None: 0.73}),
        ("73 %", {None: 0.73}),
        ("valence 0.7, arousal 0.4", {"valence": 0.7, "arousal": 0.4}),
        ("V: 0.7 A: 0.4 D: 0.5", {"valence": 0.7, "arousal": 0.4, "dominance": 0.5}),
        ("val=0.7; aro=0.4; dom=0.5", {"valence": 0.7, "arousal": 0.4, "dominance": 0.5}),
        ("The valence is about 0.7", {"valence": 0.7}),
        ("a valence of 0.6", {"valence": 0.6}),  # lower-case "a" is not arousal
        ("VALENCE:0.61\nAROUSAL:0.2", {"valence": 0.61, "arousal": 0.2}),
        ("-0.1", {None: -0.1}),
        ("valence: 1.3", {"valence": 1.3}),  # parsed; the reward rejects the range
        ("no idea", {}),
        ("", {}),
    ],
)
def test_parse_scores_accepts_documented_formats(answer, expected):
    got = parse_scores(answer)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value)


@pytest.mark.parametrize(
    "answer",
    [
        "between 0.2 and 0.8",
        "0.2-0.8",
        "0.2 - 0.8",
        "0.2 or 0.8",
        "0.2 to 0.8",
        "valence 0.3, valence 0.6",
        "valence: 0.5 (maybe 0.6)",
    ],
)
def test_hedged_answers_are_unparseable_for_that_dimension(answer):
    got = parse_scores(answer)
    assert "valence" not in got and None not in got


def test_hedging_one_dimension_keeps_the_others():
    assert parse_scores("valence 0.2 or 0.8, arousal 0.4") == {"arousal": 0.4}


@pytest.mark.parametrize(
    "answer",
    [
        "approximately 0.8 or lower",
        "valence: 0.8 or higher",
        "0.8 or less",
        "0.8 and above",
        "0.8 at most",
        "0.8 at the least",
        "0.8 max",
        "0.8+",
        "at least 0.8",
        "at most 0.8",
        "more than 0.5",
        "no more than 0.5",
        "up to 0.3",
        "Valence: above 0.6",
        "valence is under 0.4",
        "not 0.8",
        "Valence: > 0.5",
        "valence >=0.5",
        "≤ 0.3",
    ],
)
def test_a_bound_is_not_a_value(answer):
    got = parse_scores(answer)
    assert "valence" not in got and None not in got


@pytest.mark.parametrize(
    "answer",
    [
        "about 0.8",
        "approximately 0.8",
        "roughly 0.8",
        "around 0.8",
        "nearly 0.8",
        "~0.8",
        "0.8 or so",
        "Valence -> 0.8",  # an arrow, not a comparison
        "valence = 0.8",
        "0.8 at the image level",
    ],
)
def test_an_approximation_still_commits_to_its_value(answer):
    assert list(parse_scores(answer).values()) == [pytest.approx(0.8)]


def test_a_bound_voids_only_its_own_dimension():
    assert parse_scores("valence 0.8 or higher, arousal 0.4") == {"arousal": 0.4}
    assert parse_scores("valence 0.8 and arousal below 0.3") == {"valence": 0.8}
    # with the truth at the bound, the hedge scores nothing while the plain value scores 1
    assert intensity_reward.score(done("Valence: 0.8 or lower"), "valence: 0.8") == 0.0
    assert intensity_reward.score(done("Valence: about 0.8"), "valence: 0.8") == 1.0


def test_fractions_and_percentages_follow_the_declared_scale():
    assert parse_scores("7/9", scale="sam9") == {None: 7.0}
    assert parse_scores("4/5", scale="1-5") == {None: 4.0}
    assert parse_scores("50%", scale="sam9") == {None: 5.0}
    assert parse_scores("1/2", scale="0-100") == {None: 50.0}
    assert parse_scores("3/0") == {}  # a zero denominator is not a value


def test_custom_dimensions():
    assert parse_scores("Intensity: 0.4", dimensions=("intensity",)) == {"intensity": 0.4}


def test_parse_scores_survives_adversarial_megabyte_inputs():
    # Not a speed measurement (benchmarks do that): a pattern that backtracks
    # catastrophically would take hours here, a linear scan well under a second.
    cases = [
        ("1-" * 500_000, {}),  # half a million numbers: hedged
        ("1 " * 500_000, {}),
        ("1" + " " * 10**6, {None: 1.0}),
        ("V " * 500_000, {}),
        ("9" * 10**6, {}),  # overflows to infinity: not a value
    ]
    for text, expected in cases:
        start = time.perf_counter()
        assert parse_scores(text) == expected
        assert time.perf_counter() - start < 30.0


def test_resolve_scale():
    assert resolve_scale("0-1") == (0.0, 1.0)
    assert resolve_scale("SAM9") == (1.0, 9.0)
    assert resolve_scale("1 – 7") == (1.0, 7.0)
    for bad in ("likert", "5-1", (1,), "1-x", None):
        with pytest.raises(ValueError, match="scale"):
            resolve_scale(bad)


# -- kernels ---------------------------------------------------------------------------------
def test_linear_kernel_is_one_minus_the_normalised_error():
    assert intensity_reward.score(done("Valence: 0.75"), "valence: 0.5") == pytest.approx(0.75)
    assert intensity_reward.score(done("0.5"), "valence: 0.5") == 1.0
    sam = IntensityReward(scale="sam9")
    assert sam.score(done("Valence: 7"), "valence: 5") == pytest.approx(0.75)


def test_kernel_shapes():
    gaussian = IntensityReward(kernel="gaussian", sigma=0.1)
    laplace = IntensityReward(kernel="laplace", b=0.1)
    e = 0.2
    assert gaussian.score(done("0.7"), "0.5") == pytest.approx(math.exp(-(e**2) / 0.02))
    assert laplace.score(done("0.7"), "0.5") == pytest.approx(math.exp(-e / 0.1))
    # every kernel peaks at the truth and decreases with the error
    for kernel in ("linear", "gaussian", "laplace"):
        reward = IntensityReward(kernel=kernel)
        scores = [reward.score(done(str(x)), "0.5") for x in (0.5, 0.55, 0.7, 0.9)]
        assert scores[0] == 1.0
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)


def test_threshold_kernel_uses_tau_on_the_declared_scale():
    q_insight = IntensityReward(kernel="threshold", scale="1-5")
    assert q_insight.tau == pytest.approx(0.35)
    assert q_insight.score(done("3.3"), "3.6") == 1.0
    assert q_insight.score(done("3.2"), "3.6") == 0.0
    on_unit = IntensityReward(kernel="threshold", tau=0.1)
    assert on_unit.score(done("0.55"), "0.5") == 1.0
    assert on_unit.score(done("0.65"), "0.5") == 0.0


def test_bucket_kernel_uses_eemo_logic_buckets():
    bucket = IntensityReward(kernel="bucket")
    assert bucket.score(done("0.1"), "0.4") == 1.0  # both low
    assert bucket.score(done("0.41"), "0.59") == 1.0  # both moderate
    assert bucket.score(done("0.6"), "0.95") == 1.0  # both high
    assert bucket.score(done("0.4"), "0.41") == 0.0
    sam = IntensityReward(kernel="bucket", scale="sam9")
    assert sam.score(done("8"), "6") == 1.0  # 0.875 and 0.625 on the normalised scale


def test_out_of_range_answers_score_zero_not_clipped():
    for answer in ("1.3", "-0.1", "130%", "10/9"):
        assert intensity_reward.score(done(answer), "1.0") == 0.0
    assert IntensityReward(scale="sam9").score(done("0.9"), "1") == 0.0


# -- multi-dimension and columns --------------------------------------------------------------
def test_multi_dimension_solutions_average_and_missing_scores_zero():
    solution = "valence: 0.8, arousal: 0.4, dominance: 0.5"
    full = intensity_reward.score(done("V: 0.8 A: 0.4 D: 0.5"), solution)
    assert full == 1.0
    missing = intensity_reward.score(done("valence 0.8, arousal 0.4"), solution)
    assert missing == pytest.approx(2 / 3)
    hedged = intensity_reward.score(done("valence 0.8, arousal 0.3 or 0.5, dom 0.5"), solution)
    assert hedged == pytest.approx(2 / 3)


def test_extra_dimensions_in_the_answer_are_ignored():
    assert intensity_reward.score(done("valence 0.8, arousal 0.1"), "valence: 0.8") == 1.0


def test_bare_solution_uses_the_dimension_column():
    reward = intensity_reward
    assert reward.score(done("Arousal: 0.3"), "0.3", dimension="arousal") == 1.0
    assert reward.score(done("Valence: 0.3"), "0.3", dimension="arousal") == 0.0
    assert reward.score(done("0.3"), "0.3", dimension="arousal") == 1.0
    # no dimension column: the single value of the answer is compared
    assert reward.score(done("Valence: 0.3"), "0.3") == 1.0


def test_scale_column_overrides_the_declared_scale():
    assert intensity_reward.score(done("7"), "5", scale="sam9") == pytest.approx(0.75)
    assert intensity_reward.score(done("0.7"), "0.5", scale="0-1") == pytest.approx(0.8)


def test_native_solutions():
    assert intensity_reward.score(done("0.6"), 0.6) == 1.0
    assert intensity_reward.score(done("V 0.6 A 0.2"), {"valence": 0.6, "arousal": 0.2}) == 1.0


def test_require_format():
    malformed = "<answer>0.5</answer>"
    assert intensity_reward.score(malformed, "0.5") == 0.0
    assert IntensityReward(require_format=False).score(malformed, "0.5") == 1.0


@pytest.mark.parametrize(
    "solution", ["joy", None, "valence: 1.7", float("nan"), [0.5], "0.2 or 0.8"]
)
def test_unusable_solution_warns_and_scores_zero(solution):
    with pytest.warns(UserWarning, match="cannot read a score"):
        assert intensity_reward.score(done("0.5"), solution, task="assessment") == 0.0


def test_bad_scale_column_warns_and_scores_zero():
    with pytest.warns(UserWarning, match="bad 'scale' column"):
        assert intensity_reward.score(done("0.5"), "0.5", scale="likert") == 0.0


def test_constructor_validation():
    with pytest.raises(ValueError, match="unknown kernel"):
        IntensityReward(kernel="cosine")
    with pytest.raises(ValueError, match="sigma must be"):
        IntensityReward(kernel="gaussian", sigma=0)
    with pytest.raises(ValueError, match="tau must be"):
        IntensityReward(kernel="threshold", tau=-1)
    with pytest.raises(ValueError, match="unknown scale"):
        IntensityReward(scale="likert")


# -- contracts -------------------------------------------------------------------------------
def test_trl_batch_call_returns_none_for_other_tasks():
    completions = [
        [{"role": "assistant", "content": done("Valence: 0.5")}],
        done("joy"),
        done("Arousal: 0.2"),
    ]
    out = intensity_reward(
        prompts=["p"] * 3,
        completions=completions,
        solution=["valence: 0.5", "joy", "0.2"],
        task=["assessment", "emotion", "assessment"],
        dimension=[None, None, "arousal"],
        scale=["0-1", None, None],
    )
    assert out == [1.0, None, 1.0]
    assert intensity_reward.__name__ == "intensity_reward"


def test_reassigned_dimensions_are_read():
    reward = IntensityReward()
    answer = done("Intensity: 0.4, Valence: 0.9")
    # "intensity" is no label yet
    assert reward.score(answer, "intensity: 0.4", task="assessment") == 0.0
    reward.dimensions = ("intensity", "valence")
    assert reward.score(answer, "intensity: 0.4", task="assessment") == 1.0


def test_pickles_with_its_configuration():
    reward = IntensityReward(kernel="threshold", scale="1-5", name="q_insight")
    clone = pickle.loads(pickle.dumps(reward))
    assert clone.__name__ == "q_insight"
    assert clone.score(done("3.3"), "3.6") == reward.score(done("3.3"), "3.6") == 1.0


REWARDS = [
    IntensityReward(kernel=k) for k in ("linear", "gaussian", "laplace", "threshold", "bucket")
]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.sampled_from(["0.5", "valence: 0.2, arousal: 0.9", "0"]))
def test_never_raises_nan_or_leaves_range_on_arbitrary_answers(answer, solution):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for reward in REWARDS:
            value = reward.score(done(answer), solution)
            assert 0.0 <= value <= 1.0 and not math.isnan(value)
            assert 0.0 <= reward.score(answer, solution) <= 1.0


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-5, max_value=5))
def test_numeric_answers_score_in_range(x):
    for reward in REWARDS:
        value = reward.score(done(repr(x)), "0.5")
        assert 0.0 <= value <= 1.0
        if not 0.0 <= x <= 1.0:
            assert value == 0.0


REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference is absent (CI-only data)")
def test_eemo_bench_sam_scores_round_trip_on_their_own_scale():
    items = json.loads((REFERENCE / "eemo-bench" / "single_annotations.json").read_text())
    sam = IntensityReward(scale="sam9")
    for item in items[:200]:
        v, a, d = item["Valence"][0], item["Arousal"][0], item["Dominance"][0]
        solution = f"valence: {v}, arousal: {a}, dominance: {d}"
        answer = done(f"Valence: {v:.4f}\nArousal: {a:.4f}\nDominance: {d:.4f}")
        assert sam.score(answer, solution) == pytest.approx(1.0, abs=1e-4)
        # the same answer read on the 0–1 scale is out of range (SAM means lie in 1–9)
        if v > 1:
            assert intensity_reward.score(done(f"{v:.4f}"), (v - 1) / 8) == 0.0
