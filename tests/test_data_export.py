"""Export: HF datasets with Image features, parquet, verl's, EasyR1's and OpenRLHF's schemas;
missing images are errors."""

from __future__ import annotations

import pytest

pl = pytest.importorskip("polars")
pytest.importorskip("datasets")

from eemo_rewards.data.builtin import generate_builtin  # noqa: E402
from eemo_rewards.data.export import (  # noqa: E402
    ANSWER_INSTRUCTION,
    label_json,
    to_easyr1_parquet,
    to_hf_dataset,
    to_openrlhf_jsonl,
    to_parquet,
    to_swift_jsonl,
    to_trl_dataset,
    to_verl_parquet,
)
from eemo_rewards.data.qa import generate_qa  # noqa: E402


@pytest.fixture(scope="module")
def qa(tmp_path_factory):
    records = generate_builtin(14, image_size=64, cache_dir=tmp_path_factory.mktemp("b"))
    return generate_qa(records, seed=0)


def test_trl_prompt_holds_the_question_and_the_answer_scheme(qa):
    ds = to_trl_dataset(qa)
    assert len(ds) == qa.height
    row = ds[qa["task"].to_list().index("assessment")]
    text = row["prompt"][0]["content"][-1]["text"]
    assert text.startswith(qa.filter(task="assessment")["question"][0])
    assert ANSWER_INSTRUCTION in text and "valence: 0.50" in text
    completion = row["completion"][0]["content"]
    assert completion.endswith(f"<answer>{row['solution']}</answer>")
    plain = to_trl_dataset(qa.head(2), instruction=False)
    assert plain[0]["prompt"][0]["content"][-1]["text"] == qa["question"][0]


def test_trl_pair_rows_carry_two_images(qa):
    pairs = qa.filter(pl.col("image_id_2").is_not_null()).head(2)
    ds = to_trl_dataset(pairs)
    assert [len(r["images"]) for r in ds] == [2, 2]
    assert [p["type"] for p in ds[0]["prompt"][0]["content"]] == ["image", "image", "text"]


def test_relative_paths_resolve_against_image_root_and_missing_files_fail(qa, tmp_path):
    root = qa["image_path"][0].rsplit("/", 1)[0]
    relative = qa.head(3).with_columns(
        pl.col("image_path").str.replace(root + "/", "", literal=True)
    )
    assert len(to_trl_dataset(relative, image_root=root)) == 3
    with pytest.raises(FileNotFoundError, match="pass image_root="):
        to_trl_dataset(relative)
    with pytest.raises(ValueError, match="QA frame lacks columns"):
        to_trl_dataset(qa.drop("answer"))


def test_hf_dataset_has_image_features(qa):
    ds = to_hf_dataset(qa.tail(5))
    assert type(ds.features["image"]).__name__ == "Image"
    assert ds[4]["image"].size == (64, 64)
    assert ds.column_names.count("solution") == 1


def test_parquet_round_trips(qa, tmp_path):
    path = to_parquet(qa, tmp_path / "out" / "qa.parquet")
    assert pl.read_parquet(path).equals(qa)


def test_verl_parquet_schema(qa, tmp_path):
    path = to_verl_parquet(qa.head(10), tmp_path / "verl.parquet", data_source="eemo_builtin")
    table = pl.read_parquet(path)
    assert table.columns == [
        "data_source",
        "prompt",
        "images",
        "ability",
        "reward_model",
        "extra_info",
    ]
    row = table.row(0, named=True)
    assert row["data_source"] == "eemo_builtin" and row["ability"] == qa["task"][0]
    assert row["prompt"][0]["role"] == "user" and row["prompt"][0]["content"].startswith("<image>")
    assert row["images"][0]["bytes"][:8] == b"\x89PNG\r\n\x1a\n"
    assert row["reward_model"] == {"style": "rule", "ground_truth": qa["solution"][0]}
    assert row["extra_info"]["index"] == 0 and row["extra_info"]["id"] == qa["id"][0]


def test_json_labels_carry_task_solution_options_and_the_reward_columns(qa):
    import json

    from eemo_rewards.adapters import decode_label

    labels = [json.loads(x) for x in label_json(qa)]
    assert len(labels) == qa.height
    for label, row in zip(labels, qa.to_dicts(), strict=True):
        assert label["task"] == row["task"] and label["solution"] == row["solution"]
        assert label.get("options") == row["options"]  # nulls are left out
        assert label.get("taxonomy") == row["taxonomy"]
        assert decode_label(json.dumps(label))["task"] == row["task"]
    assert any("options" in label for label in labels)


def test_easyr1_parquet_schema(qa, tmp_path):
    import json

    path = to_easyr1_parquet(qa, tmp_path / "easyr1.parquet")
    table = pl.read_parquet(path)
    assert table.columns == ["prompt", "answer", "images", "id"]
    pair = qa["image_path_2"].is_not_null().to_list().index(True)
    assert table["prompt"][pair].startswith("<image><image>")
    assert table["prompt"][0].count("<image>") == 1 and ANSWER_INSTRUCTION in table["prompt"][0]
    assert len(table["images"][pair]) == 2
    assert table["images"][0][0]["bytes"][:4] == b"\x89PNG"
    assert json.loads(table["answer"][0])["solution"] == qa["solution"][0]


def test_openrlhf_jsonl_schema(qa, tmp_path):
    import json
    import os

    path = to_openrlhf_jsonl(qa, tmp_path / "sub" / "openrlhf.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == qa.height
    assert set(rows[0]) == {"prompt", "label", "images", "id"}
    assert all(os.path.isabs(p) and os.path.isfile(p) for r in rows for p in r["images"])
    assert json.loads(rows[0]["label"])["task"] == qa["task"][0]
    with pytest.raises(ValueError, match="lacks columns"):
        to_openrlhf_jsonl(qa.drop("solution"), tmp_path / "x.jsonl")


def test_swift_jsonl_rows_feed_the_swift_orm(qa, tmp_path):
    import json
    import os

    from eemo_rewards.adapters.swift import EEmoORM
    from eemo_rewards.data import to_swift_jsonl as exported

    assert exported is to_swift_jsonl
    path = to_swift_jsonl(qa, tmp_path / "swift.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == qa.height
    first = rows[0]
    assert first["messages"][0]["role"] == "user"
    assert first["messages"][0]["content"].count("<image>") == len(first["images"])
    assert all(os.path.isabs(p) and os.path.isfile(p) for r in rows for p in r["images"])
    # swift hands every other column to the ORM as keyword lists
    columns = {k: [r.get(k) for r in rows] for k in rows[0] if k not in ("messages", "images")}
    answers = [f"<think>t</think><answer>{s}</answer>" for s in columns["solution"]]
    scores = EEmoORM()(answers, **columns)
    # the same scores as the frame's own columns give: nothing was lost on the way
    from eemo_rewards.adapters import composite_for

    frame_columns = {c: qa[c].to_list() for c in ("solution", "task", "options") if c in qa.columns}
    assert scores == composite_for(None)(completions=answers, **frame_columns)
    assert sum(s or 0.0 for s in scores) / len(scores) > 1.0
    with pytest.raises(ValueError, match="lacks columns"):
        to_swift_jsonl(qa.drop("solution"), tmp_path / "x.jsonl")
