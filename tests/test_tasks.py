"""Samples without a ``task`` column: inferred when the solution tells, refused otherwise."""

from __future__ import annotations

import pytest

from eemo_rewards import accuracy_reward, intensity_reward, ranking_reward, thurstone_reward
from eemo_rewards.adapters import easyr1, swift, verl
from eemo_rewards.answers.tasks import TaskInferenceError, infer_task
from eemo_rewards.spec import default_spec

JOY = "<think>warm light, smiling faces</think><answer>joy</answer>"


@pytest.mark.parametrize(
    ("solution", "options", "task"),
    [
        ("joy", None, "emotion"),
        ("Joyful", None, "emotion"),
        ("contentment", None, "emotion"),
        ("joy, fear, sadness", None, "ranking"),
        (["awe", "fear"], None, "ranking"),
        ("valence: 0.73", None, "assessment"),
        ("0.5", None, "assessment"),
        (0.5, None, "assessment"),
        ({"valence": 0.5, "arousal": 0.2}, None, "assessment"),
        ("yes", None, "yes_no"),
        ("No", None, "yes_no"),
        ("B", {"A": "No.", "B": "Yes."}, "yes_no"),
        ("B", None, "multiple_choice"),
        ("C", ["calm", "joy", "fear"], "multiple_choice"),
        ("first", None, "comparison"),
        ("same", None, "comparison"),
        ("a calm lake at dusk", None, None),
        ("joy, joy", None, None),
        ("valence is high", None, None),
        (None, None, None),
        ("", None, None),
    ],
)
def test_infer_task(solution, options, task):
    assert infer_task(solution, options) == task


def test_a_plain_correct_label_scores_as_the_emotion_task_alone():
    composite = default_spec().composite()
    with_task = composite.score(JOY, "joy", task="emotion")
    assert with_task == pytest.approx(1.5)
    assert composite.score(JOY, "joy") == pytest.approx(with_task)
    parts = composite.score_with_components(JOY, "joy")[1]
    assert parts["ranking_reward"] is None and parts["intensity_reward"] is None


def test_through_every_adapter_a_plain_label_scores_as_the_emotion_task():
    assert verl.compute_score("eemodb", JOY, "joy")["score"] == pytest.approx(1.5)
    assert verl.compute_score("eemodb", JOY, "joy")["ranking_reward"] == 0.0
    (out,) = easyr1.compute_score([{"response": JOY, "response_length": 1, "ground_truth": "joy"}])
    assert out["overall"] == pytest.approx(1.5)
    assert swift.EEmoORM()([JOY], solution=["joy"]) == [pytest.approx(1.5)]


def test_the_existing_rewards_without_task_column_score_only_their_tasks():
    assert intensity_reward(completions=[JOY], solution=["joy"]) == [None]
    assert ranking_reward(completions=[JOY], solution=["joy"]) == [None]
    assert accuracy_reward(completions=[JOY], solution=["joy"]) == [1.0]
    assert thurstone_reward(completions=[JOY], solution=["joy"]) == [None]
    vad = "<think>t</think><answer>Valence: 0.7</answer>"
    assert intensity_reward(completions=[vad], solution=["valence: 0.7"]) == [1.0]
    assert accuracy_reward(completions=[vad], solution=["valence: 0.7"]) == [None]


def test_an_ambiguous_sample_is_refused_with_the_column_to_add():
    composite = default_spec().composite()
    with pytest.raises(TaskInferenceError, match="add a 'task' column"):
        composite(completions=[JOY], solution=["a calm lake at dusk"])
    with pytest.raises(TaskInferenceError, match="description"):
        composite.score(JOY, "a calm lake at dusk")
    with pytest.raises(TaskInferenceError, match="add a 'task' column"):
        verl.compute_score("eemodb", JOY, "a calm lake at dusk")
    # a task column settles it
    assert composite.score(JOY, "a calm lake at dusk", task="description") == 0.5


def test_a_refusal_is_a_value_error_naming_the_reward():
    with pytest.raises(ValueError, match="accuracy_reward"):
        accuracy_reward.score(JOY, "a calm lake at dusk")
