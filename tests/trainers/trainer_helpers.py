"""Helpers for the trainer tests (a tiny local tokenizer and VLM processor)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TAGS = ("<think>", "</think>", "<answer>", "</answer>")
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for part in m['content'] %}{% if part['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif part['type'] == 'text' %}"
    "{{ part['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)


def venv_hint(trainer: str) -> str:
    return (
        f"needs the {trainer} environment: bash scripts/trainer_envs.sh {trainer}, then "
        f".venvs/{trainer}/bin/python -m pytest -m trainers tests/trainers/test_{trainer}.py"
    )


def train_tokenizer(texts, *, special_tags: bool = False):
    """A byte-level BPE tokenizer trained here on ``texts``, with a ChatML template; the
    answer-scheme tags are ordinary added tokens, or special ones with ``special_tags``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=list(SPECIAL),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=CHAT_TEMPLATE,
    )
    tokenizer.image_token = "<|image_pad|>"
    if special_tags:
        tokenizer.add_special_tokens({"additional_special_tokens": list(TAGS)})
    else:
        tokenizer.add_tokens(list(TAGS))
    return tokenizer


def make_processor(tokenizer, image_size: int = 56):
    """A Qwen2-VL processor over ``tokenizer`` that expands each ``<|image_pad|>`` into one
    token per merged patch ((56 / 28)² = 4 here), as the real one does. Its video processor
    is left out (it needs torchvision): ProcessorMixin reads the sub-processors from
    ``__init__``'s signature."""
    from transformers import Qwen2VLImageProcessorPil, Qwen2VLProcessor
    from transformers.processing_utils import ProcessorMixin

    class ImageOnlyQwen2VLProcessor(Qwen2VLProcessor):
        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
            self.image_token, self.video_token = "<|image_pad|>", "<|video_pad|>"
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
            ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)

    pixels = image_size * image_size
    image_processor = Qwen2VLImageProcessorPil(
        min_pixels=int(pixels * 0.9), max_pixels=int(pixels * 1.1)
    )
    return ImageOnlyQwen2VLProcessor(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=CHAT_TEMPLATE
    )


def corpus(rows) -> list[str]:
    return [r["question"] for r in rows] + [r["completion"] for r in rows] * 2


def python_is_in(venv: str) -> bool:
    return str(ROOT / ".venvs" / venv) in sys.prefix
