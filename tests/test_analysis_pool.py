"""The completion pools of the offline reward analysis."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from eemo_rewards import parse_completion
from eemo_rewards.analysis import (
    KINDS,
    QUALITY,
    builtin_questions,
    perturbation_pool,
    reference_response_pool,
)

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
RESPONSES = REFERENCE / "eemo-bench" / "responses"


@pytest.fixture(scope="module")
def questions() -> pl.DataFrame:
    return builtin_questions(n_images=14, seed=3)


@pytest.fixture(scope="module")
def pool(questions) -> pl.DataFrame:
    return perturbation_pool(questions)


def test_builtin_questions_cover_five_tasks_per_image(questions):
    assert questions.height == 14 * 5
    assert questions["task"].value_counts().sort("task").rows() == [
        ("assessment", 14),
        ("emotion", 14),
        ("multiple_choice", 14),
        ("ranking", 14),
        ("yes_no", 14),
    ]
    assert questions["question_id"].n_unique() == questions.height
    values = questions.filter(pl.col("task") == "assessment")["solution"]
    numbers = [float(s.split(":")[1]) for s in values]
    assert all(0.0 <= x <= 1.0 for x in numbers)
    answers = questions.filter(pl.col("task") == "yes_no")["solution"].unique().sort().to_list()
    assert answers == ["no", "yes"]  # both answers occur


def test_multiple_choice_solution_names_the_dominant_emotion(questions):
    rows = questions.filter(pl.col("task").is_in(["emotion", "multiple_choice"]))
    by_image: dict[str, dict] = {}
    for row in rows.iter_rows(named=True):
        by_image.setdefault(row["question_id"].split("/")[0], {})[row["task"]] = row
    for pair in by_image.values():
        options = json.loads(pair["multiple_choice"]["options"])
        assert options[pair["multiple_choice"]["solution"]] == pair["emotion"]["solution"]


def test_pool_kinds_and_quality(pool):
    assert set(pool["kind"]) == set(KINDS)
    assert all(q == QUALITY[k] for k, q in pool.select("kind", "quality").rows())
    yes_no = pool.filter(pl.col("task") == "yes_no")
    assert "near_miss" not in set(yes_no["kind"])  # its only wrong answer is the other word
    assert pool.select("question_id", "variant").is_duplicated().sum() == 0


def test_pool_completions_are_well_formed_exactly_where_intended(pool):
    for kind, variant, completion in pool.select("kind", "variant", "completion").rows():
        ok = parse_completion(completion).ok
        # only the structural hacks and the malformed kind break the answer scheme
        broken = kind == "malformed" or variant in (
            "duplicate_answer",
            "answer_in_think",
            "upper_case_tags",
            "fullwidth_tags",
        )
        assert ok is not broken, (kind, variant, completion)


def test_near_miss_is_closer_than_wrong_for_emotions(pool):
    from eemo_rewards.data.labels import label_distance

    emotion = pool.filter(pl.col("task") == "emotion")
    for (qid,), group in emotion.group_by(["question_id"]):
        answers = {
            v: parse_completion(c).answer for v, c in group.select("variant", "completion").rows()
        }
        truth = group["solution"][0]
        near, far = answers["nearest_label"], answers["farthest_label"]
        assert label_distance(truth, near) < label_distance(truth, far), qid


def test_assessment_perturbations_stay_on_the_scale(pool):
    rows = pool.filter(pl.col("task") == "assessment")
    for variant, completion in rows.select("variant", "completion").rows():
        if variant in ("off_by_0.1", "off_by_0.5", "within_0.02", "exaggerated_0.3"):
            value = float(parse_completion(completion).answer.split(":")[1])
            assert 0.0 <= value <= 1.0


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ({"question_id": "q", "task": "description", "solution": "text"}, "filter the table"),
        ({"question_id": "q", "task": "emotion", "solution": "boredom"}, "not a label"),
        ({"question_id": "q", "task": "assessment", "solution": "valence: 7"}, "0–1 scale"),
        ({"question_id": "q", "task": "assessment", "solution": "valence: high"}, "0–1 scale"),
        ({"question_id": "q", "task": "yes_no", "solution": "perhaps"}, "neither yes nor no"),
        ({"question_id": "q", "task": "multiple_choice", "solution": "B"}, "options column"),
        ({"question_id": "q", "task": "ranking", "solution": "joy"}, "at least two labels"),
    ],
)
def test_perturbation_pool_rejects_what_it_cannot_perturb(question, message):
    with pytest.raises(ValueError, match=message):
        perturbation_pool(pl.DataFrame([question]))


def test_perturbation_pool_names_missing_columns():
    with pytest.raises(ValueError, match=r"lack column\(s\) \['solution'\]"):
        perturbation_pool(pl.DataFrame({"question_id": ["q"], "task": ["emotion"]}))


def test_builtin_questions_names_missing_record_columns():
    with pytest.raises(ValueError, match="ranking"):
        builtin_questions(pl.DataFrame({"id": ["a"], "emotion": ["joy"]}))


@pytest.mark.skipif(not RESPONSES.is_dir(), reason=f"reference responses not found at {RESPONSES}")
def test_reference_response_pool_follows_the_official_judgement():
    real = reference_response_pool(RESPONSES)
    assert set(real["source"]) == {"eemo_bench:gpt-4o", "eemo_bench:qwen2-7b"}
    assert set(real["task"]) == {"yes_no", "multiple_choice"}
    raw = json.loads((RESPONSES / "gpt-4o-pair.json").read_text())
    choice_items = [r for r in raw if r["question_type"] in ("Yes-or-No", "What/How")]
    gpt = real.filter(pl.col("source") == "eemo_bench:gpt-4o")
    assert gpt.height == len(choice_items)
    official = sum(int(r["eval_result(gpt-4o)"]) for r in choice_items)
    assert (gpt["kind"] == "correct").sum() == official
    assert all(parse_completion(c).ok for c in real["completion"].head(200))


def test_reference_response_pool_says_where_the_files_belong(tmp_path):
    with pytest.raises(FileNotFoundError, match="eemo-bench/responses"):
        reference_response_pool(tmp_path)


def test_perturbation_pool_accepts_list_options_from_the_data_layer():
    qa = pl.DataFrame(
        {
            "question_id": ["q"],
            "task": ["multiple_choice"],
            "solution": ["B"],
            "options": [["fear", "joy", "anger", "surprise"]],
        }
    )
    pool = perturbation_pool(qa)
    assert json.loads(pool["options"][0]) == {
        "A": "fear",
        "B": "joy",
        "C": "anger",
        "D": "surprise",
    }
    near = pool.filter(pl.col("kind") == "near_miss")["completion"].item()
    assert near.endswith("<answer>D</answer>")  # surprise is joy's nearest emotion


def test_perturbation_pool_reads_the_data_layers_qa_table(tmp_path):
    from eemo_rewards.data.builtin import generate_builtin
    from eemo_rewards.data.qa import generate_qa

    tasks = ["emotion", "multiple_choice", "yes_no", "ranking", "assessment"]
    qa = generate_qa(generate_builtin(14, image_size=56, cache_dir=tmp_path), tasks=tasks, pairs=0)
    pool = perturbation_pool(qa)
    assert set(pool["task"]) == set(tasks)
    assert set(pool["question_id"]) == set(qa["id"])
