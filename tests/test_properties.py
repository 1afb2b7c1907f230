"""Properties every reward keeps on arbitrary input (hypothesis).

For every registered reward under several parameter settings, and for composites: scoring
never raises, never gives NaN, always stays in ``[low, high]``, and the
:class:`RewardInternalError` safety net never fires (pytest turns that warning into an
error, so a scorer that only survives thanks to the net fails here). The same holds for the
TRL batch call and for the adapters.

Parsing is linear: checked by structure (megabyte inputs parse to the right parts), never by
timing.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eemo_rewards.adapters import easyr1, swift, verl
from eemo_rewards.answers.tasks import TaskInferenceError, infer_task
from eemo_rewards.parsing import parse_completion
from eemo_rewards.spec import RewardSpec, RewardTerm, preset
from eemo_rewards.tasks import TASKS, normalise_task

REWARD_SETTINGS = [
    ("format", {}),
    ("format", {"partial": True}),
    ("format", {"allow_prefilled_think": False}),
    ("accuracy", {}),
    ("accuracy", {"mode": "soft"}),
    ("accuracy", {"mode": "soft", "taxonomy": "mikels8"}),
    ("accuracy", {"require_format": False}),
    ("accuracy", {"max_answer_words": None, "require_format": False, "mode": "soft"}),
    ("intensity", {}),
    ("intensity", {"kernel": "gaussian", "sigma": 0.05}),
    ("intensity", {"kernel": "laplace"}),
    ("intensity", {"kernel": "threshold", "scale": "1-9"}),
    ("intensity", {"kernel": "bucket", "require_format": False}),
    ("ranking", {}),
    ("ranking", {"method": "ndcg"}),
    ("ranking", {"kendall": "released", "require_format": False}),
    ("ranking", {"k": 5}),
    ("thurstone", {}),
    ("thurstone", {"require_format": False, "scale": "1-9"}),
    ("consistency", {}),
    ("consistency", {"require_cues": False, "require_format": False}),
    ("votes", {}),
    ("votes", {"mode": "topk", "k": 2, "require_format": False}),
    ("votes", {"taxonomy": "mikels8"}),
]


def _reward(name, params):
    return RewardTerm(name, params=params).build()


def _composites():
    return [
        preset("default").composite(),
        preset("eemo_logic").composite(),
        preset("soft").composite(fallback=-0.5),
        RewardSpec(
            [
                RewardTerm("format", 0.2, {"partial": True}),
                RewardTerm("accuracy", 1.0, {"mode": "soft", "require_format": False}),
                RewardTerm("intensity", 1.0, {"kernel": "gaussian"}),
                RewardTerm("ranking", 0.5, {"method": "ndcg"}),
                RewardTerm("thurstone", 0.5),
            ],
            aggregation="mean",
        ).composite(),
    ]


REWARDS = [_reward(n, p) for n, p in REWARD_SETTINGS] + _composites()
IDS = [f"{n}{p}" for n, p in REWARD_SETTINGS] + [
    "default",
    "eemo_logic",
    "soft-fallback",
    "mean-mix",
]

# -- strategies ----------------------------------------------------------------------------
FRAGMENTS = [
    "<think>",
    "</think>",
    "<answer>",
    "</answer>",
    "<ANSWER>",
    "＜answer＞",
    "<аnswer>",  # Cyrillic a
    "<ans\u200bwer>",
    "<answer",
    "answer>",
    "joy",
    "fear",
    "Joyful",
    "A",
    "B",
    "(C)",
    "yes",
    "no",
    "not",
    "first",
    "second",
    "same",
    "valence: 0.7",
    "Arousal 7",
    "0.5",
    "-3",
    "1e308",
    "nan",
    "inf",
    "Emotion ranking:",
    ",",
    " ",
    "\n",
    "\x00",
    "\ud800",
    "🙂",
]
tagged_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=30).map(
    "".join
)
messages = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["assistant", "user", "system", None]),
            "content": st.one_of(
                tagged_text,
                st.none(),
                st.lists(
                    st.fixed_dictionaries(
                        {"type": st.sampled_from(["text", "image"]), "text": tagged_text}
                    ),
                    max_size=3,
                ),
                st.integers(),
            ),
        }
    ),
    max_size=3,
)
completions = st.one_of(
    st.none(),
    st.just(""),
    tagged_text,
    st.text(),
    st.binary(max_size=64),
    messages,
    st.dictionaries(st.text(max_size=5), st.one_of(st.text(max_size=5), st.none()), max_size=3),
    st.integers(),
    st.floats(allow_nan=True),
    st.builds(lambda s, k: s * k, tagged_text, st.integers(0, 2000)),
)
labels = st.sampled_from(
    ["joy", "anger", "fear", "sadness", "neutral", "contentment", "awe", "amusement", "yes"]
)
solutions = st.one_of(
    st.none(),
    st.text(max_size=20),
    tagged_text,
    labels,
    st.sampled_from(["A", "B", "D", "Z", "yes", "no", "first", "second", "same", ""]),
    st.lists(labels, max_size=4).map(", ".join),
    st.lists(labels, max_size=4),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.builds(
        lambda d, v: f"{d}: {v}",
        st.sampled_from(["valence", "arousal", "dominance", "v", "joy"]),
        st.floats(allow_nan=True, allow_infinity=True),
    ),
    st.dictionaries(st.sampled_from(["valence", "arousal", "x"]), st.floats(), max_size=3),
)
options = st.one_of(
    st.none(),
    st.lists(st.one_of(st.text(max_size=10), st.none(), labels), max_size=6),
    st.dictionaries(st.sampled_from("ABCDEZ"), st.one_of(st.text(max_size=8), st.none())),
    st.sampled_from(["{'A': 'No.', 'B': 'Yes.'}", '["joy", "fear"]', "{bad", "[]", "A, B"]),
    st.text(max_size=20),
    st.integers(),
)
tasks = st.one_of(st.none(), st.sampled_from(TASKS), st.text(max_size=10), st.integers())
extra_columns = st.fixed_dictionaries(
    {
        "taxonomy": st.one_of(
            st.none(), st.sampled_from(["eemo_bench7", "mikels8", "ekman6", "nope", ""])
        ),
        "dimension": st.one_of(
            st.none(), st.sampled_from(["valence", "arousal", "dominance", "emotion", "x"])
        ),
        "scale": st.one_of(st.none(), st.sampled_from(["0-1", "1-9", "1-5", "9-1", "x", ""])),
        "image_id": st.one_of(st.none(), st.sampled_from(["a", "b", "c"]), st.integers()),
        # a vote distribution, well formed or not (mismatched lengths, negative or odd votes)
        "vote_labels": st.one_of(
            st.none(),
            st.lists(st.sampled_from(["joy", "fear", "awe", "sadness", "Joy", ""]), max_size=5),
            st.text(max_size=10),
        ),
        "votes": st.one_of(
            st.none(),
            st.lists(
                st.one_of(st.floats(allow_nan=True), st.integers(), st.text(max_size=3)), max_size=5
            ),
        ),
    }
)

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _refusable(task, solution, options) -> bool:
    """Whether a reward may refuse the sample: it has no task, and its solution and options
    do not tell which (a dataset mistake, raised as TaskInferenceError, never scored)."""
    return normalise_task(task) is None and infer_task(solution, options) is None


def _in_range(reward, value):
    assert isinstance(value, float), (reward, value)
    assert not math.isnan(value), reward
    assert reward.low <= value <= reward.high, (reward, value, reward.low, reward.high)


@pytest.mark.parametrize("reward", REWARDS, ids=IDS)
@PROPERTY_SETTINGS
@given(
    completion=completions,
    solution=solutions,
    task=tasks,
    option_list=options,
    columns=extra_columns,
)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_score_is_total_finite_and_in_range(
    reward, completion, solution, task, option_list, columns
):
    wanted = {c: columns[c] for c in reward.columns if c in columns}
    try:
        value = reward.score(completion, solution, task=task, options=option_list, **wanted)
    except TaskInferenceError:
        assert reward.needs_task and _refusable(task, solution, option_list)
        return
    _in_range(reward, value)


@pytest.mark.parametrize("reward", REWARDS, ids=IDS)
@PROPERTY_SETTINGS
@given(
    batch=st.lists(
        st.tuples(completions, solutions, tasks, options, extra_columns), min_size=1, max_size=8
    )
)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_trl_batch_call_is_total(reward, batch):
    kwargs = {
        "solution": [b[1] for b in batch],
        "task": [b[2] for b in batch],
        "options": [b[3] for b in batch],
    }
    for column in ("taxonomy", "dimension", "scale", "image_id", "vote_labels", "votes"):
        kwargs[column] = [b[4][column] for b in batch]
    try:
        out = reward(prompts=["p"] * len(batch), completions=[b[0] for b in batch], **kwargs)
    except TaskInferenceError:
        assert reward.needs_task and any(_refusable(b[2], b[1], b[3]) for b in batch)
        return
    assert len(out) == len(batch)
    for value in out:
        if value is not None:
            _in_range(reward, value)


@PROPERTY_SETTINGS
@given(completion=completions, solution=solutions, task=tasks, option_list=options)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_adapters_are_total(completion, solution, task, option_list):
    # a dict ground truth is a label, so native solutions travel inside one
    label = {"task": task, "solution": solution, "options": option_list}
    try:
        out = verl.compute_score("x", completion, {"solution": solution}, label)
    except TaskInferenceError:
        assert _refusable(task, solution, option_list)
        return
    assert all(isinstance(v, float) and math.isfinite(v) for v in out.values())
    (er,) = easyr1.compute_score(
        [{"response": completion, "response_length": 1, "ground_truth": label}]
    )
    assert er["overall"] == out["score"]
    (sw,) = swift.EEmoORM()([completion], solution=[solution], task=[task], options=[option_list])
    assert sw == out["score"]


# -- parsing is linear: megabyte inputs parse to the right parts ---------------------------
MB = 1_000_000


def test_megabyte_think_parses_exactly():
    think = ("warm light on faces; " * (MB // 21))[:MB]
    parsed = parse_completion(f"<think>{think}</think><answer>joy</answer>")
    assert parsed.ok and parsed.answer == "joy" and len(parsed.think) == len(think.strip())


def test_megabyte_of_tag_fragments_keeps_the_single_answer():
    unit = "<think <answer </answ <<>> [[(( </think <thinking> <\\answer> ＜answer＞ <answer "
    body = (unit * (MB // len(unit) + 1))[:MB]
    parsed = parse_completion(f"<think>{body}</think>\n<answer>joy</answer>")
    assert parsed.answer == "joy"
    assert parsed.think is not None and len(parsed.think) > MB - 100
    # "<answer " (with a space) is not a tag, so the completion is well formed
    assert parsed.ok, parsed.reason


def test_megabyte_of_repeated_tags_is_rejected_with_a_reason():
    parsed = parse_completion("<think>a</think>" + "<answer>joy</answer>" * (MB // 20))
    assert not parsed.ok and parsed.reason == "more than one <answer> block"
    parsed = parse_completion("<think>" * (MB // 7) + "</think><answer>joy</answer>")
    assert not parsed.ok and parsed.reason == "more than one <think> block"
    assert parsed.answer == "joy"


@pytest.mark.parametrize("reward", REWARDS, ids=IDS)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_rewards_score_a_megabyte_completion(reward):
    big = "<think>" + "0.5 joy A yes first, " * (MB // 21) + "</think><answer>joy</answer>"
    _in_range(reward, reward.score(big, "joy", task="emotion"))
    _in_range(reward, reward.score("<think>t</think><answer>" + big[-MB:], "0.5", task=None))
