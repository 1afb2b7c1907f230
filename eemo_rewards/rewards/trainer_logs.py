"""What a reward read, in the trainer's own logs: TRL's ``log_metric`` and ``log_extra``.

TRL (1.x) passes two callables to every reward function: ``log_metric(name, value)`` (a
scalar per batch, averaged over each logging step and over processes, reported beside
``kl`` and ``entropy``, so it reaches W&B and TensorBoard) and ``log_extra(column, values)``
(one value per completion, a column of the completions table). When the trainer passes
them, every reward of this package reports through :func:`report_batch`:

``<reward>/task/<task>/mean``
    the reward's mean over the batch's samples of each task;
``<reward>/<term>/mean``
    (a composite) each term's own mean over the samples it applies to;
``<reward>/commit_rate``
    the share of completions whose answer commits to something readable for the sample's
    task (a well-formed answer the task's reader accepts: :func:`commits`);
``<reward>/zero/<reason>``
    the share of completions that scored the reward's floor, by why: ``malformed`` (the
    answer scheme is broken), ``uncommitted`` (well formed, but the answer commits to
    nothing: a hedge, a negation, two labels), ``wrong`` (read, and wrong) or ``timeout``
    (a term ran past its time limit, :mod:`~eemo_rewards.rewards.limits`);
``<reward>/timeouts``
    terms that ran past their time limit in the batch;

and the column ``<reward>/zero_reason`` (``None`` for a completion above the floor; the
parse's reason for a malformed one).

verl and OpenRLHF log the mean of each per-sample value their reward returns (verl's
``reward_extra_info``, OpenRLHF's ``extra_logs``), so the adapters report the same readings
per sample as 0/1 flags whose means are the rates above (:func:`sample_flags`,
:data:`SAMPLE_FLAGS`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eemo_rewards.parsing import parse_completion
from eemo_rewards.tasks import normalise_task

__all__ = [
    "SAMPLE_FLAGS",
    "ZERO_REASONS",
    "batch_metrics",
    "commits",
    "report_batch",
    "sample_flags",
    "zero_reason",
]

ZERO_REASONS = ("malformed", "uncommitted", "wrong", "timeout")
"""Why a completion scored the reward's floor (see the module docstring)."""

SAMPLE_FLAGS = ("commits", "zero/malformed", "zero/uncommitted", "zero/wrong")
"""The per-sample flags the adapters log (:func:`sample_flags`)."""


def _emotion(answer: str, taxonomy: Any, solution: Any) -> bool:
    from eemo_rewards.answers import read_label
    from eemo_rewards.taxonomy import get_taxonomy, taxonomies

    if isinstance(taxonomy, str) and taxonomy:
        try:
            return read_label(answer, get_taxonomy(taxonomy)) is not None
        except (KeyError, ValueError):
            pass
    known = list(taxonomies().values())
    # the taxonomy the solution belongs to, else any that reads the answer
    ordered = [t for t in known if isinstance(solution, str) and t.normalise(solution)] or known
    return any(read_label(answer, tax) is not None for tax in ordered)


def commits(answer: Any, task: Any, options: Any = None, **columns: Any) -> bool:
    """Whether ``answer`` (the text of an ``<answer>`` block) commits to something the
    reader of ``task`` accepts. A task the dataset does not name commits when the answer is
    not empty.

    Examples
    --------
    >>> commits("Yes.", "yes_no"), commits("yes or no", "yes_no")
    (True, False)
    >>> commits("valence: 0.4", "assessment"), commits("not sure", "assessment")
    (True, False)
    """
    if not isinstance(answer, str) or not answer.strip():
        return False
    from eemo_rewards import answers

    task = normalise_task(task)
    if task == "yes_no":
        return answers.read_yes_no(answer) is not None
    if task == "multiple_choice":
        return answers.extract_choice(answer, options) is not None if options else False
    if task == "emotion":
        return _emotion(answer, columns.get("taxonomy"), columns.get("solution"))
    if task == "ranking":
        return bool(answers.parse_ranking(answer, columns.get("taxonomy")))
    if task == "assessment":
        return bool(answers.parse_scores(answer))
    if task == "comparison":
        return answers.parse_comparison(answer) is not None
    return True


def zero_reason(
    completion: Any, score: float | None, floor: float, task: Any, options: Any, **columns: Any
) -> str | None:
    """Why ``completion`` scored ``floor``: ``"malformed: <what>"``, ``"uncommitted"`` or
    ``"wrong"``; ``None`` when it scored above the floor or was not scored.

    Examples
    --------
    >>> zero_reason("joy", 0.0, 0.0, "emotion", None)
    'malformed: missing <answer> block'
    >>> done = "<think>a</think><answer>{}</answer>"
    >>> zero_reason(done.format("joy or fear"), 0.0, 0.0, "emotion", None, solution="joy")
    'uncommitted'
    >>> zero_reason(done.format("fear"), 0.0, 0.0, "emotion", None, solution="joy")
    'wrong'
    """
    if score is None or score > floor:
        return None
    parsed = parse_completion(completion)
    if not parsed.ok:
        return f"malformed: {parsed.reason}"
    if not commits(parsed.answer, task, options, **columns):
        return "uncommitted"
    return "wrong"


