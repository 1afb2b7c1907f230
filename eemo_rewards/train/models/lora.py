"""LoRA targets per model family (language model, vision tower, or both) and the named
presets, ``eemo-logic`` among them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "LANGUAGE_MODEL_PREFIX",
    "LORA_PRESETS",
    "LORA_SCOPES",
    "lora_preset",
    "lora_target_modules",
]


_LINEAR_NAMES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

# Where each family keeps its language model (module path fragment); the vision tower and the
# projector are everything else.
LANGUAGE_MODEL_PREFIX = {
    "qwen2_vl": "language_model",
    "qwen2_5_vl": "language_model",
    "qwen3_vl": "language_model",
    "qwen3_vl_moe": "language_model",
    "idefics3": "text_model",
    "smolvlm": "text_model",
    "gemma3": "language_model",
    "llava": "language_model",
    "llava_next": "language_model",
    "mllama": "language_model",
    "paligemma": "language_model",
}


LORA_SCOPES = ("language", "vision", "both", "all")
"""What :func:`lora_target_modules` can adapt: ``"language"`` (the language model's attention
and MLP projections), ``"vision"`` (every linear layer of the vision tower and its
projector/merger), ``"both"`` (the two together, never the output head) and ``"all"`` (every
module named one of ``names``, wherever it is)."""

LORA_PRESETS: dict[str, dict[str, Any]] = {
    "default": {"r": 16, "alpha": 32, "dropout": 0.05, "scope": "language"},
    # EEmo-Logic's stage-1 script: --lora_enable True --vision_lora True, lora rank 64,
    # alpha 64, dropout 0.05, lm_head and embed_tokens excluded; the base weights of the
    # language model, the vision tower and the merger stay frozen (LoRA trains adapters only).
    "eemo-logic": {"r": 64, "alpha": 64, "dropout": 0.05, "scope": "both"},
}
"""Named LoRA settings (``r``, ``alpha``, ``dropout``, ``scope``) for
:func:`eemo_rewards.train.common.lora_config`."""


def lora_preset(name: str) -> dict[str, Any]:
    """The settings of a named LoRA preset (a copy; see :data:`LORA_PRESETS`).

    Examples
    --------
    >>> lora_preset("eemo-logic")
    {'r': 64, 'alpha': 64, 'dropout': 0.05, 'scope': 'both'}
    >>> lora_preset("eemo")
    Traceback (most recent call last):
    ...
    ValueError: unknown LoRA preset 'eemo'; use one of ['default', 'eemo-logic']
    """
    if name not in LORA_PRESETS:
        raise ValueError(f"unknown LoRA preset {name!r}; use one of {sorted(LORA_PRESETS)}")
    return dict(LORA_PRESETS[name])


# output heads and embeddings never get LoRA in the "vision"/"both" scopes
_NOT_VISION = ("lm_head", "embed_tokens")


def lora_target_modules(
    model: Any,
    *,
    scope: str = "language",
    names: Iterable[str] = _LINEAR_NAMES,
) -> str:
    """The LoRA ``target_modules`` regular expression for a model's family.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        The model (its ``config.model_type`` picks where the language model lives).
    scope : {"language", "vision", "both", "all"}
        ``"language"`` (default): the language model's attention and MLP projections (those
        of ``names``). ``"vision"``: every ``nn.Linear`` outside the language model and the
        output head, that is the vision tower's attention and MLP layers and the
        projector/merger that feeds the language model. ``"both"``: the union of the two, as
        in the EEmo-Logic recipe (``lm_head`` and ``embed_tokens`` excluded). ``"all"``: every
        module named one of ``names``, wherever it is.
    names : iterable of str
        Final module names to adapt in the language model (``"language"``, ``"both"``) or
        anywhere (``"all"``).

    Returns
    -------
    str
        A regular expression PEFT matches against full module names.

    Raises
    ------
    ValueError
        For an unknown scope, or when the expression matches no module of ``model`` (an
        unknown family whose language model lives elsewhere, or a model without a vision
        tower): pass ``target_modules`` yourself.

    Examples
    --------
    >>> import tempfile
    >>> from eemo_rewards.train.models import load_model
    >>> tiny = load_model("tiny", cache_dir=tempfile.mkdtemp(), hidden_size=64, vision_dim=32)
    >>> lora_target_modules(tiny.model)
    '.*language_model.*\\\\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)'
    >>> import re
    >>> vision = re.compile(lora_target_modules(tiny.model, scope="vision"))
    >>> sorted({n.split(".")[-1] for n, _ in tiny.model.named_modules() if vision.fullmatch(n)})
    ['0', '2', 'fc1', 'fc2', 'proj', 'qkv']
    """
    if scope not in LORA_SCOPES:
        raise ValueError(f"scope={scope!r}: use one of {list(LORA_SCOPES)}")
    names = tuple(names)
    alternatives = "|".join(re.escape(n) for n in names)
    family = getattr(model.config, "model_type", "")
    if scope == "all":
        pattern = rf".*\.({alternatives})"
    else:
        prefix = LANGUAGE_MODEL_PREFIX.get(family)
        if prefix is None:
            prefix = _guess_language_prefix(model)
        language = rf".*{re.escape(prefix)}.*\.({alternatives})"
        if scope == "language":
            pattern = language
        else:
            vision = _vision_linear_pattern(model, prefix)
            if vision is None:
                raise ValueError(
                    f"this {family or type(model).__name__} model has no linear layer outside "
                    f"its language model ({prefix!r}) and output head: no vision tower to adapt; "
                    "use scope='language'"
                )
            pattern = vision if scope == "vision" else f"(?:{language})|(?:{vision})"
    compiled = re.compile(pattern)
    if not any(compiled.fullmatch(n) for n, _ in model.named_modules()):
        raise ValueError(
            f"no module of this {family or type(model).__name__} model matches {pattern!r}; "
            "pass LoRA target_modules explicitly (see model.named_modules())"
        )
    return pattern


def _vision_linear_pattern(model: Any, language_prefix: str) -> str | None:
    """A regular expression matching exactly the ``nn.Linear`` modules outside the language
    model and the output head/embeddings (the vision tower, its projector or merger).

    Block indices are generalised (``blocks.7.attn.qkv`` matches every block's ``qkv``) so the
    expression stays short on a real-size model; the last component stays literal, so a
    merger's linear ``mlp.0``/``mlp.2`` never match its activation ``mlp.1``."""
    from torch import nn

    parts: dict[str, None] = {}
    for name, module in model.named_modules():
        if not isinstance(module, nn.Linear):
            continue
        components = name.split(".")
        if language_prefix in components or any(c in _NOT_VISION for c in components):
            continue
        generic = [r"\d+" if c.isdigit() else re.escape(c) for c in components[:-1]]
        parts[r"\.".join([*generic, re.escape(components[-1])])] = None
    if not parts:
        return None
    return "(?:" + "|".join(parts) + ")"


def _guess_language_prefix(model: Any) -> str:
    for candidate in ("language_model", "text_model", "llm"):
        if any(candidate in n for n, _ in model.named_modules()):
            return candidate
    raise ValueError(
        f"cannot tell where the language model of {type(model).__name__} lives; pass LoRA "
        "target_modules explicitly or use scope='all'"
    )
