"""Thin adapters that expose the same scorers under other trainers' reward contracts.

TRL needs no adapter: every reward (and :class:`~eemo_rewards.spec.CompositeReward`) already
follows ``reward_func(prompts, completions, **columns)``. The other trainers get one module
each:

=========  ===================================  =============================================
trainer    module                               entry point
=========  ===================================  =============================================
verl       :mod:`eemo_rewards.adapters.verl`    ``compute_score(data_source, solution_str,
                                                ground_truth, extra_info=None)``
OpenRLHF   :mod:`eemo_rewards.adapters.openrlhf`  ``reward_func(queries, prompts, labels)``
EasyR1     :mod:`eemo_rewards.adapters.easyr1`  ``compute_score(reward_inputs)`` (batch)
ms-swift   :mod:`eemo_rewards.adapters.swift`   ``EEmoORM(args=args)(completions, **columns)``
=========  ===================================  =============================================

Every adapter scores with the composite reward of a spec (by default
:func:`~eemo_rewards.spec.default_spec`), which sums the weighted terms that apply to the
sample's task. TRL and ms-swift understand "not applicable" (``None``; swift turns it into NaN
under its ``nansum``), so the swift ORM returns ``None`` for a sample no term applies to;
verl, OpenRLHF and EasyR1 need a number, so there such a sample scores ``fallback`` (default
``0.0``). Per-term components that adapters log are reported for every sample with the same
keys; a term that does not apply reports ``fallback`` too, so the logged lists stay aligned
(verl and EasyR1 need one float per key per sample). Beside them, every adapter logs what the
reward read (:func:`sample_logs`): ``commits`` and ``zero/{malformed,uncommitted,wrong}``,
0/1 per sample, whose means are the commitment rate and the zero-score reasons TRL's logs get
(:mod:`eemo_rewards.rewards.trainer_logs`).

Ground truth arrives in different places per trainer; :func:`decode_label` reads all of
them: a plain solution string, a dict, or a JSON string of a dict with ``solution`` and
optionally ``task``, ``options`` and extra columns (``taxonomy``, ``dimension``, ...). A label
without a task is left to the composite, which infers the task or refuses the sample.

A spec can be named wherever an adapter takes one (a trainer's reward kwargs, a factory
argument) in any of the spellings :meth:`~eemo_rewards.spec.RewardSpec.coerce` reads: a preset
name, a :class:`~eemo_rewards.spec.RewardSpec`, its dict form, inline JSON, the path of a
``.json``/``.yaml`` file or a list of reward names.

verl and EasyR1 decode responses with ``skip_special_tokens=True``: a tokenizer that registers
``<think>``/``<answer>`` as *special* tokens loses them before any reward sees the text, and
every sample scores 0. :func:`special_tag_tokens` checks a tokenizer for that, and every
adapter watches its completions (:class:`TagWatch`): when none of a batch's completions (or of
a long run of single completions) holds a single answer-scheme tag, it warns once with a
:class:`TagsMissingWarning`.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from eemo_rewards.rewards.trainer_logs import sample_flags
from eemo_rewards.spec import CompositeReward, RewardSpec, to_plain

__all__ = [
    "END_MARKERS",
    "LABEL_KEYS",
    "SCHEME_TAGS",
    "TagWatch",
    "TagsMissingWarning",
    "composite_for",
    "decode_label",
    "sample_logs",
    "score_sample",
    "special_tag_tokens",
    "strip_end_tokens",
]

SCHEME_TAGS = ("<think>", "</think>", "<answer>", "</answer>")
"""The answer scheme's tags; a completion holding none of them cannot score above 0."""

END_MARKERS = (
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<end_of_turn>",
    "<|end|>",
    "</s>",
    "<eos>",
    "<pad>",
    "<|pad|>",
)
"""End-of-turn and padding tokens removed from the end of a response."""

# any <|...|> or <｜...｜> token (ChatML, Llama 3, DeepSeek's full-width bars), at the end
_SPECIAL_LIKE = re.compile(r"<[|｜][^<>\s]{1,64}[|｜]>\s*$")

LABEL_KEYS = ("task", "solution", "options")
"""Keys :func:`decode_label` reads; any other key is passed on as an extra column."""

_composites: dict[str, CompositeReward] = {}


