"""The format reward and the batch/safety contract every reward inherits."""

import pickle
import subprocess
import sys
import warnings

import pytest

from eemo_rewards import FormatReward, RewardFunction, RewardInternalError, format_reward


def test_format_reward_binary():
    completions = [
        "<think>warm</think><answer>joy</answer>",
        "warm</think><answer>joy</answer>",
        "<answer>joy</answer>",
        "<think>warm</think><answer>joy</answer> trailing",
        "",
    ]
    assert format_reward(completions=completions) == [1.0, 1.0, 0.0, 0.0, 0.0]


def test_format_reward_partial_never_reaches_full_credit_when_malformed():
    partial = FormatReward(partial=True)
    assert partial.score("<think>warm</think><answer>joy</answer>") == 1.0
    assert partial.score("<think>warm</think><answer>joy</answer> trailing") == 0.75
    assert partial.score("<think>warm</think><answer></answer>") == 0.75
    assert partial.score("<think>warm</think>") == 0.25
    assert partial.score("nothing") == 0.0
    many = "<think>a</think><answer>x</answer>" * 3
    assert partial.score(many) < 1.0


def test_format_reward_can_require_the_think_tag():
    strict = FormatReward(allow_prefilled_think=False)
    assert strict.score("warm</think><answer>joy</answer>") == 0.0
    assert strict.score("<think>warm</think><answer>joy</answer>") == 1.0


def test_trl_contract_message_lists_and_names():
    completions = [[{"role": "assistant", "content": "<think>w</think><answer>joy</answer>"}]]
    assert format_reward(prompts=["p"], completions=completions, completion_ids=[[1]]) == [1.0]
    assert format_reward.__name__ == "format_reward"
    assert FormatReward(name="fmt").__name__ == "fmt"


def test_rewards_pickle_with_their_parameters():
    reward = pickle.loads(pickle.dumps(FormatReward(partial=True, name="fmt_partial")))
    assert reward.__name__ == "fmt_partial"
    assert reward.score("<think>w</think><answer></answer>") == 0.75


def test_task_routing_returns_none_where_a_reward_does_not_apply():
    reward = FormatReward(tasks=["emotion", "yes_no"])
    out = reward(
        completions=["<think>w</think><answer>joy</answer>"] * 3,
        task=["emotion", "assessment", "Yes-or-No"],
    )
    assert out == [1.0, None, 1.0]


def test_unknown_task_names_are_rejected_at_construction():
    with pytest.raises(ValueError, match="unknown task"):
        FormatReward(tasks=["emotoin"])


def test_unknown_task_in_data_warns_instead_of_silently_scoring():
    reward = FormatReward(tasks=["emotion"], name="fmt_unknown_task")
    with pytest.warns(UserWarning, match="unknown task 'captioning'"):
        assert reward(completions=["x"], task=["captioning"]) == [None]


def test_column_length_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="one value per completion"):
        format_reward(completions=["a", "b"], solution=["joy"])


class _Exploding(RewardFunction):
    default_name = "exploding"

    def _score(self, parsed, solution, **_):
        raise ZeroDivisionError("boom")


class _NaN(RewardFunction):
    default_name = "nan"
    low, high = -1.0, 2.0

    def _score(self, parsed, solution, **_):
        return float(solution)


def test_safety_net_scores_low_and_warns_instead_of_crashing():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _Exploding()(completions=["x", "y"]) == [0.0, 0.0]
    assert any(issubclass(w.category, RewardInternalError) for w in caught)


def test_scores_are_clamped_and_never_nan():
    reward = _NaN()
    assert reward.score("x", "nan") == -1.0
    assert reward.score("x", "5") == 2.0
    assert reward.score("x", "-inf") == -1.0
    assert reward.score("x", "0.5") == 0.5


def test_explain_gives_the_parsed_parts():
    info = format_reward.explain("<think>w</think><answer>joy</answer>!")
    assert info["score"] == 0.0
    assert info["reason"] == "text after </answer>"
    assert info["answer"] == "joy"


def test_import_stays_light():
    code = (
        "import sys, eemo_rewards, eemo_rewards.metrics, eemo_rewards.spec\n"
        "heavy = {'torch','transformers','trl','polars','datasets','marimo','numpy','scipy',"
        "'pandas','peft','altair'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
