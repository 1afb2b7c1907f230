"""Taxonomies: label sets, synonym folding by whole words only, aliases, VAD norm coverage."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eemo_rewards.taxonomy import (
    TAXONOMIES,
    Taxonomy,
    get_taxonomy,
    normalise_phrase,
    vad_norms,
)

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
VAD_REFERENCE = REFERENCE / "eemo-logic" / "emotion_vad_scores.json"


def test_the_five_taxonomies_and_their_label_sets():
    assert set(TAXONOMIES) == {"eemo_bench7", "mikels8", "ekman6", "emotic26", "plutchik24"}
    assert TAXONOMIES["eemo_bench7"].labels == (
        "joy",
        "anger",
        "disgust",
        "sadness",
        "surprise",
        "fear",
        "neutral",
    )
    assert set(TAXONOMIES["mikels8"].labels) == {
        "amusement",
        "awe",
        "contentment",
        "excitement",
        "anger",
        "disgust",
        "fear",
        "sadness",
    }
    assert set(TAXONOMIES["ekman6"].labels) == {
        "anger",
        "disgust",
        "fear",
        "happiness",
        "sadness",
        "surprise",
    }
    assert len(TAXONOMIES["emotic26"].labels) == 26
    assert len(TAXONOMIES["plutchik24"].labels) == 24


@pytest.mark.parametrize(
    ("taxonomy", "word", "label"),
    [
        ("eemo_bench7", "joyful", "joy"),
        ("eemo_bench7", "Happiness", "joy"),
        ("eemo_bench7", "pleasure", "joy"),
        ("eemo_bench7", "Neutrality", "neutral"),
        ("eemo_bench7", "shock", "surprise"),
        ("eemo_bench7", "surprised", "surprise"),
        ("eemo_bench7", "SAD", "sadness"),
        ("eemo_bench7", "angry!", "anger"),
        ("eemo_bench7", "scared", "fear"),
        ("eemo_bench7", "afraid", "fear"),
        ("eemo_bench7", "disgusted", "disgust"),
        ("mikels8", "content", "contentment"),
        ("mikels8", "amused", "amusement"),
        ("mikels8", "excited", "excitement"),
        ("ekman6", "joy", "happiness"),
        ("emotic26", "Doubt/Confusion", "doubt/confusion"),
        ("emotic26", "confused", "doubt/confusion"),
        ("plutchik24", "terrified", "terror"),
    ],
)
def test_synonyms_and_inflections_fold_to_the_canonical_label(taxonomy, word, label):
    assert get_taxonomy(taxonomy).normalise(word) == label


def test_matching_is_whole_word_never_substring():
    mikels = get_taxonomy("mikels8")
    assert mikels.normalise("discontent") is None
    assert mikels.normalise("contentment") == "contentment"
    assert mikels.find_labels("a discontented crowd") == []
    assert mikels.find_labels("the scene's content") == ["contentment"]  # a declared synonym
    eemo = get_taxonomy("eemo_bench7")
    assert eemo.normalise("contentment") is None
    assert eemo.find_labels("fearless and joyless") == []
    assert eemo.find_labels("sadnesses") == []


def test_find_labels_returns_distinct_labels_in_order_of_first_mention():
    eemo = get_taxonomy("eemo_bench7")
    assert eemo.find_labels("Fear, then JOY; the fearful mood returns.") == ["fear", "joy"]
    assert eemo.find_labels("The dominant emotion is joy.") == ["joy"]
    assert eemo.find_labels("") == []
    assert eemo.find_labels(None) == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Joyful", ["joy"]),
        ("JOY", ["joy"]),
        ("joy.", ["joy"]),
        ("joyless", []),
        ("Pleasure", ["joy"]),
        ("Ｊoy", []),  # a full-width letter is not ASCII: read word by word, still no label
    ],
)
def test_one_word_answers(text, found):
    assert get_taxonomy("eemo_bench7").find_labels(text) == found


def test_find_labels_prefers_multi_word_phrases():
    emotic = get_taxonomy("emotic26")
    assert emotic.find_labels("doubt/confusion") == ["doubt/confusion"]
    assert get_taxonomy("mikels8").find_labels("I stand in awe") == ["awe"]


def test_no_synonym_names_two_labels_and_labels_are_their_own_synonyms():
    for tax in TAXONOMIES.values():
        for label in tax.labels:
            assert tax.normalise(label) == label
        assert set(tax.synonyms.values()) == set(tax.labels)
        assert all(len(key.split()) <= 3 for key in tax.synonyms)


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("EEmo-Bench", "eemo_bench7"),
        ("eemo_bench7", "eemo_bench7"),
        ("Mikels", "mikels8"),
        ("mikels-8", "mikels8"),
        ("EMOTIC", "emotic26"),
        ("Plutchik 24", "plutchik24"),
        ("ekman", "ekman6"),
    ],
)
def test_aliases_are_case_and_separator_insensitive(alias, name):
    assert get_taxonomy(alias).name == name


def test_unknown_taxonomy_lists_the_known_names():
    with pytest.raises(ValueError, match=r"unknown taxonomy 'nope'.*eemo_bench7.*mikels8"):
        get_taxonomy("nope")
    with pytest.raises(ValueError, match="unknown taxonomy"):
        get_taxonomy(None)


def test_taxonomies_are_frozen_cached_and_picklable():
    tax = get_taxonomy("mikels8")
    assert tax is get_taxonomy("Mikels")
    assert isinstance(tax, Taxonomy)
    with pytest.raises(AttributeError):
        tax.name = "other"
    with pytest.raises(TypeError):
        tax.synonyms["x"] = "joy"
    assert get_taxonomy(tax) is tax
    assert pickle.loads(pickle.dumps(tax.labels)) == tax.labels


def test_vad_norms_cover_every_label_of_every_taxonomy():
    norms = vad_norms()
    missing = [
        (t.name, label) for t in TAXONOMIES.values() for label in t.labels if label not in norms
    ]
    assert missing == []
    for vad in norms.values():
        assert len(vad) == 3
        assert all(1.0 <= x <= 9.0 for x in vad)


def test_vad_norms_resource_cites_its_source():
    from importlib import resources

    data = json.loads(
        resources.files("eemo_rewards").joinpath("resources", "vad_norms.json").read_text()
    )
    assert "EEmo-Logic" in data["_source"]
    assert "Apache-2.0" in data["_source"]


@pytest.mark.skipif(not VAD_REFERENCE.is_file(), reason=f"{VAD_REFERENCE} not found")
def test_vad_norms_equal_the_released_table():
    released = json.loads(VAD_REFERENCE.read_text())
    assert {word: tuple(v) for word, v in released.items()} == dict(vad_norms())


def test_normalise_phrase():
    assert normalise_phrase("  Joy!!  and\tFEAR ") == "joy and fear"
    assert normalise_phrase("---") == ""


_ANY_LABEL_WORDS = sorted({k for t in TAXONOMIES.values() for k in t.synonyms})


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from(_ANY_LABEL_WORDS), st.text(max_size=12)),
        max_size=12,
    ).map(" ".join),
    st.sampled_from(sorted(TAXONOMIES)),
)
def test_find_labels_property(text, name):
    tax = get_taxonomy(name)
    found = tax.find_labels(text)
    assert len(found) == len(set(found))
    assert all(label in tax.labels for label in found)
    # every label found occurs as whole words of one of its synonyms
    words = f" {normalise_phrase(text)} "
    for label in found:
        assert any(f" {k} " in words for k, v in tax.synonyms.items() if v == label)
    # and a text with no word characters mentions nothing
    assert tax.find_labels(re.sub(r"\w", " ", text)) == []
