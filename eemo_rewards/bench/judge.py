"""Scoring open-ended answers: offline measures, and a language-model judge over HTTP.

EEmo-Bench's published description scores come from a language model that rates each
answer 0, 1 or 2 against a reference answer, five times, the score being the sum over 10
(the EEmo-Bench README's sample, github.com/workerred/EEmo-Bench at
e10bfa9fb6a75fbf0afc89f89a58207b8fb1dd70). EEmo-Logic's release ships the open-ended
questions without reference answers, so this module offers three measures, each under its
own name:

``offline_emotion_in_top3``
    This project's reasoning-consistency judge (the cue judge: no model, no network) reads
    the description as it reads a ``<think>`` text, and the emotion it argues for is one of
    the image's (either image's, for a pair) top-3 annotated emotions. An offline proxy,
    not the published measure.
``offline_<dim>_level``
    The V/A/D level (low, moderate, high) the description argues for, by the same judge,
    equals the level of the image's annotated mean (1–9 scale mapped onto 0–1).
``judge_score`` / ``judge_score_annotations``
    A judge model behind an OpenAI-compatible chat endpoint (``--judge-url``, e.g. what
    ``vllm serve`` exposes) rates the answer 0/1/2 ``repeats`` times; the item's score is
    the sum over ``2 · repeats``. Against the reference answer when the answers file carries
    one (EEmo-Bench's leaderboard files do): ``judge_score``; otherwise against the image's
    annotations: ``judge_score_annotations``, which is not comparable with the published
    numbers.
``judge_score_released``
    The five scores an EEmo-Bench leaderboard file already holds, summed over 10: the
    published number, read back.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from eemo_rewards.taxonomy import level_of

__all__ = ["JudgeError", "annotation_reference", "ask_judge", "offline_measures", "read_score"]

_SYSTEM = "You are a careful grader of answers about the emotions that images evoke."
_PROMPT = (
    "Question: {question}\n\nReference: {reference}\n\nAnswer to grade: {answer}\n\n"
    "Grade how well the answer agrees with the reference in completeness, accuracy and "
    "relevance. The emotions considered are anger, disgust, fear, joy, neutral, sadness and "
    "surprise; extra or missing emotion words alone do not decide the grade. Give 0 when the "
    "answer is not a valid answer or does not match at all, 1 when it partly matches, 2 when "
    "it matches completely or almost completely. Reply with one line: Score: <0, 1 or 2>"
)
_SCORE = re.compile(r"score\s*[:：=]?\s*\**\s*([012])\b", re.IGNORECASE)
_LONE = re.compile(r"^\W*([012])\W*$")


class JudgeError(RuntimeError):
    """The judge endpoint could not be reached or answered something unreadable."""


def _consistency():
    """The reasoning-consistency judges (their one import in this package)."""
    from eemo_rewards.judges import consistency

    return consistency


def _level_of_sam(mean: float) -> str:
    return level_of((float(mean) - 1.0) / 8.0)


def offline_measures(text: str, annotations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What the cue judge reads from a description, against the images' annotations.

    Returns ``{"emotion": label or None, "<dim>": level or None, ...}`` (what the text
    commits to) and the measures (``offline_emotion_in_top3``, and for one image
    ``offline_<dim>_level``: 1.0/0.0, 0.0 when the text commits to nothing).

    Examples
    --------
    >>> ann = [{"emotions": ["joy", "surprise", "neutral"], "valence": 7.5,
    ...         "arousal": 5.0, "dominance": 6.0}]
    >>> out = offline_measures("A smiling child: it feels joyful, pleasant and happy.", ann)
    >>> out["committed"]["emotion"], out["offline_emotion_in_top3"]
    ('joy', 1.0)
    """
    mod = _consistency()
    judge = mod.get_judge("cue")
    top = {e for a in annotations for e in a["emotions"]}
    emotion = judge.argue(text, mod.JudgeContext("emotion")) if text else None
    committed: dict[str, Any] = {"emotion": emotion}
    out: dict[str, Any] = {"offline_emotion_in_top3": float(emotion in top)}
    if len(annotations) == 1:
        for dim in ("valence", "arousal", "dominance"):
            verdict = (
                judge.argue(text, mod.JudgeContext("assessment", dimension=dim)) if text else None
            )
            if isinstance(verdict, float):
                verdict = level_of(verdict)
            committed[dim] = verdict
            out[f"offline_{dim}_level"] = float(
                verdict is not None and verdict == _level_of_sam(annotations[0][dim])
            )
    out["committed"] = committed
    return out


def annotation_reference(annotations: Sequence[Mapping[str, Any]]) -> str:
    """The images' annotations in words, the judge's reference when no answer is given."""
    parts = []
    for i, a in enumerate(annotations, 1):
        who = f"Image {i}" if len(annotations) > 1 else "The image"
        parts.append(
            f"{who} evokes, strongest first: {', '.join(a['emotions'])}; valence "
            f"{a['valence']:.2f}, arousal {a['arousal']:.2f}, dominance {a['dominance']:.2f} "
            "on a 1-9 scale."
        )
    return " ".join(parts)


def read_score(reply: str) -> int | None:
    """The 0/1/2 grade in a judge's reply, else ``None``.

    Examples
    --------
    >>> read_score("Score: 2"), read_score("**Score:** 1"), read_score("0"), read_score("good")
    (2, 1, 0, None)
    """
    found = _SCORE.findall(reply or "")
    if found:
        return int(found[-1])
    m = _LONE.match(reply or "")
    return int(m.group(1)) if m else None


def _endpoint(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/chat/completions") else url + "/chat/completions"


def ask_judge(
    url: str,
    question: str,
    answer: str,
    reference: str,
    *,
    model: str = "judge",
    repeats: int = 5,
    timeout: float = 120.0,
    api_key: str | None = None,
) -> list[int | None]:
    """Ask an OpenAI-compatible chat endpoint to grade one answer ``repeats`` times.

    ``url`` is the server's base (``http://host:8000/v1``) or its ``/chat/completions``
    address. Returns one grade per request (``None`` where the reply holds none).

    Raises
    ------
    JudgeError
        When the server cannot be reached or its reply is not a chat completion.
    """
    body = {
        "model": model,
        "messages": [
            {"role": "system", "content": _SYSTEM},
            {
                "role": "user",
                "content": _PROMPT.format(question=question, reference=reference, answer=answer),
            },
        ],
        "temperature": 1.0 if repeats > 1 else 0.0,
    }
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    grades: list[int | None] = []
    for _ in range(repeats):
        request = urllib.request.Request(
            _endpoint(url), data=json.dumps(body).encode("utf-8"), headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                reply = json.loads(response.read().decode("utf-8"))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise JudgeError(
                f"judge endpoint {_endpoint(url)} failed: {exc}; check --judge-url (an "
                "OpenAI-compatible server, e.g. `vllm serve MODEL` → http://HOST:8000/v1) and "
                "--judge-model"
            ) from exc
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise JudgeError(
                f"judge endpoint {_endpoint(url)} did not answer a chat completion: "
                f"{str(reply)[:200]}"
            ) from exc
        grades.append(read_score(content))
    return grades
