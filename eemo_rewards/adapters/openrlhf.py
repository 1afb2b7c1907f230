"""OpenRLHF adapter: a reward-function file for ``--reward.remote_url``.

Tested with OpenRLHF 0.11.2, whose flags are namespaced. Give this module's file as the
reward function and name the label column (:func:`eemo_rewards.data.export.to_openrlhf_jsonl`
writes it)::

    --reward.remote_url $(python -c "import eemo_rewards.adapters.openrlhf as m; print(m.__file__)")
    --data.input_key prompt --data.label_key label --data.apply_chat_template

OpenRLHF loads the file, takes its ``reward_func`` and calls ``reward_func(queries, prompts,
labels)`` (one query at a time) with ``queries`` = prompt + response decoded with special
tokens kept. The response is found in the query by, in order:

1. the prompt as a prefix of the query;
2. the prompt inside the query (a BOS token or a system header added in front);
3. the response marker: the assistant header of the tokenizer's own chat template (its
   generation prompt), or an explicit ``marker``, when a reward function is built with one
   (:func:`make_reward_func`); the text after its last occurrence is the response;
4. the prompt's tail: a VLM processor expands each image placeholder into many
   ``<|image_pad|>`` tokens, so the prompt is no longer a substring, but the text after its
   last image (the question and the assistant header) still is; the response follows the
   longest such tail (at least :data:`MIN_TAIL` characters).

When none of these finds the response, the sample is not scored as if it were: in strict mode
``reward_func`` raises :class:`ResponseNotFoundError` (logged as an error too, since
OpenRLHF's executor only logs a failing reward function at INFO level and leaves the sample
without a reward); otherwise it scores ``fallback`` (0.0), sets the sample's
``extra_logs["response_not_found"]`` to 1 and warns with the running count (at the 1st, 10th,
100th, ... occurrence). Trailing end-of-turn and padding tokens (the template's, the
tokenizer's EOS and pad, :data:`END_MARKERS`, and any ``<|...|>``-style token) are removed,
since the answer scheme rejects text after ``</answer>``.

Build a reward function for another spec, the tokenizer's chat template or a marker in a file
of your own and give that file to ``--reward.remote_url``::

    # my_reward.py
    from eemo_rewards.adapters.openrlhf import make_reward_func
    reward_func = make_reward_func("soft", tokenizer="/path/to/your/model", strict=True)

Labels are JSON strings ``{"task": ..., "solution": ..., "options": ...}`` or plain
solutions. The result is ``{"rewards", "scores", "extra_logs"}``: ``rewards`` and ``scores``
are the composite score per query (torch tensors; torch is imported inside the function),
``extra_logs`` holds one tensor per reward term (a term that does not apply reports
``fallback``), ``response_not_found``, and the 0/1 flags of what was read (``commits``,
``zero/malformed``, ``zero/uncommitted``, ``zero/wrong``; all 0 where no response was
found), whose means OpenRLHF logs.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

from eemo_rewards.adapters import (
    END_MARKERS,
    TagWatch,
    composite_for,
    decode_label,
    sample_logs,
    score_sample,
    strip_end_tokens,
)
from eemo_rewards.rewards.limits import is_decade
from eemo_rewards.rewards.trainer_logs import SAMPLE_FLAGS
from eemo_rewards.spec import RewardSpec

__all__ = [
    "ASSISTANT_MARKERS",
    "END_MARKERS",
    "MIN_TAIL",
    "OpenRLHFRewardFunc",
    "ResponseNotFoundError",
    "chat_template_markers",
    "locate_response",
    "make_reward_func",
    "response_from_query",
    "reward_func",
]

logger = logging.getLogger(__name__)

ASSISTANT_MARKERS = (
    "<|im_start|>assistant",  # ChatML: Qwen, SmolLM
    "<|start_header_id|>assistant<|end_header_id|>",  # Llama 3
    "<start_of_turn>model",  # Gemma
    "<|assistant|>",  # Phi, Zephyr
    "[/INST]",  # Llama 2, Mistral
)
"""Assistant headers of common chat templates. Not used unless asked for:
``make_reward_func(marker=ASSISTANT_MARKERS)``; the tokenizer's own template is better."""

MIN_TAIL = 16
"""The shortest prompt tail (characters) trusted to delimit a response (rule 4)."""


class ResponseNotFoundError(ValueError):
    """The response could not be told apart from the prompt in an OpenRLHF query."""


def _longest_tail(prompt: str, query: str) -> int:
    """The length of the longest suffix of ``prompt`` occurring in ``query`` (binary search:
    a suffix of an occurring suffix occurs too)."""
    lo, hi = 0, min(len(prompt), len(query))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if prompt[-mid:] in query:
            lo = mid
        else:
            hi = mid - 1
    return lo


