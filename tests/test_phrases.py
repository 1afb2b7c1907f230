"""The phrase generator: deterministic, every class and task covered, hacks well defined."""

from __future__ import annotations

import pytest

from eemo_rewards.answers.phrases import CLASSES, NOISES, PHRASE_TASKS, generate_cases
from eemo_rewards.tasks import TASKS


def test_same_seed_same_cases_other_seed_other_cases():
    assert generate_cases(seed=5) == generate_cases(seed=5)
    assert [c.text for c in generate_cases(seed=5)] != [c.text for c in generate_cases(seed=6)]


def test_every_task_and_class_is_generated():
    cases = generate_cases(seed=0)
    assert set(PHRASE_TASKS) <= set(TASKS)
    assert {c.task for c in cases} == set(PHRASE_TASKS)
    assert {c.cls for c in cases} == set(CLASSES)
    assert {n for c in cases for n in c.noise} == set(NOISES)


@pytest.mark.parametrize("task", PHRASE_TASKS)
def test_hack_means_the_truth_is_mentioned_and_not_committed(task):
    for case in generate_cases(task, seed=2):
        assert case.cls in CLASSES
        assert case.hack == (case.truth in case.mentions and case.expected != case.truth)
        if case.polarity in ("negated", "hedged", "listed"):
            assert case.expected is None, case
        if case.polarity == "retracted":  # the retracted candidate is never the one committed
            assert case.expected is None or case.expected != case.mentions[0], case
        columns = case.columns()
        assert columns["task"] == task and columns["solution"]


def test_variants_scale_the_count_and_noise_can_be_turned_off():
    assert len(generate_cases("emotion", variants=2)) == 2 * len(
        generate_cases("emotion", variants=1)
    )
    plain = generate_cases("emotion", seed=1, noise=False)
    assert all(not c.noise for c in plain)
    assert all(c.text.isascii() for c in plain if c.cls not in ("lookalike", "invisible"))


def test_bad_arguments_say_what_to_pass():
    with pytest.raises(ValueError, match="knows"):
        generate_cases("essay")
    with pytest.raises(ValueError, match="positive"):
        generate_cases(variants=0)
