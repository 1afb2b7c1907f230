"""Reward specs: registry, validation, serialisation, building, the composite, grids."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eemo_rewards.rewards.base as base_module
import eemo_rewards.rewards.composite as composite_module
from eemo_rewards.rewards.base import RewardFunction, RewardInternalError
from eemo_rewards.rewards.format import FormatReward
from eemo_rewards.spec import (
    PRESETS,
    CompositeReward,
    RewardSpec,
    RewardTerm,
    default_spec,
    known_rewards,
    preset,
    register_reward,
    registered_reward,
    reward_class,
)
from eemo_rewards.tasks import TASKS

GOOD = "<think>warm light on the faces</think><answer>joy</answer>"
BAD = "joy"


class _Exploding(RewardFunction):
    """A reward whose scorer always fails (tests the per-term safety net)."""

    default_name = "exploding"

    def _score(self, parsed, solution, **_):
        raise RuntimeError("boom")


class _EmotionOnly(RewardFunction):
    """Scores 0.5 on emotion samples only; reads one extra column."""

    default_name = "emotion_only"
    default_tasks = frozenset({"emotion"})
    columns = ("taxonomy",)

    def __init__(self, *, value: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.value = value

    def _score(self, parsed, solution, *, taxonomy=None, **_):
        return self.value if taxonomy != "zero" else 0.0


@pytest.fixture(autouse=True)
def _test_rewards():
    with (
        registered_reward("_exploding", _Exploding, overwrite=True),
        registered_reward("_emotion_only", _EmotionOnly, overwrite=True),
    ):
        yield


def test_a_scoped_registration_is_undone_and_restores_what_it_replaced():
    with registered_reward("format", _Exploding, overwrite=True) as cls:
        assert cls is _Exploding and reward_class("format") is _Exploding
    assert reward_class("format") is FormatReward
    with pytest.raises(RuntimeError), registered_reward("_scoped", _Exploding):
        raise RuntimeError("inside")
    assert "_scoped" not in known_rewards()


# -- registry ------------------------------------------------------------------------------
def test_registry_names_the_five_rewards_and_resolves_format():
    assert {"format", "accuracy", "intensity", "ranking", "thurstone"} <= set(known_rewards())
    assert reward_class("format") is FormatReward


def test_registry_resolves_every_builtin_reward_to_a_reward_class():
    for name in ("format", "accuracy", "intensity", "ranking", "thurstone"):
        assert issubclass(reward_class(name), RewardFunction), name


def test_unknown_reward_lists_known_names():
    with pytest.raises(ValueError, match=r"unknown reward 'acuracy'.*'format'"):
        RewardTerm("acuracy")


def test_register_refuses_duplicates_and_non_rewards():
    with pytest.raises(ValueError, match="already registered"):
        register_reward("format", FormatReward)
    with pytest.raises(TypeError, match="RewardFunction subclass"):
        register_reward("nope", dict)
    with pytest.raises(ValueError, match="module:ClassName"):
        register_reward("nope", "eemo_rewards.rewards.format.FormatReward")


def test_dotted_path_registration_is_lazy_and_resolves():
    with registered_reward("_fmt_path", "eemo_rewards.rewards.format:FormatReward") as cls:
        assert cls is FormatReward  # resolved on first use (the with block asks for it)
        assert reward_class("_fmt_path") is FormatReward


def test_broken_dotted_path_says_what_is_missing():
    with pytest.raises(ImportError, match="no_such_module"):  # noqa: SIM117
        with registered_reward("_missing", "eemo_rewards.no_such_module:Nothing"):
            pass
    assert "_missing" not in known_rewards()


# -- term validation -----------------------------------------------------------------------
def test_unknown_parameter_lists_accepted_ones():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['parital'\].*'partial'"):
        RewardTerm("format", params={"parital": True})


@pytest.mark.parametrize("weight", [-1.0, float("nan"), float("inf"), "1", True])
def test_bad_weights_are_rejected(weight):
    with pytest.raises(ValueError, match="weight must be a finite number >= 0"):
        RewardTerm("format", weight)


def test_tasks_are_canonicalised_and_checked():
    assert RewardTerm("format", tasks=["What/How", "vad"]).tasks == [
        "multiple_choice",
        "assessment",
    ]
    with pytest.raises(ValueError, match=r"unknown task\(s\) \['poetry'\]"):
        RewardTerm("format", tasks=["poetry"])
    with pytest.raises(ValueError, match="not inside params"):
        RewardTerm("format", params={"tasks": ["emotion"]})


def test_constructor_errors_name_the_term():
    with (
        registered_reward("_intens", "eemo_rewards.rewards.intensity:IntensityReward"),
        pytest.raises(ValueError, match=r"term '_intens'.*kernel"),
    ):
        RewardTerm("_intens", params={"kernel": "triangle"}).build()


# -- spec validation and serialisation -----------------------------------------------------
def test_spec_needs_terms_and_a_known_aggregation():
    with pytest.raises(ValueError, match="at least one term"):
        RewardSpec([])
    with pytest.raises(ValueError, match="unknown aggregation 'max'"):
        RewardSpec([RewardTerm("format")], aggregation="max")
    with pytest.raises(TypeError, match="list of RewardTerm"):
        RewardSpec(RewardTerm("format"))


def test_identical_terms_must_be_merged():
    with pytest.raises(ValueError, match="merge them"):
        RewardSpec([RewardTerm("format"), RewardTerm("format")])


def test_json_round_trip_and_unknown_keys():
    spec = RewardSpec(
        [
            RewardTerm("format", 0.25, {"partial": True}, label="format_partial"),
            RewardTerm("_emotion_only", 2.0, {"value": 0.75}, tasks=["emotion"]),
        ],
        aggregation="mean",
        name="mine",
    )
    again = RewardSpec.from_json(spec.to_json())
    assert again == spec
    assert json.loads(spec.to_json())["terms"][1]["tasks"] == ["emotion"]
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['wieght'\]"):
        RewardSpec.from_dict({"terms": [{"name": "format", "wieght": 1}]})
    with pytest.raises(ValueError, match="not valid JSON"):
        RewardSpec.from_json("{terms: format}")
    with pytest.raises(ValueError, match="no 'name'"):
        RewardSpec.from_dict({"terms": [{"weight": 1}]})


def test_yaml_round_trip():
    pytest.importorskip("yaml")
    spec = RewardSpec([RewardTerm("format", 0.5, {"partial": True})])
    assert RewardSpec.from_yaml(spec.to_yaml()) == spec


def test_short_id_is_stable_and_ignores_the_name():
    a = RewardSpec([RewardTerm("format", 0.5)], name="a")
    b = RewardSpec([RewardTerm("format", 0.5)], name="b")
    c = RewardSpec([RewardTerm("format", 0.6)])
    assert a.short_id() == b.short_id() != c.short_id()
    assert len(a.short_id()) == 8


# -- build ---------------------------------------------------------------------------------
def test_build_gives_distinct_names_and_weights():
    spec = RewardSpec(
        [
            RewardTerm("format", 0.5),
            RewardTerm("format", 1.0, {"partial": True}),
            RewardTerm("format", 1.0, {"partial": True}, tasks=["emotion"]),
        ]
    )
    funcs, weights = spec.build()
    names = [f.__name__ for f in funcs]
    assert len(set(names)) == 3, names
    assert names[0] == "format_reward"
    assert "partial" in names[1]
    assert weights == [0.5, 1.0, 1.0]
    assert funcs[2].tasks == frozenset({"emotion"})


def test_explicit_name_param_is_kept():
    funcs, _ = RewardSpec([RewardTerm("format", params={"name": "fmt"})]).build()
    assert funcs[0].__name__ == "fmt"


def test_built_funcs_follow_trl_contract():
    funcs, _ = RewardSpec([RewardTerm("format"), RewardTerm("_emotion_only")]).build()
    out = [
        f(prompts=["p", "p"], completions=[GOOD, BAD], task=["emotion", "yes_no"]) for f in funcs
    ]
    assert out == [[1.0, 0.0], [0.5, None]]


# -- composite -----------------------------------------------------------------------------
def _spec(aggregation="sum"):
    return RewardSpec(
        [RewardTerm("format", 0.5), RewardTerm("_emotion_only", 2.0)], aggregation=aggregation
    )


def test_composite_weighted_sum_routes_by_task():
    comp = _spec().composite()
    assert comp.score(GOOD, "joy", task="emotion") == pytest.approx(0.5 * 1 + 2 * 0.5)
    assert comp.score(GOOD, "yes", task="yes_no") == pytest.approx(0.5)
    assert comp.score(BAD, "joy", task="emotion") == pytest.approx(1.0)
    # task unknown to the dataset: every term applies
    assert comp.score(GOOD, "joy") == pytest.approx(1.5)
    assert (comp.low, comp.high) == (0.0, 2.5)  # 0.5 * 1 + 2 * 1


def test_composite_mean_divides_by_applicable_weight():
    comp = _spec("mean").composite()
    assert comp.score(GOOD, "joy", task="emotion") == pytest.approx((0.5 + 1.0) / 2.5)
    assert comp.score(GOOD, "yes", task="yes_no") == pytest.approx(1.0)


def test_composite_matches_trl_weighted_sum_of_built_funcs():
    spec = _spec()
    funcs, weights = spec.build()
    comp = spec.composite()
    completions = [GOOD, BAD, GOOD + " extra", None]
    tasks = ["emotion", "emotion", "yes_no", "description"]
    per_func = [f(completions=completions, task=tasks) for f in funcs]
    for i in range(len(completions)):
        expected = sum(
            w * col[i] for w, col in zip(weights, per_func, strict=True) if col[i] is not None
        )
        assert comp.score(completions[i], task=tasks[i]) == pytest.approx(expected)


def test_composite_not_applicable_is_none_for_trl_and_fallback_elsewhere():
    comp = RewardSpec([RewardTerm("_emotion_only")]).composite(fallback=0.25)
    assert comp(completions=[GOOD, GOOD], task=["emotion", "ranking"]) == [0.5, None]
    assert comp.score(GOOD, task="ranking") == 0.25
    assert comp.low <= 0.25 <= comp.high


def test_composite_passes_declared_columns_to_their_term():
    comp = _spec().composite()
    assert comp.columns == ("taxonomy",)
    out = comp(completions=[GOOD, GOOD], task=["emotion"] * 2, taxonomy=["x", "zero"])
    assert out == [pytest.approx(1.5), pytest.approx(0.5)]


def test_composite_parses_each_completion_once(monkeypatch):
    calls = []
    real = composite_module.parse_completion

    def counting(x, **kw):
        calls.append(x)
        return real(x, **kw)

    monkeypatch.setattr(composite_module, "parse_completion", counting)
    monkeypatch.setattr(base_module, "parse_completion", counting)
    comp = RewardSpec(
        [RewardTerm("format"), RewardTerm("format", params={"partial": True})]
    ).composite()
    comp(completions=[GOOD, BAD, GOOD], task=["emotion"] * 3)
    assert len(calls) == 3
    calls.clear()
    comp.score_with_components(GOOD, task="emotion")
    assert len(calls) == 1


def test_components_report_each_term_unweighted():
    comp = _spec().composite()
    total, parts = comp.score_with_components(GOOD, "joy", task="yes_no")
    assert total == pytest.approx(0.5)
    assert parts == {"format_reward": 1.0, "emotion_only": None}
    assert comp.score_with_components(BAD, task="emotion")[1] == {
        "format_reward": 0.0,
        "emotion_only": 0.5,
    }
    with pytest.deprecated_call():
        assert (
            comp.components(BAD, task="emotion")
            == comp.score_with_components(BAD, task="emotion")[1]
        )


def test_failing_term_is_contained_and_others_still_count():
    comp = RewardSpec([RewardTerm("format"), RewardTerm("_exploding", 3.0)]).composite()
    with pytest.warns(RewardInternalError, match="exploding failed"):
        value = comp.score(GOOD, task="emotion")
    assert value == 1.0
    with pytest.warns(RewardInternalError):
        _, parts = comp.score_with_components(GOOD, task="emotion")
    assert parts == {"format_reward": 1.0, "exploding": 0.0}


def test_composite_is_picklable_and_equivalent_after_unpickling():
    comp = _spec().composite()
    comp.score(GOOD, task="emotion")  # fills the routing cache
    again = pickle.loads(pickle.dumps(comp))
    assert again.__name__ == comp.__name__ == "eemo_reward"
    for task in ("emotion", "yes_no", None):
        assert again.score(GOOD, "joy", task=task) == comp.score(GOOD, "joy", task=task)


def test_composite_rejects_bad_construction():
    with pytest.raises(ValueError, match="names must be distinct"):
        CompositeReward([FormatReward(), FormatReward()])
    with pytest.raises(ValueError, match="2 weights for 1 rewards"):
        CompositeReward([FormatReward()], [1.0, 2.0])
    with pytest.raises(ValueError, match="finite numbers >= 0"):
        CompositeReward([FormatReward()], [math.nan])
    with pytest.raises(TypeError, match="RewardFunction instances"):
        CompositeReward([len])


# -- task coverage -------------------------------------------------------------------------
def test_check_tasks_reports_routing_and_uncovered_tasks():
    spec = RewardSpec([RewardTerm("_emotion_only"), RewardTerm("format", 0.0)])
    assert spec.check_tasks(["emotion", "dominant_emotion"]) == {"emotion": ["emotion_only"]}
    with pytest.raises(ValueError, match=r"task\(s\) \['yes_no'\]"):
        spec.check_tasks(["emotion", "yes_no"])
    with pytest.raises(ValueError, match="unknown task 'poetry'"):
        spec.check_tasks(["poetry"])


def test_default_spec_covers_every_task():
    routing = default_spec().check_tasks(TASKS)
    assert set(routing) == set(TASKS)
    assert all("format_reward" in names for names in routing.values())
    for task in ("yes_no", "multiple_choice", "emotion", "ranking", "assessment"):
        assert len(routing[task]) >= 2, (task, routing[task])


# -- grids and presets ---------------------------------------------------------------------
def test_grid_enumerates_the_product_with_labels_and_ids():
    base = _spec()
    variants = base.grid(
        {"_emotion_only.value": [0.25, 1.0]}, format__weight=[0.0, 1.0], aggregation=["sum", "mean"]
    )
    assert len(variants) == 8
    assert len({v.short_id() for v in variants}) == 8
    first = variants[0]
    assert first.name == "_emotion_only.value=0.25,format.weight=0.0,aggregation=sum"
    assert first.terms[0].weight == 0.0 and first.terms[1].params == {"value": 0.25}
    # the base is unchanged, and a grid is reproducible
    assert base == _spec()
    assert [v.short_id() for v in base.grid(format__weight=[0.0, 1.0])] == [
        v.short_id() for v in _spec().grid(format__weight=[0.0, 1.0])
    ]


def test_grid_errors_say_what_to_fix():
    with pytest.raises(ValueError, match="no term 'acc'"):
        _spec().grid(acc__mode=["soft"])
    with pytest.raises(ValueError, match="non-empty list"):
        _spec().grid(format__weight=[])
    with pytest.raises(ValueError, match=r"'<term>\.<param>'"):
        _spec().with_settings({"weight": 1})
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['bogus'\]"):
        _spec().grid(format__bogus=[1])
    twin = RewardSpec([RewardTerm("format"), RewardTerm("format", params={"partial": True})])
    with pytest.raises(ValueError, match="distinct labels"):
        twin.with_settings({"format.weight": 2})


def test_presets_build_and_cover_their_tasks():
    for name in PRESETS:
        spec = preset(name)
        funcs, weights = spec.build()
        assert len(funcs) == len(weights) >= 1
        assert len({f.__name__ for f in funcs}) == len(funcs)
        assert RewardSpec.from_json(spec.to_json()) == spec
    with pytest.raises(ValueError, match="presets are"):
        preset("nope")


def test_eemo_logic_preset_is_binary_format_plus_soft_accuracy():
    spec = preset("eemo_logic")
    assert [t.name for t in spec.terms] == ["format", "accuracy"]
    assert spec.terms[0].params == {}
    assert spec.terms[1].params["mode"] == "soft"


def test_default_composite_never_warns_on_typical_samples():
    comp = default_spec().composite()
    samples = [
        (GOOD, "joy", "emotion", None),
        ("<think>t</think><answer>B</answer>", "B", "multiple_choice", ["a", "b"]),
        ("<think>t</think><answer>yes</answer>", "yes", "yes_no", None),
        ("<think>t</think><answer>valence: 0.7</answer>", "valence: 0.6", "assessment", None),
        ("<think>t</think><answer>joy, fear, awe</answer>", "joy, awe, fear", "ranking", None),
        ("<think>t</think><answer>first</answer>", "first", "comparison", None),
        ("<think>t</think><answer>a calm lake</answer>", "a lake", "description", None),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for completion, solution, task, options in samples:
            value = comp.score(completion, solution, task=task, options=options)
            assert comp.low <= value <= comp.high
            # description is scored by format alone (weight 0.5); every other task adds a
            # task reward on top of it
            if task == "description":
                assert value == 0.5
            else:
                assert value > 0.5, (task, value)


def test_spec_and_adapters_import_no_heavy_dependency():
    # torch is imported inside OpenRLHF's reward_func only; PyYAML only by to_yaml/from_yaml
    code = (
        "import sys, eemo_rewards.spec, eemo_rewards.adapters.verl, eemo_rewards.adapters.openrlhf,"
        " eemo_rewards.adapters.easyr1, eemo_rewards.adapters.swift;"
        "heavy = {'torch', 'yaml', 'trl', 'transformers', 'polars', 'swift'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_composite_accepts_trl_extra_keywords():
    # TRL 1.x also passes trainer_state, log_extra and log_metric to every reward function
    comp = default_spec().composite()
    out = comp(
        prompts=["p", "p"],
        completions=[[{"role": "assistant", "content": GOOD}], GOOD],
        completion_ids=[[1, 2], [3]],
        solution=["joy", "fear"],
        task=["emotion", "emotion"],
        options=[None, None],
        trainer_state=object(),
        log_extra=lambda column, values: None,
        log_metric=lambda name, value: None,
        image_id=["a", "b"],
    )
    assert out[0] > out[1] >= 0.5


def test_batch_level_term_is_called_once_per_batch_and_added_in():
    spec = RewardSpec([RewardTerm("format", 0.5), RewardTerm("thurstone", 2.0)])
    comp = spec.composite()
    (_, thurstone), _ = spec.build()
    done = "<think>t</think><answer>{}</answer>"
    batch = {
        "completions": [done.format(x) for x in ("0.8", "0.1", "0.2", "0.9")] + [GOOD],
        "solution": ["0.9", "0.9", "0.1", "0.1", "joy"],
        "image_id": ["a", "a", "b", "b", "c"],
        "task": ["assessment"] * 4 + ["emotion"],
    }
    expected_thurstone = thurstone(**batch)
    assert expected_thurstone[4] is None
    # the batch score differs from the one-sample fallback, so the test can tell them apart
    assert expected_thurstone[:4] != [
        thurstone.score(c, s, task="assessment")
        for c, s in zip(batch["completions"][:4], batch["solution"][:4], strict=True)
    ]
    out = comp(**batch)
    for i in range(4):
        assert out[i] == pytest.approx(0.5 * 1.0 + 2.0 * expected_thurstone[i])
    assert out[4] == pytest.approx(0.5)
    # one sample at a time, the term contributes its one-sample score
    one = comp.score(batch["completions"][0], "0.9", task="assessment")
    assert one == pytest.approx(0.5 + 2.0 * thurstone.score(batch["completions"][0], "0.9"))


def test_mean_aggregation_with_a_batch_level_term():
    spec = RewardSpec([RewardTerm("format", 1.0), RewardTerm("thurstone", 3.0)], aggregation="mean")
    comp = spec.composite()
    (_, thurstone), _ = spec.build()
    done = "<think>t</think><answer>{}</answer>"
    batch = {
        "completions": [done.format(x) for x in ("0.8", "0.3", "0.2", "0.7")],
        "solution": ["0.9", "0.9", "0.1", "0.1"],
        "image_id": ["a", "a", "b", "b"],
        "task": ["assessment"] * 4,
    }
    t = thurstone(**batch)
    assert comp(**batch) == [pytest.approx((1.0 + 3.0 * v) / 4.0) for v in t]


_term_dicts = st.fixed_dictionaries(
    {
        "name": st.just("format"),
        "weight": st.floats(0, 10, allow_nan=False),
        "params": st.fixed_dictionaries(
            {}, optional={"partial": st.booleans(), "allow_prefilled_think": st.booleans()}
        ),
        "tasks": st.one_of(st.none(), st.lists(st.sampled_from(TASKS), min_size=1, max_size=3)),
    }
)


@settings(max_examples=60, deadline=None)
@given(
    terms=st.lists(_term_dicts, min_size=1, max_size=4, unique_by=lambda t: repr(t)),
    aggregation=st.sampled_from(["sum", "mean"]),
)
def test_any_valid_spec_round_trips_and_builds_distinct_names(terms, aggregation):
    try:
        spec = RewardSpec(terms, aggregation=aggregation)
    except ValueError as exc:  # two terms equal once canonicalised: the only refusal
        assert "merge them" in str(exc)
        return
    assert RewardSpec.from_json(spec.to_json()) == spec
    assert RewardSpec.from_dict(spec.to_dict()).short_id() == spec.short_id()
    funcs, weights = spec.build()
    assert len({f.__name__ for f in funcs}) == len(funcs)
    assert weights == [t.weight for t in spec.terms]
    comp = spec.composite()
    value = comp.score(GOOD, "joy", task="emotion")
    assert comp.low <= value <= comp.high
