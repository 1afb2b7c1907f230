"""verl adapter: ``compute_score(data_source, solution_str, ground_truth, extra_info=None)``.

Point verl's custom reward at this module (tested with verl 0.9.1, whose ``main_ppo`` reads
the custom reward only under ``reward.``; the legacy top-level ``custom_reward_function.*``
is accepted by Hydra but never used there)::

    reward.custom_reward_function.path=pkg://eemo_rewards.adapters.verl
    reward.custom_reward_function.name=compute_score
    +reward.custom_reward_function.reward_kwargs.spec=soft     # optional

``pkg://`` works from any working directory; an absolute file path
(``python -c "import eemo_rewards.adapters.verl as m; print(m.__file__)"``) works too.

verl calls the function once per response with the decoded response string, the row's
``reward_model.ground_truth``, its ``extra_info`` and the ``reward_kwargs`` of the config.
The task comes from ``extra_info["task"]``, else from a JSON ground truth's ``"task"``, else
from ``data_source`` when that is a task name (a label without one is left to the
composite); options from ``extra_info["options"]`` or the JSON ground truth; any other
``extra_info`` key a reward declares (``taxonomy``, ``dimension``, ...) is passed on. The
result is a dict: ``"score"`` plus one float per reward term, the same keys for every sample
(a term that does not apply to the task reports ``fallback``, 0.0), as verl collects each key
into one list per batch, and the 0/1 flags of what was read (``commits``,
``zero/malformed``, ``zero/uncommitted``, ``zero/wrong``), whose batch means verl logs.

``reward_kwargs`` may set ``spec`` (a preset name, inline spec JSON, a spec dict written as
Hydra overrides, or the path of a ``.json``/``.yaml`` spec file) and ``fallback``; any other
key is an error (a misspelt key would otherwise be ignored silently). For a spec of your own
in code, point ``name`` at a scorer built in your file::

    # my_reward.py
    from eemo_rewards.adapters.verl import make_compute_score
    compute_score = make_compute_score("eemo_logic")

To score on a reward server (``python -m eemo_rewards.serve``, e.g. with the embedding judge
on its own device), point verl at :func:`compute_score_remote` instead; it is a coroutine,
which verl's reward loop awaits concurrently for every sample::

    reward.custom_reward_function.path=pkg://eemo_rewards.adapters.verl
    reward.custom_reward_function.name=compute_score_remote
    +reward.custom_reward_function.reward_kwargs.remote_url=http://127.0.0.1:8000

verl decodes responses with ``skip_special_tokens=True``: a tokenizer that registers
``<think>``/``<answer>`` as special tokens loses them, and every sample scores 0. The
adapter warns once (:class:`~eemo_rewards.adapters.TagsMissingWarning`) when a long run of
responses holds no tag; check a tokenizer with
:func:`~eemo_rewards.adapters.special_tag_tokens`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eemo_rewards.adapters import (
    TagWatch,
    composite_for,
    decode_label,
    sample_logs,
    score_sample,
)
from eemo_rewards.spec import RewardSpec
from eemo_rewards.tasks import TASKS, normalise_task

__all__ = [
    "REWARD_KWARGS",
    "VERL_ROUTE",
    "VerlComputeScore",
    "compute_score",
    "compute_score_remote",
    "make_compute_score",
]

VERL_ROUTE = "/verl/compute_score"
"""The reward server's route for verl's per-sample call (:mod:`eemo_rewards.serve`)."""

REWARD_KWARGS = ("spec", "fallback")
"""The ``reward.custom_reward_function.reward_kwargs`` keys the adapter reads."""

# what verl's own reward managers add to the call besides the row (not ours to read)
_VERL_KWARGS = frozenset({"reward_router_address", "reward_model_tokenizer"})

_FIX = (
    "verl has no switch for it: register the tags as ordinary tokens "
    "(tokenizer.add_tokens([...]), not add_special_tokens)"
)


class VerlComputeScore:
    """verl's ``compute_score`` bound to a reward spec (picklable; builds the spec lazily).

    Parameters
    ----------
    spec : RewardSpec, preset name, spec dict/JSON/file or None
        ``None`` is :func:`~eemo_rewards.spec.default_spec`. A ``spec`` reward kwarg given
        at call time (verl's ``reward_kwargs``) overrides it.
    fallback : float, default 0.0
        The score of a sample no term applies to, and the value reported for a
        non-applicable component.

    Examples
    --------
    >>> score = make_compute_score("format_only")
    >>> score("eemo", "<think>warm</think><answer>joy</answer>", "joy")
    {'score': 1.0, 'format_reward': 1.0, 'commits': 1.0, 'zero/malformed': 0.0, \
'zero/uncommitted': 0.0, 'zero/wrong': 0.0}
    >>> compute_score("eemo", "joy", "joy", spec="format_only", fallback=0.0)["zero/malformed"]
    1.0
    """

    def __init__(self, spec: RewardSpec | str | None = None, *, fallback: float = 0.0):
        self.spec = spec
        self.fallback = float(fallback)
        self.__name__ = "compute_score"
        self._watch = TagWatch("verl", fix=_FIX)

    def __call__(
        self,
        data_source: Any = None,
        solution_str: Any = None,
        ground_truth: Any = None,
        extra_info: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, float]:
        unknown = sorted(set(kwargs) - set(REWARD_KWARGS) - _VERL_KWARGS)
        if unknown:
            raise TypeError(
                f"unknown reward_kwargs {unknown} for eemo_rewards' verl compute_score; it "
                f"reads {list(REWARD_KWARGS)} (e.g. "
                "+reward.custom_reward_function.reward_kwargs.spec=soft)"
            )
        spec = kwargs.get("spec", self.spec)
        fallback = kwargs.get("fallback")
        fallback = self.fallback if fallback is None else float(fallback)
        composite = composite_for(spec, fallback=fallback)
        label = decode_label(ground_truth)
        if isinstance(extra_info, Mapping):
            # the ground truth is authoritative for the solution; extra_info for the rest
            for key, value in extra_info.items():
                if key != "solution" and value is not None:
                    label[key] = value
        if label.get("task") is None and normalise_task(data_source) in TASKS:
            label["task"] = data_source
        self._watch.observe([solution_str])
        total, parts = score_sample(composite, solution_str, label)
        return {"score": total, **parts, **sample_logs(composite, solution_str, label, total)}


def make_compute_score(spec: RewardSpec | str | None = None, *, fallback: float = 0.0):
    """A verl ``compute_score`` for ``spec`` (any form
    :meth:`~eemo_rewards.spec.RewardSpec.coerce` reads)."""
    return VerlComputeScore(spec, fallback=fallback)


compute_score = VerlComputeScore()
"""The default spec's scorer, for ``reward.custom_reward_function.name=compute_score``."""


async def compute_score_remote(
    data_source: Any = None,
    solution_str: Any = None,
    ground_truth: Any = None,
    extra_info: Mapping[str, Any] | None = None,
    *,
    remote_url: str | None = None,
    timeout: float = 180.0,
    **kwargs: Any,
) -> dict[str, float]:
    """verl's ``compute_score`` answered by a reward server at ``remote_url``.

    Sends the sample as verl gives it (``data_source``, ``solution_str``, ``ground_truth``,
    ``extra_info``) to ``{remote_url}/verl/compute_score`` and returns the server's dict,
    the same ``{"score": ..., <term>: ...}`` :func:`compute_score` gives in process. The
    request runs on a worker thread (the standard library's HTTP client), so verl's event
    loop goes on. A refused request raises with the server's message; verl's own kwargs
    (``reward_router_address``, ``reward_model_tokenizer``) are ignored.
    """
    import asyncio

    if not remote_url:
        raise TypeError(
            "compute_score_remote needs remote_url (the reward server's address, e.g. "
            "+reward.custom_reward_function.reward_kwargs.remote_url=http://127.0.0.1:8000)"
        )
    unknown = sorted(set(kwargs) - _VERL_KWARGS)
    if unknown:
        raise TypeError(
            f"unknown reward_kwargs {unknown} for compute_score_remote; it reads "
            "['remote_url', 'timeout'] (the spec is the server's)"
        )
    sample = {
        "data_source": data_source,
        "solution_str": solution_str,
        "ground_truth": ground_truth,
        "extra_info": extra_info,
    }
    url = remote_url.rstrip("/") + VERL_ROUTE
    return await asyncio.to_thread(post_json, url, sample, timeout)


def post_json(url: str, payload: Any, timeout: float) -> Any:
    """POST ``payload`` as JSON and return the decoded answer; an HTTP error raises a
    ``RuntimeError`` carrying the server's message."""
    import json
    import urllib.error
    import urllib.request

    body = json.dumps(payload, default=_plain_json).encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        raise RuntimeError(f"reward server at {url} answered {exc.code}: {detail}") from None


def _plain_json(value: Any) -> Any:
    """What ``json`` cannot write itself: numpy arrays and scalars (verl's ``extra_info``)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot send {type(value).__name__} to the reward server")
