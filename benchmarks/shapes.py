"""Random-initialised models of a real model's shape, for timing training at real size with no
weights to download.

:data:`QWEN25_VL_3B` is Qwen2.5-VL-3B-Instruct's architecture as published in the model's
``config.json`` (Hugging Face Hub repository ``Qwen/Qwen2.5-VL-3B-Instruct``; the Qwen2.5-VL
technical report, Bai et al. 2025, arXiv:2502.13923, Table 1, gives the same vision tower and
language model sizes). The only thing changed is the tokenizer: the project's byte-level BPE,
trained locally on the dataset's text (``eemo_rewards.train.models._train_tokenizer``), whose
few thousand tokens sit at the start of the model's full 151,936-row vocabulary, so that the
embedding and the output layer keep their real size.

:func:`build_shaped` builds the model in bf16 straight on the device (a few seconds for 3.75 B
parameters on a GPU); ``scale`` shrinks every width and depth for a CPU smoke run while
keeping the image geometry and the code path.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["QWEN25_VL_3B", "build_shaped", "shaped_config"]

QWEN25_VL_3B: dict[str, Any] = {
    "text_config": {
        "vocab_size": 151936,
        "hidden_size": 2048,
        "intermediate_size": 11008,
        "num_hidden_layers": 36,
        "num_attention_heads": 16,
        "num_key_value_heads": 2,
        "hidden_act": "silu",
        "max_position_embeddings": 128000,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1_000_000.0,
        "mrope_section": [16, 24, 24],
    },
    "vision_config": {
        "depth": 32,
        "hidden_size": 1280,
        "intermediate_size": 3420,
        "num_heads": 16,
        "in_channels": 3,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [7, 15, 23, 31],
        "out_hidden_size": 2048,
        "tokens_per_second": 2,
        "hidden_act": "silu",
    },
    "tie_word_embeddings": True,
}
"""Qwen2.5-VL-3B-Instruct's published dimensions (see the module docstring for the source)."""

# The shrunk shape of a CPU smoke run: every width and depth small, and the vocabulary (whose
# logits dominate a tiny model's step on a CPU); the image geometry (patch 14, 2x2 merge,
# window 112) as published.
_SMOKE = {
    "text_config": {
        "vocab_size": 8192,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "mrope_section": [2, 3, 3],
    },
    "vision_config": {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "fullatt_block_indexes": [1],
        "out_hidden_size": 64,
    },
}


def shaped_config(tokenizer: Any, *, smoke: bool = False) -> Any:
    """A ``Qwen2_5_VLConfig`` of Qwen2.5-VL-3B's shape whose special token ids are those of
    ``tokenizer`` (the project's Qwen-style tokenizer); ``smoke`` shrinks widths and depths."""
    from transformers import Qwen2_5_VLConfig

    shape = copy.deepcopy(QWEN25_VL_3B)
    if smoke:
        for part in ("text_config", "vision_config"):
            shape[part].update(_SMOKE[part])
    text = shape["text_config"]
    if len(tokenizer) > text["vocab_size"]:
        raise ValueError(
            f"the tokenizer has {len(tokenizer)} tokens, more than the model's vocabulary of "
            f"{text['vocab_size']}"
        )
    special = ("<|endoftext|>", "<|im_end|>", "<|image_pad|>", "<|video_pad|>")
    special += ("<|vision_start|>", "<|vision_end|>")
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in special}
    text["rope_parameters"] = {
        "rope_type": "default",
        "rope_theta": text.pop("rope_theta"),
        "mrope_section": text.pop("mrope_section"),
    }
    text.update(
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
    )
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config=shape["vision_config"],
        tie_word_embeddings=shape["tie_word_embeddings"],
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )


def build_shaped(
    corpus: list[str],
    *,
    image_size: int = 448,
    device: str = "cpu",
    dtype: Any = None,
    smoke: bool = False,
    seed: int = 0,
    vocab_size: int = 2000,
) -> Any:
    """A random-initialised Qwen2.5-VL of 3B shape with the locally trained tokenizer, as a
    ``ModelBundle`` (kind ``"hub"``, family ``"qwen2_5_vl"``, so LoRA is on by default).

    ``image_size`` pins the image processor to about ``image_size²`` pixels: 448 gives
    (448 / 28)² = 256 image tokens per image. ``dtype`` defaults to bf16.
    """
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    from eemo_rewards.train.models import ModelBundle, _tiny_processor, _train_tokenizer

    dtype = torch.bfloat16 if dtype is None else dtype
    tokenizer = _train_tokenizer(corpus, vocab_size)
    processor = _tiny_processor(tokenizer, image_size)
    config = shaped_config(tokenizer, smoke=smoke)
    torch.manual_seed(seed)
    with torch.device(device):
        model = Qwen2_5_VLForConditionalGeneration._from_config(config, dtype=dtype)
    ids = config.text_config
    model.generation_config.eos_token_id = ids.eos_token_id
    model.generation_config.pad_token_id = ids.pad_token_id
    model.generation_config.bos_token_id = ids.bos_token_id
    info = {
        "source": "random-initialised Qwen2.5-VL-3B shape (published config), local tokenizer",
        "image_size": image_size,
        "image_tokens": (image_size // 28) ** 2,
        "smoke": smoke,
    }
    return ModelBundle(model, processor, "hub", "qwen2_5_vl", "", info)
