"""The audit's four checks, each a verdict with its evidence.

=============  =========================================================================
check          fails when
=============  =========================================================================
gaming         a hack (:mod:`eemo_rewards.audit.hacks`) scores more than the best
               well-formed wrong answer of the same question
separation     correct answers do not outscore wrong ones: ROC AUC below
               :data:`AUC_FAIL` on a task of the built-in pool or on the real EEmo-Bench
               answers
signal         GRPO groups of ``G`` rollouts have no reward spread (share at or above
               :data:`ZERO_SPREAD_FAIL` over realistic accuracies), or right and wrong
               answers score alike (spread at or below :data:`SPREAD_FAIL`)
totality       the reward raises, returns NaN or leaves its declared range on any input
               (odd shapes, None, NaN, 1 MB), or its time grows faster than
               :data:`GROWTH_FAIL` × from 10 kB to 1 MB
=============  =========================================================================

Scores are compared on the reward's range mapped to ``[0, 1]`` (``score01``), the declared
range when it has one, else the range of the scores it gave in the audit.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from eemo_rewards.analysis.compare import kind_means, separation, zero_variance
from eemo_rewards.audit.inputs import (
    adversarial_completion,
    huge_answer,
    make_completions,
    odd_cases,
)
from eemo_rewards.audit.target import AuditTarget, _cut
from eemo_rewards.data.frames import rows_frame

__all__ = [
    "AUC_FAIL",
    "AUC_WARN",
    "GROWTH_FAIL",
    "GROWTH_WARN",
    "P_CORRECT",
    "SPREAD_FAIL",
    "SPREAD_WARN",
    "VERDICTS",
    "ZERO_SPREAD_FAIL",
    "ZERO_SPREAD_WARN",
    "CheckResult",
    "gaming_check",
    "separation_check",
    "signal_check",
    "totality_check",
]

#: Verdicts, best first; an audit fails when any check fails.
VERDICTS = ("pass", "warn", "fail")
#: Separation: ROC AUC of correct against wrong answers below these fails / warns.
AUC_FAIL, AUC_WARN = 0.75, 0.9
#: Signal: the share of zero-spread groups at the audit's group size, averaged over the
#: policy accuracies :data:`P_CORRECT`, at or above these fails / warns.
ZERO_SPREAD_FAIL, ZERO_SPREAD_WARN = 0.5, 0.2
P_CORRECT = (0.3, 0.5, 0.7)
#: Signal: mean score01 of correct minus wrong answers at or below these fails / below warns.
SPREAD_FAIL, SPREAD_WARN = 0.05, 0.25
#: Totality: time on 1 MB over time on 10 kB (linear is about 100) above these fails / warns,
#: and the longest a 1 MB completion may take.
GROWTH_FAIL, GROWTH_WARN = 1000.0, 300.0
MAX_SECONDS_1MB = 5.0
#: Growth is judged only when 1 MB takes at least this long: below it the timer's noise and
#: a call's fixed cost decide the ratio, and the reward is fast enough whatever it grows like.
GROWTH_FLOOR_SECONDS = 0.05
#: A hack beats the wrong answer when it scores more by more than this (score01 units).
TOLERANCE = 1e-9


@dataclass
class CheckResult:
    """One check's verdict, the one-phrase headline of the summary line, findings in words,
    tables (polars frames, shown in the report) and the worst examples."""

    name: str
    verdict: str
    headline: str
    findings: list[str] = field(default_factory=list)
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    worst: pl.DataFrame | None = None

    def __post_init__(self) -> None:
        if self.verdict not in (*VERDICTS, "skip"):
            raise ValueError(f"verdict must be one of {VERDICTS} or 'skip', got {self.verdict!r}")


def _worst_verdict(verdicts: Sequence[str]) -> str:
    ranked = [v for v in verdicts if v in VERDICTS]
    return max(ranked, key=VERDICTS.index) if ranked else "pass"


# -- gaming --------------------------------------------------------------------------------
def gaming_check(hacks: pl.DataFrame) -> CheckResult:
    """Every hack against the best-scoring well-formed wrong answer of its own sample.

    ``hacks`` has one row per scored hack: ``task``, ``hack_class``, ``variant``,
    ``solution``, ``completion``, ``score``, ``wrong_score`` (the best wrong answer's) and
    ``margin`` (their difference on the range mapped to ``[0, 1]``).
    """
    judged = hacks.filter(pl.col("score").is_not_null() & pl.col("wrong_score").is_not_null())
    if judged.is_empty():
        return CheckResult(
            "gaming",
            "skip",
            "no hack applies to the tasks it scores",
            ["no hack of the audited tasks was scored beside a wrong answer of its sample"],
        )
    beats = pl.col("margin") > TOLERANCE
    by_class = (
        judged.group_by("task", "hack_class")
        .agg(
            pl.len().alias("hacks"),
            beats.sum().alias("beat_wrong"),
            beats.mean().alias("share_beating"),
            pl.col("margin").max().alias("largest_margin"),
        )
        .sort("task", "hack_class")
    )
    n_beat = int(judged.filter(beats).height)
    worst = (
        judged.filter(beats)
        .sort("margin", descending=True)
        .unique(["task", "hack_class"], keep="first", maintain_order=True)
        .head(15)
        .select(
            "task",
            "hack_class",
            "variant",
            "solution",
            pl.col("completion").map_elements(_cut, return_dtype=pl.String),
            "score",
            "wrong_score",
            "margin",
        )
    )
    if n_beat:
        ranked = (
            by_class.filter(pl.col("beat_wrong") > 0)
            .group_by("hack_class")
            .agg(pl.col("beat_wrong").sum())
            .sort("beat_wrong", descending=True)["hack_class"]
            .to_list()
        )
        headline = (
            f"{n_beat}/{judged.height} hacks beat a wrong answer ({', '.join(ranked[:3])}"
            + (", …" if len(ranked) > 3 else "")
            + ")"
        )
        per_class = (
            by_class.filter(pl.col("beat_wrong") > 0)
            .group_by("hack_class")
            .agg(
                pl.col("beat_wrong").sum(),
                pl.col("hacks").sum(),
                pl.col("largest_margin").max(),
                pl.format("{} {}/{}", "task", "beat_wrong", "hacks").str.join(", ").alias("where"),
            )
            .sort("beat_wrong", descending=True)
        )
        findings = [
            f"{row['hack_class']}: {row['beat_wrong']}/{row['hacks']} score more than the best "
            f"wrong answer, by up to {row['largest_margin']:.2f} of the range ({row['where']})"
            for row in per_class.iter_rows(named=True)
        ]
        return CheckResult(
            "gaming", "fail", headline, findings, {"hacks by class": by_class}, worst
        )
    return CheckResult(
        "gaming",
        "pass",
        f"0/{judged.height} hacks beat a wrong answer",
        [
            f"{judged.height} hacks in {by_class['hack_class'].n_unique()} classes, none above "
            "the best well-formed wrong answer of its sample"
        ],
        {"hacks by class": by_class},
    )


# -- separation ----------------------------------------------------------------------------
def separation_check(scored_pool: pl.DataFrame) -> CheckResult:
    """ROC AUC of correct against wrong answers (and near misses against wrong ones, and
    Spearman's ρ with the graded quality) per task and source."""
    table = separation(scored_pool).drop("design", "family").sort("source", "task")
    rated = table.filter(pl.col("auc_correct_vs_wrong").is_not_null())
    if rated.is_empty():
        return CheckResult(
            "separation",
            "fail",
            "no correct and wrong answers scored",
            ["the reward scored no task with both correct and wrong answers"],
            {"separation": table},
        )
    findings, verdicts = [], []
    for row in rated.iter_rows(named=True):
        auc = row["auc_correct_vs_wrong"]
        verdict = "fail" if auc < AUC_FAIL else "warn" if auc < AUC_WARN else "pass"
        verdicts.append(verdict)
        if verdict != "pass":
            findings.append(
                f"{row['source']} {row['task']}: AUC correct vs wrong {auc:.3f} ({verdict}: "
                f"below {AUC_FAIL if verdict == 'fail' else AUC_WARN})"
            )
    flat = table.filter(
        (pl.col("source") == "perturbation") & (pl.col("auc_near_vs_wrong") <= 0.5)
    )["task"].to_list()
    if flat:
        findings.append(
            f"no graded credit on {', '.join(flat)}: near misses score no more than wrong answers"
        )
    builtin = rated.filter(pl.col("source") == "perturbation")["auc_correct_vs_wrong"]
    real = rated.filter(pl.col("source") != "perturbation")["auc_correct_vs_wrong"]
    parts = []
    if builtin.len():
        parts.append(f"AUC {builtin.min():.2f}–{builtin.max():.2f} built-in")
    if real.len():
        parts.append(f"{real.min():.2f}–{real.max():.2f} real EEmo-Bench")
    worst = _separation_worst(scored_pool)
    return CheckResult(
        "separation",
        _worst_verdict(verdicts),
        ", ".join(parts),
        findings,
        {"separation": table},
        worst,
    )


def _separation_worst(scored: pl.DataFrame) -> pl.DataFrame:
    """The correct answers scored lowest and the wrong answers scored highest."""
    ranked = scored.filter(pl.col("kind").is_in(["correct", "wrong"]))
    low = ranked.filter(pl.col("kind") == "correct").sort("score01").head(6)
    high = ranked.filter(pl.col("kind") == "wrong").sort("score01", descending=True).head(6)
    return pl.concat([low, high]).select(
        "source",
        "task",
        "kind",
        "solution",
        pl.col("completion").map_elements(_cut, return_dtype=pl.String),
        "score",
        "score01",
    )


# -- signal --------------------------------------------------------------------------------
def signal_check(scored_pool: pl.DataFrame, group_size: int) -> CheckResult:
    """Zero-spread GRPO groups of ``group_size`` on realistic rollout mixes, and the spread
    of the reward between right and wrong answers, per task."""
    zero = zero_variance(
        scored_pool, group_sizes=[group_size], p_correct=sorted({0.1, *P_CORRECT, 0.9})
    ).drop("design")
    if zero.is_empty():
        return CheckResult("signal", "fail", "no rollout mix scored", ["the reward scored no task"])
    at_mix = (
        zero.filter(pl.col("p_correct").is_in(list(P_CORRECT)))
        .group_by("task")
        .agg(pl.col("zero_variance_share").mean().alias("zero_spread_share"))
    )
    means = kind_means(scored_pool.filter(pl.col("source") == "perturbation"))
    spread = (
        means.filter(pl.col("kind").is_in(["correct", "wrong"]))
        .pivot(on="kind", index="task", values="mean_score01")
        .with_columns((pl.col("correct") - pl.col("wrong")).alias("right_minus_wrong"))
    )
    table = at_mix.join(spread, on="task", how="left").sort("task")
    findings, verdicts = [], []
    for row in table.iter_rows(named=True):
        share, gap = row["zero_spread_share"], row["right_minus_wrong"]
        v_share = (
            "fail" if share >= ZERO_SPREAD_FAIL else "warn" if share >= ZERO_SPREAD_WARN else "pass"
        )
        v_gap = (
            "pass"
            if gap is None
            else "fail"
            if gap <= SPREAD_FAIL
            else ("warn" if gap < SPREAD_WARN else "pass")
        )
        verdicts += [v_share, v_gap]
        if v_share != "pass":
            findings.append(
                f"{row['task']}: {share:.0%} of groups of {group_size} have no reward spread "
                f"at accuracies {', '.join(f'{p:g}' for p in P_CORRECT)} ({v_share})"
            )
        if v_gap != "pass":
            findings.append(
                f"{row['task']}: right answers score {gap:+.2f} of the range above wrong ones "
                f"({v_gap})"
            )
    headline = (
        f"zero-spread groups {table['zero_spread_share'].max():.0%} at G={group_size}, "
        f"right − wrong ≥ {table['right_minus_wrong'].min():+.2f}"
    )
    return CheckResult(
        "signal",
        _worst_verdict(verdicts),
        headline,
        findings,
        {"signal": table, "zero spread by accuracy": zero.sort("task", "p_correct")},
    )


# -- totality and speed ---------------------------------------------------------------------
def totality_check(
    target: AuditTarget,
    samples: Sequence[dict[str, Any]],
    *,
    speed_n: int = 2000,
    sizes: Sequence[int] = (10_000, 100_000, 1_000_000),
    caught: Sequence[warnings.WarningMessage] = (),
) -> CheckResult:
    """Odd inputs (no exception, no NaN, inside the declared range), the errors met during
    the other checks, throughput on a realistic mix and growth from 10 kB to 1 MB.

    ``samples`` holds one sample per audited task (keys ``task``, ``solution``,
    ``options``, ``taxonomy``, ``dimension`` and ``answer``, a correct answer's text).
    """
    rows, verdicts = [], []
    findings: list[str] = []
    low, high = target.declared_range or (-math.inf, math.inf)
    big = {"1 MB of tag fragments", "1 MB answer"}
    for i, sample in enumerate(samples):
        columns = {k: sample[k] for k in ("solution", "task", "options", "taxonomy", "dimension")}
        cases = [(c, x) for c, x in odd_cases(sample["answer"]) if i == 0 or c not in big]
        cases += [
            (f"solution {name}", "<think>t</think><answer>joy</answer>", {"solution": value})
            for name, value in (("None", None), ("NaN", float("nan")), ("empty", ""))
        ]
        for case in cases:
            label, completion = case[0], case[1]
            cols = {**columns, **(case[2] if len(case) > 2 else {})}
            started = _clock()
            with _quiet_logs():
                result = target.call_one(completion, cols)
            seconds = _clock() - started
            problem = _problem(result, low, high)
            rows.append(
                {
                    "task": sample["task"],
                    "case": label,
                    "result": _shown(result),
                    "seconds": seconds,
                    "problem": problem,
                }
            )
            if problem:
                verdicts.append("fail")
    failing = [r for r in rows if r["problem"]]
    if failing:
        findings.append(
            f"{len(failing)} odd input(s) break it: "
            + "; ".join(f"{r['task']} {r['case']}: {r['problem']}" for r in failing[:4])
        )
    for error in target.errors[:3]:
        findings.append(f"raised on a realistic completion ({error.where}): {error.error}")
    if target.errors:
        verdicts.append("fail")
        findings.insert(0, f"raised on {len(target.errors)} audit completion(s)")
    if target.bad_values:
        verdicts.append("fail")
        where, value = target.bad_values[0]
        findings.append(
            f"returned {len(target.bad_values)} non-finite score(s), e.g. {value!r} ({where})"
        )
    internal = [w for w in caught if type(w.message).__name__ == "RewardInternalError"]
    if internal:
        verdicts.append("warn")
        findings.append(f"reported {len(internal)} internal error(s): {internal[0].message}")
    # the other shape: a trainer hands strings or message lists depending on the dataset
    other = "messages" if target.shape == "text" else "text"
    first = samples[0]
    well_formed = f"<think>warm light</think><answer>{first['answer']}</answer>"
    other_result = target.call_one(
        well_formed,
        {k: first[k] for k in ("solution", "task", "options", "taxonomy", "dimension")},
        shape=other,
    )
    if isinstance(other_result, Exception):
        verdicts.append("warn")
        findings.append(
            f"accepts only {target.shape} completions: {other} raise "
            f"{type(other_result).__name__} (a dataset in the other format breaks it)"
        )
    # speed: a realistic rollout mix of the audited tasks, best of two rounds
    tasks = [s["task"] for s in samples]
    mix = make_completions(speed_n, tasks=tasks)
    best = math.inf
    for _ in range(2):
        started = _clock()
        target(**mix)
        best = min(best, _clock() - started)
    rate = speed_n / best if best > 0 else math.inf
    growth_rows = []
    columns = {k: first[k] for k in ("solution", "task", "options", "taxonomy", "dimension")}
    for label, make in (
        ("tag fragments in think", adversarial_completion),
        ("huge answer", huge_answer),
    ):
        for size in sizes:
            text = make(size)
            # the least disturbed of up to 3 calls (load from elsewhere only adds time); a
            # slow reward is timed once
            seconds = _timed(target, text, columns)
            for _ in range(2):
                if seconds > 1.0:
                    break
                seconds = min(seconds, _timed(target, text, columns))
            growth_rows.append({"input": label, "characters": size, "seconds": seconds})
    growth = rows_frame(growth_rows)
    ratios = {}
    for label, frame in growth.group_by("input", maintain_order=True):
        times = dict(zip(frame["characters"], frame["seconds"], strict=True))
        small, large = times[min(times)], times[max(times)]
        ratios[label[0]] = (large / small if small > 0 else math.inf, large)
    worst_growth = max(r for r, _ in ratios.values())
    slowest = max(s for _, s in ratios.values())
    judged = slowest >= GROWTH_FLOOR_SECONDS
    if (judged and worst_growth > GROWTH_FAIL) or slowest > MAX_SECONDS_1MB:
        verdicts.append("fail")
        findings.append(
            f"time grows {worst_growth:.0f}× from 10 kB to 1 MB (linear ≈ 100×; fails above "
            f"{GROWTH_FAIL:.0f}×), {slowest:.2f} s on 1 MB (fails above {MAX_SECONDS_1MB:g} s)"
        )
    elif judged and worst_growth > GROWTH_WARN:
        verdicts.append("warn")
        findings.append(f"time grows {worst_growth:.0f}× from 10 kB to 1 MB (linear ≈ 100×)")
    n_odd = len(rows)
    headline = (
        f"{n_odd - len(failing)}/{n_odd} odd inputs handled, {rate:,.0f} completions/CPU s, "
        f"1 MB ×{worst_growth:.0f} of 10 kB"
    )
    table = rows_frame(rows, schema_overrides={"seconds": pl.Float64})
    worst = table.filter(pl.col("problem") != "") if failing else None
    speed = pl.DataFrame(
        {
            "quantity": [
                "completions per CPU second (realistic mix)",
                "completions in the mix",
                "1 MB / 10 kB time (worst input)",
                "seconds on 1 MB (worst input)",
            ],
            "value": [rate, float(speed_n), worst_growth, slowest],
        }
    )
    return CheckResult(
        "totality",
        _worst_verdict(verdicts),
        headline,
        findings,
        {"odd inputs": table, "speed": speed, "growth": growth},
        worst,
    )


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """Silence logging below CRITICAL for a while: some rewards log the whole input when a
    megabyte completion times out (math_verify does), which would flood the terminal."""
    previous = logging.root.manager.disable
    logging.disable(logging.ERROR)
    try:
        yield
    finally:
        logging.disable(previous)


def _clock() -> float:
    # CPU seconds of this process: what the reward costs, whatever else the machine runs
    # (wall time on a shared machine mostly measures waiting for a core)
    return time.process_time()


def _timed(target: AuditTarget, text: str, columns: dict[str, Any]) -> float:
    started = _clock()
    with _quiet_logs():
        target.call_one(text, columns)
    return _clock() - started


def _problem(result: Any, low: float, high: float) -> str:
    """What is wrong with one raw result ('' when nothing is)."""
    if isinstance(result, Exception):
        return f"raises {type(result).__name__}: {str(result)[:160]}"
    if result is None:
        return ""
    if isinstance(result, bool):
        return f"returns a bool ({result})"
    try:
        value = float(result)
    except (TypeError, ValueError):
        return f"returns {type(result).__name__} {result!r:.60}, not a number"
    if math.isnan(value):
        return "returns NaN"
    if not math.isfinite(value):
        return f"returns {value}"
    if not low <= value <= high:
        return f"returns {value:g}, outside its declared range [{low:g}, {high:g}]"
    return ""


def _shown(result: Any) -> str:
    if isinstance(result, Exception):
        return type(result).__name__
    return repr(result) if not isinstance(result, float) else f"{result:.4g}"
