"""``audit(reward_fn)``: the four checks on one reward, and the result they make."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from eemo_rewards.analysis.compare import score_pool, task_range
from eemo_rewards.analysis.pool import builtin_questions, perturbation_pool, reference_response_pool
from eemo_rewards.answers import normalise_options
from eemo_rewards.answers.phrases import PHRASE_TASKS
from eemo_rewards.audit.checks import (
    CheckResult,
    _worst_verdict,
    gaming_check,
    separation_check,
    signal_check,
    totality_check,
)
from eemo_rewards.audit.hacks import hack_table
from eemo_rewards.audit.target import AuditTarget
from eemo_rewards.data.frames import rows_frame
from eemo_rewards.tasks import normalise_task

__all__ = ["AUDIT_TASKS", "DEFAULT_REFERENCE", "AuditResult", "audit"]

#: The tasks the audit has right, near, wrong and hacked answers for.
AUDIT_TASKS = ("emotion", "multiple_choice", "yes_no", "ranking", "assessment", "comparison")
#: The tasks of the built-in pool (separation and signal); comparison has hacks only.
POOL_TASKS = AUDIT_TASKS[:5]
#: Where the real EEmo-Bench answers are looked for: ``shared/reference`` beside the
#: checkout, as the tests and CI have it.
DEFAULT_REFERENCE = (
    Path(__file__).resolve().parents[3] / "shared" / "reference" / "eemo-bench" / "responses"
)
CHECKS = ("gaming", "separation", "signal", "totality")


@dataclass
class AuditResult:
    """The audit of one reward: a verdict per check and what they rest on."""

    reward: str
    checks: dict[str, CheckResult]
    tasks: list[str]
    group_size: int
    shape: str
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        """``"fail"`` when any check fails, else ``"warn"`` when any warns, else ``"pass"``."""
        return _worst_verdict([c.verdict for c in self.checks.values()])

    @property
    def passed(self) -> bool:
        """No check failed (warnings allowed): what a training script gates on."""
        return self.verdict != "fail"

    def summary(self) -> str:
        """One line: the reward, the overall verdict and each check's verdict and headline."""
        parts = [f"{name} {c.verdict} ({c.headline})" for name, c in self.checks.items()]
        return f"{self.reward}: {self.verdict.upper()}: " + "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Verdicts, headlines and findings as plain data (the report's ``audit.json``)."""
        return {
            "reward": self.reward,
            "verdict": self.verdict,
            "summary": self.summary(),
            "tasks": self.tasks,
            "group_size": self.group_size,
            "shape": self.shape,
            "notes": self.notes,
            "seconds": round(self.seconds, 2),
            "checks": {
                name: {"verdict": c.verdict, "headline": c.headline, "findings": c.findings}
                for name, c in self.checks.items()
            },
        }

    def to_markdown(self) -> str:
        from eemo_rewards.audit.report import to_markdown

        return to_markdown(self)

    def to_html(self) -> str:
        from eemo_rewards.audit.report import to_html

        return to_html(self)

    def save(self, folder: str | Path) -> dict[str, Path]:
        """Write ``audit.md``, ``audit.html`` (self-contained, charts inlined) and
        ``audit.json`` into ``folder``; returns their paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {
            "markdown": folder / "audit.md",
            "html": folder / "audit.html",
            "json": folder / "audit.json",
        }
        paths["markdown"].write_text(self.to_markdown(), encoding="utf-8")
        paths["html"].write_text(self.to_html(), encoding="utf-8")
        paths["json"].write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
        return paths


def audit(
    reward_fn: Callable[..., Any] | str,
    *,
    tasks: Iterable[str] | None = None,
    group_size: int = 8,
    n_images: int = 24,
    reference: str | Path | None = DEFAULT_REFERENCE,
    shape: str = "auto",
    value_range: tuple[float, float] | None = None,
    speed_n: int = 2000,
    seed: int = 0,
) -> AuditResult:
    """Audit a TRL-contract reward: gaming, separation, signal, totality and speed.

    Parameters
    ----------
    reward_fn : callable or str
        The reward (``f(prompts, completions, **columns) -> list[float | None]``), or
        ``"MODULE_OR_FILE:FUNCTION"`` / ``"preset:NAME"`` (see
        :func:`~eemo_rewards.audit.target.load_reward`).
    tasks : iterable of str, optional
        Audit these tasks (of :data:`AUDIT_TASKS`); default every one the reward scores.
    group_size : int, default 8
        GRPO's number of generations per prompt, for the zero-spread share.
    n_images : int, default 24
        Built-in images the questions are made from (five questions each).
    reference : path or None
        The folder of EEmo-Bench's real answers (``gpt-4o-pair.json``,
        ``qwen2-7b-pair.json``); ``None`` or a missing folder skips them, with a note.
    shape : {"auto", "text", "messages"}
        Completion shape (see :class:`~eemo_rewards.audit.target.AuditTarget`).
    value_range : (low, high), optional
        The reward's range when it declares none (``low``/``high`` attributes).
    speed_n : int, default 2000
        Completions in the throughput measurement.
    seed : int, default 0

    Returns
    -------
    AuditResult

    Examples
    --------
    >>> def constant(completions, **kwargs):
    ...     return [0.5] * len(completions)
    >>> result = audit(constant, tasks=["emotion"], n_images=4, reference=None, speed_n=50)
    >>> result.checks["signal"].verdict, result.checks["separation"].verdict, result.passed
    ('fail', 'fail', False)
    """
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 2:
        raise ValueError(
            f"group_size must be an integer >= 2 (GRPO's generations), got {group_size!r}"
        )
    wanted = _tasks(tasks)
    started = time.perf_counter()
    if isinstance(reward_fn, str):
        from eemo_rewards.audit.target import load_reward

        reward_fn = load_reward(reward_fn)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        target = AuditTarget(reward_fn, shape=shape, value_range=value_range)
        notes = [target.shape_note] if target.shape_note else []
        questions = builtin_questions(n_images=n_images, seed=seed)
        questions = questions.filter(pl.col("task").is_in(wanted))
        pool = perturbation_pool(questions).filter(~pl.col("kind").is_in(["hacked", "hedged"]))
        real = _real_answers(reference, wanted, notes)
        scored_pool = _score(target, pool if real is None else pl.concat([pool, real]))
        hack_tasks = [t for t in wanted if t in PHRASE_TASKS]
        scored_hacks = _score_hacks(target, hack_table(hack_tasks), scored_pool)
        seen = set(scored_pool["task"].to_list())
        seen |= set(scored_hacks.filter(pl.col("score").is_not_null())["task"].to_list())
        scored_tasks = [t for t in wanted if t in seen]
        if not scored_tasks:
            finding = (
                f"it {_nothing_scored(target)} for every sample of {', '.join(wanted)}; "
                "pass --task for the tasks it scores"
            )
            checks = {
                name: CheckResult(name, "fail", "scores no audited task", [finding])
                for name in CHECKS
            }
            return AuditResult(
                target.name,
                checks,
                list(wanted),
                group_size,
                target.shape,
                notes,
                time.perf_counter() - started,
            )
        skipped = [t for t in wanted if t not in scored_tasks]
        if skipped:
            notes.append(f"does not score {', '.join(skipped)} (None for every sample)")
        checks = {"gaming": gaming_check(scored_hacks)}
        if scored_pool.is_empty():
            why = "the built-in answers cover emotion, multiple choice, yes/no, ranking, assessment"
            checks["separation"] = CheckResult("separation", "skip", "no built-in answers", [why])
            checks["signal"] = CheckResult("signal", "skip", "no built-in answers", [why])
        else:
            checks["separation"] = separation_check(scored_pool)
            checks["signal"] = signal_check(scored_pool, group_size)
        samples = _one_correct_per_task(pool, scored_tasks)
        checks["totality"] = totality_check(target, samples, speed_n=speed_n, caught=caught)
    return AuditResult(
        target.name,
        checks,
        scored_tasks,
        group_size,
        target.shape,
        notes,
        time.perf_counter() - started,
    )


def _nothing_scored(target: AuditTarget) -> str:
    if target.errors:
        return f"raised ({target.errors[0].error})"
    return "returned None"


def _tasks(tasks: Iterable[str] | None) -> list[str]:
    if tasks is None:
        return list(AUDIT_TASKS)
    if isinstance(tasks, str):
        tasks = [tasks]
    wanted = []
    for task in tasks:
        canonical = normalise_task(task)
        if canonical not in AUDIT_TASKS:
            raise ValueError(
                f"the audit has answers for the tasks {list(AUDIT_TASKS)}; got {task!r}"
            )
        wanted.append(canonical)
    return list(dict.fromkeys(wanted))


def _real_answers(reference: Any, tasks: Sequence[str], notes: list[str]) -> pl.DataFrame | None:
    real_tasks = [t for t in tasks if t in ("yes_no", "multiple_choice")]
    if not real_tasks:
        return None
    if reference is None or not Path(reference).is_dir():
        notes.append(
            "real EEmo-Bench answers not found"
            + (f" at {reference}" if reference is not None else "")
            + ": separation uses the built-in answers only"
        )
        return None
    real = reference_response_pool(reference)
    return real.filter(pl.col("task").is_in(real_tasks))


def _score(target: AuditTarget, pool: pl.DataFrame, *, like: pl.DataFrame | None = None):
    """Score the pool through TRL's contract, options as a list of option texts (the usual
    dataset column); normalised by the declared range, else by the scores observed (those
    of ``like`` when given, so that hacks share the pool's scale)."""
    if pool.is_empty():  # comparison alone: no built-in answers to score
        return pool.with_columns(
            pl.lit(target.name).alias("design"),
            pl.lit(None, dtype=pl.Float64).alias("score"),
            pl.lit(None, dtype=pl.Float64).alias("score01"),
        )
    options = [None if o is None else list(normalise_options(o).values()) for o in pool["options"]]
    listed = pool.with_columns(pl.Series("options", options, dtype=pl.List(pl.String)))
    scored = score_pool(listed, {target.name: target})
    if target.declared_range is None and scored.height:
        reference = like if like is not None else scored
        low, high = reference["score"].min(), reference["score"].max()
        width = (high - low) if high > low else 1.0
        scored = scored.with_columns(((pl.col("score") - low) / width).alias("score01"))
    return scored


def _score_hacks(
    target: AuditTarget, rows: list[dict[str, Any]], scored_pool: pl.DataFrame
) -> pl.DataFrame:
    """Score every hack and the wrong answers of its sample in one batch; ``margin`` is the
    hack's score above the best wrong answer, on the range mapped to ``[0, 1]``."""
    completions: list[str] = []
    columns: dict[str, list[Any]] = {}
    names = sorted({k for row in rows for k in row["columns"]})
    spans = []
    for row in rows:
        start = len(completions)
        for completion in (row["completion"], *row["wrong"]):
            completions.append(completion)
            for name in names:
                columns.setdefault(name, []).append(row["columns"].get(name))
        spans.append((start, len(completions)))
    scores = target(completions=completions, **columns) if completions else []
    observed = _observed(scored_pool, scores)
    records = []
    for row, (start, end) in zip(rows, spans, strict=True):
        low, high = task_range(target, row["task"]) if target.declared_range else observed
        width = high - low if high > low else 1.0
        hack, wrong = scores[start], [s for s in scores[start + 1 : end] if s is not None]
        best = max(wrong) if wrong else None
        records.append(
            {
                "task": row["task"],
                "hack_class": row["hack_class"],
                "variant": row["variant"],
                "solution": row["solution"],
                "completion": row["completion"],
                "score": hack,
                "wrong_score": best,
                "margin": None if hack is None or best is None else (hack - best) / width,
            }
        )
    schema = {"score": pl.Float64, "wrong_score": pl.Float64, "margin": pl.Float64}
    return rows_frame(records, schema_overrides=schema)


def _observed(scored_pool: pl.DataFrame, more: Sequence[float | None]) -> tuple[float, float]:
    values = [*scored_pool["score"].to_list(), *(s for s in more if s is not None)]
    return (min(values), max(values)) if values else (0.0, 1.0)


def _one_correct_per_task(pool: pl.DataFrame, tasks: Sequence[str]) -> list[dict[str, Any]]:
    """One correct answer per task (the answer text and the sample's columns), for the odd
    inputs of the totality check."""
    firsts = (
        pool.filter((pl.col("kind") == "correct") & pl.col("task").is_in(list(tasks)))
        .unique("task", keep="first", maintain_order=True)
        .with_columns(answer=pl.col("completion").str.extract(r"<answer>(.*?)</answer>", 1))
    )
    samples = []
    if "comparison" in tasks:  # no built-in comparison questions: one sample of its own
        samples.append(
            {
                "task": "comparison",
                "solution": "first",
                "options": None,
                "taxonomy": None,
                "dimension": None,
                "answer": "the first image",
            }
        )
    for row in firsts.iter_rows(named=True):
        options = row["options"]
        row["options"] = None if options is None else list(normalise_options(options).values())
        samples.append(row)
    return samples
