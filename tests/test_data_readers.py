"""Readers on small fixtures written in each source's real format."""

from __future__ import annotations

from pathlib import Path

import pytest

pl = pytest.importorskip("polars")

from eemo_rewards.data import readers  # noqa: E402
from eemo_rewards.data.qa import check_qa, generate_qa  # noqa: E402
from eemo_rewards.data.schema import QA_SCHEMA, RECORD_SCHEMA, validate_records  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "data"
REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
needs_reference = pytest.mark.skipif(
    not (REFERENCE / "eemo-bench").exists(), reason="needs ../shared/reference/eemo-bench"
)


def _reconciles(records):
    kept, quarantine = validate_records(records)
    assert kept.height + quarantine.height == records.height
    assert records.columns[: len(RECORD_SCHEMA)] == list(RECORD_SCHEMA)
    return kept, quarantine


def test_emoset_annotation_json_keeps_attributes_and_reports_unknown_labels():
    records = readers.read_emoset(FIXTURES / "emoset")
    kept, quarantine = _reconciles(records)
    assert kept["emotion"].to_list() == ["amusement", "fear"]
    first = kept.row(0, named=True)
    assert first["objects"] == ["person", "balloon"] and first["brightness"] == 0.7
    assert first["scene"] == "amusement park" and first["human_action"] == "laughing"
    assert Path(first["image_path"]).is_file()
    assert quarantine["reason"][0].startswith("unknown label 'boredom'")


def test_emoset_hub_mirror_table_maps_class_indices():
    records = readers.read_emoset(FIXTURES / "emoset_mirror.parquet")
    kept, quarantine = _reconciles(records)
    assert kept["emotion"].to_list() == ["amusement", "fear"]
    assert "class 11" in quarantine["reason"][0]


def test_emotion6_ground_truth_ranks_probabilities_and_quarantines_bad_vad():
    records = readers.read_emotion6(FIXTURES / "emotion6")
    kept, quarantine = _reconciles(records)
    assert kept["ranking"].to_list() == [
        ["anger", "disgust", "fear"],  # ties keep the file's column order
        ["joy", "surprise", "neutral"],
    ]
    assert kept["valence"].to_list() == [3.1, 7.4] and kept["dominance"].null_count() == 2
    assert quarantine.select("id", "reason").rows() == [
        ("emotion6/sadness/3.jpg", "NaN valence"),
        ("emotion6/fear/4.jpg", "valence 11.0 outside the 1-9 scale"),
    ]


def test_folder_per_label_and_artphoto_names_map_synonyms():
    records = readers.read_folder_labels(FIXTURES / "folder_per_label", source="fi")
    kept, quarantine = _reconciles(records)
    assert sorted(kept["emotion"]) == ["amusement", "sadness"]  # "sad" is a synonym
    assert quarantine.height == 1 and "boredom" in quarantine["reason"][0]
    art = readers.read_folder_labels(FIXTURES / "artphoto", source="artphoto")
    assert sorted(art["emotion"]) == ["amusement", "anger", "awe"]


def test_emoverse_jsonl_keeps_descriptions_as_captions():
    records = readers.read_emoverse(FIXTURES / "emoverse" / "emoverse.jsonl")
    kept, quarantine = _reconciles(records)
    assert kept["caption"][0] == "Children laughing on a sunny beach."
    assert kept["votes"].to_list()[1] == [0.81]
    assert "hunger" in quarantine["reason"][0]


def test_eemodb_release_folder_reads_qa_and_conversation_files():
    qa = readers.read_eemodb(FIXTURES / "eemodb")
    assert qa.schema == pl.Schema(QA_SCHEMA)
    by_task = dict(qa.select("task", "solution").iter_rows())
    assert by_task == {
        "yes_no": "yes",
        "multiple_choice": "B",
        "ranking": "sadness, fear, neutral",
        "description": "The grey sky and the empty bench feel lonely.",
        "comparison": "first",
        "emotion": "fear",
        "assessment": "valence: 0.8125",
    }
    pair = qa.filter(task="comparison").row(0, named=True)
    assert pair["image_id_2"] == "fi/sad_003.jpg" and pair["pair_id"].endswith("sad_003.jpg")
    assert set(qa["source"]) == {"eemodb/EmoSet", "eemodb/FI"}
    assert qa.filter(task="emotion")["split"][0] == "test"
    assert "<image>" not in "".join(qa["question"])


def test_eemodb_hub_id_failure_says_to_use_a_local_folder(monkeypatch):
    datasets = pytest.importorskip("datasets")

    def offline(*args, **kwargs):
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(RuntimeError, match="download the release to a folder"):
        readers.read_eemodb("Workerred/EEmoDB")


def test_readers_report_missing_inputs_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"ground_truth\.txt"):
        readers.read_emotion6(tmp_path)
    with pytest.raises(FileNotFoundError, match="no EmoSet annotation"):
        readers.read_emoset(tmp_path)
    with pytest.raises(FileNotFoundError, match="no EEmoDB QA"):
        readers.read_eemodb(tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        readers.read_eemo_bench(tmp_path / "bad.json")


@needs_reference
def test_eemo_bench_reference_annotations_and_questions():
    records = readers.read_eemo_bench(REFERENCE / "eemo-bench")
    kept, quarantine = _reconciles(records)
    assert kept.height == 1960 and quarantine.height == 0
    first = kept.row(0, named=True)
    assert first["ranking"] == ["joy", "neutral", "surprise"] and first["votes"] == [39, 37, 33]
    assert first["valence"] == 6.0 and first["content"] == "animal"
    questions = readers.read_eemo_bench_qa(REFERENCE / "eemo-bench")
    assert questions.height == 1960 * 2 + 1006 * 2
    judge = questions.row(0, named=True)
    assert (judge["task"], judge["solution"], judge["options"]) == ("yes_no", "yes", ["No", "Yes"])
    pair = questions.filter(pl.col("image_id_2").is_not_null()).row(1, named=True)
    assert pair["task"] == "multiple_choice" and pair["solution"] == "D"
    assert pair["options"][3] == "Joy"


def test_generated_qa_from_a_reader_passes_the_checker():
    kept, _ = validate_records(readers.read_emotion6(FIXTURES / "emotion6"))
    qa = generate_qa(kept, seed=0)
    assert check_qa(qa, kept).height == 0
    assert {"ranking", "assessment", "emotion"} <= set(qa["task"])
