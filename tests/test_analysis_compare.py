"""Scoring a pool with reward designs and the comparison tables."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

from eemo_rewards.analysis import (
    DESIGNS,
    build_designs,
    builtin_questions,
    charts,
    hackability,
    kernel_curves,
    kind_means,
    pairwise_auc,
    perturbation_pool,
    roc_auc,
    score_pool,
    separation,
    summary,
    zero_variance,
)
from eemo_rewards.analysis.designs import PeerReward


@pytest.fixture(scope="module")
def scored() -> pl.DataFrame:
    designs, unavailable = build_designs()
    assert not unavailable, unavailable
    return score_pool(perturbation_pool(builtin_questions(n_images=14)), designs)


def test_roc_auc_matches_pairwise_counting():
    rng = np.random.default_rng(0)
    pos = rng.integers(0, 4, 30).astype(float)  # many ties
    neg = rng.integers(0, 3, 20).astype(float)
    pairs = [(p > n) + 0.5 * (p == n) for p, n in itertools.product(pos, neg)]
    assert pairwise_auc(pos, neg) == pytest.approx(np.mean(pairs))
    assert pairwise_auc([1.0, 1.0], [1.0]) == 0.5
    with pytest.raises(ValueError, match="finite"):
        pairwise_auc([float("nan")], [0.0])
    # scikit-learn's (y_true, y_score) convention gives the same number
    y_true = [1] * len(pos) + [0] * len(neg)
    y_score = np.concatenate([pos, neg])
    assert roc_auc(y_true, y_score) == pytest.approx(np.mean(pairs))
    assert roc_auc([0, 0], [0.1, 0.2]) is None  # one class: undefined, the caller's choice
    assert roc_auc([0, 0], [0.1, 0.2], zero_division=0.5) == 0.5
    with pytest.raises(ValueError, match="one label per score"):
        roc_auc([1, 0], [0.5])
    sklearn = pytest.importorskip("sklearn.metrics", reason="scikit-learn is optional here")
    assert roc_auc(y_true, y_score) == pytest.approx(sklearn.roc_auc_score(y_true, y_score))


def test_every_design_builds_and_scores_within_its_range(scored):
    assert set(scored["design"]) == {d.name for d in DESIGNS}
    assert scored["score"].is_finite().all()
    assert scored["score01"].min() >= 0.0 and scored["score01"].max() <= 1.0


def test_composites_are_normalised_per_task(scored):
    # a perfect answer reaches the top of what its task can earn, whatever the other terms
    exact = scored.filter(
        pl.col("design").is_in(["spec_default", "spec_eemo_logic"])
        & pl.col("variant").is_in(["label", "letter", "word", "labels", "exact"])
    )
    assert exact.height > 0
    assert exact["score01"].min() == pytest.approx(1.0)


def test_project_rewards_separate_correct_from_wrong(scored):
    table = separation(scored)
    ours = table.filter(pl.col("family").is_in(["accuracy", "ranking"]))
    assert ours["auc_correct_vs_wrong"].min() == 1.0
    # format alone cannot tell a right answer from a wrong one
    fmt = table.filter(pl.col("design") == "format")
    assert fmt["auc_correct_vs_wrong"].to_list() == [0.5] * fmt.height


def test_graded_rewards_rank_near_misses_above_wrong_answers(scored):
    table = (
        separation(scored).filter(pl.col("task") == "emotion").select("design", "auc_near_vs_wrong")
    )
    auc = dict(table.rows())
    assert auc["accuracy_binary"] == 0.5  # no partial credit
    assert auc["accuracy_soft"] > 0.9
    intensity = separation(scored).filter(pl.col("design") == "intensity_linear")
    assert intensity["auc_near_vs_wrong"].item() == 1.0


def test_released_kendall_mode_mis_scores_adjacent_swaps(scored):
    means = kind_means(scored, by_variant=True).filter(pl.col("variant") == "last_two_swapped")
    by_design = dict(means.select("design", "mean_score01").rows())
    # one adjacent swap keeps τ over positions at 1/3; alphabetical τ is arbitrary per list
    assert by_design["ranking_hit_kendall"] > by_design["ranking_hit_kendall_released"]


def test_zero_variance_is_exact_for_a_binary_reward():
    # one question: the correct kind scores 1, each of two other kinds 0
    rows = pl.DataFrame(
        {
            "design": "d",
            "task": "t",
            "source": "perturbation",
            "question_id": "q",
            "kind": ["correct", "wrong", "hacked"],
            "score01": [1.0, 0.0, 0.0],
        }
    )
    table = zero_variance(rows, group_sizes=[2, 8], p_correct=[0.3])
    expected = [0.3**g + 0.7**g for g in (2, 8)]
    assert table["zero_variance_share"].to_list() == pytest.approx(expected)


def test_zero_variance_agrees_with_simulated_groups(scored):
    rows = scored.filter((pl.col("design") == "accuracy_binary") & (pl.col("task") == "emotion"))
    exact = zero_variance(rows, group_sizes=[4], p_correct=[0.7])["zero_variance_share"].item()
    rng = np.random.default_rng(1)
    same = []
    for (_,), group in rows.group_by(["question_id"]):
        kinds = group["kind"].to_list()
        scores = group["score01"].to_numpy()
        others = sorted(set(kinds) - {"correct"})
        weights = np.array(
            [
                0.7 / kinds.count("correct")
                if k == "correct"
                else 0.3 / len(others) / kinds.count(k)
                for k in kinds
            ]
        )
        draws = rng.choice(len(kinds), size=(2000, 4), p=weights / weights.sum())
        values = scores[draws]
        same.append(np.mean(values.max(axis=1) == values.min(axis=1)))
    assert exact == pytest.approx(np.mean(same), abs=0.02)


def test_zero_variance_validates_its_grid(scored):
    with pytest.raises(ValueError, match="group sizes"):
        zero_variance(scored, group_sizes=[1])
    with pytest.raises(ValueError, match="p_correct"):
        zero_variance(scored, p_correct=[1.5])


def test_peer_designs_are_hackable_where_ours_are_not(scored):
    table = hackability(scored)
    rate = {(d, t): r for d, t, r in table.select("design", "task", "hack_rate").rows()}
    # a regex full match accepts every duplicated answer block and answer-in-think
    assert rate[("r1v_format", "ranking")] > rate[("format", "ranking")]
    assert rate[("substring_match", "emotion")] > rate[("accuracy_binary", "emotion")]
    assert rate[("regex_yes_no", "yes_no")] > rate[("accuracy_binary", "yes_no")]
    for design in ("intensity_linear", "ranking_hit_kendall", "ranking_ndcg"):
        assert table.filter(pl.col("design") == design)["hack_rate"].max() == 0.0


def test_peer_rules_follow_their_published_formulas():
    sub = PeerReward("substring_match")
    # Visual-RFT: "content" is a substring of "contentment"; an empty answer is in any truth
    assert sub(
        completions=["<think>t</think><answer>content</answer>"],
        solution=["contentment"],
        task=["emotion"],
    ) == [1.0]
    yes_no = PeerReward("regex_yes_no")
    assert yes_no(
        completions=["<think>t</think><answer>I do not know</answer>"],
        solution=["B"],
        options=["{'A': 'Yes.', 'B': 'No.'}"],
        task=["yes_no"],
    ) == [1.0]
    assert yes_no(completions=["x"], task=["emotion"]) == [None]
    fmt = PeerReward("r1v_format")
    assert fmt(completions=[" <think>t</think><answer>a</answer>"]) == [0.0]  # leading space
    with pytest.raises(ValueError, match="unknown peer rule"):
        PeerReward("bleu")


def test_kernel_curves_show_each_kernel_shape():
    designs, _ = build_designs(
        ["intensity_linear", "intensity_threshold", "intensity_bucket", "accuracy_binary"]
    )
    curves = kernel_curves(designs, truth=0.3, predictions=[0.3, 0.35, 0.5, 0.8])
    assert set(curves["design"]) == {"intensity_linear", "intensity_threshold", "intensity_bucket"}
    score = {(d, p): s for d, p, _, s in curves.rows()}
    assert score[("intensity_linear", 0.5)] == pytest.approx(0.8)
    assert score[("intensity_threshold", 0.35)] == 1.0 and score[("intensity_threshold", 0.8)] == 0
    assert score[("intensity_bucket", 0.35)] == 1.0 and score[("intensity_bucket", 0.5)] == 0.0
    with pytest.raises(ValueError, match="0–1 scale"):
        kernel_curves(designs, truth=3.0)


def test_summary_has_one_row_per_design(scored):
    table = summary(separation(scored), zero_variance(scored), hackability(scored))
    assert table["design"].to_list() == sorted(d.name for d in DESIGNS)
    assert table["auc_real"].null_count() == table.height  # no real answers in this pool
    assert table.filter(pl.col("design") == "accuracy_soft")["auc_builtin"].item() == 1.0


def test_build_designs_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown design"):
        build_designs(["accuracy_fuzzy"])


def test_score_pool_validates_its_input(scored):
    with pytest.raises(ValueError, match="no designs"):
        score_pool(perturbation_pool(builtin_questions(n_images=7)), {})
    with pytest.raises(ValueError, match="pool lacks"):
        score_pool(pl.DataFrame({"completion": ["x"]}), build_designs(["format"])[0])


def test_charts_carry_a_design_selection(scored):
    sep = separation(scored)
    specs = [
        charts.auc_heatmap(sep).to_dict(),
        charts.zero_variance_chart(zero_variance(scored)).to_dict(),
        charts.hackability_chart(hackability(scored)).to_dict(),
        charts.kernel_chart(kernel_curves(build_designs(["intensity_linear"])[0])).to_dict(),
    ]
    for spec in specs:
        params = spec.get("params") or spec.get("spec", {}).get("params") or []
        assert any(p["name"] == "design_pick" for p in params), spec.keys()
    with pytest.raises(ValueError, match="no column"):
        charts.auc_heatmap(sep, metric="f1")
    with pytest.raises(ValueError, match="no scores for task"):
        charts.kind_means_chart(kind_means(scored), task="description")
