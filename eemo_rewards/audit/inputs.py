"""Inputs that measure a reward's speed and totality: a realistic rollout mix, adversarial
megabyte completions, and the odd shapes a trainer may hand a reward.

Standard library only; :mod:`benchmarks.rewards` times every reward on
:func:`make_completions` and :func:`adversarial_completion`, and the audit's totality check
(:mod:`eemo_rewards.audit.checks`) calls a reward on :func:`odd_cases`.
"""

from __future__ import annotations

import random
from typing import Any

__all__ = [
    "EMOTIONS",
    "TASK_MIX",
    "adversarial_completion",
    "huge_answer",
    "make_completions",
    "odd_cases",
]

EMOTIONS = ["joy", "anger", "disgust", "sadness", "surprise", "fear", "neutral"]
_THINK_VOCABULARY = (
    "the image shows a warm sunset over calm water with soft orange light people smiling "
    "dark clouds gather above an empty street a child holds a balloon the colours are muted "
    "bright saturated contrast faces relaxed tense posture open space crowded scene evokes "
    "feeling of comfort unease wonder because lighting composition expression suggests"
)
WORDS = _THINK_VOCABULARY.split()
TASK_MIX = (
    ["yes_no"] * 2
    + ["multiple_choice"] * 2
    + ["emotion"] * 2
    + ["ranking"] * 2
    + ["assessment"] * 2
    + ["comparison"]
    + ["description"]
)


def _think(rng: random.Random) -> str:
    target = rng.randint(200, 800)
    parts, size = [], 0
    while size < target:
        w = rng.choice(WORDS)
        parts.append(w)
        size += len(w) + 1
    return " ".join(parts)[:target]


def _sample(rng: random.Random, tasks: list[str]) -> dict:
    """One sample: task, solution, options, and a right answer and a wrong one."""
    task = rng.choice(tasks)
    options = None
    if task == "yes_no":
        solution = rng.choice(["yes", "no"])
        right, wrong = solution, "no" if solution == "yes" else "yes"
    elif task == "multiple_choice":
        options = rng.sample(EMOTIONS, 4)
        k = rng.randrange(4)
        solution = "ABCD"[k]
        right, wrong = f"{solution}. {options[k]}", "ABCD"[(k + 1) % 4]
    elif task == "emotion":
        solution = rng.choice(EMOTIONS)
        right, wrong = solution, rng.choice([e for e in EMOTIONS if e != solution])
    elif task == "ranking":
        top = rng.sample(EMOTIONS, 3)
        solution = ", ".join(top)
        right, wrong = solution, ", ".join(reversed(top))
    elif task == "assessment":
        dim = rng.choice(["valence", "arousal", "dominance"])
        value = round(rng.random(), 2)
        solution = f"{dim}: {value}"
        right = f"{dim.capitalize()}: {value}"
        wrong = f"{dim.capitalize()}: {round(1 - value, 2)}"
    elif task == "comparison":
        solution = rng.choice(["first", "second", "same"])
        right, wrong = solution, "same" if solution != "same" else "first"
    else:
        solution = "a calm lake at dusk with warm light"
        right, wrong = "a quiet lake in warm evening light", "a crowded street at noon"
    return {"task": task, "solution": solution, "options": options, "right": right, "wrong": wrong}


