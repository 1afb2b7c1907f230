"""Answers on disk: this project's generation cache, and the release formats it can score.

The cache (``OUT/<set>/answers.jsonl``) is written one line per answer as each batch
finishes, so an interrupted run loses at most the batch in flight. Its first line says
what produced the answers (set, model, option order, decoding); a later run into the same
folder with other settings is refused rather than mixed in. Every other line is
``{"id", "task", "prompt_sha", "answer"}``; an answer whose prompt changed (another option
order) is not reused.

:func:`read_answers` also reads the formats of the two releases, the model name taken from
the keys:

- EEmo-Bench leaderboards (github.com/workerred/EEmo-Bench ``leaderboards/``): a list of
  questions with ``response(<model>)``, and for open-ended questions the reference answer
  (``correct_answer``) and the five judge scores (``eval_result(<model>)``);
- EEmo-Logic's inference output (github.com/workerred/EEmo-Logic ``inference/``): the input
  records with ``all(<model>)`` (ArtEmis, ArtPhoto), ``response(<model>)`` (UNIAA-Sent),
  ``<model>(judge)`` / ``<model>(choose)`` (perception), ``<model>(open-ended)``,
  ``predict_emotion_all`` (ranking), ``predict_<dim>_all`` (V/A/D), or for AesBench a
  mapping of image name to ``{"AesE_response": …}``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eemo_rewards.bench.sets import VAD, BenchSet, Item, normalise_image_path

__all__ = ["CACHE_FORMAT", "AnswerCache", "CacheMismatch", "prompt_sha", "read_answers"]

CACHE_FORMAT = "eemo-bench-answers/1"


def prompt_sha(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:16]


class CacheMismatch(ValueError):
    """The cache in an output folder was written with other settings."""


class AnswerCache:
    """The answers of one set in one output folder, appended as they are generated.

    Parameters
    ----------
    path : path
        ``OUT/<set>/answers.jsonl``.
    header : dict
        What produces the answers (``set``, ``model``, ``option_order``, ``decoding``); must
        equal the header already on disk, if any.
    """

    def __init__(self, path: str | os.PathLike, header: Mapping[str, Any]):
        self.path = Path(path)
        self.header = {"format": CACHE_FORMAT, **header}
        self.answers: dict[tuple[str, str], dict[str, Any]] = {}
        self.repaired = 0
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        raw = self.path.read_bytes()
        if raw and not raw.endswith(b"\n"):
            # a write cut short (the process was killed mid-line): keep the whole lines only
            cut = raw.rfind(b"\n") + 1
            self.path.write_bytes(raw[:cut])
            raw = raw[:cut]
            self.repaired = 1
        lines = raw.decode("utf-8").splitlines()
        if not lines:
            return
        on_disk = json.loads(lines[0])
        if on_disk != self.header:
            diff = {
                k: (on_disk.get(k), self.header.get(k))
                for k in sorted(set(on_disk) | set(self.header))
                if on_disk.get(k) != self.header.get(k)
            }
            raise CacheMismatch(
                f"{self.path} holds answers generated with other settings "
                f"(on disk vs now: {diff}); pass another --out, or delete the file to "
                "regenerate"
            )
        for line in lines[1:]:
            row = json.loads(line)
            self.answers[(row["id"], row["task"])] = row

    def get(self, item: Item) -> str | None:
        row = self.answers.get(item.key)
        if row is None or row["prompt_sha"] != prompt_sha(item.prompt):
            return None
        return row["answer"]

    def add(self, items: Sequence[Item], answers: Sequence[str]) -> None:
        """Append answers and flush them to disk before returning."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists() or self.path.stat().st_size == 0
        with self.path.open("a", encoding="utf-8") as f:
            if new:
                f.write(json.dumps(self.header, sort_keys=True) + "\n")
            for item, answer in zip(items, answers, strict=True):
                row = {
                    "id": item.id,
                    "task": item.task,
                    "prompt_sha": prompt_sha(item.prompt),
                    "answer": answer,
                }
                self.answers[item.key] = row
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())


# ----------------------------------------------------------------------- release formats
_RESPONSE = re.compile(r"^response\((.+)\)$")
_ALL = re.compile(r"^all\((.+)\)$")
_SUFFIXED = re.compile(r"^(.+)\((judge|choose|open-ended)\)$")
_QUESTION_TYPES = {"Yes-or-No": "yes_no", "What/How": "what_how", "Open_ended": "description"}


def _model_from_keys(rows: Sequence[Mapping[str, Any]]) -> str:
    for row in rows[:50]:
        for key in row:
            for pattern in (_RESPONSE, _ALL, _SUFFIXED):
                m = pattern.match(key)
                if m:
                    return m.group(1)
    return "unknown"


class _PairIndex:
    """Pair items by (image 1, image 2, question); where the question's wording differs
    between the files (one release question carries its untranslated original), by
    (image 1, image 2, task) when that names one item."""

    def __init__(self, items: Sequence[Item]):
        self.exact: dict[tuple[str, str, str], tuple[str, str]] = {}
        by_task: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
        for item in items:
            if len(item.images) != 2:
                continue
            first, second = (normalise_image_path(p) for p in item.images)
            self.exact[(first, second, item.meta.get("question", ""))] = item.key
            by_task.setdefault((first, second, item.task), []).append(item.key)
        self.by_task = {k: v[0] for k, v in by_task.items() if len(v) == 1}

    def get(self, first: str, second: str, question: str, task: str) -> tuple[str, str] | None:
        first, second = normalise_image_path(first), normalise_image_path(second)
        key = self.exact.get((first, second, question))
        return key if key is not None else self.by_task.get((first, second, task))


