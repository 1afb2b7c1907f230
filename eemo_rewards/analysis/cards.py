"""Completions as cards (HTML): the think and answer text whole, each reward's score, the
weighted total and the group advantage; and before/after cards of the same held-out prompt.

The notebooks show these with ``mo.Html``; the run report embeds the same HTML. Standard
library only (the markup is escaped; no script, no network).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from eemo_rewards.parsing import parse_completion

__all__ = ["CARD_STYLE", "before_after_cards", "completion_cards", "with_totals"]

#: The cards' CSS (inline, so a saved page keeps its look offline).
CARD_STYLE = (
    "<style>.eemo-cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));"
    "gap:.6rem}.eemo-card{border:1px solid #ccc;border-radius:6px;padding:.5rem .7rem;"
    "font-size:.85rem;background:#fff}.eemo-card pre{white-space:pre-wrap;word-break:break-word;"
    "margin:.2rem 0;font-size:.8rem}.eemo-card .meta{color:#555}.eemo-card table{font-size:.8rem;"
    "border-collapse:collapse}.eemo-card td{padding:0 .5rem 0 0}.eemo-pair{display:grid;"
    "grid-template-columns:1fr 1fr;gap:.6rem;margin-bottom:.6rem}</style>"
)
_KEYS = ("step", "task", "solution", "completion", "total", "advantage", "group")


def _num(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:.3f}"
    return html.escape(str(value))


def with_totals(
    rows: Sequence[Mapping[str, Any]],
    *,
    weights: Mapping[str, float],
    group_size: int | None = None,
) -> list[dict[str, Any]]:
    """``rows`` (one per completion, each reward's score under its function name) with
    ``total``: the weighted sum over the rewards that score the row (as TRL sums with
    ``reward_weights``; ``None`` scores are left out), and, when ``group_size`` is given,
    ``group`` and ``advantage``: ``(total − group mean) / (group std + 1e-4)`` over each run
    of ``group_size`` consecutive rows (TRL generates a prompt's completions side by side;
    this recomputes the group-scaled advantage from the rows shown, it is not read from TRL).

    Examples
    --------
    >>> rows = [{"format_reward": 1.0, "accuracy_reward": 1.0}, {"format_reward": 0.0,
    ...          "accuracy_reward": None}]
    >>> out = with_totals(rows, weights={"format_reward": 0.5, "accuracy_reward": 1.0},
    ...                   group_size=2)
    >>> [r["total"] for r in out], [round(r["advantage"], 3) for r in out]
    ([1.5, 0.0], [0.707, -0.707])
    """
    if group_size is not None and group_size < 1:
        raise ValueError(f"group_size={group_size}; use the number of generations per prompt")
    out = []
    for row in rows:
        scores = [
            weights[name] * float(row[name])
            for name in weights
            if row.get(name) is not None and math.isfinite(float(row[name]))
        ]
        out.append({**row, "total": sum(scores)})
    if group_size:
        for start in range(0, len(out), group_size):
            group = out[start : start + group_size]
            mean = sum(r["total"] for r in group) / len(group)
            std = math.sqrt(sum((r["total"] - mean) ** 2 for r in group) / max(len(group) - 1, 1))
            for r in group:
                r["group"] = start // group_size
                r["advantage"] = (r["total"] - mean) / (std + 1e-4)
    return out


def _text_block(completion: Any) -> str:
    text = "" if completion is None else str(completion)
    parsed = parse_completion(text)
    if parsed.answer is None:
        return (
            f"<div class='meta'>not well-formed ({html.escape(str(parsed.reason))})</div>"
            f"<pre>{html.escape(text) or '(empty)'}</pre>"
        )
    think = html.escape(parsed.think or "")
    return (
        f"<details><summary>think ({len(parsed.think or '')} characters)</summary>"
        f"<pre>{think}</pre></details><div><b>answer</b></div>"
        f"<pre>{html.escape(parsed.answer)}</pre>"
    )


def _card(row: Mapping[str, Any], title: str) -> str:
    scores = "".join(
        f"<tr><td>{html.escape(str(k).removesuffix('_reward'))}</td><td>{_num(v)}</td></tr>"
        for k, v in row.items()
        if k not in _KEYS and k not in ("correct", "reward", "item_metrics", "answer")
        and not isinstance(v, str | dict | list)
    )  # fmt: skip
    extra = "".join(
        f"<tr><td><b>{k}</b></td><td><b>{_num(row[k])}</b></td></tr>"
        for k in ("correct", "reward", "total", "advantage")
        if k in row
    )
    return (
        f"<div class='eemo-card'><div class='meta'>{title} · task "
        f"<b>{html.escape(str(row.get('task')))}</b> · expected "
        f"<code>{html.escape(str(row.get('solution')))}</code></div>"
        f"{_text_block(row.get('completion'))}<table>{scores}{extra}</table></div>"
    )


def completion_cards(
    rows: Sequence[Mapping[str, Any]],
    *,
    limit: int = 8,
    weights: Mapping[str, float] | None = None,
    group_size: int | None = None,
) -> str:
    """Up to ``limit`` completions as cards, prompts varied: one completion of each group
    (prompt) first, then the next of each, and so on. With ``weights`` the cards show the
    total (and with ``group_size`` the advantage, see :func:`with_totals`).

    Examples
    --------
    >>> page = completion_cards([{"task": "emotion", "solution": "joy",
    ...     "completion": "<think>smile</think><answer>joy</answer>", "format_reward": 1.0}])
    >>> "smile" in page and "<b>answer</b>" in page and "1.000" in page
    True
    """
    rows = list(rows)
    if weights is not None:
        rows = with_totals(rows, weights=weights, group_size=group_size)
    if not rows or not any(r.get("completion") for r in rows):
        return "<p>No completions were kept for this run.</p>"
    size = group_size or 1
    groups = [rows[i : i + size] for i in range(0, len(rows), size)]
    # round-robin over the groups: the first cards show different prompts
    order = [g[k] for k in range(size) for g in groups if k < len(g)]
    cards = "".join(_card(r, f"step {r.get('step', '?')}") for r in order[:limit])
    return f"{CARD_STYLE}<div class='eemo-cards'>{cards}</div>"


def before_after_cards(
    evaluation: Sequence[Mapping[str, Any]],
    *,
    before: str = "sft",
    after: str = "grpo",
    decoding: str = "greedy",
    limit: int = 4,
) -> str:
    """The same held-out prompts answered ``before`` and ``after``, side by side (the
    evaluations' ``examples`` are the first rows of one held-out split, in order).

    Examples
    --------
    >>> ev = [{"stage": s, "decoding": "greedy", "examples": [{"task": "emotion",
    ...        "solution": "joy", "completion": c, "correct": float(s == "grpo")}]}
    ...       for s, c in (("sft", "sad"), ("grpo", "<think>x</think><answer>joy</answer>"))]
    >>> page = before_after_cards(ev)
    >>> page.index("sft") < page.index("grpo"), "not well-formed" in page
    (True, True)
    """
    by_stage = {r["stage"]: r for r in evaluation if r.get("decoding") == decoding}
    if before not in by_stage or after not in by_stage:
        return f"<p>No {decoding} evaluation of both {before} and {after}.</p>"
    pairs = list(zip(by_stage[before]["examples"], by_stage[after]["examples"], strict=False))
    if not pairs:
        return "<p>No example answers were kept.</p>"
    body = "".join(
        f"<div class='eemo-pair'>{_card(b, before)}{_card(a, after)}</div>"
        for b, a in pairs[:limit]
    )
    return f"{CARD_STYLE}{body}"
