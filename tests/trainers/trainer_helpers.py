"""Helpers for the trainer tests (a tiny local tokenizer and VLM processor, a live reward
server)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
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


@contextmanager
def reward_server(spec: str = "default"):
    """``python -m eemo_rewards.serve --spec SPEC`` on a free localhost port, in this
    environment's Python; yields its base URL and stops it afterwards. Skips without
    FastAPI/uvicorn (the ``[serve]`` extra; scripts/trainer_envs/common.txt installs them)."""
    import pytest

    pytest.importorskip("fastapi", reason="the reward server needs the [serve] extra")
    pytest.importorskip("uvicorn", reason="the reward server needs the [serve] extra")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    command = [sys.executable, "-m", "eemo_rewards.serve", "--spec", spec, "--port", str(port)]
    process = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the reward server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)
