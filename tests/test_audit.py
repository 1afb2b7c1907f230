"""The reward audit: each check fails the reward it is meant to catch, on inputs it builds
itself, and the report and the command line say so."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

pytest.importorskip("polars")
pytest.importorskip("altair")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eemo_rewards.audit import __main__ as cli
from eemo_rewards.audit.core import AUDIT_TASKS, audit
from eemo_rewards.audit.target import load_reward

ROOT = Path(__file__).resolve().parents[1]
NAIVE = f"{ROOT / 'examples' / 'naive_substring_reward.py'}:substring_reward"
QUICK = {"n_images": 6, "reference": None, "speed_n": 100}


def _constant(value):
    def constant_reward(completions, **kwargs):
        return [value] * len(completions)

    return constant_reward


def test_the_naive_substring_reward_fails_gaming_on_the_generated_hacks():
    result = audit(NAIVE, tasks=["emotion"], **QUICK)
    gaming = result.checks["gaming"]
    assert gaming.verdict == "fail"
    beaten = set(gaming.worst["hack_class"].to_list())
    # a substring match credits a denied, hedged or listed truth
    assert {"negation-before", "hedge", "list-all-options"} <= beaten
    assert not result.passed


@pytest.mark.parametrize("task", AUDIT_TASKS)
def test_a_reward_that_pays_any_mention_of_the_truth_fails_gaming_on_every_task(task):
    """The class, not the example: whatever the task, a reward that credits the truth's
    mere mention is gamed by the generator's hacks."""

    def mention_reward(completions, solution, **kwargs):
        out = []
        for completion, truth in zip(completions, solution, strict=True):
            answer = str(completion).lower().rpartition("<answer>")[2]
            out.append(float(str(truth).lower() in answer))
        return out

    result = audit(mention_reward, tasks=[task], **QUICK)
    assert result.checks["gaming"].verdict == "fail", result.checks["gaming"].findings


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=st.floats(min_value=-10, max_value=10, allow_nan=False),
    task=st.sampled_from(AUDIT_TASKS[:5]),
)
def test_a_constant_reward_fails_signal_and_separation(value, task):
    result = audit(_constant(value), tasks=[task], **QUICK)
    assert result.checks["signal"].verdict == "fail"
    assert result.checks["separation"].verdict == "fail"
    assert result.checks["totality"].verdict != "fail"  # a constant is total
    assert not result.passed


def _raising_reward(completions, solution, **kwargs):
    """Right on well-formed strings; raises on anything else (None, bytes, messages…)."""
    out = []
    for completion, truth in zip(completions, solution, strict=True):
        answer = completion.split("<answer>")[1].split("</answer>")[0]  # IndexError if absent
        out.append(float(answer.strip().lower() == str(truth).lower()))
    return out


def test_a_raising_reward_fails_totality_and_the_report_names_the_inputs():
    result = audit(_raising_reward, tasks=["emotion"], **QUICK)
    totality = result.checks["totality"]
    assert totality.verdict == "fail"
    cases = set(totality.worst["case"].to_list())
    assert {"None", "NaN", "empty string", "message list"} <= cases
    assert any("raised on" in f or "break it" in f for f in totality.findings)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "0.5"])
def test_a_reward_returning_non_numbers_fails_totality(bad):
    def reward(completions, **kwargs):
        return [bad if "<answer></answer>" in str(c) else 0.0 for c in completions]

    result = audit(reward, tasks=["yes_no"], **QUICK)
    assert result.checks["totality"].verdict == "fail"


def test_a_reward_leaving_its_declared_range_fails_totality():
    class Overshoot:
        __name__ = "overshoot"
        low, high = 0.0, 1.0

        def __call__(self, completions, **kwargs):
            return [2.0 if c is None else 0.5 for c in completions]

    result = audit(Overshoot(), tasks=["emotion"], **QUICK)
    totality = result.checks["totality"]
    assert totality.verdict == "fail"
    assert any("outside its declared range" in p for p in totality.worst["problem"].to_list())


@pytest.mark.slow
def test_the_default_composite_passes_every_check():
    """The project's default reward is fooled by no hack of the phrase generator and passes
    every other check, on the real EEmo-Bench answers too when they are present."""
    result = audit(load_reward("preset:default"), n_images=8, speed_n=500)
    failing = {n: c.findings for n, c in result.checks.items() if c.verdict == "fail"}
    assert not failing, failing
    assert result.checks["gaming"].verdict == "pass"
    assert set(result.tasks) == set(AUDIT_TASKS)