def locate_response(
    query: str, prompt: str | None, markers: Sequence[str] = ()
) -> tuple[str | None, str]:
    """``(response or None, how it was found)``, before end tokens are removed.

    ``how`` is ``"prefix"``, ``"prompt"``, ``"marker"``, ``"tail"`` or ``"not found"``
    (see the module's rules 1–4).

    Examples
    --------
    >>> locate_response("<s>Q: hi A: yes", "Q: hi A:")
    (' yes', 'prompt')
    >>> locate_response("<pad><pad>Which emotion is it? Assistant: joy",
    ...                 "<image>Which emotion is it? Assistant:")
    (' joy', 'tail')
    >>> locate_response("no prompt here", None)
    (None, 'not found')
    """
    if prompt:
        if query.startswith(prompt):
            return query[len(prompt) :], "prefix"
        at = query.rfind(prompt)
        if at >= 0:
            return query[at + len(prompt) :], "prompt"
    best = -1
    for marker in markers:
        if marker:
            at = query.rfind(marker)
            if at >= 0 and at + len(marker) > best:
                best = at + len(marker)
    if best >= 0:
        return query[best:], "marker"
    if prompt:
        n = _longest_tail(prompt, query)
        if n >= min(MIN_TAIL, len(prompt)):
            tail = prompt[-n:]
            return query[query.rfind(tail) + n :], "tail"
    return None, "not found"


def response_from_query(
    query: Any, prompt: str | None, *, markers: Sequence[str] = (), end_markers=END_MARKERS
) -> str | None:
    """The response part of an OpenRLHF query (prompt + response) without end tokens, or
    ``None`` when it cannot be found (:func:`locate_response`).

    Examples
    --------
    >>> response_from_query("<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n"
    ...                     "<think>a</think><answer>joy</answer><|im_end|>",
    ...                     "<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n")
    '<think>a</think><answer>joy</answer>'
    >>> response_from_query("<s>Q: hi A: yes</s>", "Q: hi A:")
    ' yes'
    """
    if not isinstance(query, str):
        query = "" if query is None else str(query)
    response, _ = locate_response(query, prompt, markers)
    return None if response is None else strip_end_tokens(response, end_markers)


def chat_template_markers(tokenizer: Any) -> tuple[str, tuple[str, ...]]:
    """``(assistant header, end markers)`` read from a tokenizer's own chat template.

    The header is the template's generation prompt (what ``add_generation_prompt=True``
    appends to a user turn); the end markers are what the template writes after an
    assistant turn, plus the tokenizer's EOS and pad tokens. ``tokenizer`` may be a
    tokenizer, a processor, or a path / hub id (loaded with ``transformers.AutoTokenizer``).
    """
    if isinstance(tokenizer, str):
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(tokenizer)
    sentinel = "EEMO_SENTINEL_7f3a"

    def render(messages, generation):
        for content in (sentinel, [{"type": "text", "text": sentinel}]):
            msgs = [dict(m, content=m["content"] or content) for m in messages]
            try:
                return tokenizer.apply_chat_template(
                    msgs, tokenize=False, add_generation_prompt=generation
                )
            except Exception:  # templates differ in the content shapes they take
                continue
        raise ValueError(
            f"{type(tokenizer).__name__}.apply_chat_template failed on a one-turn chat; "
            "pass marker= (the assistant header your prompts end with) instead"
        )

    user = [{"role": "user", "content": None}]
    with_prompt = render(user, True)
    without = render(user, False)
    header = with_prompt[len(without) :] if with_prompt.startswith(without) else ""
    if not header.strip():
        raise ValueError(
            "this tokenizer's chat template adds no generation prompt (assistant header); "
            "pass marker= (the text your prompts end with) to make_reward_func"
        )
    ends: list[str] = []
    try:
        turn = render([*user, {"role": "assistant", "content": sentinel + "X"}], False)
        after = turn.rsplit(sentinel + "X", 1)[1].strip() if sentinel + "X" in turn else ""
        if after:
            ends.append(after)
    except ValueError:
        pass
    tok = getattr(tokenizer, "tokenizer", tokenizer)
    for name in ("eos_token", "pad_token"):
        value = getattr(tok, name, None)
        if isinstance(value, str) and value:
            ends.append(value)
    return header.strip() or header, tuple(dict.fromkeys([*ends, *END_MARKERS]))


