"""Intervals with power (seed × item paired bootstrap), the vote-distribution reward, the
training watch, and the study's settings and tables."""

from __future__ import annotations

import json
import random

import pytest

from eemo_rewards.analysis.power import (
    item_values,
    metric_interval,
    metric_kind,
    paired_difference,
)
from eemo_rewards.rewards.votes import VoteReward
from eemo_rewards.rewards.watch import AnswerWatch, read_watch
from eemo_rewards.spec import RewardSpec, RewardTerm

np = pytest.importorskip("numpy")


# -- paired differences ---------------------------------------------------------------------


def test_a_real_gain_helps_a_real_loss_hurts_and_a_wash_is_noise():
    rng = random.Random(0)
    base = [[float(rng.random() < 0.5) for _ in range(300)] for _ in range(5)]
    better = [[1.0 if rng.random() < 0.3 else v for v in seed] for seed in base]
    assert paired_difference(base, better)["verdict"] == "helps"
    assert paired_difference(better, base)["verdict"] == "hurts"
    shuffled = [[float(rng.random() < 0.5) for _ in range(300)] for _ in range(5)]
    out = paired_difference(base, shuffled)
    assert out["low"] < 0 < out["high"] and out["verdict"] == "within noise"
    assert out["items"] == 300 and out["seeds"] == 5


def test_seeds_that_disagree_widen_the_interval_past_zero():
    # seed 0 gains a lot, seed 1 loses as much: many items, but no evidence either way
    before = [[0.0] * 400, [1.0] * 400]
    after = [[1.0] * 400, [0.0] * 400]
    out = paired_difference(before, after)
    assert out["change"] == pytest.approx(0.0)
    assert out["low"] <= -0.5 and out["high"] >= 0.5
    assert out["verdict"] == "within noise"
    # one seed alone is certain (item resampling cannot move a constant difference)
    assert paired_difference(before[:1], after[:1])["verdict"] == "helps"


def test_correlations_are_recomputed_on_every_resample():
    rng = np.random.default_rng(1)
    truth = rng.random(250)
    constant = [list(zip(truth, np.full(250, 0.5), strict=True))]
    tracking = [list(zip(truth, truth + rng.normal(0, 0.1, 250), strict=True))]
    out = paired_difference(constant, tracking, kind="srcc")
    assert out["before"] == 0.0  # a constant answer: undefined, reported as 0
    assert out["after"] > 0.8 and out["low"] > 0.7
    # ... and so no verdict: "helps" would read the artefact 0.0 as a measured correlation
    assert out["verdict"] == "undefined" and not out["defined"]
    noisy = [list(zip(truth, truth + rng.normal(0, 0.4, 250), strict=True))]
    out = paired_difference(noisy, tracking, kind="srcc")
    assert out["verdict"] == "helps" and out["defined"]
    # two equally good models: a 95% interval calls a difference in about 1 trial of 20
    flagged = 0
    for trial in range(20):
        a, b = (list(zip(truth, truth + rng.normal(0, 0.1, 250), strict=True)) for _ in "ab")
        flagged += paired_difference([a], [b], kind="srcc", seed=trial)["verdict"] != "within noise"
    assert flagged <= 3
    with pytest.raises(ValueError, match="truths differ"):
        paired_difference(tracking, [list(zip(truth[::-1], truth, strict=True))], kind="srcc")


def test_bad_pairs_raise_saying_what_to_do():
    with pytest.raises(ValueError, match="same held-out rows"):
        paired_difference([[1.0, 0.0]], [[1.0]])
    with pytest.raises(ValueError, match="pair the arms seed by seed"):
        paired_difference([[1.0]], [[1.0], [0.0]])
    with pytest.raises(ValueError, match="non-finite"):
        paired_difference([[float("nan")]], [[1.0]])
    with pytest.raises(ValueError, match="truth, prediction"):
        metric_interval([[1.0, 2.0]], kind="srcc")


def test_metric_interval_covers_its_value_and_narrows_with_items():
    rng = random.Random(3)
    few = metric_interval([[float(rng.random() < 0.6) for _ in range(20)]])
    many = metric_interval([[float(rng.random() < 0.6) for _ in range(2000)]])
    assert few["low"] <= few["value"] <= few["high"]
    assert (many["high"] - many["low"]) < (few["high"] - few["low"]) / 3


