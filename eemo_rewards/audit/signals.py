"""The signatures of reward hacking in logged completions, as they happen.

:class:`HackingSignals` takes one observation per generation batch (the completions with
their task and solution columns and each reward term's scores, or only a trainer's logged
metrics) and keeps five signals, each logged as a number every batch and flagged once,
with its evidence, when it crosses its line:

==================  ===========================================================================
signal              flagged when (over the last ``window`` observed batches)
==================  ===========================================================================
answer_collapse     one answer takes at least ``collapse_share`` of a task's completions while
                    the truths are spread (its share exceeds the most common truth's by at least
                    ``collapse_excess``), for ``patience`` batches in a row
noncommittal_rise   the share of answers that commit to nothing (no answer block, or the task's
                    reader of :mod:`eemo_rewards.answers` reads nothing) rises by at least
                    ``noncommittal_rise`` while the reward rises
length_drift        the mean completion length moves by at least ``length_change`` (relative)
                    and follows the reward (Pearson r at least ``length_corr``)
term_dominance      a term that is not a task term (format, length, consistency…) carries at
                    least ``dominance`` of the reward's variance
format_saturation   the format terms' mean is at least ``format_level`` of their range while the
                    task terms' mean gains less than ``stall`` from the first half of the window
                    to the second
==================  ===========================================================================

The variance share of term ``i`` is ``Cov(w_i·s_i, R) / Var(R)`` over a batch's completions
(``R = Σ w_j·s_j``; the shares add up to 1); from logged metrics alone (TRL's
``rewards/<name>/std``) it is ``w_i²σ_i² / Σ w_j²σ_j²``. A term is a *format term* when its
name contains "format", a *task term* when it is none of format, length, consistency,
repetition, watch or tag (or as named by ``task_terms`` / ``format_terms``).

Standard library only: :class:`~eemo_rewards.audit.monitor.HackingMonitor` runs it inside
a TRL trainer, :func:`read_verl_rollouts` feeds it verl's rollout dumps, and
:func:`run_signals` replays a finished run folder of this project.
"""

from __future__ import annotations

import contextlib
import json
import math
import statistics
import warnings
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eemo_rewards._text import completion_text
from eemo_rewards.parsing import parse_completion
from eemo_rewards.rewards.base import _column
from eemo_rewards.tasks import normalise_task

__all__ = [
    "SIGNALS",
    "Flag",
    "HackingSignals",
    "HackingWarning",
    "commitment",
    "read_verl_rollouts",
    "run_signals",
    "watch_openrlhf",
]

SIGNALS = (
    "answer_collapse",
    "noncommittal_rise",
    "length_drift",
    "term_dominance",
    "format_saturation",
)
_AUXILIARY = ("format", "length", "consistency", "repetition", "watch", "tag")


class HackingWarning(UserWarning):
    """A signature of reward hacking showed in the logged completions (once per signal)."""


@dataclass(frozen=True)
class Flag:
    """A signal that crossed its line: at which batch, why, and the numbers behind it."""

    signal: str
    step: int
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


def commitment(task: Any, answer: str | None, options: Any = None, taxonomy: Any = None) -> Any:
    """What an answer commits to, read by the task's reader of :mod:`eemo_rewards.answers`;
    ``None`` when it commits to nothing (or there is no answer, or the task has no reader).

    Examples
    --------
    >>> commitment("emotion", "joy"), commitment("emotion", "not joy")
    ('joy', None)
    >>> commitment("yes_no", "Yes, I think so."), commitment("multiple_choice", "A or B", "xy")
    ('yes', None)
    """
    from eemo_rewards import answers

    if not answer or not answer.strip():
        return None
    task = normalise_task(task)
    if task == "emotion":
        return answers.read_label(answer, taxonomy or "eemo_bench7")
    if task == "yes_no":
        return answers.read_yes_no(answer)
    if task == "multiple_choice":
        return answers.extract_choice(answer, options) if options is not None else None
    if task == "ranking":
        return tuple(answers.parse_ranking(answer, taxonomy or "eemo_bench7")) or None
    if task == "assessment":
        return answers.parse_scores(answer) or None
    if task == "comparison":
        return answers.parse_comparison(answer)
    return None