def test_trl_message_only_rewards_are_audited_with_message_lists():
    trl_rewards = pytest.importorskip("trl.rewards")
    result = audit(trl_rewards.think_format_reward, tasks=["emotion"], **QUICK)
    assert result.shape == "messages"
    assert any("message lists" in note for note in result.notes)
    # it reads no answer: no signal, no separation
    assert result.checks["separation"].verdict == "fail"


def test_a_reward_that_scores_none_of_the_tasks_fails_with_a_reason():
    result = audit(lambda completions, **kw: [None] * len(completions), tasks=["yes_no"], **QUICK)
    assert all(c.verdict == "fail" for c in result.checks.values())
    assert "returned None" in result.checks["gaming"].findings[0]


def test_the_report_has_a_verdict_per_check_charts_and_worst_examples(tmp_path):
    result = audit(NAIVE, tasks=["emotion", "yes_no"], **QUICK)
    paths = result.save(tmp_path)
    markdown = paths["markdown"].read_text()
    assert result.summary() in markdown
    for name in ("gaming", "separation", "signal", "totality"):
        assert f"| {name} |" in markdown
    assert "### worst examples" in markdown
    page = paths["html"].read_text()
    assert page.count('data-chart-for="chart-') == 4
    data = json.loads(paths["json"].read_text())
    assert data["verdict"] == "fail" and set(data["checks"]) == {
        "gaming",
        "separation",
        "signal",
        "totality",
    }


def test_the_command_line_exits_non_zero_on_a_failing_reward(tmp_path, capsys):
    code = cli.main([NAIVE, "--task", "emotion", "--images", "6", "--reference", "none",
                     "--out", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[0].startswith("substring_reward: FAIL")
    assert (tmp_path / "audit.html").is_file()


def test_the_command_line_exits_zero_when_nothing_fails(tmp_path, monkeypatch, capsys):
    passing = audit(_constant(0.5), tasks=["emotion"], **QUICK)
    for check in passing.checks.values():
        check.verdict = "pass"
    monkeypatch.setattr(cli, "audit", lambda *a, **k: passing)
    assert cli.main(["preset:default", "--out", "none"]) == 0
    assert ": PASS:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_colon", "MODULE_OR_FILE:FUNCTION"),
        ("missing_file.py:reward", "no reward file"),
        ("eemo_rewards.spec:not_there", "has no 'not_there'"),
        ("preset:nope", "unknown preset"),
    ],
)
def test_the_command_line_explains_a_bad_target(target, message, capsys):
    assert cli.main([target, "--out", "none"]) == 2
    assert message in capsys.readouterr().err


def test_group_size_is_checked():
    with pytest.raises(ValueError, match="group_size"):
        audit(_constant(1.0), group_size=1)
    with pytest.raises(ValueError, match="tasks"):
        audit(_constant(1.0), tasks=["description"])


def test_scores_are_compared_on_the_rewards_own_range():
    """A reward on [-5, 10] and the same reward on [0, 1] get the same verdicts."""

    def scaled(completions, solution, **kwargs):
        return [-5 + 15 * s for s in _binary(completions, solution)]

    def unit(completions, solution, **kwargs):
        return _binary(completions, solution)

    a = audit(scaled, tasks=["yes_no"], **QUICK)
    b = audit(unit, tasks=["yes_no"], **QUICK)
    assert {n: c.verdict for n, c in a.checks.items() if n != "totality"} == {
        n: c.verdict for n, c in b.checks.items() if n != "totality"
    }
    margins_a = a.checks["separation"].tables["separation"]["auc_correct_vs_wrong"].to_list()
    margins_b = b.checks["separation"].tables["separation"]["auc_correct_vs_wrong"].to_list()
    assert all(math.isclose(x, y) for x, y in zip(margins_a, margins_b, strict=True))


def _binary(completions, solution):
    from eemo_rewards.answers import read_yes_no
    from eemo_rewards.parsing import parse_completion

    out = []
    for completion, truth in zip(completions, solution, strict=True):
        parsed = parse_completion(completion)
        out.append(float(parsed.ok and read_yes_no(parsed.answer or "") == truth))
    return out
