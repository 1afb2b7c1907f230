"""The grammar of answers: every reader commits to what the phrase generator's template says,
over thousands of fresh phrasings per task, and every lexicon entry carries weight.

A reader that learns by example passes the examples and fails the next phrasing; these tests
generate the phrasings (``eemo_rewards.answers.phrases``: templates x candidates x polarity x
surface noise) and check the rule, not the strings.
"""

from __future__ import annotations

import collections
import warnings

import pytest

from eemo_rewards.answers import (
    extract_choice,
    grammar,
    parse_comparison,
    parse_ranking,
    parse_scores,
    read_label,
    read_yes_no,
)
from eemo_rewards.answers.phrases import CLASSES, PHRASE_TASKS, generate_cases

SEEDS = (0, 1)


def read(case):
    """What the task's reader makes of a generated case, in the case's terms."""
    if case.task == "multiple_choice":
        return extract_choice(case.text, case.options)
    if case.task == "yes_no":
        return read_yes_no(case.text)
    if case.task == "emotion":
        return read_label(case.text, case.taxonomy)
    if case.task == "ranking":
        return tuple(parse_ranking(case.text, case.taxonomy)) or None
    if case.task == "assessment":
        values = parse_scores(case.text, scale=case.scale)
        return {k: round(v, 6) for k, v in values.items()} or None
    return parse_comparison(case.text)


def expected(case):
    if isinstance(case.expected, dict):
        return {k: round(v, 6) for k, v in case.expected.items()}
    return case.expected


@pytest.mark.parametrize("task", PHRASE_TASKS)
def test_every_reader_commits_to_what_the_template_says(task):
    wrong = collections.defaultdict(list)
    count = 0
    for seed in SEEDS:
        for case in generate_cases(task, seed=seed):
            count += 1
            if read(case) != expected(case):
                wrong[case.cls].append((case.text, case.expected, read(case)))
    assert count >= 800
    assert not wrong, {cls: (len(w), w[:3]) for cls, w in wrong.items()}


def test_no_hack_is_credited_with_the_truth():
    hacks = [c for seed in SEEDS for c in generate_cases(seed=seed) if c.hack]
    assert len(hacks) > 2000
    credited = [c.text for c in hacks if read(c) == expected(c) and expected(c) == c.truth]
    assert not credited
    # every class of the issue is generated and checked
    assert {c.cls for c in hacks} >= {
        "negation-before", "negation-predicate", "retraction", "hedge", "lookalike",
        "invisible", "letter-text-mismatch", "tie", "either-ranking", "bound", "alternatives",
        "repeated-answer", "list-all-options",
    }  # fmt: skip
    assert set(CLASSES) == {c.cls for seed in SEEDS for c in generate_cases(seed=seed)}


# -- every lexicon entry carries weight ---------------------------------------------------
# Witnesses: phrasings built from an entry, with what they must read as. With the entry in
# the lexicon every witness reads so; without it at least one reads otherwise. An entry no
# witness needs is dead weight (another entry already covers it) and does not belong.
E7 = "eemo_bench7"
LONG = (
    " The scene could remind some viewers of fear in another context, with its dark corners,"
    " its unusual camera angle and the long shadows across the empty floor of the room."
)


def _label(text):
    return read_label(text, E7)


WITNESSES = {
    "negation_before": [(_label, "{e} joy.", None)],
    "negation_after": [(_label, "Joy is {e}.", None), (_label, "Joy {e}.", None)],
    "denial_clause": [(_label, "Joy? {e}.", None)],
    "hedge_before": [(_label, "{e} joy.", None), (_label, "Joy, {e} fear.", None)],
    "hedge_after": [(_label, "Joy {e}.", None), (_label, "Joy, {e} fear.", None)],
    "against": [(parse_comparison, "The first image evokes more of it {e} the second.", "first")],
    "uncertain": [(_label, "Joy, {e}.", None)],
    "retraction": [(_label, "Fear. {e}, joy.", "joy")],
    "idiom": [(_label, "{e} joy.", "joy"), (_label, "It is joy, {e}.", "joy")],
    "listing": [(_label, "{e} fear and joy, joy.", "joy")],
    "reason": [(_label, "Joy, {e} the colours are warm." + LONG, "joy")],
}


