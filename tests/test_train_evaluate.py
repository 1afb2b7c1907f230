"""Evaluation: metrics from hand-checked answers, batched generation with the tiny model."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("transformers")

from eemo_rewards import metrics as M
from eemo_rewards.train._testing import toy_dataset
from eemo_rewards.train.evaluate import (
    evaluate_model,
    generate_completions,
    score_completions,
)
from eemo_rewards.train.models import load_model


def _c(think, answer):
    return f"<think>{think}</think><answer>{answer}</answer>"


ROWS = [
    # perception, single image
    {"task": "yes_no", "solution": "yes", "options": None},
    {"task": "yes_no", "solution": "no", "options": None},
    {"task": "multiple_choice", "solution": "B", "options": ["fear", "joy", "anger", "awe"]},
    # perception, pair (two images)
    {"task": "multiple_choice", "solution": "A", "options": ["joy", "fear"], "images": [1, 2]},
    # dominant emotion
    {"task": "emotion", "solution": "joy", "taxonomy": "eemo_bench7"},
    {"task": "emotion", "solution": "fear", "taxonomy": "eemo_bench7"},
    {"task": "emotion", "solution": "fear", "taxonomy": "eemo_bench7"},
    # ranking
    {"task": "ranking", "solution": "joy, fear, anger", "taxonomy": "eemo_bench7"},
    # assessment
    {"task": "assessment", "solution": "valence: 0.2", "dimension": "valence"},
    {"task": "assessment", "solution": "valence: 0.5", "dimension": "valence"},
    {"task": "assessment", "solution": "valence: 0.9", "dimension": "valence"},
    # comparison
    {"task": "comparison", "solution": "first"},
    {"task": "comparison", "solution": "same"},
    # description: format only
    {"task": "description", "solution": "a warm scene"},
]
ANSWERS = [
    _c("a", "yes"),
    "Yes.",  # malformed and wrong
    _c("a", "B"),
    _c("a", "B"),  # wrong pair answer
    _c("a", "joy"),
    _c("a", "joy"),  # wrong
    _c("a", "fear or joy"),  # names two: no prediction
    _c("a", "joy, anger, fear"),
    _c("a", "valence: 0.1"),
    "no score at all",  # unreadable: counts as 0.5
    _c("a", "valence: 0.8"),
    _c("a", "the first image"),
    _c("a", "second"),
    _c("a", "warm"),
]


def test_metrics_match_hand_computed_values():
    result = score_completions(ROWS, ANSWERS, spec=["format", "accuracy", "ranking"])
    m = result.metrics
    assert m["n"] == len(ROWS)
    assert m["perception_acc"] == pytest.approx(2 / 4)
    assert m["perception_yes_no_acc"] == pytest.approx(1 / 2)
    assert m["perception_what_how_acc"] == pytest.approx(1 / 2)
    assert m["perception_single_acc"] == pytest.approx(2 / 3)
    assert m["perception_pair_acc"] == 0.0
    assert m["emotion_acc"] == pytest.approx(1 / 3)
    labels = ["joy", "anger", "disgust", "sadness", "surprise", "fear", "neutral"]
    expected_f1 = M.macro_f1(["joy", "fear", "fear"], ["joy", "joy", "(none)"], labels=labels)
    assert m["emotion_f1"] == pytest.approx(expected_f1)
    assert m["ranking_score"] == pytest.approx(
        M.eemo_bench_ranking_score(["joy", "fear", "anger"], ["joy", "anger", "fear"])
    )
    assert m["valence_srcc"] == pytest.approx(M.srcc([0.2, 0.5, 0.9], [0.1, 0.5, 0.8]))
    assert m["valence_plcc"] == pytest.approx(M.plcc([0.2, 0.5, 0.9], [0.1, 0.5, 0.8]))
    assert m["valence_coverage"] == pytest.approx(2 / 3)
    assert m["comparison_acc"] == pytest.approx(1 / 2)
    assert m["format_rate"] == pytest.approx(12 / 14)
    assert m["reward/format_reward"] == pytest.approx(12 / 14)
    # the total reward is TRL's weighted sum over the rewards that apply
    first = result.rows[0]
    assert first["reward"] == pytest.approx(first["format_reward"] + first["accuracy_reward"])
    assert first["correct"] == 1.0 and result.rows[-1]["correct"] is None
    assert all(math.isfinite(v) for v in m.values())


def test_scores_need_one_completion_per_row():
    with pytest.raises(ValueError, match="one completion per row"):
        score_completions(ROWS, ANSWERS[:-1])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_model("tiny", cache_dir=tmp_path_factory.mktemp("m"), hidden_size=32, vision_dim=32)


def test_generation_is_batched_deterministic_and_seeded(tiny):
    data = toy_dataset(6)
    tiny.model.train()  # as a trainer leaves it
    greedy = generate_completions(tiny, data, max_new_tokens=6, batch_size=4)
    assert not tiny.model.training, "generation must switch the model to eval mode"
    assert len(greedy) == 6 and all(isinstance(t, str) for t in greedy)
    one_batch = generate_completions(tiny, data, max_new_tokens=6, batch_size=6)
    assert greedy == one_batch
    sampled = generate_completions(tiny, data, sample=True, max_new_tokens=6, seed=3)
    again = generate_completions(tiny, data, sample=True, max_new_tokens=6, seed=3)
    other = generate_completions(tiny, data, sample=True, max_new_tokens=6, seed=4)
    assert sampled == again and sampled != other
    seen = []
    generate_completions(
        tiny,
        data,
        max_new_tokens=2,
        batch_size=4,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(4, 6), (6, 6)]
    with pytest.raises(ValueError, match="positive"):
        generate_completions(tiny, data, max_new_tokens=0)


def test_evaluate_model_records_its_decoding(tiny):
    result = evaluate_model(tiny, toy_dataset(4), spec="format_only", max_new_tokens=4)
    assert result.settings["decoding"] == "greedy" and result.settings["temperature"] == 0.0
    assert len(result.rows) == 4
    assert set(result.metrics) >= {"n", "format_rate", "reward_mean", "perception_acc"}


def test_a_constant_answer_marks_its_correlation_undefined():
    rows = [r for r in ROWS if r["task"] == "assessment"]
    varied = score_completions(rows, [_c("a", f"valence: {v}") for v in (0.1, 0.5, 0.8)])
    assert varied.metrics["valence_constant"] == 0.0 and varied.metrics["valence_srcc"] == 1.0
    constant = score_completions(rows, [_c("a", "valence: 0.5")] * 3)
    assert constant.metrics["valence_srcc"] == 0.0  # shown as 0, as before
    assert constant.metrics["valence_constant"] == 1.0  # and said to be undefined