def test_item_values_read_correlation_pairs_and_means():
    items = [{"valence_true": 0.1, "valence_pred": 0.2, "format_rate": 1.0}, {"emotion_acc": 0.0}]
    assert item_values(items, "valence_srcc") == [(0.1, 0.2)]
    assert item_values(items, "format_rate") == [1.0]
    assert metric_kind("arousal_plcc") == "plcc" and metric_kind("emotion_acc") == "mean"


# -- the vote-distribution reward -----------------------------------------------------------

VOTES = {"vote_labels": ["joy", "surprise", "fear", "anger"], "votes": [0.4, 0.3, 0.2, 0.1]}
DONE = "<think>bright warm</think><answer>{}</answer>"


@pytest.mark.parametrize(
    ("answer", "share", "topk"),
    [("joy", 1.0, 1.0), ("surprise", 0.75, 2 / 3), ("fear", 0.5, 1 / 3), ("anger", 0.25, 0.0),
     ("sadness", 0.0, 0.0), ("joy or fear", 0.0, 0.0), ("", 0.0, 0.0)],
)  # fmt: skip
def test_vote_reward_pays_the_answer_place_in_the_distribution(answer, share, topk):
    kw = {"task": "emotion", "taxonomy": "eemo_bench7", **VOTES}
    assert VoteReward(mode="share").score(DONE.format(answer), "joy", **kw) == pytest.approx(share)
    assert VoteReward(mode="topk").score(DONE.format(answer), "joy", **kw) == pytest.approx(topk)


def test_vote_reward_malformed_rows_score_zero_and_the_batch_contract_holds():
    r = VoteReward()
    assert r.score(DONE.format("joy"), "joy", task="emotion", vote_labels=["joy"], votes=[]) == 0.0
    assert r.score(DONE.format("joy"), "joy", task="emotion", vote_labels=None, votes=None) == 0.0
    assert r.score("joy", "joy", task="emotion", **VOTES) == 0.0  # malformed: require_format
    funcs, _ = RewardSpec([RewardTerm("votes", 1.0, {"mode": "topk"})]).build()
    out = funcs[0](completions=[DONE.format("fear"), DONE.format("yes")], solution=["joy", "yes"],
                   task=["emotion", "yes_no"], vote_labels=[VOTES["vote_labels"], None],
                   votes=[VOTES["votes"], None], taxonomy=["eemo_bench7", None])  # fmt: skip
    assert out == [pytest.approx(1 / 3), None]
    with pytest.raises(ValueError, match="mode"):
        VoteReward(mode="mean")


# -- the training watch ---------------------------------------------------------------------


def test_answer_watch_logs_spread_and_constant_groups_and_scores_nothing(tmp_path):
    log = tmp_path / "w" / "answers.jsonl"
    watch = AnswerWatch(log_path=str(log))
    done = "<think>t</think><answer>valence: {}</answer>"
    completions = [done.format(v) for v in ("0.5", "0.5", "0.2", "0.9")]
    out = watch(
        prompts=["p1", "p1", "p2", "p2"], completions=completions,
        solution=["valence: 0.10", "valence: 0.10", "valence: 0.90", "valence: 0.90"],
        task=["assessment"] * 4, dimension=["valence"] * 4, id=["a", "a", "b", "b"],
    )  # fmt: skip
    assert out == [0.0] * 4
    line = read_watch(log)[0]
    assert line["constant_groups"] == 0.5  # row a answers one constant, row b does not
    assert line["format_rate"] == 1.0
    assert line["valence_pred_std"] == pytest.approx(np.std([0.5, 0.5, 0.2, 0.9], ddof=1))
    assert line["valence_true_std"] == pytest.approx(np.std([0.1, 0.1, 0.9, 0.9], ddof=1))
    assert [s[2] for s in line["scores"]] == [0.5, 0.5, 0.2, 0.9]
    with log.open("a") as fh:
        fh.write('{"cut by a kill')
    assert len(read_watch(log)) == 1
    with pytest.raises(ValueError, match="log_path"):
        AnswerWatch(log_path="")


# -- the study ------------------------------------------------------------------------------

pytest.importorskip("trl", reason="the study's data and runner need the [train] extra")


