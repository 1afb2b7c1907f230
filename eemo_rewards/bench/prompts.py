"""The prompts of EEmo-Logic's inference scripts, one builder per task.

The wording is the benchmark's specification, so each builder reproduces the text that the
release's script sends (github.com/workerred/EEmo-Logic, ``inference/*.py`` at commit
b353f328ec8053d4352c05491749167a0f9417c6; the script is named in each docstring), quirks
included (a missing space after "surprise.", the template's indentation before
``<think>``), so that answers are comparable with the release's. What differs is only
what the release leaves to chance: the option order (:func:`eemo_rewards.bench.sets.option_list`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "aese",
    "assessment",
    "description_pair",
    "description_single",
    "dominant_emotion",
    "perception_pair",
    "perception_single",
    "ranking",
    "uniaa",
]

_EXPERT = "Assume you are an expert in emotional psychology. "
_SEVEN = "anger, disgust, fear, joy, neutral, sadness, and surprise"
_CHOOSE = " Choose between one of the following options: "


def _options(options: Mapping[str, str]) -> str:
    # "A:No B:Yes", in the file's own order
    return " ".join(f"{letter}:{text}" for letter, text in options.items())


def _think_template(question: str, answer_format: str, indent: int) -> str:
    """The reasoning template of the ranking, V/A/D and dominant-emotion scripts."""
    return (
        f'Answer the question: "{question}" according to the content of the image. Firstly, '
        "give a through thinking on this and then output your thought and analysis process "
        "within the <think> </think> tags and provide your answer within the <answer> "
        f"</answer> tags (formatted as {answer_format}). The final output should be with the "
        f"following format:\n{' ' * indent}<think></think><answer>{answer_format}</answer>"
    )


def perception_single(question: str, options: Mapping[str, str]) -> str:
    """Yes/no and what/how on one image (``evaluate_perception_single.py``).

    Examples
    --------
    >>> perception_single("Is it joy?", {"A": "No", "B": "Yes"})[-29:]
    'following options: A:No B:Yes'
    """
    return (
        f"{_EXPERT}Analyze the following emotional psychology questions based on the image. "
        f"The involved emotion categories include {_SEVEN}.The question is as follows: "
        f"{question}{_CHOOSE}{_options(options)}"
    )


def perception_pair(question: str, options: Mapping[str, str]) -> str:
    """Yes/no and what/how on an image pair (``evaluate_perception_pair.py``)."""
    return (
        f"{_EXPERT}Based on the two given images, please analyze the following emotional "
        "psychology questions. Be sure to understand the emotional attributes each image "
        "evokes in the viewer and the emotional relationship between these two images in "
        f"your answers. The emotions to be considered include {_SEVEN}. The questions are as "
        f"follows:{question}{_CHOOSE}{_options(options)}"
    )


def ranking() -> str:
    """The top-3 evoked emotions, strongest first (``evaluate_ranking.py``)."""
    question = (
        f"{_EXPERT}Based on the given image, carefully identify the three main emotions "
        "evoked by the image, ranking them from the strongest to the weakest. The emotions "
        f"to consider include: {_SEVEN}.Show the all three main emotions and use comma to "
        "separate them."
    )
    return _think_template(question, "Emotion ranking: ", 8)


def assessment(dimension: str) -> str:
    """A V/A/D score on a 0–1 scale (``evaluate_vad.py``)."""
    question = (
        "As an expert in emotional attribute assessment, please rate the level of "
        f"{dimension} the image evokes in you on a scale from 0 to 1. "
    )
    return _think_template(question, f"{dimension.capitalize()}: x.xxxx", 12)


def description_single(question: str) -> str:
    """An open-ended question on one image (``evaluate_description.py``)."""
    return (
        f"{_EXPERT}Based on the given image, analyze the given image and answer the "
        "following question or request regarding emotional responses. The emotions to "
        f"consider include: {_SEVEN}. Please provide insightful and structured responses "
        f"based on your analysis. The question or request is shown in []:[{question}]"
    )


def description_pair(question: str) -> str:
    """An open-ended question on an image pair (``evaluate_description.py``)."""
    return (
        f"{_EXPERT}Based on the two given image, analyze the given images and answer the "
        "following question or request regarding emotional responses. Be sure to understand "
        "the three main emotions evoked by each image and the emotional relationship between "
        f"both image.The emotions to consider include: {_SEVEN}. Please provide insightful "
        "and structured responses based on your analysis. The question or request is shown "
        f"in []:[{question}]"
    )


def dominant_emotion(labels: Sequence[str], *, indent: int = 8) -> str:
    """The dominant emotion among ``labels`` (``evaluate_ArtEmis_think.py``; with
    ``indent=4``, ``evaluate_Artphoto_think.py``), in the order given."""
    question = (
        f"{_EXPERT}Based on the given image, carefully identify the dominant emotion evoked "
        f"by the image. The emotions to consider include: [{', '.join(labels)}]Please show "
        "your predicted dominant emotion directly as follows: "
    )
    return _think_template(question, "Dominant emotion:  ", indent)


def uniaa(question: str, options: Mapping[str, str]) -> str:
    """A UNIAA sentiment question (``evaluate_UNIAA_Sent.py``)."""
    return (
        f"{_EXPERT}Analyze the following emotional psychology questions based on the image. "
        f"The question is as follows: {question}{_CHOOSE}{_options(options)}"
    )


def aese(question: str, options: str) -> str:
    """An AesBench aesthetic-emotion question (``evaluate_AesBench_AesE.py``)."""
    return (
        f"{question} Choose one from the following options:\n{options}\nYou should output a "
        "correct option without explanation."
    )
