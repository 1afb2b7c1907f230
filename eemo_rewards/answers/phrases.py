"""A generator of answer phrasings whose commitment is known from the template.

Each :class:`PhraseCase` is one answer text for one task (``tasks.TASKS``: multiple choice,
yes/no, emotion label, V/A/D assessment, ranking, pair comparison), built from a template
(what the answer does: affirm, deny, hedge, retract, contrast two candidates, list every
option...), the candidates put into its slots (the sample's truth and the other answers of
the task), and surface noise that must not change the reading (case, punctuation, markdown,
look-alike letters, zero-width characters and soft hyphens, full-width forms, HTML
entities). The template alone decides what the answer commits to, so a reader can be
checked against :attr:`PhraseCase.expected` over thousands of fresh strings instead of a
list of examples.

A case is a *hack* when it mentions the truth but must not be credited with it
(``"Not joy."``, ``"Joy or fear."``, ``"B. Just kidding, C."``): a reward must score it no
higher than a well-formed wrong answer.

Standard library only; the same seed gives the same cases.

Examples
--------
>>> cases = generate_cases("emotion", seed=0)
>>> c = next(c for c in cases if c.cls == "negation-predicate" and c.hack)
>>> c.expected is None, c.truth in c.mentions
(True, True)
>>> sorted({c.task for c in generate_cases(seed=1)}) == sorted(PHRASE_TASKS)
True
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CLASSES", "NOISES", "PHRASE_TASKS", "PhraseCase", "generate_cases"]

PHRASE_TASKS = ("multiple_choice", "yes_no", "emotion", "assessment", "ranking", "comparison")

CLASSES: dict[str, str] = {
    # committing phrasings (the value in the X slot is committed)
    "plain": "the candidate alone, perhaps with punctuation",
    "filler": "the candidate after or before neutral words ('The answer is X.', 'I think X.')",
    "reason": "the candidate with a reason that mentions no other candidate",
    "contrastive": "the candidate affirmed beside another one denied ('X, not Y.', 'Not Y but X.')",
    "between": "a choice between two candidates that names the chosen one ('Between X and Y, X.')",
    "idiom": "an idiomatic answer (yes/no: 'I don't think so.', 'Of course.')",
    "letter-with-text": "an option letter with its own option text ('B (joy)' when B is joy)",
    "option-text": "an option's text without its letter",
    "synonym": "a label written as a synonym or inflection ('Joyful.')",
    "ordered-list": "a ranking written with order words, list numbers or arrows, either direction",
    "relation": "a comparison written as a relation ('image 1 > image 2', 'image 2 < image 1')",
    "number-words": "a score in words or with its scale ('seven', '7 of 9', 'eighty percent')",
    "approximate": "an approximate score that still names one value ('about 0.7')",
    # phrasings that commit to nothing (hacks when they mention the truth)
    "negation-before": "the candidate denied by a word before it ('Not X.', 'Far from X.')",
    "negation-predicate": "the candidate denied by a predicate after it ('X is incorrect.')",
    "retraction": "a candidate retracted by a later clause ('X. Scratch that.'), perhaps "
    "replaced by another ('X. Just kidding, Y.' commits to Y)",
    "hedge": "two candidates kept open, or the answer declared uncertain ('X? Y? Hard to say.')",
    "repeated-answer": "two answers given as answers ('Answer: X. Answer: Y.')",
    "list-all-options": "every candidate of the task listed",
    "lookalike": "a denial whose cue word has look-alike letters ('Nоt X', Cyrillic о)",
    "invisible": "a denial whose cue word hides zero-width characters or a soft hyphen",
    "letter-text-mismatch": "an option letter beside another option's text ('Option B (fear)')",
    "tie": "a ranking whose entries are tied ('joy = fear = sadness')",
    "either-ranking": "two rankings offered ('either X or Y')",
    "bound": "a score given as a bound ('upper bound 0.8', 'at most 0.8')",
    "alternatives": "two score sets or two values offered ('0.8/0.3/0.5 or 0.1/0.9/0.1')",
    "reversed-direction": "a comparison in the other direction ('X evokes less ... than Y')",
}
"""Every class name a case may carry, with what its template does."""

NOISES = (
    "case",
    "punctuation",
    "whitespace",
    "markdown",
    "lookalike",
    "invisible",
    "fullwidth",
    "entity",
)
"""Surface noise that never changes what an answer commits to."""

# Look-alike letters (Cyrillic and Greek) for Latin ones: a reader must fold them back.
_LOOKALIKE = {
    "a": "а", "c": "с", "e": "е", "i": "і", "o": "о", "p": "р", "x": "х", "y": "у",
    "s": "ѕ", "j": "ј", "A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "I": "І",
    "K": "К", "M": "М", "O": "О", "P": "Р", "T": "Т", "X": "Х", "Y": "Υ", "N": "Ν",
}  # fmt: skip
_INVISIBLE = ("\u200b", "\u00ad", "\u200c", "\u200d", "\u2060", "\ufeff")
_REASON = (
    "because of the lighting and the expressions in the scene",
    "given the colours and the posture of the people",
    "judging by the overall atmosphere",
)

_EEMO7 = ("joy", "anger", "disgust", "sadness", "surprise", "fear", "neutral")
_SYNONYMS = {
    "joy": ("joyful", "happiness", "happy"),
    "anger": ("angry", "rage"),
    "disgust": ("disgusted", "revulsion"),
    "sadness": ("sad", "sorrow"),
    "surprise": ("surprised", "astonishment"),
    "fear": ("fearful", "scared"),
    "neutral": ("neutrality",),
}
_DIMENSIONS = ("valence", "arousal", "dominance")
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TENS = {10: "ten", 20: "twenty", 30: "thirty", 40: "forty", 50: "fifty", 60: "sixty",
         70: "seventy", 80: "eighty", 90: "ninety"}  # fmt: skip


@dataclass(frozen=True)
class PhraseCase:
    """One generated answer and what it must be read as.

    Attributes
    ----------
    task : str
        The task (one of :data:`PHRASE_TASKS`).
    text : str
        The answer text (the content of ``<answer>…</answer>``).
    expected : Any
        What the answer commits to, in the reader's terms: an option letter
        (``"B"``), ``"yes"``/``"no"``, a label (``"joy"``), a ranking (a tuple of labels,
        strongest first), scores (a dict ``{dimension: value}`` on :attr:`scale`), a pair
        reference (``"first"``, ``"second"``, ``"same"``); ``None`` when the answer must
        commit to nothing.
    cls : str
        The template's class (a key of :data:`CLASSES`).
    hack : bool
        The answer mentions the truth, yet must not be credited with it.
    truth : Any
        The sample's correct answer, in the same terms as ``expected``.
    solution : str
        The truth as a dataset's ``solution`` column writes it (``"B"``, ``"joy"``,
        ``"joy, fear, sadness"``, ``"valence: 0.7"``, ``"first"``).
    mentions : tuple
        The candidates the answer names (in ``expected``'s terms).
    polarity : str
        What the template does to the candidate in its ``{X}`` slot: ``"affirmed"``,
        ``"negated"``, ``"hedged"``, ``"retracted"``, ``"listed"`` (every option named), or
        ``"absent"`` (an idiom with no slot).
    template : str
        The template, with ``{X}``/``{Y}``/... slots.
    noise : tuple of str
        The surface noise applied (names from :data:`NOISES`).
    options : dict or None
        The options, letter → text (multiple choice; yes/no when asked with letters).
    taxonomy : str or None
        The label vocabulary (emotion, ranking).
    scale : tuple
        The declared scale of an assessment (``(0.0, 1.0)`` or ``(1.0, 9.0)``).
    """

    task: str
    text: str
    expected: Any
    cls: str
    hack: bool
    truth: Any
    solution: str
    mentions: tuple = ()
    polarity: str = "affirmed"
    template: str = ""
    noise: tuple[str, ...] = ()
    options: dict[str, str] | None = None
    taxonomy: str | None = None
    scale: tuple[float, float] = (0.0, 1.0)
    extra: dict[str, Any] = field(default_factory=dict)

    def columns(self) -> dict[str, Any]:
        """The dataset columns a reward needs for this case (``task``, ``solution``, and
        ``options``/``taxonomy``/``scale`` where the task has them)."""
        out: dict[str, Any] = {"task": self.task, "solution": self.solution}
        if self.options is not None:
            out["options"] = dict(self.options)
        if self.taxonomy is not None:
            out["taxonomy"] = self.taxonomy
        if self.task == "assessment":
            out["scale"] = self.scale
        return out


# A template: (class, text, what it commits to: "X", "Y", a fixed value or None, polarity of
# X's mention).
_T = tuple[str, str, str | None, str]

_COMMON: tuple[_T, ...] = (
    ("plain", "{X}", "X", "affirmed"),
    ("plain", "{X}.", "X", "affirmed"),
    ("filler", "The answer is {X}.", "X", "affirmed"),
    ("filler", "Answer: {X}", "X", "affirmed"),
    ("filler", "Final answer: {X}.", "X", "affirmed"),
    ("filler", "I think it's {X}.", "X", "affirmed"),
    ("filler", "My answer is {X}.", "X", "affirmed"),
    ("filler", "{X} is my answer.", "X", "affirmed"),
    ("filler", "I'd say {X}.", "X", "affirmed"),
    ("reason", "{X}, {R}.", "X", "affirmed"),
    ("reason", "{X} {R}.", "X", "affirmed"),
    ("negation-before", "Not {X}.", None, "negated"),
    ("negation-before", "It is not {X}.", None, "negated"),
    ("negation-before", "Definitely not {X}.", None, "negated"),
    ("negation-before", "It isn't {X}.", None, "negated"),
    ("negation-before", "Never {X}.", None, "negated"),
    ("negation-before", "Anything but {X}.", None, "negated"),
    ("negation-before", "Far from {X}.", None, "negated"),
    ("negation-predicate", "{X} is incorrect.", None, "negated"),
    ("negation-predicate", "{X} is wrong.", None, "negated"),
    ("negation-predicate", "{X} is the wrong answer.", None, "negated"),
    ("negation-predicate", "{X} is ruled out.", None, "negated"),
    ("negation-predicate", "{X} can be excluded.", None, "negated"),
    ("negation-predicate", "{X} does not fit.", None, "negated"),
    ("negation-predicate", "{X} is unlikely.", None, "negated"),
    ("negation-predicate", "{X}? No.", None, "negated"),
    ("retraction", "{X}. Just kidding, {Y}.", "Y", "retracted"),
    ("retraction", "{Y}. Just kidding, {X}.", "X", "affirmed"),
    ("retraction", "{X}. Actually, {Y}.", "Y", "retracted"),
    ("retraction", "{Y}... no wait, {X}.", "X", "affirmed"),
    ("retraction", "{X}. Scratch that.", None, "retracted"),
    ("retraction", "{X}. On second thought, {Y}.", "Y", "retracted"),
    ("retraction", "{X}. I take that back.", None, "retracted"),
    ("hedge", "{X}? {Y}? Hard to say.", None, "hedged"),
    ("hedge", "{X} or {Y}.", None, "hedged"),
    ("hedge", "Either {X} or {Y}.", None, "hedged"),
    ("hedge", "{X}, if not {Y}.", None, "hedged"),
    ("hedge", "{X} or maybe {Y}.", None, "hedged"),
    ("hedge", "Possibly {X}, possibly {Y}.", None, "hedged"),
    ("hedge", "{X}, but I'm not sure.", None, "hedged"),
    ("hedge", "Hard to say: {X}.", None, "hedged"),
    ("repeated-answer", "Answer: {X}. Answer: {Y}.", None, "hedged"),
    ("repeated-answer", "Answer: {Y}. Answer: {X}.", None, "hedged"),
    ("contrastive", "{X}, not {Y}.", "X", "affirmed"),
    ("contrastive", "Not {Y} but {X}.", "X", "affirmed"),
    ("contrastive", "Not {Y}; {X}.", "X", "affirmed"),
    ("contrastive", "{X} rather than {Y}.", "X", "affirmed"),
    ("contrastive", "{Y} is wrong; {X} is right.", "X", "affirmed"),
    ("contrastive", "{Y} is incorrect, the answer is {X}.", "X", "affirmed"),
    ("lookalike", "N\u043et {X}.", None, "negated"),
    ("lookalike", "{X} is inc\u043errect.", None, "negated"),
    ("lookalike", "It is n\u03bft {X}.", None, "negated"),
    ("invisible", "N\u00adot {X}.", None, "negated"),
    ("invisible", "No\u200bt {X}.", None, "negated"),
    ("invisible", "It is n\u200dot {X}.", None, "negated"),
    ("invisible", "{X} is wr\u200cong.", None, "negated"),
)

_BETWEEN: tuple[_T, ...] = (
    ("between", "Between {X} and {Y}, {X}.", "X", "affirmed"),
    ("between", "Between {Y} and {X}, I choose {X}.", "X", "affirmed"),
)

_BY_TASK: dict[str, tuple[_T, ...]] = {
    "multiple_choice": (
        *_BETWEEN,
        ("letter-with-text", "{X} ({TX})", "X", "affirmed"),
        ("letter-with-text", "Option {X}: {TX}.", "X", "affirmed"),
        ("option-text", "{TX}", "X", "affirmed"),
        ("option-text", "The answer is {TX}.", "X", "affirmed"),
        ("letter-text-mismatch", "Option {X} ({TY})", None, "hedged"),
        ("letter-text-mismatch", "{X}: {TY}.", None, "hedged"),
        ("letter-text-mismatch", "{Y} ({TX})", None, "hedged"),
        ("list-all-options", "{ALL}", None, "listed"),
        ("list-all-options", "The answer is {ALL}.", None, "listed"),
        ("contrastive", "There is no {TY}; it's {TX}.", "X", "affirmed"),
    ),
    "yes_no": (
        ("idiom", "I don't think so.", "no", "absent"),
        ("idiom", "Of course not.", "no", "absent"),
        ("idiom", "Absolutely.", "yes", "absent"),
        ("idiom", "Not at all.", "no", "absent"),
        ("idiom", "Of course.", "yes", "absent"),
        ("list-all-options", "Yes and no.", None, "listed"),
        ("list-all-options", "yes/no", None, "listed"),
    ),
    "emotion": (
        *_BETWEEN,
        ("synonym", "{SX}", "X", "affirmed"),
        ("synonym", "The image feels {SX}.", "X", "affirmed"),
        ("contrastive", "There is no {Y}; it's {X}.", "X", "affirmed"),
        ("contrastive", "{X}, not {Y}.", "X", "affirmed"),
        ("list-all-options", "{ALL}", None, "listed"),
        ("negation-before", "Free of {X}.", None, "negated"),
        ("negation-before", "Without any {X}.", None, "negated"),
    ),
    "ranking": (
        ("ordered-list", "{X1} > {X2} > {X3}", "X", "affirmed"),
        ("ordered-list", "1. {X1} 2. {X2} 3. {X3}", "X", "affirmed"),
        ("ordered-list", "{X3} < {X2} < {X1}", "X", "affirmed"),
        ("ordered-list", "Weakest first: {X3}, {X2}, {X1}", "X", "affirmed"),
        ("ordered-list", "From weakest to strongest: {X3}, {X2}, {X1}", "X", "affirmed"),
        ("ordered-list", "Strongest first: {X1}, {X2}, {X3}", "X", "affirmed"),
        ("ordered-list", "{X1}, then {X2}, then {X3}", "X", "affirmed"),
        ("tie", "{X1} = {X2} = {X3}", None, "hedged"),
        ("tie", "{X1}, {X2} and {X3} are equally strong", None, "hedged"),
        ("either-ranking", "Either {X} or {Y}.", None, "hedged"),
        ("either-ranking", "{X}; or perhaps {Y}.", None, "hedged"),
    ),
    "assessment": (
        ("approximate", "{DIM}: about {VX}", "X", "affirmed"),
        ("approximate", "{DIM} is roughly {VX}.", "X", "affirmed"),
        ("number-words", "{DIM}: {WX}", "X", "affirmed"),
        ("number-words", "{DIM}: {PX}", "X", "affirmed"),
        ("bound", "{DIM}: upper bound {VX}", None, "hedged"),
        ("bound", "{DIM}: at most {VX}", None, "hedged"),
        ("bound", "{DIM}: {VX} or lower", None, "hedged"),
        ("bound", "{DIM}: at least {VX}", None, "hedged"),
        ("alternatives", "{DIM}: {VX} or {VY}", None, "hedged"),
        ("alternatives", "{DIM}: between {VY} and {VX}", None, "hedged"),
        ("alternatives", "V/A/D: {TRIPLEX} or {TRIPLEY}", None, "hedged"),
        ("filler", "V/A/D: {TRIPLEX}", "X", "affirmed"),
    ),
    "comparison": (
        *_BETWEEN,
        ("relation", "{RX} > {RY}", "X", "affirmed"),
        ("relation", "{RY} < {RX}", "X", "affirmed"),
        ("relation", "{RX} evokes more of it than {RY}.", "X", "affirmed"),
        ("reversed-direction", "{RX} evokes less of it than {RY}.", None, "hedged"),
    ),
}

# Templates of the common set that do not fit a task's candidates.
_SKIP = {
    "yes_no": {
        "Not {X}.", "It is not {X}.", "It isn't {X}.", "Never {X}.", "Definitely not {X}.",
        "{X}? No.", "Not {Y} but {X}.", "Not {Y}; {X}.", "{X}, not {Y}.",
        "{X} rather than {Y}.", "Anything but {X}.", "Far from {X}.",
    },
    "assessment": {t for _, t, _, _ in _COMMON if "{Y}" in t or t.startswith("{X} ")}
    | {"{X}, {R}."},
    # two whole rankings set against each other read as two rankings, whatever the words
    "ranking": {t for c, t, _, _ in _COMMON if c == "contrastive"},
}  # fmt: skip


def generate_cases(
    task: str | None = None,
    *,
    seed: int = 0,
    variants: int = 4,
    noise: bool = True,
) -> list[PhraseCase]:
    """Answer phrasings for ``task`` (every task when ``None``) with what each commits to.

    Parameters
    ----------
    task : str or None
        One of :data:`PHRASE_TASKS`, or ``None`` for all of them.
    seed : int
        The same seed gives the same cases.
    variants : int
        Draws of candidates and noise per template and arrangement (truth in the committed
        slot, truth in the other slot, truth absent): the number of cases grows linearly.
    noise : bool
        Apply surface noise (see :data:`NOISES`); ``False`` gives the templates' plain text.

    Returns
    -------
    list of PhraseCase

    Examples
    --------
    >>> cases = generate_cases("multiple_choice", seed=3, variants=1, noise=False)
    >>> c = next(c for c in cases if c.template == "{X} is incorrect." and c.hack)
    >>> c.text.endswith(" is incorrect."), c.truth in c.text, c.expected
    (True, True, None)
    """
    if task is not None and task not in PHRASE_TASKS:
        raise ValueError(f"unknown task {task!r}; generate_cases knows {', '.join(PHRASE_TASKS)}")
    if not isinstance(variants, int) or variants < 1:
        raise ValueError(f"variants must be a positive integer, got {variants!r}")
    rng = random.Random(f"phrases:{seed}")
    out: list[PhraseCase] = []
    for name in (task,) if task is not None else PHRASE_TASKS:
        skip = _SKIP.get(name, set())
        templates = [t for t in _COMMON if t[1] not in skip] + list(_BY_TASK[name])
        for template in templates:
            for arrangement in ("truth-x", "truth-y", "absent"):
                if arrangement == "absent" and name in ("yes_no", "comparison"):
                    continue  # two candidates: one of them is the truth
                for _ in range(variants):
                    out.append(_case(name, template, arrangement, rng, noise))
    return out


# ---------------------------------------------------------------- candidates per task


def _context(task: str, rng: random.Random) -> dict[str, Any]:
    """A sample: its truth and the other candidates, with how each is written."""
    if task == "multiple_choice":
        n = rng.choice((3, 4, 5))
        texts = rng.sample(_EEMO7, n)
        options = {string.ascii_uppercase[i]: t for i, t in enumerate(texts)}
        letters = list(options)
        return {"candidates": letters, "options": options, "solution": rng.choice(letters)}
    if task == "yes_no":
        truth = rng.choice(("yes", "no"))
        return {"candidates": ["yes", "no"], "solution": truth}
    if task == "emotion":
        return {"candidates": list(_EEMO7), "solution": rng.choice(_EEMO7)}
    if task == "ranking":
        labels = rng.sample(_EEMO7, 4)
        truth = tuple(labels[:3])
        others = [tuple(rng.sample(labels, 3)) for _ in range(6)]
        others = [o for o in others if o != truth] or [truth[::-1]]
        return {"candidates": [truth, *others], "solution": truth, "pool": labels}
    if task == "assessment":
        sam = rng.random() < 0.3
        scale = (1.0, 9.0) if sam else (0.0, 1.0)
        dim = rng.choice(_DIMENSIONS)
        values = (
            [float(v) for v in rng.sample(range(1, 10), 4)]
            if sam
            else [v / 10 for v in rng.sample(range(1, 10), 4)]
        )
        return {
            "candidates": values,
            "solution": values[0],
            "scale": scale,
            "dim": dim,
            "triples": [tuple(rng.choice(values) for _ in range(3)) for _ in range(2)],
        }
    # comparison
    return {"candidates": ["first", "second", "same"], "solution": rng.choice(("first", "second"))}


def _surface(task: str, value: Any, ctx: dict[str, Any], rng: random.Random) -> str:
    """How an answer writes a candidate in the {X}/{Y} slot."""
    if task == "yes_no":
        return (
            rng.choice(("yes", "Yes", "yeah", "Yep"))
            if value == "yes"
            else rng.choice(("no", "No", "nope"))
        )
    if task == "multiple_choice":
        return rng.choice(("{}", "({})", "{}")).format(value)
    if task == "emotion":
        return value
    if task == "ranking":
        return rng.choice((", ", " > ")).join(value)
    if task == "assessment":
        return f"{ctx['dim']}: {_number(value)}"
    return rng.choice(
        {"first": ("the first image", "image 1", "the first one", "the former"),
         "second": ("the second image", "image 2", "the second one", "the latter"),
         "same": ("the same", "both equally")}[value]
    )  # fmt: skip


def _number(value: float) -> str:
    return f"{value:g}"


def _in_words(value: float, scale: tuple[float, float]) -> str:
    """A score in words: 'seven' on the SAM scale, 'seventy percent' on 0-1."""
    if scale == (1.0, 9.0):
        return _NUMBER_WORDS[int(value)]
    return f"{_TENS.get(round(value * 100), _NUMBER_WORDS[0])} percent"


def _with_scale(value: float, scale: tuple[float, float], rng: random.Random) -> str:
    if scale == (1.0, 9.0):
        return rng.choice(("{} of 9", "{} out of 9", "{} on the 9-point SAM scale")).format(
            _number(value)
        )
    form = rng.choice(("{}%", "{} out of 10", "{}/10"))
    return form.format(round(value * 100) if form == "{}%" else _number(round(value * 10, 6)))


def _case(task: str, template: _T, arrangement: str, rng, noisy: bool) -> PhraseCase:
    cls, text, commits, polarity = template
    ctx = _context(task, rng)
    truth = ctx["solution"]
    others = [c for c in ctx["candidates"] if c != truth]
    if task == "comparison":
        others = [c for c in others if c != "same"]  # 'same' is no image to compare
    if arrangement == "truth-x":
        x, y = truth, rng.choice(others)
    elif arrangement == "truth-y":
        x, y = rng.choice(others), truth
    else:
        x, y = rng.sample(others, 2) if len(others) > 1 else (others[0], others[0])
    slots: dict[str, str] = {}
    mentions = [x]
    if "{Y}" in text or "Y}" in text:
        mentions.append(y)
    if "{X}" in text:
        slots["X"] = _surface(task, x, ctx, rng)
    if "{Y}" in text:
        slots["Y"] = _surface(task, y, ctx, rng)
    slots["R"] = rng.choice(_REASON)
    if task == "multiple_choice":
        slots["TX"], slots["TY"] = ctx["options"][x], ctx["options"][y]
        slots["ALL"] = rng.choice((", ", " or ", "/")).join(ctx["options"])
        if "{ALL}" in text:
            mentions = list(ctx["options"])
    elif task == "emotion":
        slots["SX"] = rng.choice(_SYNONYMS[x])
        slots["ALL"] = ", ".join(_EEMO7)
        if "{ALL}" in text:
            mentions = list(_EEMO7)
    elif task == "ranking":
        slots.update({f"X{i + 1}": v for i, v in enumerate(x)})
    elif task == "assessment":
        slots["DIM"] = ctx["dim"]
        slots["VX"], slots["VY"] = _number(x), _number(y)
        slots["WX"] = _in_words(x, ctx["scale"])
        slots["PX"] = _with_scale(x, ctx["scale"], rng)
        tx, ty = ctx["triples"]
        tx = (x, *tx[1:])
        ty = (y, *ty[1:]) if ty[1:] != tx[1:] else (y, *tx[1:])
        slots["TRIPLEX"] = "/".join(_number(v) for v in tx)
        slots["TRIPLEY"] = "/".join(_number(v) for v in ty)
    elif task == "comparison":
        slots["RX"] = {"first": "image 1", "second": "image 2"}.get(x, "image 1")
        slots["RY"] = {"first": "image 1", "second": "image 2"}.get(y, "image 2")
    noise_used: list[str] = []
    rendered = _render(text, slots, task, rng, noisy, noise_used)
    if noisy:
        rendered = _whole_noise(rendered, task, rng, noise_used)
    if commits == "X":
        expected: Any = x
    elif commits == "Y":
        expected = y
    elif commits in ("yes", "no"):
        expected = commits
        mentions = [commits]
    else:
        expected = None
    if cls == "idiom" or text in ("Yes and no.", "yes/no"):
        mentions = ["yes", "no"] if expected is None else [expected]
    if task == "assessment":
        triple = "TRIPLE" in text

        def as_read(value: float) -> dict[str, float]:
            if not triple:
                return {ctx["dim"]: float(value)}
            return _triple(tx if value == x else ty if value == y else (value, *tx[1:]))

        if expected is not None:
            expected = as_read(x if commits == "X" else y)
        truth_value: Any = as_read(truth)
        mentions = [as_read(m) for m in dict.fromkeys(mentions)]
        solution = ", ".join(f"{k}: {_number(v)}" for k, v in truth_value.items())
    elif task == "ranking":
        truth_value, solution = tuple(truth), ", ".join(truth)
        mentions = list(dict.fromkeys(mentions))
    else:
        truth_value, solution = truth, str(truth)
        mentions = list(dict.fromkeys(mentions))
    mentioned = truth_value in mentions
    hack = mentioned and expected != truth_value
    return PhraseCase(
        task=task,
        text=rendered,
        expected=expected,
        cls=cls,
        hack=bool(hack),
        truth=truth_value,
        solution=solution,
        mentions=tuple(mentions),
        polarity=polarity,
        template=text,
        noise=tuple(dict.fromkeys(noise_used)),
        options=dict(ctx["options"]) if "options" in ctx else None,
        taxonomy="eemo_bench7" if task in ("emotion", "ranking") else None,
        scale=ctx.get("scale", (0.0, 1.0)),
    )


def _triple(values) -> dict[str, float]:
    return {d: float(v) for d, v in zip(_DIMENSIONS, values, strict=True)}


# ---------------------------------------------------------------- surface noise


def _render(text: str, slots: dict[str, str], task: str, rng, noisy: bool, used: list) -> str:
    """The template with its slots filled; noise on the template's words and the slots."""
    out: list[str] = []
    i = 0
    case_mode = rng.choice(("keep", "keep", "lower", "upper", "title")) if noisy else "keep"
    if task == "multiple_choice" and case_mode in ("upper", "title"):
        case_mode = "lower"  # a capital A or I in prose would be an option letter
    while i < len(text):
        j = text.find("{", i)
        if j < 0:
            out.append(_literal(text[i:], case_mode, rng, noisy, used))
            break
        out.append(_literal(text[i:j], case_mode, rng, noisy, used))
        k = text.index("}", j)
        out.append(_slot(slots[text[j + 1 : k]], text[j + 1 : k], task, rng, noisy, used))
        i = k + 1
    return "".join(out)


def _literal(part: str, case_mode: str, rng, noisy: bool, used: list) -> str:
    if not part or not noisy:
        return part
    if case_mode != "keep" and any(c.isalpha() for c in part):
        used.append("case")
        part = {"lower": str.lower, "upper": str.upper, "title": str.title}[case_mode](part)
    if rng.random() < 0.15:
        part = _spoof(part, rng, used)
    if rng.random() < 0.1:
        part = _hide(part, rng, used)
    return part


def _slot(value: str, name: str, task: str, rng, noisy: bool, used: list) -> str:
    if not noisy or name == "R":
        return value
    r = rng.random()
    if task == "assessment" or name in ("ALL", "TRIPLEX", "TRIPLEY"):
        return value
    if r < 0.12:
        used.append("markdown")
        return rng.choice(("**{}**", "*{}*", "__{}__", "`{}`")).format(value)
    if r < 0.24:
        return _spoof(value, rng, used)
    if r < 0.32 and task != "multiple_choice":
        return _hide(value, rng, used)
    if r < 0.4:
        used.append("fullwidth")
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in value)
    if r < 0.5 and task in ("emotion", "comparison", "yes_no"):
        used.append("case")
        return value.upper() if rng.random() < 0.5 else value.capitalize()
    return value


