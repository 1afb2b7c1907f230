"""Scoring answers of one set: what each answer commits to, per-item results, metrics with
95% bootstrap intervals over items.

What an answer commits to is read by this project's readers (:mod:`eemo_rewards.answers`),
not by the release's regular expressions, which return ``None`` (and crash on the next
line) when a model strays from ``<answer>Dominant emotion: …</answer>`` and read only
single-line answers. An answer that commits to nothing (no option, two options, a denied
option, no emotion of the vocabulary, no score on the scale) is **unanswered**: it is
counted in ``n_unanswered`` and scores as wrong, never guessed.

=============================  =============================================================
metric                         definition
=============================  =============================================================
``accuracy_yes_no``            share of yes/no questions whose chosen option is the key
``accuracy_what_how``          the same over what/how (multiple-choice) questions
``accuracy``                   over every question of the set (EEmo-Bench's per-carrier
                               "Overall": the two types have equal counts); for ArtEmis and
                               ArtPhoto the dominant-emotion accuracy
``ranking_score``              EEmo-Bench's ranking score in [0, 1] ((hit + Kendall)/100,
                               :func:`eemo_rewards.metrics.eemo_bench_ranking_score`) with τ
                               over positions
``ranking_score_released``     the same with τ as the released scorer computes it (on the
                               emotion names, ranked alphabetically), to compare with
                               published numbers
``<dim>_srcc``, ``<dim>_plcc``  Spearman and Pearson correlation of the 0–1 score with the
                               annotated 1–9 SAM mean; an unanswered score counts as the
                               scale midpoint 0.5; ``<dim>_constant`` is 1.0 when the
                               answers (or truths) are constant and the correlations,
                               undefined, are shown as 0.0
``macro_f1``                   unweighted mean of the per-label F1 over the set's labels
``annotator_share``            ArtEmis: share of the five annotators who chose the predicted
                               emotion, averaged over paintings
``annotator_hit``              ArtEmis: share of paintings where at least one annotator
                               chose the predicted emotion
``offline_*``, ``judge_*``     open-ended answers (:mod:`eemo_rewards.bench.judge`)
=============================  =============================================================

Each metric ``m`` comes with ``m_low`` and ``m_high``: a 95% percentile bootstrap over the
set's items (2000 resamples; :func:`eemo_rewards.analysis.power.metric_interval`), covering
which items were drawn, not the sampling of answers.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from eemo_rewards import metrics as M
from eemo_rewards._text import completion_text
from eemo_rewards.answers import extract_choice, parse_ranking, parse_scores, read_label
from eemo_rewards.bench.sets import VAD, BenchSet, Item
from eemo_rewards.parsing import parse_completion

__all__ = ["MIDPOINT", "interval_metrics", "score_items"]

#: An unanswered V/A/D score enters the correlations as the scale's midpoint.
MIDPOINT = 0.5
_EEMO = "eemo_bench7"
_MIKELS = "mikels8"
N_RESAMPLES = 2000


def answer_text(completion: Any) -> str:
    """The ``<answer>`` block when there is one, else the whole completion."""
    parsed = parse_completion(completion)
    return parsed.answer if parsed.answer is not None else completion_text(completion)


def _norm(label: Any, tax: Any) -> str | None:
    if not isinstance(label, str):
        return None
    return tax.normalise(label)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")


def score_items(
    bench_set: BenchSet,
    items: Sequence[Item],
    answers: Mapping[tuple[str, str], Mapping[str, Any]],
    *,
    key: Mapping[str, str] | None = None,
    judge: Callable[[Item, str, str | None], list[int | None]] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, list[Any]]]:
    """Per-item results and the values each metric is computed over.

    Parameters
    ----------
    items : sequence of Item
        The items to score; an item with no answer in ``answers`` is skipped.
    answers : mapping
        ``(id, task) → {"answer": text, "reference"?: text, "released_judge"?: [grades],
        "dimension"?: describing dimension}``.
    key : mapping, optional
        ``{id: letter}``: an answer key for items the release ships without one (AesE).
    judge : callable, optional
        ``judge(item, answer, reference) -> grades`` (:func:`~eemo_rewards.bench.judge.ask_judge`
        bound to a URL); ``reference`` is ``None`` when the file has none.

    Returns
    -------
    (rows, values)
        ``rows``: one dict per scored item (``id``, ``task``, ``committed``, ``correct``,
        ``truth``). ``values``: metric name → per-item values (means) or ``(truth,
        prediction)`` pairs (names ending in ``_srcc``/``_plcc``), for
        :func:`interval_metrics`.
    """
    from eemo_rewards.bench import judge as J
    from eemo_rewards.taxonomy import get_taxonomy

    eemo, mikels = get_taxonomy(_EEMO), get_taxonomy(_MIKELS)
    rows: list[dict[str, Any]] = []
    values: dict[str, list[Any]] = defaultdict(list)
    emotion_true: list[str | None] = []
    emotion_pred: list[str | None] = []
    for item in items:
        found = answers.get(item.key)
        if found is None:
            continue
        completion = found["answer"]
        text = answer_text(completion)
        committed: Any = None
        correct: Any = None
        truth: Any = item.truth
        task = item.task
        if task in ("yes_no", "what_how", "choice"):
            committed = extract_choice(completion, item.options)
            if task == "choice" and truth is None and key is not None:
                truth = key.get(item.id)
            if truth is not None:
                correct = float(committed == truth)
                values["accuracy"].append(correct)
                kind = item.meta.get("type", task)
                kind = "yes_no" if kind == "yes_no" else "what_how"
                if bench_set.name != "aesbench-aese":
                    values[f"accuracy_{kind}"].append(correct)
        elif task == "ranking":
            ranked = parse_ranking(text, eemo)
            labels = [r for r in ranked if r in eemo.labels]
            committed = labels or None
            truth = [eemo.normalise(t) or t for t in item.truth]
            pred = ranked if committed else []
            correct = M.eemo_bench_ranking_score(truth, pred)
            values["ranking_score"].append(correct)
            values["ranking_score_released"].append(
                M.eemo_bench_ranking_score(truth, pred, kendall="released")
            )
        elif task in VAD:
            scores = parse_scores(text)
            value = scores.get(task, scores.get(None))
            committed = value if value is not None and 0.0 <= value <= 1.0 else None
            pred = MIDPOINT if committed is None else committed
            values[f"{task}_srcc"].append((truth, pred))
            values[f"{task}_plcc"].append((truth, pred))
        elif task == "emotion":
            committed = read_label(text, mikels)
            truth = _norm(item.truth, mikels)
            correct = float(committed is not None and committed == truth)
            values["accuracy"].append(correct)
            emotion_true.append(truth)
            emotion_pred.append(committed)
            annotators = item.meta.get("annotators")
            if annotators:
                votes = [_norm(a, mikels) for a in annotators]
                share = sum(v is not None and v == committed for v in votes) / len(votes)
                values["annotator_share"].append(share if committed else 0.0)
                values["annotator_hit"].append(float(committed is not None and share > 0))
        elif task == "description":
            annotations = item.meta.get("annotations") or []
            measures = J.offline_measures(completion_text(completion), annotations)
            said = measures.pop("committed")
            committed = said if any(v is not None for v in said.values()) else None
            if annotations:
                for name, value in measures.items():
                    values[name].append(value)
                correct = measures["offline_emotion_in_top3"]
            released = found.get("released_judge")
            if released:
                score = sum(released) / (2 * len(released))
                values["judge_score_released"].append(score)
                if found.get("dimension"):
                    values[f"judge_score_released_{_slug(found['dimension'])}"].append(score)
            if judge is not None:
                reference = found.get("reference")
                grades = judge(item, completion_text(completion), reference)
                valid = [g for g in grades if g is not None]
                name = "judge_score" if reference else "judge_score_annotations"
                score = sum(valid) / (2 * len(valid)) if valid else 0.0
                values[name].append(score)
                committed = {**(committed or {}), "judge_grades": grades}
        row = {
            "id": item.id,
            "task": item.meta.get("type", task) if task == "choice" else task,
            "committed": committed,
            "correct": correct,
            "truth": truth,
        }
        rows.append(row)
    if emotion_true:
        values["macro_f1"] = list(zip(emotion_true, emotion_pred, strict=True))
    return rows, dict(values)


def _macro_f1_interval(pairs: Sequence[tuple[Any, Any]], labels: Sequence[str]) -> dict:
    """Macro-F1 with a percentile bootstrap over items (vectorised per-label counts)."""
    import numpy as np

    index = {label: i for i, label in enumerate(labels)}
    k = len(labels)
    t = np.array([index.get(a, k) for a, _ in pairs])
    p = np.array([index.get(b, k) for _, b in pairs])
    value = M.macro_f1([a for a, _ in pairs], [b for _, b in pairs], labels=list(labels))
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(t), size=(N_RESAMPLES, len(t)))
    tt, pp = t[idx], p[idx]
    f1 = np.zeros((N_RESAMPLES,))
    for label in range(k):
        tp = ((tt == label) & (pp == label)).sum(axis=1)
        den = (tt == label).sum(axis=1) + (pp == label).sum(axis=1)
        f1 += np.where(den > 0, 2.0 * tp / np.maximum(den, 1), 0.0)
    draws = f1 / k
    low, high = np.quantile(draws, [0.025, 0.975])
    return {"value": value, "low": min(float(low), value), "high": max(float(high), value)}


def interval_metrics(
    values: Mapping[str, Sequence[Any]], *, labels: Sequence[str] | None = None
) -> dict[str, float]:
    """Each metric's value with ``_low`` and ``_high`` (95% bootstrap over items).

    A correlation needs two items and is left out below that; a constant column makes it
    undefined, reported as 0.0 with ``<dim>_constant`` = 1.0 (as
    :mod:`eemo_rewards.train.evaluate` does; no interval for the flag).
    """
    from eemo_rewards.analysis.power import metric_interval

    out: dict[str, float] = {}
    for name, vals in values.items():
        if not vals:
            continue
        if name == "macro_f1":
            if labels is None:
                labels = sorted({a for a, _ in vals if a is not None})
            res = _macro_f1_interval(vals, labels)
        elif name.endswith(("_srcc", "_plcc")):
            if len(vals) < 2:
                continue
            kind = name.rsplit("_", 1)[1]
            res = metric_interval([vals], kind=kind, n_resamples=N_RESAMPLES)
            # constant answers (or truths) leave the correlation undefined: shown as 0.0 and
            # flagged, as the held-out evaluation does
            dim = name.rsplit("_", 1)[0]
            constant = len({t for t, _ in vals}) < 2 or len({p for _, p in vals}) < 2
            out[f"{dim}_constant"] = float(constant)
        else:
            res = metric_interval([vals], n_resamples=N_RESAMPLES)
        value = float(res["value"])
        if not math.isfinite(value):
            raise ValueError(f"{name} is not finite; the item values hold a non-number")
        out[name] = value
        out[f"{name}_low"] = float(res["low"])
        out[f"{name}_high"] = float(res["high"])
    return out
