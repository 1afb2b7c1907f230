"""No verdict without answers: a metric whose items one stage left unanswered (coverage 0) or
answered with a constant (a correlation is then undefined) gets "no answers" / "undefined",
never "within noise"; the card counts them apart, leads with them and shows coverage."""

from __future__ import annotations

import random

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eemo_rewards.analysis.power import paired_difference

# the words that take a verdict's place (eemo_rewards.analysis.power.NO_VERDICT)
NO_ANSWERS, UNDEFINED = "no answers", "undefined"

pytest.importorskip("numpy")


def _assessment_rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        dim = ("valence", "arousal", "dominance")[i % 3]
        rows.append({"task": "assessment", "dimension": dim,
                     "solution": f"{dim}: {rng.random():.2f}"})  # fmt: skip
    return rows


def _evaluation(stages: dict[str, list[str]], rows: list[dict]) -> list[dict]:
    from eemo_rewards.train.evaluate import score_completions

    out = []
    for stage, completions in stages.items():
        result = score_completions(rows, completions, spec="default")
        out.append({"stage": stage, "decoding": "greedy", **result.metrics,
                    "items": [r["item_metrics"] for r in result.rows]})  # fmt: skip
    return out


def _card(evaluation):
    from eemo_rewards.analysis.runs import results_card

    card = results_card(evaluation)
    return card, {r["metric"]: r for r in card["table"].iter_rows(named=True)}


def _answer(text: str) -> str:
    return f"<think>looks calm</think><answer>{text}</answer>"


def test_a_model_that_answers_every_vad_question_with_dominance_gets_no_verdict():
    """The broken run of the report: every V/A/D answer is "dominance: 0.3"; valence and
    arousal were never answered by either stage, so no verdict and no "helps"."""
    rows = _assessment_rows(60)
    broken = [_answer("dominance: 0.3")] * len(rows)
    card, by_metric = _card(_evaluation({"sft": broken, "grpo": broken}, rows))
    for dim in ("valence", "arousal"):
        for kind in ("srcc", "plcc"):
            row = by_metric[f"{dim}_{kind}"]
            assert row["verdict"] == NO_ANSWERS, (dim, kind, row)
            assert row["coverage_sft"] == 0.0 and row["coverage_grpo"] == 0.0
    # dominance was answered, but always 0.3: its correlations are undefined, not "no change"
    assert by_metric["dominance_srcc"]["verdict"] == UNDEFINED
    assert by_metric["dominance_srcc"]["coverage_grpo"] == 1.0
    assert not any(r["verdict"] == "within noise" for m, r in by_metric.items()
                   if m.endswith(("_srcc", "_plcc")))  # fmt: skip
    # the card leads with what got no verdict, and counts it apart from the verdicts
    assert card["text"].startswith("**no answers on 4**")
    assert "undefined on 2" in card["text"]
    assert "helps on 0" in card["text"]
    assert "within noise on" in card["text"]


def test_coverage_is_a_column_and_a_partly_answering_stage_still_gets_a_verdict():
    rows = _assessment_rows(90, seed=1)
    rng = random.Random(3)
    good = [_answer(r["solution"]) for r in rows]
    noisy = [_answer(f"{r['dimension']}: {rng.random():.2f}") if i % 4 else _answer("unsure")
             for i, r in enumerate(rows)]  # fmt: skip
    card, by_metric = _card(_evaluation({"sft": noisy, "grpo": good}, rows))
    assert {"coverage_sft", "coverage_grpo"} <= set(card["table"].columns)
    row = by_metric["valence_srcc"]
    assert 0.6 < row["coverage_sft"] < 0.9 and row["coverage_grpo"] == 1.0
    assert row["verdict"] == "helps"
    assert not card["text"].startswith("**no answers")


def test_an_older_evaluation_without_answered_flags_reads_the_dimension_coverage():
    rows = _assessment_rows(30)
    evaluation = _evaluation({"sft": [_answer("dominance: 0.3")] * 30,
                              "grpo": [_answer("dominance: 0.3")] * 30}, rows)  # fmt: skip
    for stage in evaluation:  # as a run folder written before items carried the flags
        stage["items"] = [{k: v for k, v in i.items() if not k.endswith("answered")}
                          for i in stage["items"]]  # fmt: skip
    _, by_metric = _card(evaluation)
    assert by_metric["valence_srcc"]["verdict"] == NO_ANSWERS


@settings(max_examples=60, deadline=None)
@given(
    truths=st.lists(st.floats(0, 1), min_size=4, max_size=30, unique=True),
    constant=st.floats(0, 1),
    kind=st.sampled_from(["srcc", "plcc"]),
    which=st.sampled_from(["before", "after", "both"]),
)
def test_a_constant_prediction_never_gets_a_verdict(truths, constant, kind, which):
    """Property: whatever the truths, a correlation over a constant prediction in either arm
    is undefined (its 0.0 is an artefact), and coverage 0 always reads "no answers"."""
    varied = [(t, 1 - t) for t in truths]
    flat = [(t, constant) for t in truths]
    before = flat if which in ("before", "both") else varied
    after = flat if which in ("after", "both") else varied
    out = paired_difference([before], [after], kind=kind, n_resamples=200)
    assert out["verdict"] == UNDEFINED and out.get("defined") is False
    nothing = paired_difference([before], [after], kind=kind, n_resamples=200, coverage=0.0)
    assert nothing["verdict"] == NO_ANSWERS