def _spoof(part: str, rng, used: list) -> str:
    spots = [i for i, c in enumerate(part) if c in _LOOKALIKE]
    if not spots:
        return part
    used.append("lookalike")
    chars = list(part)
    for i in rng.sample(spots, min(len(spots), rng.choice((1, 1, 2)))):
        chars[i] = _LOOKALIKE[chars[i]]
    return "".join(chars)


def _hide(part: str, rng, used: list) -> str:
    inside = [i for i in range(1, len(part)) if part[i - 1].isalpha() and part[i].isalpha()]
    if not inside:
        return part
    used.append("invisible")
    i = rng.choice(inside)
    return part[:i] + rng.choice(_INVISIBLE) + part[i:]


def _whole_noise(text: str, task: str, rng, used: list) -> str:
    r = rng.random()
    if r < 0.1:
        used.append("whitespace")
        text = rng.choice(("  {}  ", "\n{}\n", "\t{}")).format(text)
    elif r < 0.2:
        used.append("markdown")
        text = rng.choice(("**{}**", "_{}_", "> {}")).format(text)
    elif r < 0.28 and " " in text.strip():
        used.append("entity")
        text = text.replace(" ", "&nbsp;", 1)
    elif r < 0.4:
        used.append("punctuation")
        stripped = text.rstrip(".!?")
        text = stripped + rng.choice(("", "!", "!!", " .", "..."))
    return text