def make_completions(n: int, seed: int = 0, *, tasks: list[str] | None = None) -> dict[str, list]:
    """``n`` realistic completions with their columns: 50% well formed and correct, 30% well
    formed and wrong, 20% malformed (no tags, text after ``</answer>``, an unclosed think,
    two answer blocks); think parts of 200–800 characters; tasks drawn from
    :data:`TASK_MIX` (or from ``tasks``, uniformly).

    Examples
    --------
    >>> cols = make_completions(4)
    >>> sorted(cols), len(cols["completions"])
    (['completions', 'options', 'solution', 'task'], 4)
    """
    rng = random.Random(seed)
    mix = list(tasks) if tasks else TASK_MIX
    cols: dict[str, list] = {"completions": [], "solution": [], "task": [], "options": []}
    for _ in range(n):
        s = _sample(rng, mix)
        think = _think(rng)
        kind = rng.random()
        if kind < 0.5:
            text = f"<think>{think}</think>\n<answer>{s['right']}</answer>"
        elif kind < 0.8:
            text = f"<think>{think}</think>\n<answer>{s['wrong']}</answer>"
        else:
            text = rng.choice(
                [
                    f"{think} The answer is {s['right']}.",
                    f"<think>{think}</think><answer>{s['right']}</answer> I am sure.",
                    f"<think>{think}<answer>{s['right']}</answer>",
                    f"<think>{think}</think><answer>{s['right']}</answer><answer>x</answer>",
                ]
            )
        cols["completions"].append(text)
        cols["solution"].append(s["solution"])
        cols["task"].append(s["task"])
        cols["options"].append(s["options"])
    return cols


def adversarial_completion(size: int = 1_000_000) -> str:
    """About ``size`` characters of tag fragments, nested brackets and near-miss tags inside
    the think block, with one valid answer at the end.

    Examples
    --------
    >>> text = adversarial_completion(10_000)
    >>> len(text) > 10_000, text.endswith("<answer>joy</answer>")
    (True, True)
    """
    unit = "<think><answer <answer</think> <<<>>> <answ <think <thinking></an <\\answer> [[(("
    body = (unit * (size // len(unit) + 1))[:size]
    return f"<think>{body}</think><answer>joy</answer>"


def huge_answer(size: int = 1_000_000) -> str:
    """A well-formed completion whose answer block holds about ``size`` characters of
    emotion words, negations and numbers: what each answer reader meets at its worst.

    Examples
    --------
    >>> text = huge_answer(1000)
    >>> text.startswith("<think>") and len(text) > 1000
    True
    """
    unit = "joy, not fear or B? valence: 0.5 (0-1) first "
    body = (unit * (size // len(unit) + 1))[:size]
    return f"<think>t</think><answer>{body}</answer>"


def odd_cases(right: str) -> list[tuple[str, Any]]:
    """``(case, completion)``: shapes and values a trainer or a broken pipeline may hand a
    reward in place of a plain completion. A total reward scores each (or returns ``None``)
    without raising, and never returns NaN.

    ``right`` is a correct answer of the sample, so the cases that keep the answer scheme
    have something to read.

    Examples
    --------
    >>> [case for case, _ in odd_cases("joy")][:4]
    ['empty string', 'None', 'NaN', 'integer']
    """
    well_formed = f"<think>warm light</think><answer>{right}</answer>"
    return [
        ("empty string", ""),
        ("None", None),
        ("NaN", float("nan")),
        ("integer", 7),
        ("bytes", well_formed.encode()),
        ("invalid UTF-8 bytes", b"\xff\xfe<answer>\xff</answer>"),
        ("message list", [{"role": "assistant", "content": well_formed}]),
        ("empty message list", []),
        ("message without content", [{"role": "assistant"}]),
        ("message with None content", [{"role": "assistant", "content": None}]),
        (
            "message with content parts",
            [{"role": "assistant", "content": [{"type": "text", "text": well_formed}]}],
        ),
        ("two messages", [{"role": "assistant", "content": "a"}, {"role": "user", "content": "b"}]),
        ("a dict", {"content": well_formed}),
        ("lone surrogate", f"<think>\ud800</think><answer>{right}</answer>"),
        ("control characters", f"<think>\x00\x07\x1b</think><answer>{right}\x00</answer>"),
        ("only whitespace", " \n\t "),
        ("empty answer block", "<think>warm light</think><answer></answer>"),
        ("1 MB of tag fragments", adversarial_completion(1_000_000)),
        ("1 MB answer", huge_answer(1_000_000)),
    ]
