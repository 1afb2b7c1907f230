"""Time limits per term, the async batch call, and what rewards send to TRL's logs."""

from __future__ import annotations

import asyncio
import pickle
import threading
import time
import warnings

import pytest
from hanging_reward import RELEASE, Hanging
from hypothesis import given, settings
from hypothesis import strategies as st

from eemo_rewards.rewards.composite import CompositeReward
from eemo_rewards.rewards.format import FormatReward
from eemo_rewards.rewards.limits import MAX_STUCK, RewardTimeoutWarning
from eemo_rewards.spec import preset


@pytest.fixture(autouse=True)
def _release_hung_threads():
    RELEASE.clear()
    yield
    RELEASE.set()


DONE = "<think>t</think><answer>{}</answer>"


def test_a_hanging_term_scores_its_floor_and_the_others_still_count():
    composite = CompositeReward([FormatReward(), Hanging(timeout=0.2)], [1.0, 1.0])
    completions = [DONE.format("joy"), DONE.format("hang"), DONE.format("fear")]
    start = time.perf_counter()
    with pytest.warns(RewardTimeoutWarning, match="hanging ran past its time limit of 0.2 s"):
        scores = composite(completions=completions, solution=["joy"] * 3)
    assert time.perf_counter() - start < 2.0
    # the completion before the hang kept the term's score; the hung one and the rest
    # scored the term's floor (0) and still got the format term
    assert scores == [2.0, 1.0, 1.0]
    assert composite.rewards[1].timeouts == 1
    # one completion through score(): the same limit (the 2nd trip: counted, not warned)
    assert composite.score(DONE.format("hang"), "joy") == 1.0
    assert composite.rewards[1].timeouts == 2
    assert composite.score(DONE.format("joy"), "joy") == 2.0


def test_parked_workers_are_bounded_and_the_warning_is_counted():
    term = Hanging(timeout=0.05)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(12):
            assert term.score(DONE.format("hang")) == 0.0
    assert term.timeouts == 12
    # warned at the 1st and 10th time only
    assert len([w for w in caught if issubclass(w.category, RewardTimeoutWarning)]) == 2
    parked = [t for t in threading.enumerate() if t.name == "eemo-limit-hanging"]
    assert len(parked) <= MAX_STUCK
    RELEASE.set()  # the parked workers finish and are no longer counted
    for thread in parked:
        thread.join(5)
    assert term.score(DONE.format("joy")) == 1.0


def test_timeout_is_checked():
    with pytest.raises(ValueError, match="timeout must be positive"):
        FormatReward(timeout=0)
    with pytest.raises(ValueError, match="positive number of seconds"):
        FormatReward(timeout="5")


COMPLETIONS = st.sampled_from(
    [
        DONE.format("joy"),
        DONE.format("fear"),
        DONE.format("joy or fear"),
        DONE.format("yes"),
        DONE.format("B"),
        DONE.format("valence: 0.4"),
        DONE.format("first"),
        "joy",
        "<think>x</think>",
        "",
    ]
)
TASKS = {
    "emotion": "joy",
    "yes_no": "yes",
    "multiple_choice": "B",
    "assessment": "valence: 0.5",
    "comparison": "first",
}


@settings(max_examples=12, deadline=None)
@given(st.lists(st.tuples(COMPLETIONS, st.sampled_from(sorted(TASKS))), min_size=1, max_size=12))
def test_a_generous_limit_changes_no_score_and_logs_match_the_scores(rows):
    completions = [c for c, _ in rows]
    batch = {
        "completions": completions,
        "task": [t for _, t in rows],
        "solution": [TASKS[t] for _, t in rows],
        "options": [["calm", "joy"] if t == "multiple_choice" else None for _, t in rows],
    }
    plain = preset("default").composite()
    limited_spec = preset("default")
    for term in limited_spec.terms:
        term.params["timeout"] = 30.0
    limited = limited_spec.composite()
    metrics: dict[str, list[float]] = {}
    extra: dict[str, list] = {}
    scores = limited(
        **batch,
        log_metric=lambda k, v: metrics.setdefault(k, []).append(v),
        log_extra=lambda k, v: extra.setdefault(k, []).extend(v),
    )
    assert scores == plain(**batch)
    # per-task means are the means of the returned scores
    for task in set(batch["task"]):
        values = [s for s, t in zip(scores, batch["task"], strict=True) if t == task]
        assert metrics[f"eemo_reward/task/{task}/mean"] == [
            pytest.approx(sum(values) / len(values))
        ]
    # each term's mean is the mean of its own scores
    for term in plain.rewards:
        own = [
            plain.score_with_components(c, s, task=t, options=o)[1][term.__name__]
            for c, s, t, o in zip(
                completions, batch["solution"], batch["task"], batch["options"], strict=True
            )
        ]
        own = [v for v in own if v is not None]
        if own:
            assert metrics[f"eemo_reward/{term.__name__}/mean"] == [
                pytest.approx(sum(own) / len(own))
            ]
    reasons = extra["eemo_reward/zero_reason"]
    assert len(reasons) == len(scores)
    for score, reason, completion in zip(scores, reasons, completions, strict=True):
        assert (reason is None) == (score > plain.low)
        if reason is not None and not completion.startswith("<think>t</think><answer>"):
            assert reason.startswith("malformed")
    total = sum(metrics[f"eemo_reward/zero/{r}"][0] for r in ("malformed", "uncommitted", "wrong"))
    assert total == pytest.approx(sum(r is not None for r in reasons) / len(scores))


