"""Generation-based evaluation of a model on held-out QA: the EEmo-Bench metrics.

:func:`generate_completions` answers every prompt (greedy, or sampled at a temperature),
batched; :func:`score_completions` turns answers into per-row results and task metrics;
:func:`evaluate_model` does both.

Metrics (present when the data has rows of that task):

=============================  ==========================================================
``format_rate``                share of well-formed ``<think>…</think><answer>…</answer>``
``reward_mean``                mean total reward under the spec (TRL's weighted sum)
``reward/<name>``              mean of each reward over the rows it scores
``perception_acc``             yes/no + multiple choice accuracy (EEmo-Bench perception),
                               also ``_yes_no``, ``_what_how``, ``_single``, ``_pair``
``ranking_score``              EEmo-Bench ranking score in [0, 1] (τ over positions)
``<dim>_srcc``, ``<dim>_plcc``  assessment correlations per V/A/D dimension; an
                               unreadable score counts as the scale midpoint 0.5 and
                               ``<dim>_coverage`` says how many were readable;
                               ``<dim>_constant`` is 1 when the answers (or truths) were
                               constant, the correlation undefined and shown as 0
``emotion_acc``, ``emotion_f1``  dominant-emotion accuracy and macro-F1 over the taxonomy
``comparison_acc``             which image of a pair evokes more
``answered`` (per item)        whether the answer could be read for the row's task (a
                               label, a ranking, a choice, a score; ``<dim>_answered`` per
                               V/A/D dimension): the card's coverage of each metric
``consistency``                share of rows whose ``<think>`` reasoning argues for the
                               row's own answer (a judge reads the reasoning alone;
                               :mod:`eemo_rewards.judges.consistency`), over the rows
                               where the judge reached a verdict; ``consistency_coverage``
                               is how many those are among the rows it could judge (every
                               task but ``description``; yes/no rows with an ``asked``
                               column): a model that stops reasoning loses coverage
=============================  ==========================================================

Answers are read leniently (``require_format=False``): the ``<answer>`` block when there is
one, else the whole completion, as a benchmark reads a model's free-form answer;
``format_rate`` reports the format separately.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eemo_rewards import metrics as M
from eemo_rewards._text import completion_text
from eemo_rewards.judges import JudgeContext, consistency_scores, get_judge
from eemo_rewards.parsing import parse_completion
from eemo_rewards.rewards.accuracy import AccuracyReward
from eemo_rewards.rewards.intensity import DIMENSIONS, parse_scores
from eemo_rewards.rewards.ranking import parse_comparison, parse_ranking
from eemo_rewards.tasks import normalise_task
from eemo_rewards.taxonomy import get_taxonomy, taxonomies
from eemo_rewards.train.common import messages_with_images
from eemo_rewards.train.models import ModelBundle

__all__ = ["EvalResult", "evaluate_model", "generate_completions", "score_completions"]

# the columns a generation never needs: keep them out of the reward keyword arguments
_NOT_COLUMNS = ("prompt", "images", "image", "completion", "messages")


@dataclass
class EvalResult:
    """Metrics and per-row results of one evaluation.

    Attributes
    ----------
    metrics : dict of str to float
        See the module docstring.
    rows : list of dict
        One dict per row: ``task``, ``solution``, ``completion``, ``answer``, ``well_formed``,
        ``correct`` (``None`` where the task has no right/wrong), ``reward``, each
        reward's score, ``consistency`` (1.0, 0.0 or ``None``), and ``item_metrics``: the
        row's value in every metric that is a mean over rows (``format_rate``,
        ``reward_mean``, the accuracies, ``ranking_score``, ``consistency`` where defined),
        for paired comparisons of two models on the same rows; an assessment row also holds
        ``<dim>_true`` and ``<dim>_pred`` (the midpoint when unreadable), the pairs its
        correlations are computed over (:func:`eemo_rewards.analysis.power.item_values`).
    settings : dict
        How the answers were generated (greedy/sampled, temperature, seed, tokens).
    """

    metrics: dict[str, float]
    rows: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


def generate_completions(
    bundle: ModelBundle,
    dataset: Any,
    *,
    sample: bool = False,
    temperature: float = 1.0,
    max_new_tokens: int = 48,
    batch_size: int = 32,
    seed: int = 0,
    progress: Callable[[int, int], Any] | None = None,
) -> list[str]:
    """Answer every row's ``prompt`` (with its ``images``), in order.

    Parameters
    ----------
    bundle : ModelBundle
    dataset : datasets.Dataset
        Columns ``prompt`` and optionally ``images``.
    sample : bool
        Sample at ``temperature`` (top-k and top-p off, as in GRPO's rollouts) instead of
        greedy decoding.
    max_new_tokens : int
        Completion length limit (use the training ``max_completion_length``).
    batch_size : int
        Prompts per ``generate`` call.
    seed : int
        Seeds sampling: each batch reseeds with ``seed`` plus its first row's index, so a
        run is reproducible for a given batch size.
    progress : callable, optional
        ``progress(done, total)`` after each batch.

    Returns
    -------
    list of str
        The decoded completions (special tokens dropped, the answer tags kept).
    """
    import torch

    if max_new_tokens < 1 or batch_size < 1:
        raise ValueError("max_new_tokens and batch_size must be positive")
    model = bundle.model
    processor = bundle.processor
    tokenizer = bundle.tokenizer
    # after trainer.train() the model is in train mode (dropout, maybe checkpointing):
    # generation must run in eval mode
    model.eval()
    device = next(model.parameters()).device
    n = len(dataset)
    has_images = "images" in dataset.column_names
    out: list[str] = []
    for start in range(0, n, batch_size):
        chunk = dataset.select(range(start, min(n, start + batch_size)))
        prompts = chunk["prompt"]
        images = chunk["images"] if has_images else [None] * len(chunk)
        texts = [
            processor.apply_chat_template(
                messages_with_images(p, im), add_generation_prompt=True, tokenize=False
            )
            for p, im in zip(prompts, images, strict=True)
        ]
        if has_images and all(images):
            inputs = processor(
                text=texts, images=[list(im) for im in images], padding=True, return_tensors="pt"
            )
        else:
            inputs = processor(text=texts, padding=True, return_tensors="pt")
        inputs = inputs.to(device)
        kwargs: dict[str, Any] = {"max_new_tokens": max_new_tokens}
        if sample:
            torch.manual_seed(seed + start)
            kwargs.update(do_sample=True, temperature=temperature, top_k=0, top_p=1.0)
        else:
            kwargs.update(do_sample=False, temperature=None, top_k=None, top_p=None)
        with torch.no_grad():
            generated = model.generate(**inputs, **kwargs)
        new_tokens = generated[:, inputs["input_ids"].shape[1] :]
        out.extend(tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
        if progress is not None:
            progress(len(out), n)
    return out


def _taxonomy_of(solution: str, column: Any) -> Any:
    if isinstance(column, str) and column.strip():
        try:
            return get_taxonomy(column)
        except ValueError:
            pass
    for tax in taxonomies().values():
        if tax.normalise(solution) is not None:
            return tax
    return None


def _is_pair(row: Mapping[str, Any]) -> bool:
    if row.get("pair_id") not in (None, ""):
        return True
    images = row.get("images")
    return isinstance(images, Sequence) and len(images) >= 2


def _finite_mean(values: Sequence[float]) -> float:
    values = [v for v in values if v is not None and math.isfinite(v)]
    return sum(values) / len(values) if values else float("nan")


def score_completions(
    dataset: Any,
    completions: Sequence[Any],
    *,
    spec: Any = None,
    judge: Any = "cue",
) -> EvalResult:
    """Score answers against the dataset's solutions (see the module docstring).

    Parameters
    ----------
    dataset : datasets.Dataset or list of dict
        Rows with ``task``, ``solution`` and optionally ``options``, ``taxonomy``,
        ``dimension``, ``pair_id``, ``images``.
    completions : sequence
        One completion per row (any completion shape).
    spec : RewardSpec, str, dict or list, optional
        The rewards whose means are reported; default spec when ``None``.
    judge : "cue", "embedding", Judge, callable, None or "off", default "cue"
        Who reads the reasoning for the ``consistency`` metric
        (:func:`~eemo_rewards.judges.consistency.get_judge`); ``None`` or ``"off"`` leaves
        the metric out. The cue judge costs tens of microseconds a row.

    Returns
    -------
    EvalResult

    Examples
    --------
    >>> rows = [{"task": "emotion", "solution": "joy"}, {"task": "emotion", "solution": "fear"},
    ...         {"task": "yes_no", "solution": "yes", "options": None}]
    >>> done = ["<think>a smiling face</think><answer>joy</answer>", "<answer>joy</answer>", "Yes."]
    >>> result = score_completions(rows, done, spec=["format", "accuracy"])
    >>> result.metrics["emotion_acc"], result.metrics["perception_acc"]
    (0.5, 1.0)
    >>> round(result.metrics["format_rate"], 3)
    0.333
    >>> result.metrics["consistency"], round(result.metrics["consistency_coverage"], 3)
    (1.0, 0.5)
    """
    from eemo_rewards.spec import RewardSpec

    rows = [dict(r) for r in (dataset.to_list() if hasattr(dataset, "to_list") else dataset)]
    if len(rows) != len(completions):
        raise ValueError(
            f"{len(completions)} completions for {len(rows)} rows; pass one completion per row"
        )
    spec = RewardSpec.coerce(spec)
    funcs, weights = spec.build()
    accuracy = AccuracyReward(require_format=False)
    consistency: list[float | None] = [None] * len(rows)
    judgeable: list[bool] = [False] * len(rows)
    if not (judge is None or (isinstance(judge, str) and judge.strip().lower() == "off")):
        contexts = [JudgeContext.from_row(r) for r in rows]
        judgeable = [c.judgeable for c in contexts]
        consistency = consistency_scores(list(completions), contexts, get_judge(judge))
    columns = {
        name: [r.get(name) for r in rows]
        for name in (rows[0].keys() if rows else ())
        if name not in _NOT_COLUMNS
    }
    per_reward = {f.__name__: f(completions=list(completions), **columns) for f in funcs}

    results: list[dict[str, Any]] = []
    buckets: dict[str, list[float]] = defaultdict(list)
    emotion_true: list[str] = []
    emotion_pred: list[str] = []
    emotion_labels: dict[str, Any] = {}
    vad: dict[str, tuple[list[float], list[float], list[bool]]] = {}
    for i, (row, completion) in enumerate(zip(rows, completions, strict=True)):
        parsed = parse_completion(completion)
        task = normalise_task(row.get("task"))
        solution = row.get("solution")
        answer = parsed.answer if parsed.answer is not None else completion_text(completion)
        correct: float | None = None
        item: dict[str, float] = {}  # this row's share of each mean metric
        # whether the answer could be read for the row's task (coverage of its metrics)
        answered = bool(str(answer or "").strip())

        def put(key: str, value: float, item: dict[str, float] = item) -> None:
            buckets[key].append(value)
            item[key] = float(value)

        if task in ("yes_no", "multiple_choice"):
            correct = accuracy.score(
                completion,
                solution,
                task=task,
                options=row.get("options"),
                taxonomy=row.get("taxonomy"),
            )
            kind = "yes_no" if task == "yes_no" else "what_how"
            where = "pair" if _is_pair(row) else "single"
            for key in ("perception_acc", f"perception_{kind}_acc", f"perception_{where}_acc"):
                put(key, correct)
        elif task == "emotion":
            tax = _taxonomy_of(str(solution), row.get("taxonomy"))
            gold = tax.normalise(str(solution)) if tax is not None else str(solution).lower()
            found = tax.find_labels(answer) if tax is not None else []
            pred = found[0] if len(found) == 1 else "(none)"
            answered = pred != "(none)"
            correct = float(pred == gold)
            emotion_true.append(gold)
            emotion_pred.append(pred)
            if tax is not None:
                emotion_labels[tax.name] = tax
            put("emotion_acc", correct)
        elif task == "ranking":
            tax = row.get("taxonomy") or None
            truth = list(dict.fromkeys(parse_ranking(str(solution), tax)))
            pred_list = (
                parse_ranking(answer, tax, vocabulary=truth)
                if tax is None
                else (parse_ranking(answer, tax))
            )
            value = M.eemo_bench_ranking_score(truth[:3], pred_list) if truth else 0.0
            answered = bool(pred_list)
            put("ranking_score", value)
            correct = None
        elif task == "assessment":
            truth_scores = parse_scores(str(solution))
            pred_scores = parse_scores(answer)
            dimension = row.get("dimension")
            readable_dims: list[bool] = []
            for key, true_value in truth_scores.items():
                dim = key or (dimension if dimension in DIMENSIONS else None)
                if dim is None:
                    continue
                pred_value = pred_scores.get(key, pred_scores.get(None))
                readable = pred_value is not None and 0.0 <= pred_value <= 1.0
                trues, preds, seen = vad.setdefault(dim, ([], [], []))
                trues.append(true_value)
                preds.append(pred_value if readable else 0.5)
                seen.append(readable)
                # the item's (truth, prediction) for paired intervals of the correlations
                item[f"{dim}_true"] = float(true_value)
                item[f"{dim}_pred"] = float(preds[-1])
                item[f"{dim}_answered"] = float(readable)
                readable_dims.append(readable)
            answered = bool(readable_dims) and all(readable_dims)
        elif task == "comparison":
            picked = parse_comparison(answer)
            answered = picked is not None
            correct = float(picked == str(solution).strip().lower())
            put("comparison_acc", correct)
        if consistency[i] is not None:
            item["consistency"] = float(consistency[i])
        scores = {name: values[i] for name, values in per_reward.items()}
        total = [
            w * s for (name, s), w in zip(scores.items(), weights, strict=True) if s is not None
        ]
        results.append(
            {
                "task": task,
                "solution": None if solution is None else str(solution),
                "completion": completion if isinstance(completion, str) else str(completion),
                "answer": answer,
                "well_formed": parsed.ok,
                "correct": correct,
                "reward": sum(total),
                **scores,
                "consistency": consistency[i],
                "item_metrics": {
                    "format_rate": float(parsed.ok),
                    "answered": float(answered),
                    **({"reward_mean": float(sum(total))} if math.isfinite(sum(total)) else {}),
                    **item,
                },
            }
        )
    metrics: dict[str, float] = {"n": float(len(rows))}
    if rows:
        metrics["format_rate"] = sum(r["well_formed"] for r in results) / len(results)
        metrics["reward_mean"] = _finite_mean([r["reward"] for r in results])
    for name, values in per_reward.items():
        mean = _finite_mean([v for v in values if v is not None])
        if math.isfinite(mean):
            metrics[f"reward/{name}"] = mean
    for key, values in buckets.items():
        metrics[key] = sum(values) / len(values)
    defined = [v for v in consistency if v is not None]
    if any(judgeable) or defined:
        if defined:
            metrics["consistency"] = sum(defined) / len(defined)
        metrics["consistency_coverage"] = len(defined) / max(1, sum(judgeable))
    if emotion_true:
        labels = None
        if len(emotion_labels) == 1:
            labels = list(next(iter(emotion_labels.values())).labels)
        metrics["emotion_f1"] = M.macro_f1(emotion_true, emotion_pred, labels=labels)
    for dim, (trues, preds, seen) in vad.items():
        if len(trues) >= 2:
            # a constant answer (or truth) leaves the correlation undefined: it is reported as
            # 0.0, as before, and <dim>_constant says so, so that a table can mark it
            srcc = M.srcc(trues, preds, zero_division=None)
            metrics[f"{dim}_srcc"] = 0.0 if srcc is None else srcc
            metrics[f"{dim}_plcc"] = M.plcc(trues, preds)
            metrics[f"{dim}_constant"] = float(srcc is None)
        metrics[f"{dim}_coverage"] = sum(seen) / len(seen)
    return EvalResult(metrics=metrics, rows=results)


def evaluate_model(
    bundle: ModelBundle,
    dataset: Any,
    *,
    spec: Any = None,
    sample: bool = False,
    temperature: float = 1.0,
    max_new_tokens: int = 48,
    batch_size: int = 32,
    seed: int = 0,
    progress: Callable[[int, int], Any] | None = None,
    judge: Any = "cue",
) -> EvalResult:
    """Generate an answer for every row and score it (:func:`generate_completions` then
    :func:`score_completions`; ``judge`` as there).

    Returns
    -------
    EvalResult
        ``settings`` records the decoding.
    """
    completions = generate_completions(
        bundle,
        dataset,
        sample=sample,
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
        seed=seed,
        progress=progress,
    )
    result = score_completions(dataset, completions, spec=spec, judge=judge)
    result.settings = {
        "decoding": "sampled" if sample else "greedy",
        "temperature": temperature if sample else 0.0,
        "max_new_tokens": max_new_tokens,
        "seed": seed,
        "model": bundle.path,
    }
    return result