class OpenRLHFRewardFunc:
    """OpenRLHF's ``reward_func`` bound to a reward spec.

    Parameters
    ----------
    spec : RewardSpec, preset name, spec dict/JSON/file or None
        ``None`` is :func:`~eemo_rewards.spec.default_spec`.
    fallback : float, default 0.0
        The score of a sample no term applies to, or whose response cannot be found
        (non-strict mode).
    tokenizer : tokenizer, processor, path or hub id, optional
        Its chat template's assistant header delimits the response (rule 3) and its end
        tokens are stripped; read on first use (:func:`chat_template_markers`).
    marker : str or sequence of str, optional
        Assistant header(s) to split on instead (or as well).
    strict : bool, default False
        Raise :class:`ResponseNotFoundError` when a response cannot be found, instead of a
        counted warning and ``fallback``.
    """

    def __init__(
        self,
        spec: RewardSpec | str | None = None,
        *,
        fallback: float = 0.0,
        tokenizer: Any = None,
        marker: str | Sequence[str] | None = None,
        strict: bool = False,
    ):
        self.spec = spec
        self.fallback = float(fallback)
        self.tokenizer = tokenizer
        self.marker = (marker,) if isinstance(marker, str) else tuple(marker or ())
        self.strict = bool(strict)
        self.not_found = 0
        self.seen = 0
        self._markers: tuple[tuple[str, ...], tuple[str, ...]] | None = None
        self._watch = TagWatch("OpenRLHF")
        self.__name__ = "reward_func"

    def markers(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``(response markers, end markers)`` in use."""
        if self._markers is None:
            starts, ends = list(self.marker), list(END_MARKERS)
            if self.tokenizer is not None:
                header, template_ends = chat_template_markers(self.tokenizer)
                starts.append(header)
                ends = list(template_ends)
            self._markers = (tuple(dict.fromkeys(starts)), tuple(dict.fromkeys(ends)))
        return self._markers

    def _not_found(self, query: str, prompt: Any) -> None:
        self.not_found += 1
        what = (
            f"eemo_rewards (OpenRLHF): could not find the response in a query ({self.not_found}"
            f" of {self.seen} so far); the query neither starts with nor contains its prompt "
            "and no response marker or prompt tail matched. Pass prompts as generated, or "
            "build the reward function with make_reward_func(tokenizer=<your model>) or "
            f"marker=<assistant header>. Query starts {query[:80]!r}, prompt ends "
            f"{str(prompt)[-80:]!r}."
        )
        if self.strict:
            logger.error(what)
            raise ResponseNotFoundError(what)
        if is_decade(self.not_found):  # the 1st, 10th, 100th, ... time
            warnings.warn(what + f" Scored {self.fallback}.", UserWarning, stacklevel=3)

    def __call__(
        self,
        queries: Sequence[Any],
        prompts: Sequence[Any] | None = None,
        labels: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        import torch  # OpenRLHF always has torch; the core package does not need it

        totals, logs = self.score_lists(queries, prompts, labels)
        rewards = torch.tensor(totals, dtype=torch.float32)
        extra = {k: torch.tensor(v, dtype=torch.float32) for k, v in logs.items()}
        return {"rewards": rewards, "scores": rewards.clone(), "extra_logs": extra}

    def score_lists(
        self,
        queries: Sequence[Any],
        prompts: Sequence[Any] | None = None,
        labels: Sequence[Any] | None = None,
    ) -> tuple[list[float], dict[str, list[float]]]:
        """``(score per query, extra logs as lists)``: what :meth:`__call__` returns as
        tensors, and what the reward server (:mod:`eemo_rewards.serve`) returns as JSON."""
        n = len(queries)
        prompts = [None] * n if prompts is None else list(prompts)
        labels = [None] * n if labels is None else list(labels)
        if len(prompts) != n or len(labels) != n:
            raise ValueError(
                f"reward_func got {n} queries, {len(prompts)} prompts and {len(labels)} "
                "labels; pass one prompt and one label per query"
            )
        composite = composite_for(self.spec, fallback=self.fallback)
        names = composite.component_names()
        starts, ends = self.markers()
        totals: list[float] = []
        missing: list[float] = []
        responses: list[str] = []
        logs: dict[str, list[float]] = {name: [] for name in (*names, *SAMPLE_FLAGS)}
        for query, prompt, label in zip(queries, prompts, labels, strict=True):
            self.seen += 1
            text = query if isinstance(query, str) else ("" if query is None else str(query))
            response = response_from_query(text, prompt, markers=starts, end_markers=ends)
            if response is None:
                self._not_found(text, prompt)
                totals.append(self.fallback)
                missing.append(1.0)
                for name in names:
                    logs[name].append(self.fallback)
                for name in SAMPLE_FLAGS:  # nothing was read
                    logs[name].append(0.0)
                continue
            responses.append(response)
            decoded = decode_label(label)
            total, parts = score_sample(composite, response, decoded)
            totals.append(total)
            missing.append(0.0)
            for name in names:
                logs[name].append(parts[name])
            for name, value in sample_logs(composite, response, decoded, total).items():
                logs[name].append(value)
        self._watch.observe(responses)
        logs["response_not_found"] = missing
        return totals, logs


def make_reward_func(
    spec: RewardSpec | str | None = None,
    *,
    fallback: float = 0.0,
    tokenizer: Any = None,
    marker: str | Sequence[str] | None = None,
    strict: bool = False,
) -> OpenRLHFRewardFunc:
    """An OpenRLHF ``reward_func`` (see :class:`OpenRLHFRewardFunc`); assign it to
    ``reward_func`` in your file."""
    return OpenRLHFRewardFunc(
        spec, fallback=fallback, tokenizer=tokenizer, marker=marker, strict=strict
    )


reward_func = OpenRLHFRewardFunc()
"""The default spec's reward function, the name OpenRLHF looks up in this file."""