def test_commitment_and_zero_reasons_name_what_was_read():
    metrics: dict[str, float] = {}
    extra: dict[str, list] = {}
    reward = preset("default").composite()
    reward(
        completions=[DONE.format("joy"), DONE.format("joy or fear"), DONE.format("fear"), "joy"],
        task=["emotion"] * 4,
        solution=["joy"] * 4,
        log_metric=metrics.__setitem__,
        log_extra=extra.__setitem__,
    )
    assert metrics["eemo_reward/commit_rate"] == 0.5  # "joy", "fear"
    reasons = extra["eemo_reward/zero_reason"]
    assert reasons[0] is None
    # the default spec pays format: only the malformed answer scores the floor
    assert reasons[3].startswith("malformed")
    format_only = CompositeReward([FormatReward(name="f", tasks=["yes_no"])])
    format_only(completions=["x"], task=["emotion"], log_metric=metrics.__setitem__)
    assert "f/task/emotion/mean" not in metrics  # no term applies: nothing to average


def test_the_async_call_is_what_trl_runs_concurrently():
    trl_utils = pytest.importorskip("trl.trainer.utils")
    composite = preset("default").composite()
    concurrent = composite.as_async()
    assert trl_utils.is_async_callable(concurrent)
    assert not trl_utils.is_async_callable(composite)
    batch = {"completions": [DONE.format("joy"), "joy"], "solution": ["joy", "joy"]}

    async def both():
        return await asyncio.gather(concurrent(**batch), composite.acall(**batch))

    assert asyncio.run(both()) == [composite(**batch)] * 2
    assert pickle.loads(pickle.dumps(concurrent)).__name__ == "eemo_reward"


def test_limited_rewards_pickle_after_use():
    term = Hanging(timeout=1.0)
    assert term.score(DONE.format("joy")) == 1.0
    copy = pickle.loads(pickle.dumps(CompositeReward([term])))
    assert copy.score(DONE.format("joy")) == 1.0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(COMPLETIONS, st.sampled_from(sorted(TASKS))), min_size=1, max_size=10))
def test_the_adapters_flags_average_to_the_trainer_metrics(rows):
    """verl and OpenRLHF average per-sample flags; TRL gets batch rates: one reading."""
    from eemo_rewards.rewards.trainer_logs import SAMPLE_FLAGS, batch_metrics, sample_flags

    completions = [c for c, _ in rows]
    tasks = [t for _, t in rows]
    options = [["calm", "joy"] if t == "multiple_choice" else None for t in tasks]
    solutions = [TASKS[t] for t in tasks]
    scores = preset("default").composite()(
        completions=completions, task=tasks, solution=solutions, options=options
    )
    metrics, _ = batch_metrics(
        "r", scores, completions, tasks, options, 0.0, columns={"solution": solutions}
    )
    flags = [
        sample_flags(c, s, 0.0, t, o, solution=sol)
        for c, s, t, o, sol in zip(completions, scores, tasks, options, solutions, strict=True)
    ]
    for key in SAMPLE_FLAGS:
        mean = sum(f[key] for f in flags) / len(flags)
        name = "r/commit_rate" if key == "commits" else f"r/{key}"
        assert metrics[name] == pytest.approx(mean)
    for f in flags:
        assert sum(f[k] for k in SAMPLE_FLAGS[1:]) <= 1.0
        if f["commits"]:
            assert f["zero/malformed"] == f["zero/uncommitted"] == 0.0