def _pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    if len(xs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    return statistics.correlation(xs, ys)


def _halves(values: Sequence[float]) -> tuple[float, float]:
    half = len(values) // 2
    return statistics.fmean(values[:half]), statistics.fmean(values[half:])


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class HackingSignals:
    """The five signals over a stream of generation batches.

    Parameters
    ----------
    weights : mapping, optional
        Term name → weight (default 1 for every term seen).
    task_terms, format_terms : iterable of str, optional
        Which terms measure the task and which the format (default: by name, see above).
    window : int, default 20
        Batches the trend signals look back over; they wait for ``window`` batches.
    patience : int, default 3
        Batches in a row a per-batch signal must hold (answer collapse, dominance).
    collapse_share, collapse_excess, noncommittal_rise, length_change, length_corr,
    dominance, format_level, stall : float
        The lines of the signals (see the module's table).
    min_completions : int, default 8
        A task's completions a batch needs for its collapse to be judged.
    warn : bool, default True
        Issue a :class:`HackingWarning` the first time each signal is flagged.

    Examples
    --------
    >>> signals = HackingSignals(window=4, patience=2, warn=False)
    >>> for step in range(4):
    ...     _ = signals.observe(
    ...         step,
    ...         completions=["<think>t</think><answer>joy</answer>"] * 8,
    ...         tasks=["emotion"] * 8,
    ...         solutions=["joy", "fear", "anger", "sadness"] * 2,
    ...         rewards={"accuracy_reward": [1.0, 0.0, 0.0, 0.0] * 2},
    ...     )
    >>> [flag.signal for flag in signals.flags]
    ['answer_collapse']
    """

    def __init__(
        self,
        *,
        weights: Mapping[str, float] | None = None,
        task_terms: Iterable[str] | None = None,
        format_terms: Iterable[str] | None = None,
        window: int = 20,
        patience: int = 3,
        collapse_share: float = 0.8,
        collapse_excess: float = 0.3,
        noncommittal_rise: float = 0.15,
        length_change: float = 0.3,
        length_corr: float = 0.7,
        dominance: float = 0.8,
        format_level: float = 0.95,
        stall: float = 0.02,
        min_completions: int = 8,
        warn: bool = True,
    ):
        if window < 4:
            raise ValueError(f"window must be at least 4 batches, got {window}")
        if patience < 1:
            raise ValueError(f"patience must be at least 1, got {patience}")
        self.weights = dict(weights or {})
        self.task_terms = set(task_terms) if task_terms is not None else None
        self.format_terms = set(format_terms) if format_terms is not None else None
        self.window, self.patience = int(window), int(patience)
        self.lines = {
            "collapse_share": collapse_share,
            "collapse_excess": collapse_excess,
            "noncommittal_rise": noncommittal_rise,
            "length_change": length_change,
            "length_corr": length_corr,
            "dominance": dominance,
            "format_level": format_level,
            "stall": stall,
        }
        self.min_completions = int(min_completions)
        self.warn = bool(warn)
        self.flags: list[Flag] = []
        self.history: list[dict[str, Any]] = []
        self._recent: deque[dict[str, Any]] = deque(maxlen=self.window)
        self._streaks: Counter[str] = Counter()

    # -- which term is which --------------------------------------------------------------
    def is_format_term(self, name: str) -> bool:
        if self.format_terms is not None:
            return name in self.format_terms
        return "format" in name.lower()

    def is_task_term(self, name: str) -> bool:
        if self.task_terms is not None:
            return name in self.task_terms
        return not any(word in name.lower() for word in _AUXILIARY)

    # -- one batch ------------------------------------------------------------------------
    def observe(
        self,
        step: int,
        *,
        completions: Sequence[Any] | None = None,
        rewards: Mapping[str, Sequence[float | None]] | None = None,
        tasks: Sequence[Any] | None = None,
        solutions: Sequence[Any] | None = None,
        options: Sequence[Any] | None = None,
        taxonomies: Sequence[Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
        ranges: Mapping[str, tuple[float, float]] | None = None,
    ) -> dict[str, float]:
        """Take one generation batch; returns this batch's signal values (the metrics to
        log, ``hacking/…``) and appends any new flag to :attr:`flags`.

        Give the completions (strings or message lists) with their columns and each term's
        per-completion scores where you have them; ``metrics`` (a trainer's logged
        values: ``reward``, ``rewards/<name>/mean`` and ``/std``,
        ``completions/mean_length``) stand in for what is missing. ``ranges`` gives a
        term's ``(low, high)`` (default ``(0, 1)``) for the format level.
        """
        metrics = dict(metrics or {})
        row: dict[str, Any] = {"step": int(step)}
        term_means, term_shares = self._terms(rewards, metrics)
        total = self._total(rewards, metrics)
        if total is not None:
            row["reward"] = total
        if completions is not None:
            texts = [completion_text(c) for c in completions]
            n = len(texts)
            row["length"] = statistics.fmean(len(t) for t in texts) if n else None
            columns = {"task": tasks, "solution": solutions, "options": options,
                       "taxonomy": taxonomies}  # fmt: skip
            row.update(self._answers(texts, *(list(_column(columns, k, n)) for k in columns)))
        elif _finite(metrics.get("completions/mean_length")):
            row["length"] = float(metrics["completions/mean_length"])
        ranges = dict(ranges or {})
        fmt = [
            self._level(term_means[t], ranges.get(t)) for t in term_means if self.is_format_term(t)
        ]
        task = [v for t, v in term_means.items() if self.is_task_term(t) and v is not None]
        row["format_mean"] = (
            statistics.fmean(v for v in fmt if v is not None)
            if any(v is not None for v in fmt)
            else None
        )
        row["task_mean"] = statistics.fmean(task) if task else None
        aux = {t: s for t, s in term_shares.items() if not self.is_task_term(t)}
        if aux:
            top = max(aux, key=aux.get)
            row["top_auxiliary_term"], row["top_auxiliary_share"] = top, aux[top]
        self._recent.append(row)
        self.history.append(row)
        self._judge(row)
        return {
            f"hacking/{key}": float(row[key])
            for key in (
                "answer_collapse",
                "noncommittal_share",
                "length",
                "top_auxiliary_share",
                "format_mean",
                "task_mean",
            )
            if _finite(row.get(key))
        } | {f"hacking/{s}_flag": float(s in self.flagged) for s in SIGNALS}

    @property
    def flagged(self) -> set[str]:
        """The signals flagged so far."""
        return {flag.signal for flag in self.flags}

    def _terms(self, rewards, metrics):
        """Each term's mean score and share of the reward's variance in this batch."""
        means: dict[str, float | None] = {}
        shares: dict[str, float] = {}
        if rewards:
            names = list(rewards)
            n = len(next(iter(rewards.values())))
            weighted = {
                t: [self.weights.get(t, 1.0) * (s if _finite(s) else 0.0) for s in rewards[t]]
                for t in names
            }
            for t in names:
                scored = [float(s) for s in rewards[t] if _finite(s)]
                means[t] = statistics.fmean(scored) if scored else None
            totals = [sum(weighted[t][i] for t in names) for i in range(n)]
            var = statistics.pvariance(totals) if n > 1 else 0.0
            if var > 1e-12:
                mean_total = statistics.fmean(totals)
                for t in names:
                    mean_t = statistics.fmean(weighted[t])
                    cov = (
                        sum((weighted[t][i] - mean_t) * (totals[i] - mean_total) for i in range(n))
                        / n
                    )
                    shares[t] = cov / var
            return means, shares
        for key, value in metrics.items():
            if key.startswith("rewards/") and key.endswith("/mean") and _finite(value):
                means[key[len("rewards/") : -len("/mean")]] = float(value)
        spreads = {
            t: (self.weights.get(t, 1.0) * float(metrics[f"rewards/{t}/std"])) ** 2
            for t in means
            if _finite(metrics.get(f"rewards/{t}/std"))
        }
        whole = sum(spreads.values())
        if whole > 1e-12:
            shares = {t: v / whole for t, v in spreads.items()}
        return means, shares

    def _total(self, rewards, metrics) -> float | None:
        if rewards:
            names = list(rewards)
            n = len(next(iter(rewards.values())))
            totals = []
            for i in range(n):
                values = [(t, rewards[t][i]) for t in names if _finite(rewards[t][i])]
                if values:
                    totals.append(sum(self.weights.get(t, 1.0) * v for t, v in values))
            return statistics.fmean(totals) if totals else None
        value = metrics.get("reward")
        return float(value) if _finite(value) else None

    @staticmethod
    def _level(mean: float | None, span: tuple[float, float] | None) -> float | None:
        if mean is None:
            return None
        low, high = span or (0.0, 1.0)
        return (mean - low) / (high - low) if high > low else None

    def _answers(self, texts, tasks, solutions, options, taxonomies) -> dict[str, Any]:
        """Collapse (the worst task's answer concentration above its truths') and the share
        of answers committing to nothing."""
        by_task: dict[str, list[tuple[str, str]]] = defaultdict(list)
        committed = judged = 0
        for text, task, solution, opts, taxonomy in zip(
            texts, tasks, solutions, options, taxonomies, strict=True
        ):
            parsed = parse_completion(text)
            answer = " ".join((parsed.answer or "").lower().split())
            task = normalise_task(task)
            by_task[task or "?"].append((answer, str(solution)))
            if task is not None:
                judged += 1
                # a reader must never stop the monitor: one that fails counts as nothing read
                with contextlib.suppress(Exception):
                    read = commitment(task, parsed.answer, opts, taxonomy) if parsed.ok else None
                    committed += read is not None
        out: dict[str, Any] = {}
        worst = None
        for task, pairs in by_task.items():
            truths = Counter(s for _, s in pairs)
            if len(pairs) < self.min_completions or len(truths) < 2:
                continue
            top_answer, count = Counter(a for a, _ in pairs).most_common(1)[0]
            share = count / len(pairs)
            excess = share - truths.most_common(1)[0][1] / len(pairs)
            if worst is None or excess > worst[0]:
                worst = (excess, share, task, top_answer)
        if worst is not None:
            out["answer_collapse"], out["top_answer_share"] = worst[0], worst[1]
            out["collapse_task"], out["top_answer"] = worst[2], worst[3]
        if judged:
            out["noncommittal_share"] = 1 - committed / judged
        return out

    # -- judging --------------------------------------------------------------------------
    def _judge(self, row: dict[str, Any]) -> None:
        lines, step = self.lines, row["step"]
        collapsed = (
            _finite(row.get("answer_collapse"))
            and row["top_answer_share"] >= lines["collapse_share"]
            and row["answer_collapse"] >= lines["collapse_excess"]
        )
        if self._held("answer_collapse", collapsed):
            self._flag(
                "answer_collapse",
                step,
                f"{row['top_answer_share']:.0%} of the {row['collapse_task']} completions answer "
                f"{row['top_answer']!r} ({row['answer_collapse']:+.0%} above the most common "
                f"truth's share) for {self.patience} batches in a row",
                {
                    k: row[k]
                    for k in ("collapse_task", "top_answer", "top_answer_share", "answer_collapse")
                },
            )
        dominant = _finite(row.get("top_auxiliary_share")) and (
            row["top_auxiliary_share"] >= lines["dominance"]
        )
        if self._held("term_dominance", dominant):
            self._flag(
                "term_dominance",
                step,
                f"{row['top_auxiliary_term']} carries {row['top_auxiliary_share']:.0%} of the "
                f"reward's variance for {self.patience} batches in a row: the policy is learning "
                "that term, not the task",
                {"term": row["top_auxiliary_term"], "share": row["top_auxiliary_share"]},
            )
        if len(self._recent) < self.window:
            return
        recent = list(self._recent)
        rewards = [r.get("reward") for r in recent]
        if all(_finite(r) for r in rewards):
            before, after = _halves(rewards)
            rising = after > before
            shares = [r.get("noncommittal_share") for r in recent]
            if rising and all(_finite(s) for s in shares):
                first, last = _halves(shares)
                if last - first >= lines["noncommittal_rise"]:
                    self._flag(
                        "noncommittal_rise",
                        step,
                        f"answers committing to nothing rose from {first:.0%} to {last:.0%} of "
                        f"the batch while the mean reward rose from {before:.3f} to {after:.3f}",
                        {
                            "share_before": first,
                            "share_after": last,
                            "reward_before": before,
                            "reward_after": after,
                        },
                    )
            lengths = [r.get("length") for r in recent]
            if all(_finite(v) for v in lengths):
                first, last = _halves(lengths)
                change = last / first - 1 if first > 0 else 0.0
                corr = _pearson(lengths, rewards)
                if (
                    abs(change) >= lines["length_change"]
                    and corr is not None
                    and (corr >= lines["length_corr"])
                ):
                    self._flag(
                        "length_drift",
                        step,
                        f"mean completion length went from {first:.0f} to {last:.0f} characters "
                        f"({change:+.0%}) and follows the reward (r = {corr:.2f})",
                        {"length_before": first, "length_after": last, "r": corr},
                    )
        fmt = [r.get("format_mean") for r in recent]
        task = [r.get("task_mean") for r in recent]
        if all(_finite(v) for v in fmt) and all(_finite(v) for v in task):
            saturated = min(fmt[len(fmt) // 2 :]) >= lines["format_level"]
            before, after = _halves(task)
            if saturated and after - before < lines["stall"]:
                self._flag(
                    "format_saturation",
                    step,
                    f"the format terms sit at {statistics.fmean(fmt[len(fmt) // 2 :]):.0%} of "
                    f"their range while the task terms moved {after - before:+.3f} "
                    f"({before:.3f} → {after:.3f}) over the last {self.window} batches",
                    {"format_mean": fmt[-1], "task_before": before, "task_after": after},
                )

    def _held(self, signal: str, now: bool) -> bool:
        self._streaks[signal] = self._streaks[signal] + 1 if now else 0
        return self._streaks[signal] >= self.patience

    def _flag(self, signal: str, step: int, message: str, evidence: dict[str, Any]) -> None:
        if signal in self.flagged:
            return
        flag = Flag(signal, int(step), message, evidence)
        self.flags.append(flag)
        if self.warn:
            warnings.warn(
                f"reward hacking? {signal} at step {step}: {message}", HackingWarning, stacklevel=4
            )


# -- logged samples of other trainers and of this project's runs -------------------------
def read_verl_rollouts(folder: str | Path) -> Iterator[dict[str, Any]]:
    """verl's rollout dumps (``trainer.rollout_data_dir``: one ``<step>.jsonl`` per step,
    lines with ``output``, ``gts``, ``score``, ``step`` and the reward's extra keys, which
    for :mod:`eemo_rewards.adapters.verl` are one score per term) as :meth:`HackingSignals.observe`
    keyword arguments, one batch per step, in step order.

    A ground truth written by :func:`eemo_rewards.data.export.to_verl_parquet` (JSON with
    ``task``, ``solution``, ``options``) gives the columns; a plain one is the solution.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"no verl rollout folder at {folder}; pass trainer.rollout_data_dir"
        )
    files = sorted(
        folder.glob("*.jsonl"),
        key=lambda p: (not p.stem.isdigit(), int(p.stem) if p.stem.isdigit() else 0, p.stem),
    )
    base = {"input", "output", "gts", "score", "step", "data_source", "acc", "response_not_found"}
    for path in files:
        lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
        if not lines:
            continue
        labels = [_label(line.get("gts")) for line in lines]
        terms = [k for k in lines[0] if k not in base and all(_finite(x.get(k)) for x in lines)]
        yield {
            "step": int(lines[0].get("step", path.stem if path.stem.isdigit() else 0)),
            "completions": [x.get("output") for x in lines],
            "rewards": {t: [x[t] for x in lines] for t in terms}
            or {"score": [x.get("score") for x in lines]},
            "tasks": [label.get("task") for label in labels],
            "solutions": [label.get("solution") for label in labels],
            "options": [label.get("options") for label in labels],
            "taxonomies": [label.get("taxonomy") for label in labels],
        }


def _label(label: Any) -> dict[str, Any]:
    """A logged ground truth as the adapters read it (JSON with task, solution, options, or
    the plain solution)."""
    from eemo_rewards.adapters import decode_label

    try:
        return decode_label(label)
    except ValueError:  # a JSON object without a solution: the text is the solution
        return {"task": None, "solution": label, "options": None}


def watch_openrlhf(
    reward_func: Callable[..., Any], *, batch: int = 64, signals: HackingSignals | None = None
) -> Callable[..., Any]:
    """OpenRLHF's ``reward_func`` (e.g. :func:`eemo_rewards.adapters.openrlhf.make_reward_func`)
    that also feeds :class:`HackingSignals`, one observation per ``batch`` samples.

    OpenRLHF logs only the batch means of the reward's ``extra_logs``; the wrapper reads each
    sample's response (after its prompt), label and per-term scores as they are scored, and
    the signals warn in the reward worker's log. Its ``signals`` attribute holds the flags::

        # my_reward.py, given to --reward.remote_url
        from eemo_rewards.adapters.openrlhf import make_reward_func
        from eemo_rewards.audit.signals import watch_openrlhf
        reward_func = watch_openrlhf(make_reward_func("default"), batch=128)
    """
    from eemo_rewards.adapters.openrlhf import response_from_query

    if batch < 2:
        raise ValueError(f"batch must be at least 2 samples, got {batch}")
    watcher = signals if signals is not None else HackingSignals()
    buffer: dict[str, Any] = {"completions": [], "labels": [], "terms": defaultdict(list)}
    observed = [0]

    def watched(queries, prompts=None, labels=None, **kwargs):
        result = reward_func(queries, prompts, labels, **kwargs)
        n = len(queries)
        prompts_ = list(prompts) if prompts is not None else [None] * n
        labels_ = list(labels) if labels is not None else [None] * n
        extra = {
            k: _as_list(v)
            for k, v in (result.get("extra_logs") or {}).items()
            if k != "response_not_found"
        }
        for i in range(n):
            buffer["completions"].append(response_from_query(queries[i], prompts_[i]) or "")
            buffer["labels"].append(_label(labels_[i]))
            for term, values in extra.items():
                buffer["terms"][term].append(values[i] if i < len(values) else None)
        if len(buffer["completions"]) >= batch:
            observed[0] += 1
            labels_seen = buffer["labels"]
            watcher.observe(
                observed[0],
                completions=buffer["completions"],
                rewards=dict(buffer["terms"]) or None,
                tasks=[x.get("task") for x in labels_seen],
                solutions=[x.get("solution") for x in labels_seen],
                options=[x.get("options") for x in labels_seen],
                taxonomies=[x.get("taxonomy") for x in labels_seen],
            )
            buffer["completions"], buffer["labels"] = [], []
            buffer["terms"] = defaultdict(list)
        return result

    watched.signals = watcher  # type: ignore[attr-defined]
    watched.__name__ = getattr(reward_func, "__name__", "reward_func")
    return watched


def _as_list(values: Any) -> list[Any]:
    values = values.tolist() if hasattr(values, "tolist") else values
    return list(values) if isinstance(values, Sequence) else [values]


def run_signals(run_dir: str | Path, **kwargs: Any) -> HackingSignals:
    """Replay a finished GRPO run folder of this project (``metrics.parquet`` and
    ``spec.json`` of ``runs/<job>/grpo``) through :class:`HackingSignals`, from its logged
    metrics; keyword arguments go to :class:`HackingSignals` (warnings off by default).

    The weights come from the run's spec; each logged GRPO step is one observation.
    """
    import polars as pl

    folder = Path(run_dir)
    if (folder / "grpo" / "metrics.parquet").is_file():
        folder = folder / "grpo"
    metrics_path = folder / "metrics.parquet"
    if not metrics_path.is_file():
        raise FileNotFoundError(f"no metrics.parquet in {folder}; pass a GRPO run folder")
    weights = {}
    spec_path = folder / "spec.json"
    if spec_path.is_file():
        from eemo_rewards.spec import RewardSpec

        try:
            funcs, values = RewardSpec.from_dict(json.loads(spec_path.read_text())).build()
            weights = {f.__name__: w for f, w in zip(funcs, values, strict=True)}
        except (ImportError, ValueError, TypeError) as exc:  # weights of 1 then, and say so
            warnings.warn(
                f"run_signals: could not read the weights of {spec_path} ({exc})",
                RuntimeWarning,
                stacklevel=2,
            )
    kwargs.setdefault("warn", False)
    signals = HackingSignals(weights=kwargs.pop("weights", weights), **kwargs)
    frame = pl.read_parquet(metrics_path)
    if "reward" in frame.columns:
        frame = frame.filter(pl.col("reward").is_not_null())
    for row in frame.iter_rows(named=True):
        signals.observe(int(row.get("step") or 0), metrics=row)
    return signals


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m eemo_rewards.audit.signals RUN_DIR …``: replay finished runs' logged
    metrics through the monitor; prints each run's flags and exits 1 when any run is
    flagged (CI runs it on the main job's run)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m eemo_rewards.audit.signals",
        description="Replay GRPO run folders through the reward-hacking monitor.",
    )
    parser.add_argument("runs", nargs="+", help="run folders (runs/<job>, or its grpo/)")
    parser.add_argument(
        "--min-steps", type=int, default=1, help="fail when a run logged fewer GRPO steps than this"
    )
    args = parser.parse_args(argv)
    flagged = False
    for run in args.runs:
        try:
            signals = run_signals(run)
        except FileNotFoundError as exc:
            print(f"{run}: {exc}")
            return 2
        steps = len(signals.history)
        print(f"{run}: {steps} GRPO steps, {len(signals.flags)} flag(s)")
        for flag in signals.flags:
            print(f"  {flag.signal} at step {flag.step}: {flag.message}")
        if steps < args.min_steps:
            print(f"  fewer than {args.min_steps} logged steps: nothing to judge")
            return 2
        flagged = flagged or bool(signals.flags)
    return 1 if flagged else 0


if __name__ == "__main__":
    raise SystemExit(main())
