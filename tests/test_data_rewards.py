"""The targets the data layer writes are what the project's rewards read: every reference
answer scores the maximum, and a wrong one does not."""

from __future__ import annotations

from pathlib import Path

import pytest

pl = pytest.importorskip("polars")
accuracy = pytest.importorskip("eemo_rewards.rewards.accuracy")
intensity = pytest.importorskip("eemo_rewards.rewards.intensity")
ranking = pytest.importorskip("eemo_rewards.rewards.ranking")

from eemo_rewards.data.builtin import generate_builtin  # noqa: E402
from eemo_rewards.data.qa import generate_qa  # noqa: E402
from eemo_rewards.data.readers import read_eemo_bench_qa  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "eemo-bench"
COLUMNS = ("task", "solution", "options", "dimension", "taxonomy")


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    records = generate_builtin(70, image_size=64, cache_dir=tmp_path_factory.mktemp("b"))
    return generate_qa(records, templates=("eemo", "emovit", "emoprompt"), seed=0)


def _scores(reward, frame, answers):
    completions = [f"<think>x</think><answer>{a}</answer>" for a in answers]
    columns = {c: frame[c].to_list() for c in COLUMNS}
    return reward(prompts=[None] * frame.height, completions=completions, **columns)


@pytest.mark.parametrize(
    ("reward", "tasks"),
    [
        (accuracy.AccuracyReward(), {"yes_no", "multiple_choice", "emotion"}),
        (intensity.IntensityReward(), {"assessment"}),
        (ranking.RankingReward(), {"ranking", "comparison"}),
    ],
)
def test_reference_answers_score_the_maximum_and_shuffled_ones_less(qa, reward, tasks):
    scores = _scores(reward, qa, qa["answer"].to_list())
    scored = [(t, s) for t, s in zip(qa["task"], scores, strict=True) if s is not None]
    assert {t for t, _ in scored} == tasks
    assert all(s == pytest.approx(reward.high) for _, s in scored)
    relevant = qa.filter(pl.col("task").is_in(tasks))
    shuffled = relevant["answer"].shuffle(seed=1).to_list()
    wrong = _scores(reward, relevant, shuffled)
    assert sum(wrong) / len(wrong) < reward.high


@pytest.mark.skipif(not REFERENCE.exists(), reason="needs ../shared/reference/eemo-bench")
def test_eemo_bench_questions_read_in_are_scored_by_the_accuracy_reward():
    qa = read_eemo_bench_qa(REFERENCE)
    scores = _scores(accuracy.AccuracyReward(), qa, qa["answer"].to_list())
    assert all(s == 1.0 for s in scores)
