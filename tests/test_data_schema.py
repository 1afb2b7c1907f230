"""Validation of canonical records: bad input is quarantined with a reason, never dropped."""

from __future__ import annotations

import math

import pytest

pl = pytest.importorskip("polars")

from eemo_rewards.data.schema import (  # noqa: E402
    RECORD_SCHEMA,
    conform_records,
    validate_records,
)

FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures" / "data"


def _records(**overrides):
    base = {
        "id": ["a", "b", "c"],
        "taxonomy": ["eemo_bench7"] * 3,
        "emotion": ["joy", "fear", "anger"],
        "ranking": [["joy", "surprise"], ["fear"], ["anger", "disgust"]],
        "valence": [7.0, 3.0, 2.5],
        "vad_scale": ["1-9"] * 3,
    }
    base.update(overrides)
    return pl.DataFrame(base)


def test_clean_records_are_all_kept_with_the_canonical_columns():
    kept, quarantine = validate_records(_records())
    assert kept.height == 3 and quarantine.height == 0
    assert kept.columns[: len(RECORD_SCHEMA)] == list(RECORD_SCHEMA)


@pytest.mark.parametrize(
    ("column", "values", "reason"),
    [
        ("id", ["a", None, "c"], "missing id"),
        ("id", ["a", "a", "c"], "duplicate id"),
        ("emotion", ["joy", None, "anger"], "missing label"),
        ("emotion", ["joy", "boredom", "anger"], "unknown label 'boredom'"),
        ("valence", [7.0, math.nan, 2.5], "NaN valence"),
        ("valence", [7.0, 12.0, 2.5], "valence 12.0 outside the 1-9 scale"),
        ("taxonomy", ["eemo_bench7", "klingon", "eemo_bench7"], "unknown taxonomy 'klingon'"),
        ("vad_scale", ["1-9", "1-100", "1-9"], "unknown vad_scale '1-100'"),
        ("ranking", [["joy"], ["fear", "ennui"], ["anger"]], "unknown ranking label(s) ennui"),
    ],
)
def test_each_defect_quarantines_exactly_the_bad_record_with_its_reason(column, values, reason):
    records = _records(**{column: values})
    kept, quarantine = validate_records(records)
    assert kept.height + quarantine.height == records.height
    assert quarantine.height == 1
    assert reason in quarantine["reason"][0]
    assert quarantine["id"][0] in (None, "a", "b")


def test_several_reasons_are_joined_and_counts_reconcile():
    records = _records(
        id=["a", "a", None], emotion=["joy", "boredom", None], valence=[7.0, math.nan, 0.5]
    )
    kept, quarantine = validate_records(records)
    assert kept["id"].to_list() == ["a"]
    reasons = dict(zip(range(quarantine.height), quarantine["reason"].to_list(), strict=True))
    assert "duplicate id" in reasons[0] and "NaN valence" in reasons[0] and "boredom" in reasons[0]
    assert "missing id" in reasons[1] and "outside the 1-9 scale" in reasons[1]
    assert kept.height + quarantine.height == records.height


def test_missing_and_unreadable_images_are_quarantined():
    records = _records(
        image_path=[
            str(FIXTURES / "artphoto" / "awe_0853.jpg"),
            str(FIXTURES / "broken" / "not_an_image.jpg"),
            "nowhere/missing.jpg",
        ]
    )
    kept, quarantine = validate_records(records, check_images=True, image_root=FIXTURES)
    assert kept["id"].to_list() == ["a"]
    reasons = quarantine["reason"].to_list()
    assert reasons[0].startswith("unreadable image") and reasons[1].startswith("image not found")


def test_conform_records_names_a_column_that_cannot_be_cast():
    with pytest.raises(ValueError, match="record column 'valence'"):
        conform_records(pl.DataFrame({"id": ["a"], "valence": [["x"]]}))
