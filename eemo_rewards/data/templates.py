"""Question templates for QA generation, grouped in selectable families.

A template is a ``str.format`` string over the fields a generator provides (``{emotion}``,
``{level}``, ``{dimension}``, ``{labels}``, ``{feeling}`` …). Each QA kind (task, question
type) has several phrasings per family; a sample's phrasing is drawn by the seed and recorded
in ``template_id`` as ``<family>/<kind>/<index>``.

Families
--------
``eemo``
    EEmoDB / EEmo-Bench style perception, ranking, assessment and description questions.
``emovit``
    EmoVIT-style instructions built from visual attributes: the categorical emotion prompt
    ("Please select the emotion closest to the image …  Predict emotion:"), conversation
    questions about the attributes and a reasoning question (Xie et al., CVPR 2024).
``emoprompt``
    The ``eemo`` questions prefixed with an EmoPrompt-style instruction that steers the
    reasoning through the emotional cues step by step (EmoLLM, arXiv 2406.16442); the
    reference ``think`` then follows the same steps.
"""

from __future__ import annotations

__all__ = ["EMOPROMPT_PREFIX", "TEMPLATES", "TEMPLATE_FAMILIES", "level_phrase"]

TEMPLATE_FAMILIES = ("eemo", "emovit", "emoprompt")

EMOPROMPT_PREFIX = (
    "Look at the emotional cues step by step: first the colours and light, then the shapes "
    "and the subject, then the feeling they evoke in a viewer. "
)

# Level words used in options and answers, per dimension.
_LEVEL_PHRASES = {
    "valence": {"high": "positive", "moderate": "neutral", "low": "negative"},
    "arousal": {"high": "excited", "moderate": "moderately aroused", "low": "calm"},
    "dominance": {"high": "in control", "moderate": "moderately in control", "low": "controlled"},
}


def level_phrase(dimension: str, level: str) -> str:
    """How a V/A/D level reads in a sentence.

    Examples
    --------
    >>> level_phrase("valence", "high"), level_phrase("arousal", "low")
    ('positive', 'calm')
    """
    return _LEVEL_PHRASES[dimension][level]


TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "eemo": {
        # perception, yes/no: is an emotion among the top three?
        "yes_no/member": (
            "Is {emotion} one of the three main emotions you feel from this image?",
            "Based on your feelings, is {emotion} among the three strongest emotions this "
            "image evokes?",
            "Does this image evoke {emotion} as one of its three main emotions?",
        ),
        # perception, yes/no: is an emotion the dominant one? (single-label sources)
        "yes_no/dominant": (
            "Is {emotion} the dominant emotion you feel from this image?",
            "Is the strongest emotion this image evokes {emotion}?",
        ),
        # perception, yes/no: is a V/A/D dimension at a given level?
        "yes_no/level": (
            "Is the {dimension} this image evokes {level}?",
            "Would you say the level of {dimension} you feel from this image is {level}?",
            "Looking at this image, is your sense of {dimension} {level}?",
        ),
        # perception, what: the dominant emotion among options
        "multiple_choice/dominant": (
            "What is the dominant emotion you feel when you look at this image?",
            "Which emotion does this image evoke most strongly?",
            "According to your feelings, what is the strongest emotion in this image?",
        ),
        # perception, how: the level of a V/A/D dimension
        "multiple_choice/level": (
            "How much {dimension} do you feel from this image?",
            "What level of {dimension} does this image evoke?",
            "When you look at this image, how would you rate your {dimension}?",
        ),
        "ranking/top3": (
            "Rank the three emotions this image evokes most strongly, from strongest to "
            "weakest. Candidates: {labels}.",
            "Which three emotions does this image evoke, strongest first? Choose from: {labels}.",
        ),
        "assessment/score": (
            "Rate the level of {dimension} this image evokes on a scale from 0 to 1.",
            "On a scale from 0 (lowest) to 1 (highest), how much {dimension} do you feel "
            "from this image?",
        ),
        "emotion/dominant": (
            "What is the dominant emotion this image evokes? Answer with one of: {labels}.",
            "Which single emotion does this image evoke most? Choose from {labels}.",
        ),
        "description/cues": (
            "Which elements of this image (colours, shapes, figures) evoke your emotional "
            "response? Explain.",
            "Describe the emotions this image evokes and the visual cues behind them.",
        ),
        # pairs
        "comparison/more": (
            "Which image evokes a more {feeling} feeling: the first or the second? Answer "
            "first, second or same.",
            "Between these two images, which one makes you feel more {feeling}? Answer "
            "first, second or same.",
        ),
        "multiple_choice/common": (
            "Which emotion is evoked by both images?",
            "Which emotion do these two images have in common?",
        ),
        "yes_no/both": (
            "Is {emotion} one of the three main emotions of both images?",
            "Do both images evoke {emotion} among their three main emotions?",
        ),
    },
    "emovit": {
        "emotion/dominant": (
            "Please select the emotion closest to the image from the following options: "
            "{labels}. Predict emotion:",
        ),
        "description/conversation": (
            "What does the image show, and what facial expression or action stands out?",
            "How bright and colourful is the image, and what objects does it contain?",
        ),
        "description/reasoning": (
            "Considering its colours, objects and any facial expression, why does this image "
            "evoke the feeling it does?",
        ),
    },
}
# EmoPrompt reuses the eemo questions behind its step-by-step prefix.
TEMPLATES["emoprompt"] = {
    kind: tuple(EMOPROMPT_PREFIX + t for t in phrasings)
    for kind, phrasings in TEMPLATES["eemo"].items()
}
