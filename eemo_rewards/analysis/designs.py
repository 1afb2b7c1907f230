"""The reward designs an ablation compares: this project's rewards and peer designs.

A :class:`Design` names a reward, its family, where it comes from and how to build it. The
project's designs are built from their registered classes with the parameters that make the
variant (binary vs soft accuracy, the intensity kernels, the ranking scorers, the spec
presets). Peer designs are written here from the formulas published with other systems
(REFERENCE.md §3), to show what their answer reading rewards on the same pool:

- ``r1v_format``: R1-V / VLM-R1's format check, a full match of
  ``<think>.*?</think>\\s*<answer>.*?</answer>`` (dot matches newlines);
- ``substring_match``: Visual-RFT's classification reward, 1 when the truth is a substring
  of the answer or the answer a substring of the truth;
- ``regex_yes_no``: VLM-R1's yes/no reward, the first ``yes`` or ``no`` found anywhere in
  the answer (so ``"not"`` and ``"know"`` read as no).

Every design is called through TRL's batch contract (``completions`` plus column lists)
and returns ``None`` for the tasks it does not score.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eemo_rewards.answers.choice import normalise_options
from eemo_rewards.tasks import normalise_task

__all__ = ["DESIGNS", "Design", "PeerReward", "build_designs"]


@dataclass(frozen=True)
class Design:
    """One reward design of an ablation.

    ``target`` is ``"module:attribute"``: a reward class built with ``params``, or (for
    ``kind="preset"``) a spec preset name whose composite reward is used.
    """

    name: str
    family: str
    origin: str
    target: str
    params: dict[str, Any] = field(default_factory=dict)
    kind: str = "class"
    description: str = ""

    def build(self) -> Callable[..., list[float | None]]:
        """The ready reward (raises ImportError when its module is not available)."""
        if self.kind == "preset":
            from eemo_rewards.spec import preset

            return preset(self.target).composite(name=self.name)
        module_name, _, attribute = self.target.partition(":")
        factory = getattr(importlib.import_module(module_name), attribute)
        return factory(name=self.name, **self.params)


_P = "this project"
DESIGNS: tuple[Design, ...] = (
    Design(
        "format",
        "format",
        _P,
        "eemo_rewards.rewards.format:FormatReward",
        {},
        description="1 for <think>…</think><answer>…</answer>, else 0",
    ),
    Design(
        "format_partial",
        "format",
        _P,
        "eemo_rewards.rewards.format:FormatReward",
        {"partial": True},
        description="a quarter per format check passed",
    ),
    Design(
        "accuracy_binary",
        "accuracy",
        _P,
        "eemo_rewards.rewards.accuracy:AccuracyReward",
        {"mode": "binary"},
        description="exact answer after synonym folding",
    ),
    Design(
        "accuracy_soft",
        "accuracy",
        _P,
        "eemo_rewards.rewards.accuracy:AccuracyReward",
        {"mode": "soft"},
        description="emotion partial credit R = (0.6·S + 0.4·E²)³",
    ),
    *(
        Design(
            f"intensity_{kernel}",
            "intensity",
            _P,
            "eemo_rewards.rewards.intensity:IntensityReward",
            {"kernel": kernel},
            description=f"V/A/D score, {kernel} kernel",
        )
        for kernel in ("linear", "gaussian", "laplace", "threshold", "bucket")
    ),
    Design(
        "thurstone",
        "intensity",
        "this project (after VisualQuality-R1)",
        "eemo_rewards.rewards.thurstone:ThurstoneReward",
        {},
        description="V/A/D score ranked against the batch; never pays exaggeration",
    ),
    Design(
        "thurstone_visualquality_r1",
        "intensity",
        "VisualQuality-R1",
        "eemo_rewards.rewards.thurstone:ThurstoneReward",
        {"variant": "visualquality-r1"},
        description="the published Thurstone formula: pays overshooting the truth",
    ),
    Design(
        "ranking_hit_kendall",
        "ranking",
        _P,
        "eemo_rewards.rewards.ranking:RankingReward",
        {"method": "eemo_bench", "kendall": "positions"},
        description="EEmo-Bench hits 25/15/10 + Kendall τ over positions",
    ),
    Design(
        "ranking_hit_kendall_released",
        "ranking",
        "EEmo-Bench released scorer",
        "eemo_rewards.rewards.ranking:RankingReward",
        {"method": "eemo_bench", "kendall": "released"},
        description="as released: τ over alphabetically ranked names",
    ),
    Design(
        "ranking_ndcg",
        "ranking",
        _P,
        "eemo_rewards.rewards.ranking:RankingReward",
        {"method": "ndcg"},
        description="NDCG with graded relevance by true position",
    ),
    Design(
        "spec_default",
        "composite",
        _P,
        "default",
        kind="preset",
        description="0.5·format + accuracy + intensity + ranking",
    ),
    Design(
        "spec_binary",
        "composite",
        _P,
        "binary",
        kind="preset",
        description="the default with binary accuracy",
    ),
    Design(
        "spec_eemo_logic",
        "composite",
        "EEmo-Logic (arXiv 2602.01173)",
        "eemo_logic",
        kind="preset",
        description="format + soft emotion accuracy, equal weights",
    ),
    Design(
        "r1v_format",
        "peer",
        "R1-V / VLM-R1",
        "eemo_rewards.analysis.designs:PeerReward",
        {"rule": "r1v_format"},
        description="regex full match of the tag layout",
    ),
    Design(
        "substring_match",
        "peer",
        "Visual-RFT",
        "eemo_rewards.analysis.designs:PeerReward",
        {"rule": "substring_match"},
        description="truth in answer or answer in truth",
    ),
    Design(
        "regex_yes_no",
        "peer",
        "VLM-R1",
        "eemo_rewards.analysis.designs:PeerReward",
        {"rule": "regex_yes_no"},
        description="first 'yes'/'no' anywhere in the answer",
    ),
)

_R1V_FORMAT = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.DOTALL)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_YES_NO = re.compile(r"(yes|no)")
_PEER_TASKS = {
    "r1v_format": None,
    "substring_match": frozenset({"emotion", "multiple_choice", "yes_no"}),
    "regex_yes_no": frozenset({"yes_no"}),
}


class PeerReward:
    """A peer system's reward rule, reimplemented from its published formula for comparison.

    Parameters
    ----------
    rule : {"r1v_format", "substring_match", "regex_yes_no"}
    name : str, optional

    Examples
    --------
    >>> PeerReward("substring_match")(completions=["<think>x</think><answer></answer>"],
    ...                               solution=["joy"], task=["emotion"])
    [1.0]
    >>> PeerReward("regex_yes_no")(completions=["<think>x</think><answer>I know</answer>"],
    ...                            solution=["no"], task=["yes_no"])
    [1.0]
    """

    low = 0.0
    high = 1.0

    def __init__(self, rule: str, *, name: str | None = None):
        if rule not in _PEER_TASKS:
            raise ValueError(f"unknown peer rule {rule!r}; use one of {sorted(_PEER_TASKS)}")
        self.rule = rule
        self.tasks = _PEER_TASKS[rule]
        self.__name__ = name or rule

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        **columns: Any,
    ) -> list[float | None]:
        from eemo_rewards._text import completion_text

        completions = list(completions or [])
        n = len(completions)
        solutions = _column(columns, "solution", n)
        tasks = _column(columns, "task", n)
        options = _column(columns, "options", n)
        out: list[float | None] = []
        for text, solution, task, opts in zip(completions, solutions, tasks, options, strict=True):
            task = normalise_task(task)
            if self.tasks is not None and task not in self.tasks:
                out.append(None)
                continue
            out.append(self._rule(completion_text(text), solution, opts))
        return out

    def _rule(self, text: str, solution: Any, options: Any) -> float:
        if self.rule == "r1v_format":
            return float(_R1V_FORMAT.fullmatch(text) is not None)
        found = _ANSWER.search(text)
        answer = (found.group(1) if found else text).strip().lower()
        truth = _truth_text(solution, options).lower()
        if self.rule == "substring_match":
            return float(truth in answer or answer in truth)
        match = _YES_NO.search(answer)
        return float(match is not None and match.group(1) == truth)

    def __repr__(self) -> str:
        return f"PeerReward({self.rule!r})"


def _truth_text(solution: Any, options: Any) -> str:
    """The solution as text; an option letter becomes its option text (``"B"`` → ``yes``)."""
    truth = "" if solution is None else str(solution).strip()
    if options is not None and len(truth) == 1:
        try:
            opts = normalise_options(options)
        except ValueError:
            return truth
        if truth.upper() in opts:
            return opts[truth.upper()].strip(" .")
    return truth


def _column(columns: dict[str, Any], name: str, n: int) -> list[Any]:
    values = columns.get(name)
    if values is None:
        return [None] * n
    values = list(values)
    if len(values) != n:
        raise ValueError(f"column {name!r} has {len(values)} values for {n} completions")
    return values


def build_designs(names: Iterable[str] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """Build the named designs (default: all of :data:`DESIGNS`).

    Returns
    -------
    built : dict
        Design name → ready reward.
    unavailable : dict
        Design name → why it could not be built (a reward module that is not installed):
        reported, never silently dropped.

    Examples
    --------
    >>> built, unavailable = build_designs(["format", "regex_yes_no"])
    >>> sorted(built), unavailable
    (['format', 'regex_yes_no'], {})
    """
    by_name = {d.name: d for d in DESIGNS}
    wanted = list(by_name) if names is None else list(names)
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise ValueError(f"unknown design(s) {unknown}; known: {list(by_name)}")
    built: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    for name in wanted:
        try:
            built[name] = by_name[name].build()
        except ImportError as exc:
            unavailable[name] = f"{type(exc).__name__}: {exc}"
    return built, unavailable
