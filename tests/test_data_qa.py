"""QA generation: every task category, answers consistent with the annotation, balanced, seeded."""

from __future__ import annotations

from pathlib import Path

import pytest

pl = pytest.importorskip("polars")

from eemo_rewards.data.builtin import generate_builtin  # noqa: E402
from eemo_rewards.data.qa import assign_splits, check_qa, generate_qa  # noqa: E402
from eemo_rewards.data.readers import read_eemo_bench  # noqa: E402
from eemo_rewards.data.schema import QA_SCHEMA, validate_records  # noqa: E402
from eemo_rewards.parsing import parse_completion  # noqa: E402
from eemo_rewards.tasks import TASKS  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
EEMO_BENCH = REFERENCE / "eemo-bench" / "single_annotations.json"


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    return generate_builtin(70, image_size=84, cache_dir=tmp_path_factory.mktemp("b"))


@pytest.fixture(scope="module")
def qa(records):
    return generate_qa(records, templates=("eemo", "emovit", "emoprompt"), seed=1)


def test_every_task_is_generated_with_the_schema(qa):
    assert qa.schema == pl.Schema(QA_SCHEMA)
    assert set(qa["task"]) == set(TASKS)
    assert qa["id"].is_unique().all()
    assert qa.filter(pl.col("image_id_2").is_not_null())["task"].unique().sort().to_list() == [
        "comparison",
        "multiple_choice",
        "yes_no",
    ]


def test_answers_agree_with_the_annotation(qa, records):
    assert check_qa(qa, records).height == 0


def test_the_checker_catches_a_wrong_answer_of_each_kind(qa, records):
    flipped = qa.with_columns(
        pl.when(pl.col("solution") == "yes")
        .then(pl.lit("no"))
        .when(pl.col("solution") == "no")
        .then(pl.lit("yes"))
        .when(pl.col("solution") == "first")
        .then(pl.lit("second"))
        .when(pl.col("solution") == "A")
        .then(pl.lit("B"))
        .when(pl.col("task") == "assessment")
        .then(pl.lit("valence: 0.99"))
        .when(pl.col("task") == "emotion")
        .then(pl.lit("neutral-ish"))
        .when(pl.col("task") == "ranking")
        .then(pl.lit("joy"))
        .otherwise(pl.col("solution"))
        .alias("solution")
    )
    changed = qa["solution"] != flipped["solution"]
    bad = check_qa(flipped, records)
    assert (
        bad.height
        >= int(changed.sum())
        - qa.filter(
            (pl.col("task") == "assessment") & (pl.col("solution") == "valence: 0.99")
        ).height
    )
    assert set(bad["task"]) >= {"yes_no", "multiple_choice", "assessment", "emotion", "ranking"}


def test_answer_letters_and_yes_no_are_balanced(qa):
    letters = qa.filter(pl.col("task") == "multiple_choice", pl.col("qtype") == "dominant")
    counts = letters.group_by("solution").len()["len"]
    assert counts.max() - counts.min() <= 1
    for qtype in ("member", "level"):
        yes_no = qa.filter(pl.col("task") == "yes_no", pl.col("qtype") == qtype)
        counts = yes_no.group_by("solution").len()["len"]
        assert counts.len() == 2 and counts.max() - counts.min() <= 1


def test_distractors_are_hard_negatives_outside_the_top_three(qa, records):
    mc = qa.filter(pl.col("qtype") == "dominant", pl.col("task") == "multiple_choice")
    joined = mc.join(records.select("id", "ranking"), left_on="image_id", right_on="id")
    for row in joined.iter_rows(named=True):
        answer = row["options"]["ABCD".index(row["solution"])]
        others = [o for o in row["options"] if o != answer]
        assert not set(others) & set(row["ranking"])
        assert len(set(row["options"])) == len(row["options"])


def test_pairs_never_cross_splits_and_splits_group_images(qa):
    per_image = qa.group_by("image_id").agg(pl.col("split").n_unique())
    assert per_image["split"].max() == 1
    pairs = qa.filter(pl.col("image_id_2").is_not_null())
    split_of = dict(qa.select("image_id", "split").unique().iter_rows())
    assert all(split_of.get(b, s) == s for b, s in pairs.select("image_id_2", "split").iter_rows())


def test_generation_is_deterministic_for_a_seed(records, qa):
    again = generate_qa(records, templates=("eemo", "emovit", "emoprompt"), seed=1)
    assert again.equals(qa)
    other = generate_qa(records, templates=("eemo", "emovit", "emoprompt"), seed=2)
    assert not other.equals(qa)


def test_targets_parse_with_the_answer_scheme(qa):
    for row in qa.head(200).iter_rows(named=True):
        parsed = parse_completion(f"<think>{row['think']}</think><answer>{row['answer']}</answer>")
        assert parsed.ok and parsed.answer == row["answer"].strip()