def composite_for(spec: Any = None, *, fallback: float = 0.0) -> CompositeReward:
    """The composite reward of ``spec`` (any spelling
    :meth:`~eemo_rewards.spec.RewardSpec.coerce` reads; ``None`` is the default spec), built
    once per spec and fallback and cached.

    Examples
    --------
    >>> composite_for("format_only").score("<think>a</think><answer>joy</answer>")
    1.0
    """
    if isinstance(spec, CompositeReward):
        return spec
    key = _cache_key(spec, fallback)
    composite = _composites.get(key)
    if composite is None:
        composite = RewardSpec.coerce(spec).composite(fallback=fallback)
        _composites[key] = composite
    return composite


def _cache_key(spec: Any, fallback: float) -> str:
    if spec is None:
        spec = "default"
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if isinstance(spec, str):
        body = "str:" + spec.strip()
    elif isinstance(spec, RewardSpec):
        body = "spec:" + spec.to_json(sort_keys=True, default=str)
    elif isinstance(spec, Mapping):
        body = "map:" + json.dumps(to_plain(spec), sort_keys=True, default=str)
    else:
        raise TypeError(
            f"expected a RewardSpec, a preset name, a spec dict/JSON/file or None, got "
            f"{type(spec).__name__}; see eemo_rewards.spec.PRESETS"
        )
    return f"{body}:{fallback!r}"


def decode_label(label: Any) -> dict[str, Any]:
    """Read a ground-truth label into ``{"solution", "task", "options", ...extra columns}``.

    A dict is used as is; a string that is a JSON object is decoded; any other string is the
    solution itself. Missing keys are ``None``.

    Examples
    --------
    >>> decode_label('{"task": "emotion", "solution": "joy"}')
    {'task': 'emotion', 'solution': 'joy', 'options': None}
    >>> decode_label("joy")
    {'task': None, 'solution': 'joy', 'options': None}
    """
    data: Any = label
    if isinstance(label, bytes | bytearray):
        data = label = bytes(label).decode("utf-8", errors="replace")
    if isinstance(label, str):
        stripped = label.strip()
        data = label
        if stripped.startswith("{") and stripped.endswith("}"):
            try:
                data = json.loads(stripped)
            except json.JSONDecodeError:
                data = label  # a solution that happens to look like a dict stays text
    if isinstance(data, Mapping):
        if "solution" not in data:
            raise ValueError(
                f"label {dict(data)!r} has no 'solution' key; write labels as "
                '{"task": ..., "solution": ..., "options": ...} or as the plain solution'
            )
        out = {"task": data.get("task"), "solution": data["solution"], "options": None}
        out["options"] = data.get("options")
        for k, v in data.items():
            if k not in LABEL_KEYS:
                out[k] = v
        return out
    return {"task": None, "solution": data, "options": None}


def score_sample(
    composite: CompositeReward, completion: Any, label: Mapping[str, Any]
) -> tuple[float, dict[str, float]]:
    """Score one completion against a decoded label: ``(score, {component: float})``.

    Non-applicable components are reported as the composite's ``fallback``.
    """
    # only the columns some term declares: a label may carry anything (ids, prompts, ...)
    columns = {c: label.get(c) for c in composite.columns}
    total, parts = composite.score_with_components(
        completion,
        label.get("solution"),
        task=label.get("task"),
        options=label.get("options"),
        **columns,
    )
    fallback = composite.fallback
    return total, {k: fallback if v is None else v for k, v in parts.items()}


def sample_logs(
    composite: CompositeReward, completion: Any, label: Mapping[str, Any], total: float
) -> dict[str, float]:
    """What the reward read, as the 0/1 flags verl and OpenRLHF average into their logs
    (:func:`~eemo_rewards.rewards.trainer_logs.sample_flags`): ``commits`` and
    ``zero/{malformed,uncommitted,wrong}``, the same keys for every sample.

    Examples
    --------
    >>> sample_logs(composite_for("format_only"), "joy", {"task": "emotion"}, 0.0)["zero/malformed"]
    1.0
    """
    task = composite.task_of(label.get("task"), label.get("solution"), label.get("options"))
    return sample_flags(
        completion,
        total,
        composite.low,
        task,
        label.get("options"),
        solution=label.get("solution"),
        taxonomy=label.get("taxonomy"),
    )