@given(low=st.floats(-1, 1), width=st.floats(0, 1), coverage=st.floats(0, 1))
def test_verdict_is_total_and_only_answers_get_one(low, width, coverage):
    from eemo_rewards.analysis.power import NO_VERDICT, verdict

    assert set(NO_VERDICT) == {NO_ANSWERS, UNDEFINED}
    judged = verdict(low, low + width, coverage=coverage)
    assert judged in ("helps", "within noise", "hurts", *NO_VERDICT)
    assert (judged == NO_ANSWERS) == (coverage <= 0)


def test_metric_coverage_reads_the_flags_of_its_own_items():
    from eemo_rewards.analysis.power import metric_coverage

    items = [{"emotion_acc": 1.0, "answered": 1.0}, {"emotion_acc": 0.0, "answered": 0.0},
             {"ranking_score": 0.5, "answered": 1.0}]  # fmt: skip
    assert metric_coverage(items, "emotion_acc") == 0.5
    assert metric_coverage(items, "ranking_score") == 1.0
    assert metric_coverage([{"emotion_acc": 1.0}], "emotion_acc") is None


def test_study_headline_gives_no_verdict_to_an_arm_that_stopped_answering():
    """In the study's headline an arm whose V/A/D answers became unreadable gets "no
    answers" against both its control and its checkpoint, counted apart in the markdown."""
    from eemo_rewards.analysis.study import headline_markdown, headline_table

    rng = random.Random(0)
    truths = [[rng.random() for _ in range(40)] for _ in range(3)]  # one held-out set a seed
    done = []
    for arm in ("stage1", "sft", "grpo_intensity"):
        for seed in range(3):
            items = []
            for truth in truths[seed]:
                answered = arm != "grpo_intensity"
                pred = truth + rng.gauss(0, 0.1) if answered else 0.5
                items.append(
                    {
                        "format_rate": 1.0,
                        "valence_true": truth,
                        "valence_pred": pred,
                        "valence_answered": float(answered),
                        "answered": float(answered),
                    }
                )
            row = {"setting": "assessment", "arm": arm, "seed": seed, "train_seconds": 1.0}
            done.append({"row": row, "items": items, "watch": []})
    table = headline_table(done)
    row = table.filter((table["arm"] == "grpo_intensity") & (table["metric"] == "valence_srcc"))
    (row,) = row.iter_rows(named=True)
    assert row["vs_control_verdict"] == NO_ANSWERS and row["vs_stage1_verdict"] == NO_ANSWERS
    assert row["coverage"] == 0.0
    text = headline_markdown(table)
    line = next(x for x in text.splitlines() if "grpo_intensity | valence_srcc" in x)
    assert "no answers" in line and "within noise" not in line


def test_study_headline_reads_row_coverage_when_items_carry_no_flags():
    """Study results saved before items carried flags: the row's eval_<dim>_coverage says."""
    from eemo_rewards.analysis.study import headline_table

    rng = random.Random(1)
    truths = [[rng.random() for _ in range(20)] for _ in range(2)]
    done = []
    for arm in ("stage1", "sft", "grpo_intensity"):
        for seed in range(2):
            items = [{"format_rate": 1.0, "valence_true": t, "valence_pred": 0.5}
                     for t in truths[seed]]  # fmt: skip
            row = {
                "setting": "assessment",
                "arm": arm,
                "seed": seed,
                "train_seconds": 1.0,
                "eval_valence_coverage": 0.0 if arm == "grpo_intensity" else 1.0,
            }
            done.append({"row": row, "items": items, "watch": []})
    table = headline_table(done).filter(pl.col("metric") == "valence_srcc")
    verdicts = dict(zip(table["arm"], table["vs_stage1_verdict"], strict=True))
    assert verdicts["grpo_intensity"] == NO_ANSWERS
    assert verdicts["sft"] == UNDEFINED  # answered, but a constant 0.5 in every seed


def test_the_recipe_check_gives_no_verdict_to_a_stage_that_never_answered():
    from eemo_rewards.analysis.recipe import recipe_markdown, recipe_table

    rng = random.Random(2)
    runs = []
    for _ in range(3):
        truths = [rng.random() for _ in range(30)]
        sft = [{"valence_true": t, "valence_pred": t, "valence_answered": 1.0} for t in truths]
        grpo = [{"valence_true": t, "valence_pred": 0.5, "valence_answered": 0.0}
                for t in truths]  # fmt: skip
        runs.append({"eval": [{"stage": "sft", "decoding": "greedy", "items": sft},
                              {"stage": "grpo", "decoding": "greedy", "items": grpo}]})  # fmt: skip
    table = recipe_table(runs)
    assert {r["metric"]: r["verdict"] for r in table} == {
        "valence_srcc": NO_ANSWERS, "valence_plcc": NO_ANSWERS,
    }  # fmt: skip
    text = recipe_markdown(table)
    assert "**no verdict on valence_srcc" in text and "holds every held-out metric" not in text
