"""Subsets: filters, caps per class, splits grouped by image, de-duplication, manifest."""

from __future__ import annotations

import json

import pytest

pl = pytest.importorskip("polars")

from eemo_rewards.data.builtin import generate_builtin  # noqa: E402
from eemo_rewards.data.qa import generate_qa  # noqa: E402
from eemo_rewards.data.subset import (  # noqa: E402
    build_subset,
    class_of,
    dedupe_questions,
    filter_qa,
    split_by_image,
    stratified_sample,
)


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    records = generate_builtin(140, image_size=64, cache_dir=tmp_path_factory.mktemp("b"))
    return generate_qa(records, seed=0)


def test_filters_combine_and_reject_unknown_tasks(qa):
    out = filter_qa(qa, tasks=["vad", "yes_no"], dimensions="valence", pairs=False)
    assert set(out["task"]) == {"assessment", "yes_no"} and set(out["dimension"]) == {"valence"}
    assert out["image_id_2"].null_count() == out.height
    assert filter_qa(qa, qtypes="common")["image_id_2"].null_count() == 0
    assert filter_qa(qa, sources="elsewhere").height == 0
    with pytest.raises(ValueError, match="unknown tasks"):
        filter_qa(qa, tasks="telepathy")


def test_caps_bound_every_class_and_keep_small_classes_whole(qa):
    emotions = filter_qa(qa, tasks="emotion")
    capped = stratified_sample(emotions, cap_per_class=5, seed=1)
    counts = capped.group_by("solution").len()["len"]
    assert counts.max() == 5 and counts.len() == 7
    per_task = stratified_sample(qa, n_per_task=10, seed=1).group_by("task").len()["len"]
    assert per_task.max() == 10
    with pytest.raises(ValueError, match="cap_per_class must be a positive integer"):
        stratified_sample(qa, cap_per_class=0)


def test_class_of_names_the_answer_class(qa):
    classes = qa.with_columns(class_of()).group_by("task").agg(pl.col("class").unique())
    by_task = {task: set(values) for task, values in classes.iter_rows()}
    assert by_task["yes_no"] == {"yes", "no"}
    assert by_task["comparison"] <= {"first", "second", "same"}
    assert "joy" in by_task["multiple_choice"] and "valence:high" in by_task["assessment"]


def test_split_by_image_keeps_pairs_and_images_together(qa):
    resplit = split_by_image(qa, {"train": 0.5, "val": 0.25, "test": 0.25}, seed=3)
    assert resplit.height == qa.height
    assert resplit.group_by("image_id").agg(pl.col("split").n_unique())["split"].max() == 1
    split_of = dict(resplit.select("image_id", "split").unique().iter_rows())
    pairs = resplit.filter(pl.col("image_id_2").is_not_null())
    assert all(split_of[b] == s for b, s in pairs.select("image_id_2", "split").iter_rows())
    assert set(resplit["split"]) == {"train", "val", "test"}


def test_dedupe_removes_near_duplicates_only(qa):
    sample = qa.head(20)
    noisy = pl.concat(
        [sample, sample.head(3).with_columns(pl.col("question").str.to_uppercase() + "  ?!")]
    )
    kept, removed = dedupe_questions(noisy)
    assert removed == 3 and kept.equals(sample)


def test_build_subset_manifest_counts_reconcile(qa, tmp_path):
    subset = build_subset(
        qa,
        tasks=["emotion", "multiple_choice", "assessment"],
        cap_per_class=8,
        split_fractions={"train": 0.8, "test": 0.2},
        seed=5,
        source_versions={"builtin": "2"},
    )
    frame, manifest = subset.frame, subset.manifest
    assert frame.columns == qa.columns
    assert manifest["n_output"] == frame.height == sum(manifest["counts"]["task"].values())
    assert sum(manifest["counts"]["split"].values()) == frame.height
    assert max(manifest["counts"]["class"].values()) <= 8
    assert (
        manifest["n_after_filters"]
        == filter_qa(qa, tasks=["emotion", "multiple_choice", "assessment"]).height
    )
    assert manifest["source_versions"] == {"builtin": "2"} and len(manifest["config_hash"]) == 16
    again = build_subset(
        qa,
        tasks=["emotion", "multiple_choice", "assessment"],
        cap_per_class=8,
        split_fractions={"train": 0.8, "test": 0.2},
        seed=5,
    )
    assert again.frame.equals(frame)
    folder = subset.write(tmp_path / "subset")
    assert pl.read_parquet(folder / "qa.parquet").equals(frame)
    assert json.loads((folder / "manifest.json").read_text())["n_output"] == frame.height