def test_ambiguous_demonstrations_sample_labels_and_rewards_see_the_votes(tmp_path):
    from eemo_rewards.train.study import BUDGETS, SETTINGS, Budget, setting_data

    budget = Budget("t", n_images=140, sft_steps=1, grpo_steps=1, eval_rows=14)
    demos, prompts, evaluation = setting_data(SETTINGS["ambiguous"], 0, budget, cache_dir=tmp_path)
    written = [c[0]["content"].rsplit("<answer>", 1)[1][: -len("</answer>")]
               for c in demos["completion"]]  # fmt: skip
    dominant = sum(w == s for w, s in zip(written, demos["solution"], strict=True)) / len(demos)
    # the flattened vote gives the dominant emotion about a third of the demonstrations
    assert 0.15 < dominant < 0.55
    assert all(abs(sum(v) - 1.0) < 1e-9 for v in demos["votes"])
    assert [v[0] for v in demos["vote_labels"]] == demos["solution"]
    assert demos["solution"] == prompts["solution"]  # the annotation is untouched
    _, _, again = setting_data(SETTINGS["ambiguous"], 1, budget, cache_dir=tmp_path)
    assert again["id"] == evaluation["id"]  # every seed answers the same held-out rows
    assert len(evaluation) == budget.held_out_images
    _, _, vad = setting_data(SETTINGS["assessment"], 0, BUDGETS["smoke"], cache_dir=tmp_path)
    assert len(vad) == 3 * BUDGETS["smoke"].held_out_images  # one row per V/A/D dimension


def _fake_done(setting, arms, values):
    """Saved arm results with per-item emotion accuracies ``values[arm][seed]``."""
    done = []
    for arm in arms:
        for seed, items in enumerate(values[arm]):
            row = {"setting": setting, "arm": arm, "seed": seed, "train_seconds": 1.0}
            items = [{"emotion_acc": v, "format_rate": 1.0} for v in items]
            done.append({"row": row, "items": items, "watch": []})
    return done


def test_headline_table_pairs_each_arm_with_its_control_and_checkpoint():
    from eemo_rewards.analysis.study import headline_markdown, headline_table

    rng = random.Random(0)
    low = [[float(rng.random() < 0.3) for _ in range(200)] for _ in range(5)]
    high = [[float(rng.random() < 0.7) for _ in range(200)] for _ in range(5)]
    arms = {"stage1": low, "sft": high, "grpo_binary": high, "grpo_soft": low}
    done = _fake_done("noisy", list(arms), arms)
    table = headline_table(done)
    rows = {(r["arm"], r["metric"]): r for r in table.iter_rows(named=True)}
    soft = rows[("grpo_soft", "emotion_acc")]
    assert soft["vs_control_verdict"] == "hurts" and soft["vs_stage1_verdict"] == "within noise"
    binary = rows[("grpo_binary", "emotion_acc")]
    assert binary["vs_control_verdict"] == "within noise"
    assert binary["vs_stage1_verdict"] == "helps"
    assert binary["seeds"] == 5 and binary["items"] == 200
    assert rows[("sft", "emotion_acc")]["vs_stage1_verdict"] == "helps"
    text = headline_markdown(table)
    assert "| noisy | grpo_soft | emotion_acc | 5 × 200 |" in text and "hurts" in text
    assert "format_rate" not in text


def test_cells_resume_from_saved_arms_without_training(tmp_path, monkeypatch):
    from eemo_rewards.train import study

    budget = study.Budget("t", n_images=70, sft_steps=1, grpo_steps=1, eval_rows=7,
                          eval_images=7, changes=(("num_generations", 2), ("prompts_per_step", 1),
                          ("sft_batch_size", 2), ("max_completion_length", 8)))  # fmt: skip
    first = study.run_cell("scarce", 0, budget=budget, root=tmp_path, arms=["sft", "grpo_binary"])
    assert [d["row"]["arm"] for d in first] == ["stage1", "sft", "grpo_binary"]
    assert not list((tmp_path / "scarce-s0" / "grpo_binary").glob("**/checkpoint-*"))
    saved = json.loads((tmp_path / "scarce-s0" / "grpo_binary.result.json").read_text())
    assert len(saved["items"]) == 7 and saved["watch"]

    def no_training(*args, **kwargs):
        raise AssertionError("a finished cell must be read back, not trained")

    monkeypatch.setattr("eemo_rewards.train.sft.train_sft", no_training)
    monkeypatch.setattr("eemo_rewards.train.grpo.train_grpo", no_training)
    again = study.run_cell("scarce", 0, budget=budget, root=tmp_path, arms=["sft", "grpo_binary"])
    assert [d["row"] for d in again] == [d["row"] for d in first]