def _judge_scores(value: Any) -> list[int] | None:
    if isinstance(value, list) and value:
        try:
            return [int(str(v).strip()) for v in value]
        except ValueError:
            return None
    return None


def _leaderboard(rows, model, items, found) -> None:
    """EEmo-Bench leaderboard rows: one question each, ``question_type`` naming the kind."""
    pairs = _PairIndex(items)
    singles = {item.key for item in items}
    for row in rows:
        task = _QUESTION_TYPES.get(row.get("question_type"))
        text = row.get(f"response({model})")
        if task is None or text is None:
            continue
        if "image2_url" in row:
            key = pairs.get(row["image1_url"], row["image2_url"], row.get("question", ""), task)
        else:
            name = row.get("image_name") or Path(normalise_image_path(row.get("image", ""))).name
            key = (name, task) if (name, task) in singles else None
        if key is None or key[1] != task:
            continue
        extra: dict[str, Any] = {}
        if task == "description":
            extra["reference"] = row.get("correct_answer")
            extra["released_judge"] = _judge_scores(row.get(f"eval_result({model})"))
            extra["dimension"] = row.get("describing_dimension")
        found[key] = {"answer": text, **extra}


def _inference_output(rows, model, bench_set, items, found) -> None:
    """EEmo-Logic's inference output: the input records with the answers added."""
    by_key = {item.key for item in items}
    pairs = _PairIndex(items)
    for i, row in enumerate(rows):
        answers: dict[str, Any] = {}
        if bench_set.name in ("artemis", "artphoto"):
            answers["emotion"] = row.get(f"all({model})")
            rid = str(row.get("new_id", row.get("id", i)))
        elif bench_set.name == "uniaa-sent":
            answers["choice"] = row.get(f"response({model})")
            rid = str(row.get("id", i))
        else:
            answers["yes_no"] = row.get(f"{model}(judge)")
            answers["what_how"] = row.get(f"{model}(choose)")
            answers["description"] = row.get(f"{model}(open-ended)")
            answers["ranking"] = row.get("predict_emotion_all")
            for dim in VAD:
                answers[dim] = row.get(f"predict_{dim}_all")
            rid = row.get("image_name")
        for task, text in answers.items():
            if text is None:
                continue
            if "image2_url" in row:
                question = {
                    "yes_no": row.get("judge_question"),
                    "what_how": row.get("choose_question"),
                    "description": row.get("open_ended_question"),
                }.get(task, "")
                key = pairs.get(row["image1_url"], row["image2_url"], question or "", task)
            else:
                key = (str(rid), task)
            if key in by_key and key[1] == task:
                found[key] = {"answer": text}


def _json_or_none(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def read_answers(
    path: str | os.PathLike, bench_set: BenchSet, items: Sequence[Item]
) -> tuple[str, dict[tuple[str, str], dict[str, Any]], int]:
    """Read an answers file in any supported format.

    Returns
    -------
    (model, answers, unmatched)
        ``answers`` maps an item's ``(id, task)`` to ``{"answer": text, …}`` (with
        ``reference`` and ``released_judge`` where the file has them); ``unmatched`` counts
        the file's answers that match no item of the set (a file of another set, or of
        another version of it).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"answers file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    found: dict[tuple[str, str], dict[str, Any]] = {}
    lines = text.splitlines()
    head = _json_or_none(lines[0]) if lines else None
    if isinstance(head, dict) and head.get("format") == CACHE_FORMAT:
        if head.get("set") != bench_set.name:
            raise ValueError(
                f"{path} holds answers of {head.get('set')!r}, not {bench_set.name!r}; "
                f"pass --set {head.get('set')}"
            )
        keys = {item.key: item for item in items}
        total = 0
        for line in lines[1:]:
            row = _json_or_none(line)
            if row is None:  # a line cut short by a killed run
                continue
            total += 1
            item = keys.get((row["id"], row["task"]))
            if item is not None:
                found[item.key] = {"answer": row["answer"]}
        return str(head.get("model", "unknown")), found, total - len(found)
    data = json.loads(text)
    if isinstance(data, dict):
        # AesBench's inference output: {image name: {"AesE_response": text}}
        rows = [
            {"id": k, "text": v.get("AesE_response")}
            for k, v in data.items()
            if isinstance(v, dict)
        ]
        keys = {item.key for item in items}
        for row in rows:
            if (row["id"], "choice") in keys and row["text"] is not None:
                found[(row["id"], "choice")] = {"answer": row["text"]}
        return "unknown", found, len(rows) - len(found)
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ValueError(
            f"{path}: not an answers file; expected this project's answers.jsonl, an "
            "EEmo-Bench leaderboard list or an EEmo-Logic inference output"
        )
    model = _model_from_keys(data)
    if any("question_type" in r for r in data[:50]):
        _leaderboard(data, model, items, found)
        total = sum(
            1
            for r in data
            if r.get(f"response({model})") is not None
            and _QUESTION_TYPES.get(r.get("question_type")) in bench_set.tasks
        )
    else:
        _inference_output(data, model, bench_set, items, found)
        total = len(found)
    return model, found, max(0, total - len(found))
