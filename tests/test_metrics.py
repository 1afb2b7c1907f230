"""Evaluation metrics against scipy / scikit-learn and the EEmo-Bench ranking score by hand."""

import itertools
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eemo_rewards.metrics import (
    accuracy,
    eemo_bench_ranking_score,
    kendall_tau,
    macro_f1,
    ndcg,
    plcc,
    srcc,
)

scipy_stats = pytest.importorskip("scipy.stats", reason="scipy (extra [metrics]) is not installed")

LABELS = ["joy", "anger", "disgust", "sadness", "surprise", "fear", "neutral"]


# -- accuracy / macro-F1 ---------------------------------------------------------------------
def test_accuracy_counts_exact_matches():
    assert accuracy(["a", "b", "c", "d"], ["a", "b", "x", "d"]) == 0.75
    assert accuracy([1], [1]) == 1.0


@pytest.mark.parametrize("seed", range(20))
def test_macro_f1_matches_scikit_learn(seed):
    sk_metrics = pytest.importorskip("sklearn.metrics")
    rng = random.Random(seed)
    n = rng.randint(1, 40)
    y_true = [rng.choice(LABELS[:4]) for _ in range(n)]
    y_pred = [rng.choice(LABELS[1:6]) for _ in range(n)]
    expected = sk_metrics.f1_score(y_true, y_pred, average="macro", zero_division=0)
    assert macro_f1(y_true, y_pred) == pytest.approx(expected)
    expected_fixed = sk_metrics.f1_score(
        y_true, y_pred, labels=LABELS, average="macro", zero_division=0
    )
    assert macro_f1(y_true, y_pred, labels=LABELS) == pytest.approx(expected_fixed)


def test_macro_f1_by_hand():
    # joy: P=1/1, R=1/2 -> 2/3; fear: P=1/2, R=1/1 -> 2/3
    assert macro_f1(["joy", "joy", "fear"], ["joy", "fear", "fear"]) == pytest.approx(2 / 3)
    assert macro_f1(["joy"], ["fear"]) == 0.0


# -- correlations ----------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(20))
def test_srcc_and_plcc_match_scipy(seed):
    rng = random.Random(seed)
    n = rng.randint(3, 60)
    # rounded values produce ties, which Spearman must average like scipy
    x = [round(rng.random(), 1) for _ in range(n)]
    y = [round(v + rng.gauss(0, 0.3), 1) for v in x]
    if len(set(x)) < 2 or len(set(y)) < 2:
        pytest.skip("constant draw")
    assert srcc(x, y) == pytest.approx(scipy_stats.spearmanr(x, y).statistic, abs=1e-12)
    assert plcc(x, y) == pytest.approx(scipy_stats.pearsonr(x, y).statistic, abs=1e-12)
    assert kendall_tau(x, y) == pytest.approx(scipy_stats.kendalltau(x, y).statistic, abs=1e-12)


def test_constant_input_gives_zero_not_nan():
    assert srcc([1, 1, 1], [1, 2, 3]) == 0.0
    assert plcc([1, 2, 3], [5, 5, 5]) == 0.0
    assert kendall_tau([1, 1], [1, 2]) == 0.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: accuracy([1, 2], [1]), "has 2 values and y_pred has 1"),
        (lambda: srcc([], []), "empty"),
        (lambda: plcc([1.0, math.nan], [1.0, 2.0]), r"x\[1\] is nan"),
        (lambda: srcc([1.0, 2.0], [1.0, math.inf]), r"y\[1\] is inf"),
        (lambda: plcc(["a", "b"], [1, 2]), "is not a number"),
        (lambda: accuracy("joy", "joy"), "must be a sequence"),
        (lambda: macro_f1([1], [1], labels=[]), "labels is empty"),
    ],
)
def test_bad_input_says_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# -- ranking metrics -------------------------------------------------------------------------
def test_eemo_bench_score_by_hand():
    truth = ["joy", "fear", "sadness"]
    assert eemo_bench_ranking_score(truth, truth) == 1.0
    # all three found, one adjacent swap: τ = 1/3 -> kendall 33.33; hit 50
    assert eemo_bench_ranking_score(truth, ["fear", "joy", "sadness"]) == pytest.approx(
        (50 + (1 / 3 + 1) * 25) / 100
    )
    # two shared in the right order: hit 25 + 15, kendall (1 + 1) * 25 * 2/3
    assert eemo_bench_ranking_score(truth, ["joy", "fear", "anger"]) == pytest.approx(
        (40 + 50 * 2 / 3) / 100
    )
    # one shared: kendall 0
    assert eemo_bench_ranking_score(truth, ["anger", "sadness"]) == pytest.approx(0.10)
    assert eemo_bench_ranking_score(truth, ["anger", "surprise", "disgust"]) == 0.0
    # fully reversed: τ = -1
    assert eemo_bench_ranking_score(truth, truth[::-1]) == pytest.approx(0.5)