# -- the main job: correlations on the card, the recipe check -------------------------------


def _vad_items(truth, pred):
    return [{"valence_true": t, "valence_pred": p, "format_rate": 1.0}
            for t, p in zip(truth, pred, strict=True)]  # fmt: skip


def test_the_results_card_gives_correlations_a_paired_interval():
    pytest.importorskip("polars")
    from eemo_rewards.analysis.runs import results_card

    rng = np.random.default_rng(0)
    truth = rng.random(120)
    good = truth + rng.normal(0, 0.05, 120)
    flat = np.round(truth * 2) / 2 + rng.normal(0, 0.3, 120)  # a coarser, noisier answer
    evaluation = [
        {"stage": "sft", "decoding": "greedy", "items": _vad_items(truth, good)},
        {"stage": "grpo", "decoding": "greedy", "items": _vad_items(truth, flat)},
    ]
    card = results_card(evaluation)
    rows = {r["metric"]: r for r in card["table"].iter_rows(named=True)}
    assert {"valence_srcc", "valence_plcc", "format_rate"} <= set(rows)
    assert "valence_true" not in rows and "valence_pred" not in rows
    assert rows["valence_srcc"]["items"] == 120
    assert rows["valence_srcc"]["verdict"] == "hurts" and "valence_srcc" in card["regressions"]


def test_recipe_table_pairs_seeds_and_names_what_hurts():
    from eemo_rewards.analysis.recipe import recipe_markdown, recipe_note, recipe_table

    rng = np.random.default_rng(1)
    truth = rng.random(100)
    runs = []
    for seed in range(3):
        sft = _vad_items(truth, truth + rng.normal(0, 0.05, 100))
        grpo = _vad_items(truth, np.full(100, 0.5) + rng.normal(0, 0.01, 100))
        for item in grpo:
            item["format_rate"] = 1.0
        runs.append({"seed": seed, "eval": [
            {"stage": "sft", "decoding": "greedy", "items": sft},
            {"stage": "grpo", "decoding": "greedy", "items": grpo},
        ]})  # fmt: skip
    table = {(r["decoding"], r["metric"]): r for r in recipe_table(runs)}
    assert table[("greedy", "valence_srcc")]["verdict"] == "hurts"
    assert table[("greedy", "valence_srcc")]["seeds"] == 3
    assert table[("greedy", "format_rate")]["verdict"] == "within noise"
    text = recipe_markdown(list(table.values()))
    assert "**hurts valence_srcc (greedy)" in text
    check = {"command": "c", "seeds": [0, 1, 2], "holds": False, "hurts": ["valence_srcc"],
             "settings": {"grpo_steps": 100, "seed": 0}}  # fmt: skip
    assert "hurts valence_srcc across 3 seeds" in recipe_note(check, {"grpo_steps": 100})
    assert "This run uses that recipe" in recipe_note(check, {"grpo_steps": 100, "seed": 5})
    assert "differ" in recipe_note(check, {"grpo_steps": 40})


def test_diagnosis_shows_a_policy_collapsing_onto_one_answer():
    pl = pytest.importorskip("polars")
    from eemo_rewards.analysis.study import diagnosis_frame

    rng = np.random.default_rng(2)
    rows, watch = [], []
    for batch in range(1, 21):
        truth = float(rng.random())
        for _ in range(8):
            # steps 1-10 sample around the truth; steps 11-20 answer 0.5 whatever the image
            pred = truth + float(rng.normal(0, 0.1)) if batch <= 10 else 0.5
            rows.append({"setting": "assessment", "arm": "grpo_x", "seed": 0, "batch": batch,
                         "dimension": "valence", "truth": truth, "pred": pred})  # fmt: skip
        watch.append({"setting": "assessment", "arm": "grpo_x", "seed": 0, "batch": batch,
                      "constant_groups": float(batch > 10), "format_rate": 1.0})  # fmt: skip
    frame = diagnosis_frame(pl.DataFrame(watch), pl.DataFrame(rows))
    value = {(r["quantity"], r["step"]): r["value"] for r in frame.iter_rows(named=True)}
    assert value[("spread vs truth", 10)] > 0.8 and value[("spread vs truth", 20)] == 0.0
    assert value[("spread within a prompt", 10)] > 0.05
    assert value[("spread within a prompt", 20)] == 0.0
    assert value[("constant groups", 20)] == 1.0 and value[("constant groups", 10)] == 0.0