def sample_flags(
    completion: Any, score: float, floor: float, task: Any, options: Any, **columns: Any
) -> dict[str, float]:
    """One completion's 0/1 flags under :data:`SAMPLE_FLAGS`: whether its answer commits,
    and why it scored the floor (at most one ``zero/...`` flag is 1).

    Examples
    --------
    >>> sample_flags("<think>a</think><answer>yes</answer>", 1.0, 0.0, "yes_no", None)
    {'commits': 1.0, 'zero/malformed': 0.0, 'zero/uncommitted': 0.0, 'zero/wrong': 0.0}
    >>> sample_flags("yes", 0.0, 0.0, "yes_no", None)["zero/malformed"]
    1.0
    """
    parsed = parse_completion(completion)
    committed = parsed.ok and commits(parsed.answer, task, options, **columns)
    reason = zero_reason(completion, score, floor, task, options, **columns)
    why = None if reason is None else reason.split(":")[0]
    flags = {"commits": 1.0 if committed else 0.0}
    for key in SAMPLE_FLAGS[1:]:
        flags[key] = 1.0 if why == key.split("/")[1] else 0.0
    return flags


def batch_metrics(
    name: str,
    scores: Sequence[float | None],
    completions: Sequence[Any],
    tasks: Sequence[Any],
    options: Sequence[Any],
    floor: float,
    *,
    parts: Sequence[Mapping[str, float | None]] | None = None,
    timed_out: Sequence[bool] | None = None,
    columns: Mapping[str, Sequence[Any]] | None = None,
) -> tuple[dict[str, float], list[str | None]]:
    """``(metrics, zero reasons)`` of one batch under the names of the module docstring.

    ``parts`` (a composite) holds each completion's term scores; ``timed_out`` marks the
    completions some term timed out on (their reason is ``"timeout"``); ``columns`` holds
    the other dataset columns as lists (``taxonomy``, ``solution``, ...).

    Examples
    --------
    >>> metrics, reasons = batch_metrics(
    ...     "r", [1.0, 0.0], ["<think>a</think><answer>yes</answer>", "yes"],
    ...     ["yes_no", "yes_no"], [None, None], 0.0)
    >>> metrics["r/task/yes_no/mean"], metrics["r/commit_rate"], metrics["r/zero/malformed"]
    (0.5, 0.5, 0.5)
    >>> reasons
    [None, 'malformed: missing <answer> block']
    """
    n = len(scores)
    columns = columns or {}
    by_task: dict[str, list[float]] = defaultdict(list)
    zero: dict[str, int] = dict.fromkeys(ZERO_REASONS, 0)
    reasons: list[str | None] = []
    committed = 0
    for i, score in enumerate(scores):
        task = normalise_task(tasks[i])
        extra = {k: v[i] for k, v in columns.items()}
        parsed = parse_completion(completions[i])
        committed += parsed.ok and commits(parsed.answer, task, options[i], **extra)
        if score is not None:
            by_task[task or "unknown"].append(float(score))
        if timed_out is not None and timed_out[i] and score is not None and score <= floor:
            reason: str | None = "timeout"
        else:
            reason = zero_reason(completions[i], score, floor, task, options[i], **extra)
        reasons.append(reason)
        if reason is not None:
            zero[reason.split(":")[0]] += 1
    metrics: dict[str, float] = {}
    if not n:
        return metrics, reasons
    for task, values in sorted(by_task.items()):
        metrics[f"{name}/task/{task}/mean"] = sum(values) / len(values)
    if parts is not None:
        terms: dict[str, list[float]] = defaultdict(list)
        for row in parts:
            for term, value in row.items():
                if value is not None:
                    terms[term].append(value)
        for term, values in terms.items():
            metrics[f"{name}/{term}/mean"] = sum(values) / len(values)
    metrics[f"{name}/commit_rate"] = committed / n
    for reason, count in zero.items():
        metrics[f"{name}/zero/{reason}"] = count / n
    if timed_out is not None:
        metrics[f"{name}/timeouts"] = float(sum(bool(t) for t in timed_out))
    return metrics, reasons


def report_batch(
    name: str,
    kwargs: Mapping[str, Any],
    scores: Sequence[float | None],
    completions: Sequence[Any],
    floor: float,
    **details: Any,
) -> None:
    """Send :func:`batch_metrics` to TRL's ``log_metric`` and the zero reasons to its
    ``log_extra``, when ``kwargs`` (the reward call's keywords) carries them; nothing
    otherwise (the work is only done for a trainer that logs)."""
    log_metric: Callable[[str, float], Any] | None = kwargs.get("log_metric")
    log_extra: Callable[[str, list], Any] | None = kwargs.get("log_extra")
    if not callable(log_metric) and not callable(log_extra):
        return
    n = len(scores)

    def column(key: str) -> Sequence[Any]:
        values = kwargs.get(key)
        if isinstance(values, Sequence) and not isinstance(values, str) and len(values) == n:
            return values
        return [values] * n

    metrics, reasons = batch_metrics(
        name,
        scores,
        completions,
        column("task"),
        column("options"),
        floor,
        columns={k: column(k) for k in ("taxonomy", "solution")},
        **details,
    )
    if callable(log_metric):
        for key, value in metrics.items():
            log_metric(key, value)
    if callable(log_extra):
        log_extra(f"{name}/zero_reason", reasons)