def strip_end_tokens(text: Any, markers: Sequence[str] = END_MARKERS) -> Any:
    """``text`` without the end-of-turn and padding tokens that trail it (:data:`END_MARKERS`,
    and any ``<|...|>``-style token): a response decoded with special tokens kept ends with
    them, and the answer scheme rejects text after ``</answer>``. Non-strings pass through.

    Examples
    --------
    >>> strip_end_tokens("<think>a</think><answer>joy</answer><|im_end|>\\n<|endoftext|>")
    '<think>a</think><answer>joy</answer>'
    """
    if not isinstance(text, str):
        return text
    end = len(text)
    # a response often ends with several markers (e.g. "<|im_end|>\n<|endoftext|>")
    while True:
        stripped = text[:end].rstrip()
        for marker in markers:
            if marker and stripped.endswith(marker):
                end = len(stripped) - len(marker)
                break
        else:
            match = _SPECIAL_LIKE.search(stripped)
            if match is None:
                return text[:end]
            end = match.start()


# -- the special-token caveat ------------------------------------------------------------
_TAG_RE = re.compile(r"</?\s*(?:think|answer)\s*>", re.IGNORECASE)


class TagsMissingWarning(UserWarning):
    """No completion of a batch held an answer-scheme tag (see :class:`TagWatch`)."""


def _has_tag(text: Any) -> bool:
    if not isinstance(text, str):
        from eemo_rewards._text import completion_text

        text = completion_text(text)
    return bool(text) and _TAG_RE.search(text) is not None


class TagWatch:
    """Warns once when completions arrive without any ``<think>``/``<answer>`` tag.

    The usual cause is a tokenizer that registers the tags as special tokens while the trainer
    decodes with ``skip_special_tokens=True`` (verl, EasyR1): the tags vanish before the reward
    sees the text and every sample scores 0. A policy that never follows the answer scheme
    looks the same, so the warning names both.

    Parameters
    ----------
    trainer : str
        Named in the warning, with the fix that applies to it.
    min_batch : int, default 4
        A batch of at least this many completions with no tag at all warns.
    streak : int, default 32
        So many consecutive tag-less completions warn too (trainers that score one sample
        per call).
    fix : str, optional
        The trainer's own remedy, quoted in the warning.

    Examples
    --------
    >>> watch = TagWatch("verl")
    >>> watch.observe(["<think>a</think><answer>joy</answer>"])
    False
    """

    def __init__(self, trainer: str, *, min_batch: int = 4, streak: int = 32, fix: str = ""):
        self.trainer = trainer
        self.min_batch = int(min_batch)
        self.streak = int(streak)
        self.fix = fix
        self.run = 0
        self.warned = False

    def __getstate__(self) -> dict[str, Any]:
        # a reward sent to another process (Ray actors, dataloader workers) watches that
        # process's own completions: its settings travel, its counts start afresh
        return {k: getattr(self, k) for k in ("trainer", "min_batch", "streak", "fix")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)

    def observe(self, completions: Iterable[Any]) -> bool:
        """Count ``completions``; returns True when this call issued the warning."""
        tagged = [_has_tag(text) for text in completions]
        if not tagged:
            return False
        for has_tag in tagged:
            self.run = 0 if has_tag else self.run + 1
        whole_batch = len(tagged) >= self.min_batch and not any(tagged)
        if self.warned or not (whole_batch or self.run >= self.streak):
            return False
        self.warned = True
        seen = len(tagged) if whole_batch else self.run
        warnings.warn(
            f"eemo_rewards ({self.trainer}): none of the last {seen} completions holds a "
            "<think>/<answer> tag, so every one of them scores 0. If your tokenizer registers "
            "the tags as special tokens, the trainer's decoding with skip_special_tokens=True "
            "removes them before the reward sees the text (check with "
            "eemo_rewards.adapters.special_tag_tokens(tokenizer)); "
            f"{self.fix or 'add the tags as ordinary tokens instead'}. Otherwise the policy "
            "does not follow the answer scheme yet (train the format first: SFT or the "
            "format_only preset).",
            TagsMissingWarning,
            stacklevel=3,
        )
        return True


def special_tag_tokens(tokenizer: Any) -> list[str]:
    """The answer-scheme tags that ``tokenizer`` registers as special tokens.

    A trainer that decodes with ``skip_special_tokens=True`` (verl, EasyR1 by default) drops
    exactly these from every response. An empty list means the tags survive decoding.
    Works on tokenizers and processors (their ``.tokenizer``).
    """
    tok = getattr(tokenizer, "tokenizer", tokenizer)
    special: set[str] = set(getattr(tok, "all_special_tokens", None) or ())
    added = getattr(tok, "added_tokens_decoder", None)
    if isinstance(added, Mapping):
        special.update(str(t) for t in added.values() if getattr(t, "special", False))
    return [tag for tag in SCHEME_TAGS if tag in special]