@pytest.mark.slow
def test_check_recipe_runs_seeds_in_parallel_and_writes_its_verdict(tmp_path):
    from eemo_rewards.analysis.recipe import recipe_table, write_recipe
    from eemo_rewards.train.recipe import run_seeds
    from eemo_rewards.train.settings import JobSettings

    base = JobSettings(n_images=70, sft_steps=2, grpo_steps=1, eval_rows=4, sft_rows=16,
                       grpo_rows=16, runs_dir=str(tmp_path / "runs"),
                       max_completion_length=8)  # fmt: skip
    runs, wall = run_seeds(base, [0, 1], jobs=2)
    path = write_recipe(recipe_table(runs), runs, tmp_path / "out" / "tiny",
                        settings=base.to_dict(), command="test", wall_seconds=wall)  # fmt: skip
    data = json.loads(path.read_text())
    assert data["seeds"] == [0, 1] and data["settings"]["grpo_steps"] == 1
    assert isinstance(data["holds"], bool) and data["table"]
    assert {r["seeds"] for r in data["table"]} == {2}
    assert {r["decoding"] for r in data["table"]} == {"greedy", "sampled"}
    assert (tmp_path / "out" / "tiny.md").read_text().startswith("### Recipe `tiny`")


def test_items_one_arm_could_not_score_are_left_out_of_the_pair_not_the_table():
    from eemo_rewards.analysis.power import paired_values
    from eemo_rewards.analysis.recipe import recipe_table

    # a judge decided items 0-29 for the SFT model and items 10-39 for the GRPO model
    sft = [{"consistency": 0.0, "format_rate": 1.0} if i < 30 else {"format_rate": 1.0}
           for i in range(40)]  # fmt: skip
    grpo = [{"consistency": 1.0, "format_rate": 1.0} if i >= 10 else {"format_rate": 1.0}
            for i in range(40)]  # fmt: skip
    before, after = paired_values(sft, grpo, "consistency")
    assert len(before) == len(after) == 20
    evaluation = [{"stage": "sft", "decoding": "greedy", "items": sft},
                  {"stage": "grpo", "decoding": "greedy", "items": grpo}]  # fmt: skip
    runs = [{"seed": 0, "eval": evaluation}]
    rows = {r["metric"]: r for r in recipe_table(runs)}
    assert rows["consistency"]["items"] == 20 and rows["consistency"]["verdict"] == "helps"
    with pytest.raises(ValueError, match="same rows"):
        paired_values(sft, grpo[:-1], "consistency")


def test_recipe_note_reads_a_spec_by_what_it_scores_not_how_it_is_written():
    from eemo_rewards.analysis.recipe import recipe_note
    from eemo_rewards.spec import preset

    check = {"command": "c", "seeds": [0, 1, 2], "holds": True, "hurts": [],
             "settings": {"grpo_steps": 100, "spec": "default"}}  # fmt: skip
    spelled_out = preset("default").to_json() if hasattr(preset("default"), "to_json") else None
    explicit = json.dumps({"terms": [
        {"name": "format", "weight": 0.5},
        {"name": "accuracy", "weight": 1.0, "params": {"mode": "binary"}},
        {"name": "intensity", "weight": 1.0, "params": {"kernel": "linear"}},
        {"name": "ranking", "weight": 1.0}], "aggregation": "sum", "name": "default"})  # fmt: skip
    for spec in filter(None, (explicit, spelled_out, preset("default").to_dict())):
        assert "uses that recipe" in recipe_note(check, {"grpo_steps": 100, "spec": spec})
    soft = json.dumps({"terms": [{"name": "format", "weight": 0.5},
                                 {"name": "accuracy", "params": {"mode": "soft"}}]})  # fmt: skip
    assert "differ" in recipe_note(check, {"grpo_steps": 100, "spec": soft})
