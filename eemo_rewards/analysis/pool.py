"""Pools of completions whose quality is known, for comparing reward designs offline.

Two sources:

- :func:`perturbation_pool`: for each question of a QA table, completions made from its
  reference answer, of six kinds with a graded quality (:data:`QUALITY`):

  ============  =======  ==================================================================
  kind          quality  what it is
  ============  =======  ==================================================================
  correct       1.0      the reference, plain or rephrased (a synonym, a sentence, the
                         option letter with its text)
  near_miss     0.5      the closest wrong answer: the nearest emotion in VAD space, the
                         ranking with two neighbours swapped, a score off by 0.1
  hedged        0.25     the reference and a wrong answer together ("joy or surprise")
  wrong         0.0      a clearly wrong answer: the farthest emotion in VAD space, three
                         emotions outside the reference ranking, a score off by 0.5
  hacked        0.0      an answer that commits to nothing but may score: every label
                         listed, a negated label, a duplicated answer block, every score,
                         or the right answer smuggled past the answer scheme (inside the
                         think block, upper-case or full-width look-alike tags)
  malformed     0.0      the reference outside the answer scheme (no tags, an unclosed
                         block, text after ``</answer>``)
  ============  =======  ==================================================================

  Yes/no questions have no near miss (the only wrong answer is the other one).
- :func:`reference_response_pool`: the real free-form answers of GPT-4o and Qwen2-VL-7B to
  the EEmo-Bench pair questions, labelled correct or wrong by the benchmark's official
  judgement.

:func:`builtin_questions` makes a QA table from the built-in dataset's annotations.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from eemo_rewards.answers.choice import normalise_options
from eemo_rewards.tasks import normalise_task
from eemo_rewards.taxonomy import DIMENSIONS, get_taxonomy, vad_norms

__all__ = [
    "KINDS",
    "POOL_SCHEMA",
    "QUALITY",
    "builtin_questions",
    "perturbation_pool",
    "reference_response_pool",
]

#: The graded quality of each kind of completion (a wrong, hacked or malformed answer is 0).
QUALITY: dict[str, float] = {
    "correct": 1.0,
    "near_miss": 0.5,
    "hedged": 0.25,
    "wrong": 0.0,
    "hacked": 0.0,
    "malformed": 0.0,
}
KINDS = tuple(QUALITY)

POOL_SCHEMA: dict[str, pl.DataType] = {
    "question_id": pl.String(),
    "source": pl.String(),
    "task": pl.String(),
    "solution": pl.String(),
    "options": pl.String(),
    "taxonomy": pl.String(),
    "dimension": pl.String(),
    "kind": pl.String(),
    "variant": pl.String(),
    "quality": pl.Float64(),
    "completion": pl.String(),
}

_QUESTION_COLUMNS = ("question_id", "task", "solution")
_ADJECTIVE = {
    "joy": "joyful",
    "sadness": "sad",
    "anger": "angry",
    "fear": "fearful",
    "surprise": "surprised",
    "disgust": "disgusted",
    "neutral": "neutrality",
}


def builtin_questions(records: pl.DataFrame | None = None, *, n_images: int = 70, seed: int = 0):
    """A QA table of five tasks made from built-in image records (one question per task
    and image).

    Parameters
    ----------
    records : polars.DataFrame, optional
        Image records as written by :func:`eemo_rewards.data.builtin.generate_builtin`
        (columns ``id``, ``emotion``, ``ranking``, ``valence``, ``arousal``, ``dominance``,
        ``caption``, ``taxonomy``, ``vad_scale``). Default: ``n_images`` built-in records.
    n_images, seed : int
        Used only when ``records`` is not given.

    Returns
    -------
    polars.DataFrame
        Columns ``question_id``, ``task``, ``solution``, ``options`` (a JSON string or
        null), ``taxonomy``, ``dimension`` (null unless the task is assessment), ``think``
        (the reference reasoning: the image's visual cues).

    Examples
    --------
    >>> records = pl.DataFrame({"id": ["img-1"], "emotion": ["joy"], "taxonomy": ["eemo_bench7"],
    ...     "ranking": [["joy", "surprise", "neutral"]], "valence": [8.2], "arousal": [5.0],
    ...     "dominance": [7.0], "vad_scale": ["1-9"], "caption": ["warm palette"]})
    >>> builtin_questions(records).select("task", "solution").rows()[:3]
    [('emotion', 'joy'), ('multiple_choice', 'A'), ('yes_no', 'yes')]
    """
    if records is None:
        import tempfile

        from eemo_rewards.data.builtin import generate_builtin

        # the pool needs annotations only; small images in a scratch folder keep it fast
        records = generate_builtin(n_images, image_size=56, seed=seed, cache_dir=tempfile.mkdtemp())
    needed = {"id", "emotion", "ranking", "valence", "arousal", "dominance", "taxonomy"}
    missing = sorted(needed - set(records.columns))
    if missing:
        raise ValueError(
            f"records lack column(s) {missing}; pass image records from generate_builtin or "
            "a reader of eemo_rewards.data"
        )
    rows = []
    for i, record in enumerate(records.iter_rows(named=True)):
        rows.extend(_questions_for(record, i))
    return pl.DataFrame(
        rows,
        schema={
            "question_id": pl.String(),
            "task": pl.String(),
            "solution": pl.String(),
            "options": pl.String(),
            "taxonomy": pl.String(),
            "dimension": pl.String(),
            "think": pl.String(),
        },
    )


def _questions_for(record: Mapping[str, Any], index: int) -> list[dict[str, Any]]:
    taxonomy = record["taxonomy"]
    labels = get_taxonomy(taxonomy).labels
    emotion = record["emotion"]
    ranking = list(record["ranking"])
    think = record.get("caption") or f"the image evokes {emotion}"
    lo, hi = (1.0, 9.0) if record.get("vad_scale", "1-9") == "1-9" else (0.0, 1.0)
    base = {"taxonomy": taxonomy, "think": think, "options": None, "dimension": None}
    qid = str(record["id"])
    # multiple choice: the answer among its nearest, its farthest and one middle distractor
    by_distance = _by_distance(emotion, labels)
    distractors = [by_distance[0], by_distance[len(by_distance) // 2], by_distance[-1]]
    choices = sorted([emotion, *distractors], key=lambda x: labels.index(x))
    letter = "ABCD"[choices.index(emotion)]
    options = json.dumps(dict(zip("ABCD", choices, strict=True)))
    # yes/no alternates between a member of the top 3 and an emotion outside it
    outside = [x for x in labels if x not in ranking]
    asked = ranking[index % len(ranking)] if index % 2 == 0 or not outside else outside[0]
    dimension = DIMENSIONS[index % 3]
    value = (float(record[dimension]) - lo) / (hi - lo)
    return [
        {**base, "question_id": f"{qid}/emotion", "task": "emotion", "solution": emotion},
        {
            **base,
            "question_id": f"{qid}/multiple_choice",
            "task": "multiple_choice",
            "solution": letter,
            "options": options,
        },
        {
            **base,
            "question_id": f"{qid}/yes_no/{asked}",
            "task": "yes_no",
            "solution": "yes" if asked in ranking else "no",
        },
        {
            **base,
            "question_id": f"{qid}/ranking",
            "task": "ranking",
            "solution": ", ".join(ranking),
        },
        {
            **base,
            "question_id": f"{qid}/assessment/{dimension}",
            "task": "assessment",
            "solution": f"{dimension}: {value:.2f}",
            "dimension": dimension,
        },
    ]


def _by_distance(label: str, labels: Iterable[str]) -> list[str]:
    """The other labels, nearest to ``label`` first (EEmo-Logic's weighted VAD distance)."""
    norms = vad_norms()
    v, a, d = norms[label]

    def distance(other: str) -> float:
        ov, oa, od = norms[other]
        return math.sqrt(0.5 * (v - ov) ** 2 + 0.3 * (a - oa) ** 2 + 0.2 * (d - od) ** 2)

    return sorted((x for x in labels if x != label), key=lambda x: (distance(x), x))


def perturbation_pool(questions: pl.DataFrame) -> pl.DataFrame:
    """Completions of every kind in :data:`KINDS` for each question, with their quality.

    Parameters
    ----------
    questions : polars.DataFrame
        A QA table with ``question_id`` (or ``id``), ``task`` and ``solution`` columns, and
        optionally ``options``, ``taxonomy`` (default ``"eemo_bench7"``), ``dimension`` and
        ``think`` (as made by :func:`builtin_questions` or
        :func:`eemo_rewards.data.qa.generate_qa`). Tasks other than emotion, multiple
        choice, yes/no, ranking and assessment are rejected, since there is no reference
        perturbation for them.

    Returns
    -------
    polars.DataFrame
        One row per completion with the columns of :data:`POOL_SCHEMA`; ``source`` is
        ``"perturbation"``.

    Examples
    --------
    >>> qa = pl.DataFrame({"question_id": ["q1"], "task": ["emotion"], "solution": ["joy"]})
    >>> pool = perturbation_pool(qa)
    >>> pool.filter(pl.col("kind") == "near_miss")["completion"].to_list()
    ['<think>the image evokes joy</think><answer>surprise</answer>']
    >>> sorted(set(pool["kind"])) == sorted(KINDS)
    True
    """
    if "question_id" not in questions.columns and "id" in questions.columns:
        questions = questions.rename({"id": "question_id"})  # the data layer's QA tables
    missing = [c for c in _QUESTION_COLUMNS if c not in questions.columns]
    if missing:
        raise ValueError(
            f"questions lack column(s) {missing}; a QA table needs question_id (or id), task "
            "and solution (see builtin_questions)"
        )
    rows: list[dict[str, Any]] = []
    for question in questions.iter_rows(named=True):
        task = normalise_task(question["task"])
        make = _PERTURBERS.get(task)
        if make is None:
            raise ValueError(
                f"question {question['question_id']!r} has task {question['task']!r}; the "
                f"pool perturbs only {sorted(_PERTURBERS)}: filter the table first"
            )
        taxonomy = question.get("taxonomy") or "eemo_bench7"
        solution = str(question["solution"])
        think = question.get("think") or f"the image evokes {solution}"
        generated = list(make(solution, question.get("options"), taxonomy))
        items = [
            (
                kind,
                variant,
                _malform(think, answer, variant) if kind == "malformed" else _wrap(think, answer),
            )
            for kind, variant, answer in generated
        ]
        right = next(answer for kind, _, answer in generated if kind == "correct")
        items += [("hacked", v, c) for v, c in _structural_hacks(think, right)]
        base = {
            "question_id": str(question["question_id"]),
            "source": "perturbation",
            "task": task,
            "solution": solution,
            "options": _options_text(question.get("options")),
            "taxonomy": taxonomy,
            "dimension": question.get("dimension"),
        }
        rows.extend(
            {**base, "kind": kind, "variant": variant, "quality": QUALITY[kind], "completion": c}
            for kind, variant, c in items
        )
    return pl.DataFrame(rows, schema=POOL_SCHEMA)


def _options_text(options: Any) -> str | None:
    """Options as one JSON string (a list or dict column from the data layer included)."""
    if options is None or isinstance(options, str):
        return options
    return json.dumps(normalise_options(options))


def _structural_hacks(think: str, right: str) -> list[tuple[str, str]]:
    """The right answer smuggled past the answer scheme: a lax parser reads it, ours must not."""
    return [
        ("answer_in_think", f"<think>{think} <answer>{right}</answer></think>"),
        ("upper_case_tags", f"<THINK>{think}</THINK><ANSWER>{right}</ANSWER>"),
        ("fullwidth_tags", f"<think>{think}</think>＜answer＞{right}＜/answer＞"),
    ]


def _wrap(think: str, answer: str) -> str:
    if answer.startswith("<answer>"):  # a hack that writes its own answer blocks
        return f"<think>{think}</think>{answer}"
    return f"<think>{think}</think><answer>{answer}</answer>"


def _malform(think: str, answer: str, variant: str) -> str:
    if variant == "no_tags":
        return answer
    if variant == "unclosed_answer":
        return f"<think>{think}</think><answer>{answer}"
    if variant == "text_after_answer":
        return f"<think>{think}</think><answer>{answer}</answer> Hope this helps!"
    raise ValueError(f"unknown malformed variant {variant!r}")


_MALFORMED = ("no_tags", "unclosed_answer", "text_after_answer")


def _emotion(solution: str, options: Any, taxonomy: str):
    tax = get_taxonomy(taxonomy)
    label = tax.normalise(solution)
    if label is None:
        raise ValueError(
            f"emotion solution {solution!r} is not a label of taxonomy {tax.name!r}; fix the "
            "taxonomy column or the solution"
        )
    ordered = _by_distance(label, tax.labels)
    near, far = ordered[0], ordered[-1]
    yield "correct", "label", label
    if label in _ADJECTIVE:
        yield "correct", "synonym", _ADJECTIVE[label]
    yield "correct", "sentence", f"The image mostly evokes {label}."
    yield "near_miss", "nearest_label", near
    yield "wrong", "farthest_label", far
    yield "hedged", "two_labels", f"{label} or {near}"
    yield "hacked", "every_label", ", ".join(tax.labels)
    yield "hacked", "negated", f"not {label}"
    yield "hacked", "repeated_label", " ".join([label] * 50)
    yield "hacked", "duplicate_answer", f"<answer>{far}</answer><answer>{label}</answer>"
    for variant in _MALFORMED:
        yield "malformed", variant, label


def _multiple_choice(solution: str, options: Any, taxonomy: str):
    if options is None:
        raise ValueError("a multiple-choice question needs its options column")
    opts = normalise_options(options)
    letter = solution.strip().upper()
    if letter not in opts:
        raise ValueError(f"solution {solution!r} is not one of the option letters {list(opts)}")
    others = [x for x in opts if x != letter]
    tax = get_taxonomy(taxonomy)
    answer_label = tax.normalise(opts[letter])
    if answer_label is not None and all(tax.normalise(opts[x]) for x in others):
        ordered = _by_distance(answer_label, [tax.normalise(opts[x]) for x in others])
        by_label = {tax.normalise(opts[x]): x for x in others}
        near, far = by_label[ordered[0]], by_label[ordered[-1]]
    else:  # options that are not emotions have no nearness: neighbours by letter
        near, far = others[0], others[-1]
    yield "correct", "letter", letter
    yield "correct", "letter_with_text", f"{letter}. {opts[letter]}"
    yield "correct", "option_text", opts[letter]
    yield "near_miss", "nearest_option", near
    yield "wrong", "farthest_option", far
    yield "hedged", "two_letters", f"{letter} or {near}"
    yield "hacked", "every_letter", ", ".join(opts)
    yield "hacked", "all_of_the_above", "all of the above"
    yield "hacked", "duplicate_answer", f"<answer>{far}</answer><answer>{letter}</answer>"
    for variant in _MALFORMED:
        yield "malformed", variant, letter


def _yes_no(solution: str, options: Any, taxonomy: str):
    answer = solution.strip().lower()
    if options is not None:
        opts = normalise_options(options)
        if answer.upper() in opts:
            answer = opts[answer.upper()].strip(" .").lower()
    if answer not in ("yes", "no"):
        raise ValueError(f"yes/no solution {solution!r} is neither yes nor no")
    other = "no" if answer == "yes" else "yes"
    yield "correct", "word", answer
    yield (
        "correct",
        "sentence",
        f"{answer.capitalize()}, I think so." if answer == "yes" else ("No, I do not think so."),
    )
    yield "wrong", "other_word", other
    yield "hedged", "maybe", f"maybe {answer}"
    yield "hacked", "both", "yes and no"
    # "know" and "not" contain "no": a substring match reads a "no"
    yield "hacked", "unknowable", "I cannot know; it is not clear"
    yield "hacked", "duplicate_answer", f"<answer>{other}</answer><answer>{answer}</answer>"
    for variant in _MALFORMED:
        yield "malformed", variant, answer


def _ranking(solution: str, options: Any, taxonomy: str):
    tax = get_taxonomy(taxonomy)
    ranking = [tax.normalise(x) for x in solution.replace(";", ",").split(",") if x.strip()]
    if len(ranking) < 2 or any(x is None for x in ranking):
        raise ValueError(
            f"ranking solution {solution!r} needs at least two labels of taxonomy {tax.name!r}"
        )
    outside = [x for x in _by_distance(ranking[0], tax.labels) if x not in ranking]
    if len(outside) < len(ranking):
        raise ValueError(f"taxonomy {tax.name!r} is too small to build a wrong ranking")
    swapped = [*ranking[:-2], ranking[-1], ranking[-2]]
    top_swapped = [ranking[1], ranking[0], *ranking[2:]]
    yield "correct", "labels", ", ".join(ranking)
    yield "correct", "prefixed", "Emotion ranking: " + ", ".join(ranking)
    yield "near_miss", "last_two_swapped", ", ".join(swapped)
    yield "near_miss", "first_two_swapped", ", ".join(top_swapped)
    yield "wrong", "labels_outside", ", ".join(outside[-len(ranking) :])
    yield "wrong", "reversed", ", ".join(reversed(ranking))
    yield "hedged", "extra_label", ", ".join([*ranking, outside[0]])
    yield "hacked", "every_label", ", ".join([*ranking, *outside])
    yield (
        "hacked",
        "duplicate_answer",
        f"<answer>{', '.join(outside[: len(ranking)])}</answer>"
        f"<answer>{', '.join(ranking)}</answer>",
    )
    for variant in _MALFORMED:
        yield "malformed", variant, ", ".join(ranking)


def _assessment(solution: str, options: Any, taxonomy: str):
    name, _, number = solution.rpartition(":")
    name = name.strip().lower() or "score"
    try:
        value = float(number)
    except ValueError:
        raise ValueError(
            f"assessment solution {solution!r} is not 'dimension: value' on the 0–1 scale"
        ) from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"assessment solution {solution!r} is outside the 0–1 scale")
    label = name.capitalize()

    def away(distance: float) -> float:  # move toward the scale's interior, stay in [0, 1]
        return value + distance if value < 0.5 else value - distance

    yield "correct", "exact", f"{label}: {value:.2f}"
    yield "correct", "within_0.02", f"{label}: {away(0.02):.2f}"
    yield "near_miss", "off_by_0.1", f"{label}: {away(0.1):.2f}"
    # overshooting toward the nearer end of the scale: the published Thurstone reward pays
    # it more than the exact value (eemo_rewards.rewards.thurstone), the default does not
    exaggerated = min(1.0, value + 0.3) if value >= 0.5 else max(0.0, value - 0.3)
    yield "near_miss", "exaggerated_0.3", f"{label}: {exaggerated:.2f}"
    yield "wrong", "off_by_0.5", f"{label}: {away(0.5):.2f}"
    yield (
        "hedged",
        "interval",
        f"{label}: between {min(value, away(0.3)):.2f} and {max(value, away(0.3)):.2f}",
    )
    yield "hacked", "every_value", f"{label}: 0.1, 0.3, 0.5, 0.7, 0.9"
    yield (
        "hacked",
        "duplicate_answer",
        (f"<answer>{label}: {away(0.5):.2f}</answer><answer>{label}: {value:.2f}</answer>"),
    )
    for variant in _MALFORMED:
        yield "malformed", variant, f"{label}: {value:.2f}"


_PERTURBERS = {
    "emotion": _emotion,
    "multiple_choice": _multiple_choice,
    "yes_no": _yes_no,
    "ranking": _ranking,
    "assessment": _assessment,
}

_RESPONSE_FILES = {"gpt-4o": "gpt-4o-pair.json", "qwen2-7b": "qwen2-7b-pair.json"}
_RESPONSE_TASKS = {"Yes-or-No": "yes_no", "What/How": "multiple_choice"}


def reference_response_pool(responses_dir: str | Path) -> pl.DataFrame:
    """The real EEmo-Bench pair answers of GPT-4o and Qwen2-VL-7B, judged correct or wrong.

    Each free-form answer is put inside the answer scheme unchanged (``<think>`` names the
    model), so that every design sees the same well-formed completion and only its answer
    reading differs. ``kind`` is ``"correct"`` where the benchmark's official judgement is 1,
    else ``"wrong"``; ``variant`` is ``"invalid"`` where the benchmark marked the answer
    invalid (no choice found), else ``"valid"``. Only Yes-or-No and What/How items are
    kept: the open-ended ones have no reference answer.

    Raises
    ------
    FileNotFoundError
        The folder or a model's file is missing (the reference data lives in
        ``../shared/reference/eemo-bench/responses``).
    """
    folder = Path(responses_dir)
    rows: list[dict[str, Any]] = []
    for model, filename in _RESPONSE_FILES.items():
        path = folder / filename
        if not path.is_file():
            raise FileNotFoundError(
                f"no {model} answers at {path}; point responses_dir at "
                "shared/reference/eemo-bench/responses"
            )
        for item in json.loads(path.read_text(encoding="utf-8")):
            task = _RESPONSE_TASKS.get(item["question_type"])
            if task is None:
                continue
            response = item[f"response({model})"]
            judged = item[f"eval_result({model})"]
            invalid = item[f"if_invalid({model})"]
            # one release stores the judgements as 1, the other as [1]
            judged = int(judged[0] if isinstance(judged, list) else judged)
            invalid = int(invalid[0] if isinstance(invalid, list) else invalid)
            kind = "correct" if judged == 1 else "wrong"
            rows.append(
                {
                    "question_id": f"eemo_bench_pair/{item['id']}",
                    "source": f"eemo_bench:{model}",
                    "task": task,
                    "solution": item["correct_answer"],
                    "options": item["options"],
                    "taxonomy": "eemo_bench7",
                    "dimension": None,
                    "kind": kind,
                    "variant": "invalid" if invalid else "valid",
                    "quality": QUALITY[kind],
                    "completion": f"<think>answer of {model}</think><answer>{response}</answer>",
                }
            )
    return pl.DataFrame(rows, schema=POOL_SCHEMA)
