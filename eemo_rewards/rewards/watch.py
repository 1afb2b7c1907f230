"""What the policy answers during GRPO: a zero-weight reward term that logs, per batch, the
spread of predicted V/A/D against the truth's spread, the share of groups that answer one
constant, and the format rate (JSON lines, one per generation batch).

Add it to a spec with weight 0 (it scores nothing, it only watches)::

    RewardTerm("answer_watch", 0.0, {"log_path": "runs/x/answers.jsonl"})

The diagnosis of a collapsing assessment (GRPO paying regression to the mean) reads these
lines: :func:`read_watch` turns them into rows for a chart.

Under data-parallel training (``torch.distributed`` with several processes) every process
gathers the whole batch's readings and the first process writes one line for the batch, so
the statistics are the batch's, not one process's share.
"""

from __future__ import annotations

import json
import os
import statistics
import warnings
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eemo_rewards.answers.numbers import parse_scores
from eemo_rewards.parsing import parse_completion
from eemo_rewards.rewards.base import RewardFunction
from eemo_rewards.rewards.distributed import gather_rows, process_group
from eemo_rewards.tasks import normalise_task

__all__ = ["AnswerWatch", "read_watch"]

_DIMS = ("valence", "arousal", "dominance")


def _std(values: Sequence[float]) -> float | None:
    """The sample standard deviation, ``None`` with fewer than two values."""
    return statistics.stdev(values) if len(values) >= 2 else None


class AnswerWatch(RewardFunction):
    """Log what a batch of completions answers; every score is 0.0 (use weight 0).

    Parameters
    ----------
    log_path : path
        JSON lines are appended here (the folder is created).

    Each line holds ``batch`` (1-based), ``n``, ``format_rate``, ``constant_groups`` (share of
    dataset rows whose completions all give one answer, among rows with 2+ completions; rows
    are told apart by the ``id`` column, else by image and solution), ``scores`` (each
    assessment completion's ``[dimension, truth, prediction or None]``) and per V/A/D
    dimension present ``<dim>_pred_std``, ``<dim>_true_std``, ``<dim>_pred_mean``,
    ``<dim>_true_mean`` and ``<dim>_readable`` (share of readable scores).
    """

    default_name = "answer_watch"
    columns = ("dimension", "id", "image_id")

    def __init__(self, *, log_path: str, **kwargs: Any):
        super().__init__(**kwargs)
        if not log_path:
            raise ValueError("answer_watch needs log_path=...: the file its lines go to")
        self.log_path = str(log_path)
        self.batches = 0

    def _score(self, parsed, solution, **_: Any) -> float:
        return 0.0

    def __call__(self, prompts=None, completions=None, completion_ids=None, **kwargs):
        if completions is None:
            return []
        n = len(completions)
        rows: list[tuple[str, bool, str, list[list[Any]]]] = []
        try:
            rows = self._rows(completions, kwargs)
        except Exception as exc:  # a watch must never stop a run
            _warn(exc)
        # the whole batch across data-parallel processes (every process gathers, whatever
        # its share holds); the first process writes the line
        everyone, _ = gather_rows(rows)
        group = process_group()
        if group is None or group[0] == 0:
            try:
                self._write(everyone)
            except Exception as exc:
                _warn(exc)
        return [0.0] * n

    def _rows(self, completions, kwargs) -> list[tuple[str, bool, str, list[list[Any]]]]:
        """Per completion: its group key, whether it is well formed, its answer, and its
        ``[dimension, truth, prediction or None]`` readings (assessment samples)."""
        n = len(completions)

        def col(name):
            v = kwargs.get(name)
            return list(v) if isinstance(v, Sequence) and not isinstance(v, str) else [v] * n

        tasks, solutions, dims = col("task"), col("solution"), col("dimension")
        # a group is the completions of one dataset row: its id, else its solution and image
        ids, images = col("id"), col("image_id")
        rows = []
        for i, completion in enumerate(completions):
            parsed = parse_completion(completion)
            answer = (parsed.answer or "").strip().lower()
            key = str(ids[i]) if ids[i] is not None else f"{images[i]}|{solutions[i]}"
            pairs: list[list[Any]] = []
            if normalise_task(tasks[i]) == "assessment":
                truth = parse_scores(str(solutions[i]))
                pred = parse_scores(answer) if answer else {}
                for name, value in truth.items():
                    dim = name or (dims[i] if dims[i] in _DIMS else None)
                    if dim is None:
                        continue
                    got = pred.get(name, pred.get(None))
                    readable = got is not None and 0.0 <= got <= 1.0
                    pairs.append([dim, float(value), float(got) if readable else None])
            rows.append((key, bool(parsed.ok), answer, pairs))
        return rows

    def _write(self, rows) -> None:
        n = len(rows)
        groups: dict[str, list[str]] = defaultdict(list)
        preds: dict[str, list[float]] = defaultdict(list)
        trues: dict[str, list[float]] = defaultdict(list)
        seen: dict[str, list[bool]] = defaultdict(list)
        pairs: list[list[Any]] = []
        ok = 0
        for key, well_formed, answer, readings in rows:
            ok += well_formed
            groups[key].append(answer)
            for dim, truth, got in readings:
                trues[dim].append(truth)
                seen[dim].append(got is not None)
                pairs.append([dim, truth, got])
                if got is not None:
                    preds[dim].append(got)
        self.batches += 1
        multi = [g for g in groups.values() if len(g) > 1]
        line: dict[str, Any] = {
            "batch": self.batches,
            "n": n,
            "format_rate": ok / n if n else None,
            "constant_groups": (sum(len(set(g)) == 1 for g in multi) / len(multi))
            if multi
            else None,
        }
        if pairs:
            line["scores"] = pairs  # [dimension, truth, prediction or None] per completion
        for dim in trues:
            line[f"{dim}_pred_std"] = _std(preds[dim])
            line[f"{dim}_true_std"] = _std(trues[dim])
            line[f"{dim}_pred_mean"] = sum(preds[dim]) / len(preds[dim]) if preds[dim] else None
            line[f"{dim}_true_mean"] = sum(trues[dim]) / len(trues[dim])
            line[f"{dim}_readable"] = sum(seen[dim]) / len(seen[dim])
        path = Path(self.log_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def _warn(exc: Exception) -> None:
    warnings.warn(f"answer_watch: could not log a batch ({exc!r})", RuntimeWarning, stacklevel=3)


def read_watch(path: str | Path) -> list[dict[str, Any]]:
    """The lines an :class:`AnswerWatch` wrote (an empty list when there are none)."""
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a kill: the rest stands
    return rows