def _witnesses(key, entry):
    phrase = " ".join(entry)
    return [(reader, template.format(e=phrase), want) for reader, template, want in WITNESSES[key]]


ENTRIES = [
    (key, entry) for key in sorted(grammar.LEXICON) for entry in sorted(grammar.LEXICON[key])
]


def test_every_lexicon_key_has_witnesses():
    assert set(WITNESSES) == set(grammar.LEXICON)


@pytest.mark.parametrize(
    ("key", "entry"), ENTRIES, ids=lambda x: x if isinstance(x, str) else " ".join(x)
)
def test_removing_a_lexicon_entry_turns_a_witness_red(key, entry, monkeypatch, request):
    grammar.clear_caches()
    request.addfinalizer(grammar.clear_caches)
    witnesses = _witnesses(key, entry)
    held = [(text, reader(text), want) for reader, text, want in witnesses]
    assert all(got == want for _, got, want in held), held
    monkeypatch.setitem(grammar.LEXICON, key, grammar.LEXICON[key] - {entry})
    grammar.clear_caches()
    flipped = [text for reader, text, want in witnesses if reader(text) != want]
    assert flipped, f"{key} {' '.join(entry)!r}: no witness needs it (another entry covers it)"


@pytest.mark.parametrize("key", sorted(grammar.LEXICON))
def test_removing_a_polarity_rule_turns_every_witness_of_it_red(key, monkeypatch, request):
    """A whole rule removed (its lexicon emptied): each of its entries' witnesses fails."""
    request.addfinalizer(grammar.clear_caches)
    entries = sorted(grammar.LEXICON[key])
    monkeypatch.setitem(grammar.LEXICON, key, frozenset())
    grammar.clear_caches()
    held = [
        " ".join(entry)
        for entry in entries
        if all(reader(text) == want for reader, text, want in _witnesses(key, entry))
    ]
    assert not held, f"{key}: still read right without the rule: {held}"


# -- the pipeline's stages ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("N\u043et joy", "Not joy"),  # Cyrillic o
        ("No\u200bt joy", "Not joy"),  # zero-width space
        ("N\u00adot joy", "Not joy"),  # soft hyphen
        ("\u202eB", "B"),  # bidi control
        ("\uff22", "B"),  # full-width
        ("**B**", "B"),
        ("_joy_", "joy"),
        ("`B`", "B"),
        ("&nbsp;B", " B"),
        ("It isn't joy", "It is not joy"),
        ("\\boxed{B}", "B"),
    ],
)
def test_normalise_once(raw, folded):
    assert grammar.fold(raw) == folded


def test_an_overflowing_solution_is_a_bad_solution_not_an_internal_error():
    from eemo_rewards.rewards.intensity import IntensityReward

    reward = IntensityReward()
    completion = "<think>x</think><answer>valence: 0.5</answer>"
    for solution in (10**400, {"valence": 10**400}, "valence: " + "9" * 400):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert reward(completions=[completion], solution=[solution], task=["assessment"]) == [
                0.0
            ]
        kinds = {type(w.message).__name__ for w in caught}
        assert "RewardInternalError" not in kinds, [str(w.message)[:120] for w in caught]
        assert any("cannot read a score" in str(w.message) for w in caught)


@pytest.mark.parametrize(
    ("think", "argued"),
    [
        ("Either joy or fear.", None),  # two kept open: the first is not argued for
        ("It looks sad. Actually, it is joy.", "joy"),  # the retraction's replacement
        ("Not fear; joy.", "joy"),
        ("Joy is wrong here; fear.", "fear"),  # the predicate denies as in the readers
    ],
)
def test_the_judge_reads_label_names_with_the_same_grammar(think, argued):
    from eemo_rewards.judges import CueJudge, JudgeContext

    assert CueJudge().argue(think, JudgeContext("emotion")) == argued