def test_released_tau_differs_from_positions_as_documented():
    truth, pred = ["Joy", "Anger", "Fear"], ["Anger", "Joy", "Fear"]
    assert scipy_stats.kendalltau(truth, pred).statistic == pytest.approx(-1.0)
    assert eemo_bench_ranking_score(truth, pred, kendall="released") == pytest.approx(0.5)
    assert eemo_bench_ranking_score(truth, pred) == pytest.approx((50 + 4 / 3 * 25) / 100)


def _released_reference(truth, pred):
    """The released scorer's arithmetic, with scipy's τ over the names."""
    weights = (25, 15, 10)
    hit = sum(w for w, item in zip(weights, truth, strict=False) if item in pred)
    shared_t = [x for x in truth if x in pred]
    shared_p = [x for x in dict.fromkeys(pred) if x in shared_t]
    if len(shared_t) < 2:
        return hit / 100
    tau = scipy_stats.kendalltau(shared_t, shared_p).statistic
    kendall = (tau + 1) * 25 * (2 / 3 if len(shared_t) == 2 else 1)
    return (hit + kendall) / 100


def test_released_mode_reproduces_scipy_on_every_permutation():
    truth = ["joy", "anger", "fear"]
    pool = ["joy", "anger", "fear", "sadness", "surprise"]
    checked = 0
    for length in (1, 2, 3):
        for pred in itertools.permutations(pool, length):
            got = eemo_bench_ranking_score(truth, list(pred), kendall="released")
            assert got == pytest.approx(_released_reference(truth, list(pred))), pred
            checked += 1
    assert checked == 5 + 20 + 60


def test_positions_tau_is_kendall_over_orders():
    truth = ["a", "b", "c"]
    for pred in itertools.permutations(truth):
        positions = [pred.index(x) for x in truth]
        tau = scipy_stats.kendalltau([0, 1, 2], positions).statistic
        assert eemo_bench_ranking_score(truth, list(pred)) == pytest.approx(
            (50 + (tau + 1) * 25) / 100
        )


def test_eemo_bench_duplicates_in_prediction_earn_nothing_extra():
    truth = ["joy", "fear", "sadness"]
    assert eemo_bench_ranking_score(truth, ["joy", "joy", "joy"]) == pytest.approx(0.25)


def test_eemo_bench_rejects_bad_truth():
    with pytest.raises(ValueError, match="truth has 4 emotions"):
        eemo_bench_ranking_score(["a", "b", "c", "d"], ["a"])
    with pytest.raises(ValueError, match="repeats"):
        eemo_bench_ranking_score(["a", "a"], ["a"])
    with pytest.raises(ValueError, match="empty"):
        eemo_bench_ranking_score([], ["a"])
    with pytest.raises(ValueError, match="kendall must be"):
        eemo_bench_ranking_score(["a"], ["a"], kendall="alphabetical")


def test_ndcg_by_hand():
    truth = ["joy", "fear", "sadness"]
    ideal = 3 + 2 / math.log2(3) + 1 / 2
    assert ndcg(truth, truth) == 1.0
    assert ndcg(truth, ["fear", "joy"]) == pytest.approx((2 + 3 / math.log2(3)) / ideal)
    assert ndcg(truth, ["joy", "joy", "joy"]) == pytest.approx(3 / ideal)
    assert ndcg(truth, ["anger"]) == 0.0
    with pytest.raises(ValueError, match="k must be"):
        ndcg(truth, truth, k=0)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(LABELS), min_size=1, max_size=3, unique=True),
    st.lists(st.sampled_from(LABELS), max_size=8),
    st.sampled_from(["positions", "released"]),
)
def test_ranking_metrics_stay_in_unit_interval(truth, pred, mode):
    score = eemo_bench_ranking_score(truth, pred, kendall=mode)
    assert 0.0 <= score <= 1.0
    assert 0.0 <= ndcg(truth, pred) <= 1.0 + 1e-12


def test_undefined_correlations_are_the_callers_choice():
    import math
    import warnings

    from eemo_rewards.metrics import UndefinedMetricWarning, kendall_tau, plcc, srcc

    constant, varied = [0.5, 0.5, 0.5], [0.1, 0.2, 0.3]
    for metric in (plcc, srcc, kendall_tau):
        assert metric(constant, varied) == 0.0  # the default keeps the old tables
        assert metric(constant, varied, zero_division=None) is None
        assert math.isnan(metric(varied, constant, zero_division=float("nan")))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert metric(constant, varied, zero_division="warn") == 0.0
        assert [w.category for w in caught] == [UndefinedMetricWarning]
        assert metric(varied, varied, zero_division=None) == 1.0  # defined: unaffected