def test_task_selection_templates_and_think_styles(records):
    only = generate_qa(records, tasks=["classification", "vad"], think="none", pairs=0)
    assert set(only["task"]) == {"emotion", "assessment"}
    assert (only["think"] == "").all()
    cues = generate_qa(records, tasks=["emotion"], think="cues", templates=["emovit"])
    assert cues["think"].to_list() == records["caption"].to_list()
    assert cues["question"][0].endswith("Predict emotion:")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tasks": ["telepathy"]}, "unknown tasks"),
        ({"templates": ["klingon"]}, "unknown template families"),
        ({"think": "long"}, "think must be"),
        ({"pairs": -1}, "pairs must be"),
    ],
)
def test_bad_arguments_raise_clear_errors(records, kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_qa(records, **kwargs)


def test_invalid_records_are_refused_with_a_pointer_to_validation(records):
    broken = records.with_columns(pl.lit(float("nan")).alias("valence"))
    with pytest.raises(ValueError, match="validate_records"):
        generate_qa(broken)


def test_assign_splits_ignores_order_and_repetition():
    a = assign_splits(["x", "y", "z", "x"], seed=4)
    b = assign_splits(["z", "y", "x"], seed=4)
    assert a.equals(b)


@pytest.mark.skipif(not EEMO_BENCH.exists(), reason="needs ../shared/reference/eemo-bench")
def test_the_1960_real_eemo_bench_annotations_give_every_task_consistently():
    records = read_eemo_bench(EEMO_BENCH)
    kept, quarantine = validate_records(records)
    assert records.height == 1960 and kept.height == 1960 and quarantine.height == 0
    qa = generate_qa(kept, seed=0)
    assert set(qa["task"]) == set(TASKS)
    assert check_qa(qa, kept).height == 0
    # Spot checks against the raw file: image 1.jpg is joy > neutral > surprise, V = 6.0.
    first = qa.filter(pl.col("image_id") == "eemo_bench/1.jpg", pl.col("image_id_2").is_null())
    assert first.filter(task="ranking")["solution"][0] == "joy, neutral, surprise"
    assert first.filter(task="assessment", dimension="valence")["solution"][0] == "valence: 0.62"
    assert first.filter(task="emotion")["solution"][0] == "joy"
    assert qa.filter(pl.col("image_id_2").is_not_null())["split"].unique().to_list() == ["test"]


def test_the_checker_flags_an_image_that_crosses_splits(qa, records):
    pair_row = qa["image_id_2"].is_not_null().arg_max()
    moved = qa.with_columns(
        pl.when(pl.int_range(pl.len()) == pair_row)
        .then(pl.lit("elsewhere"))
        .otherwise(pl.col("split"))
        .alias("split")
    )
    reasons = check_qa(moved, records)["reason"].to_list()
    assert reasons and all("several splits" in r for r in reasons)


def test_the_data_package_exposes_its_entry_points_lazily():
    import eemo_rewards.data as data

    assert data.generate_qa is generate_qa and "to_trl_dataset" in dir(data)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        data.nothing  # noqa: B018


def test_single_label_sources_ask_about_the_dominant_emotion_only():
    records = pl.DataFrame(
        {
            "id": [f"img{i}" for i in range(8)],
            "taxonomy": ["mikels8"] * 8,
            "emotion": ["awe", "fear", "anger", "sadness"] * 2,
            "ranking": [[e] for e in ["awe", "fear", "anger", "sadness"] * 2],
        }
    )
    qa = generate_qa(records, seed=0, splits={"train": 1.0})
    yes_no = qa.filter(task="yes_no")
    assert set(yes_no["qtype"]) == {"dominant"} and yes_no["image_id_2"].null_count() == 8
    assert sorted(yes_no["solution"].value_counts()["count"]) == [4, 4]
    assert check_qa(qa, records).height == 0
    flipped = yes_no.with_columns(
        pl.when(pl.col("solution") == "yes")
        .then(pl.lit("no"))
        .otherwise(pl.lit("yes"))
        .alias("solution")
    )
    assert check_qa(flipped, records).height == 8
    assert "ranking" not in set(qa["task"]) and "assessment" not in set(qa["task"])


def test_the_distractor_table_gives_each_combination_its_nearest_labels():
    from eemo_rewards.data import qa as qa_module

    keys = pl.DataFrame(
        {
            "taxonomy": ["ekman6", "ekman6", "ekman6", "ekman6"],
            "emotion": ["anger", "anger", None, "fear"],
            "ranking": [
                ["anger", "fear"],
                ["anger", "disgust", "fear", "happiness", "sadness"],  # one label left
                ["sadness"],
                ["anger", "disgust", "happiness", "sadness", "surprise"],  # none left
            ],
        }
    )
    table = qa_module._distractor_table(keys, "emotion", "ranking", 3)
    expected = [
        list(qa_module._hard_negatives("ekman6", "anger", frozenset({"fear"}), 3)),
        ["surprise"],
        None,
        [],
    ]
    assert table["_neg"].to_list() == expected
    assert len(expected[0]) == 3 and "fear" not in expected[0]
