"""Shared fixtures for the trainer tests: a batch made by our own exporters, completions for
every task, their scores on the TRL path, and a tiny local tokenizer / VLM processor.

Each trainer's test runs in that trainer's own environment (``bash scripts/trainer_envs.sh``
builds ``.venvs/<trainer>``; ``.venvs/<trainer>/bin/python -m pytest -m trainers
tests/trainers/test_<trainer>.py``). Without it, the module skips with a reason.
"""

from __future__ import annotations

import pytest


def _wrong(task: str, solution: str, options) -> str:
    if task == "yes_no":
        return "no" if solution.strip().lower().startswith("y") else "yes"
    if task == "multiple_choice":
        return "A" if solution != "A" else "B"
    if task == "emotion":
        return "fear" if solution != "fear" else "joy"
    if task == "ranking":
        return ", ".join(reversed([p.strip() for p in solution.split(",")]))
    if task == "assessment":
        name = solution.split(":")[0]
        return f"{name}: 0.99" if not solution.endswith("0.99") else f"{name}: 0.01"
    if task == "comparison":
        return "second" if solution != "second" else "first"
    return "something else entirely"


@pytest.fixture(scope="session")
def qa(tmp_path_factory):
    """One QA sample per task (7 rows; comparison has two images) from the built-in data."""
    pl = pytest.importorskip("polars")
    from eemo_rewards.data.builtin import generate_builtin
    from eemo_rewards.data.qa import generate_qa
    from eemo_rewards.tasks import TASKS

    cache = tmp_path_factory.mktemp("builtin")
    frame = generate_qa(generate_builtin(8, image_size=56, cache_dir=cache), pairs=2, seed=1)
    frame = frame.group_by("task").first()
    frame = frame.sort(pl.col("task").replace_strict({t: i for i, t in enumerate(TASKS)}))
    assert frame["task"].to_list() == list(TASKS)
    return frame


@pytest.fixture(scope="session")
def cases(qa):
    """28 cases: each task × (correct, wrong, no tags, text after </answer>), with the score
    the TRL path gives (the composite's batch call; None where no term applies)."""
    from eemo_rewards.spec import default_spec

    rows = []
    for row in qa.to_dicts():
        answer = row["answer"]
        if row["task"] == "multiple_choice":  # the option's text: read through the options
            answer = row["options"][ord(row["solution"]) - ord("A")]
        good = f"<think>{row['think'] or 'cues'}</think><answer>{answer}</answer>"
        wrong = f"<think>{row['think'] or 'cues'}</think><answer>"
        wrong += _wrong(row["task"], row["solution"], row["options"]) + "</answer>"
        for kind, text in [
            ("correct", good),
            ("wrong", wrong),
            ("no tags", row["answer"]),
            ("after", good + " I hope that helps."),
        ]:
            rows.append({**row, "kind": kind, "completion": text})
    composite = default_spec().composite()
    names = [c for c in ("task", "solution", "options", *composite.columns) if c in rows[0]]
    columns = {c: [r[c] for r in rows] for c in names}
    expected = composite(prompts=None, completions=[r["completion"] for r in rows], **columns)
    for r, e in zip(rows, expected, strict=True):
        r["expected"] = e
    assert len({(r["task"], r["kind"]) for r in rows}) == 28
    assert any(e and e > 0 for e in expected) and any(e == 0 for e in expected)
    return rows
