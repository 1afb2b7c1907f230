"""Normalise whatever a trainer hands us as a completion into one string.

Trainers disagree on the shape of a completion: TRL gives a plain string or a list of chat
messages (whose ``content`` is itself a string or a list of typed parts), verl and ms-swift
give strings, and a broken pipeline may give ``None``, bytes or a dict. Every scorer goes
through :func:`completion_text`, so none of them has to care, and none of them can crash on
an unexpected shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["completion_text"]


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list | tuple):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping) and part.get("type", "text") == "text":
                text = part.get("text")
                if isinstance(text, str):
                    parts.append(text)
        return "".join(parts)
    return ""


def completion_text(completion: Any) -> str:
    """Return the text of a completion in any of the shapes trainers produce.

    - ``str`` is returned as is; ``bytes`` are decoded as UTF-8 (invalid bytes replaced);
    - a message dict gives its ``content`` (a string or a list of ``{"type": "text"}`` parts);
    - a list of messages gives the content of its assistant messages, joined (TRL passes a
      one-element list ``[{"role": "assistant", "content": ...}]``);
    - anything else (``None``, numbers, arbitrary objects) gives ``""``.

    Examples
    --------
    >>> completion_text("<answer>joy</answer>")
    '<answer>joy</answer>'
    >>> completion_text([{"role": "assistant", "content": "<answer>joy</answer>"}])
    '<answer>joy</answer>'
    >>> completion_text([{"role": "assistant", "content": [{"type": "text", "text": "hi"}]}])
    'hi'
    >>> completion_text(None)
    ''
    """
    if isinstance(completion, str):
        return completion
    if type(completion) is list and len(completion) == 1:
        # TRL's conversational shape: [{"role": "assistant", "content": "..."}]
        message = completion[0]
        if type(message) is dict:
            content = message.get("content")
            if type(content) is str and message.get("role", "assistant") == "assistant":
                return content
    if isinstance(completion, bytes | bytearray):
        return bytes(completion).decode("utf-8", errors="replace")
    if isinstance(completion, Mapping):
        return _content_text(completion.get("content"))
    if isinstance(completion, list | tuple):
        messages = [m for m in completion if isinstance(m, Mapping)]
        if not messages:
            return "".join(m for m in completion if isinstance(m, str))
        assistant = [m for m in messages if m.get("role", "assistant") == "assistant"]
        return "".join(_content_text(m.get("content")) for m in assistant or messages[-1:])
    return ""
