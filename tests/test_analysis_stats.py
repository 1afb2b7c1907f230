"""The paired bootstrap of the results card: intervals, verdicts, pairing, bad input."""

from __future__ import annotations

import random

import pytest

from eemo_rewards.analysis.stats import paired_bootstrap, paired_items, results_card_rows


def test_a_clear_gain_helps_a_clear_loss_hurts_and_a_wash_is_within_noise():
    rng = random.Random(1)
    before = [float(rng.random() < 0.3) for _ in range(200)]
    better = [1.0 if rng.random() < 0.8 else b for b in before]
    up = paired_bootstrap(before, better)
    assert up["verdict"] == "helps" and 0 < up["low"] <= up["change"] <= up["high"]
    down = paired_bootstrap(better, before)
    assert down["verdict"] == "hurts" and down["high"] < 0
    assert down["change"] == pytest.approx(-up["change"])
    shuffled = before[:]
    rng.shuffle(shuffled)
    wash = paired_bootstrap(before, shuffled)
    assert wash["verdict"] == "within noise" and wash["low"] <= 0 <= wash["high"]


def test_the_interval_is_seeded_narrows_with_more_items_and_counts_items():
    rng = random.Random(2)
    small = [(rng.random(), rng.random() + 0.05) for _ in range(20)]
    big = small * 20
    one = paired_bootstrap([b for b, _ in small], [a for _, a in small], seed=3)
    assert one == paired_bootstrap([b for b, _ in small], [a for _, a in small], seed=3)
    many = paired_bootstrap([b for b, _ in big], [a for _, a in big], seed=3)
    assert one["n"] == 20 and many["n"] == 400
    assert many["high"] - many["low"] < (one["high"] - one["low"]) / 2
    # identical answers: no difference on any resample, no verdict either way
    same = paired_bootstrap([1.0, 0.0, 1.0], [1.0, 0.0, 1.0])
    assert (same["low"], same["high"], same["verdict"]) == (0.0, 0.0, "within noise")


@pytest.mark.parametrize(
    ("before", "after", "message"),
    [
        ([1.0], [1.0, 0.0], "paired items must match"),
        ([], [], "no paired items"),
        ([float("nan")], [1.0], "non-finite"),
        ([None], [1.0], "non-finite"),
    ],
)
def test_bad_input_says_what_to_do(before, after, message):
    with pytest.raises(ValueError, match=message):
        paired_bootstrap(before, after)


def test_items_pair_by_row_and_the_card_flags_regressions():
    assert paired_items([{"a": 1.0, "b": 0.0}, {"b": 1.0}], [{"a": 0.0}, {"a": 1.0, "b": 1.0}],
                        "b") == ([1.0], [1.0])  # fmt: skip
    with pytest.raises(ValueError, match="same rows"):
        paired_items([{}], [{}, {}], "a")
    items_sft = [{"acc": 1.0, "fmt": 0.0} for _ in range(40)]
    items_grpo = [{"acc": 0.0, "fmt": 1.0} for _ in range(40)]
    evaluation = [
        {"stage": "sft", "decoding": "greedy", "items": items_sft},
        {"stage": "grpo", "decoding": "greedy", "items": items_grpo},
        {"stage": "sft", "decoding": "sampled", "items": items_grpo},
    ]
    rows = {r["metric"]: r for r in results_card_rows(evaluation, metrics=["fmt", "acc", "x"])}
    assert list(rows) == ["fmt", "acc"]  # the order asked for; an unscored metric left out
    assert rows["fmt"]["verdict"] == "helps" and not rows["fmt"]["regression"]
    assert rows["acc"]["verdict"] == "hurts" and rows["acc"]["regression"]
    assert rows["acc"]["items"] == 40 and (rows["acc"]["sft"], rows["acc"]["grpo"]) == (1.0, 0.0)
    # no per-item values (an older run folder): no rows rather than made-up intervals
    assert results_card_rows([{k: v for k, v in r.items() if k != "items"} for r in evaluation],
                             metrics=["fmt"]) == []  # fmt: skip


def test_tables_put_main_metrics_first_columns_in_reading_order_and_round():
    import polars as pl

    from eemo_rewards.analysis.runs import comparison_table, long_metrics, results_card

    rows = [
        {"stage": stage, "decoding": "greedy", "zeta_acc": 0.1, "emotion_acc": value,
         "reward_mean": value + 0.123456789, "n": 8, "examples": [],
         "items": [{"emotion_acc": float(i < 8 * value), "reward_mean": value} for i in range(8)]}
        for stage, value in (("grpo", 0.75), ("sft", 0.25))
    ]  # fmt: skip
    table = comparison_table(long_metrics(rows, ["stage", "decoding"]))
    assert table.columns == ["metric", "decoding", "sft", "grpo", "change"]
    assert table["metric"].to_list() == ["reward_mean", "emotion_acc", "zeta_acc"]
    assert table.row(0, named=True)["sft"] == 0.373 and table.row(0, named=True)["change"] == 0.5
    one = comparison_table(long_metrics(rows[:1], ["stage", "decoding"]), before="grpo",
                           after="grpo")  # fmt: skip
    assert one.columns == ["metric", "decoding", "grpo"]
    card = results_card(rows)
    assert card["table"]["metric"].to_list() == ["reward_mean", "emotion_acc"]
    assert card["table"].columns[:5] == ["metric", "items", "sft", "grpo", "change"]
    assert "8 held-out items" in card["text"] and "interval" in card["covers"]
    emotion = card["table"].filter(pl.col("metric") == "emotion_acc").row(0, named=True)
    assert emotion["items"] == 8 and emotion["verdict"] in ("helps", "within noise")
    # a regression is named in the headline
    flipped = [{**r, "stage": "sft" if r["stage"] == "grpo" else "grpo"} for r in rows]
    assert "regressions: " in results_card(flipped)["text"]
    assert results_card([{k: v for k, v in r.items() if k != "items"} for r in rows])[
        "table"
    ].is_empty()
