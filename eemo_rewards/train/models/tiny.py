"""The ``tiny`` model: a random-initialised Qwen2-VL with a byte-level BPE tokenizer trained
locally on the dataset's own text, built offline in a second or two and cached."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from eemo_rewards.train.models.bundle import (
    TAG_TOKENS,
    ModelBundle,
    _offline_env,
    default_cache_dir,
)
from eemo_rewards.train.models.cache import cached_build

__all__ = ["build_tiny"]


_QWEN_SPECIAL = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

# ChatML with image parts; handles both str content and lists of typed parts.
_QWEN_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


# Words the built-in data and EEmo-style prompts use, so that the tiny tokenizer learns them as
# whole tokens even when no dataset text is given.
_BASE_CORPUS = (
    "What emotion does this image evoke? Which emotion is the strongest? Is the image positive? "
    "Does the first image evoke more fear than the second image? Rate the valence arousal "
    "dominance of the image on a scale from 0 to 1. Rank the top three emotions from strongest "
    "to weakest. Answer with the option letter. Options: A. B. C. D. yes no first second same "
    "joy anger disgust sadness surprise fear neutral amusement awe contentment excitement "
    "happy calm angry sad excited furious anxious gloomy warm cool bright dark smile frown "
    "spiky round colourful dull high low moderate positive negative the image shows a face "
    "valence: 0.73, arousal: 0.41, dominance: 0.55 <think> </think> <answer> </answer> "
    "a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9 . , : ; ? ! ' \" "
)


def _tiny_processor_class() -> type:
    from transformers import Qwen2VLProcessor
    from transformers.processing_utils import ProcessorMixin

    class TinyQwen2VLProcessor(Qwen2VLProcessor):
        """Qwen2VLProcessor without its video processor (which needs torchvision).

        ProcessorMixin derives its sub-processors from the ``__init__`` signature, so dropping
        ``video_processor`` from it is enough.
        """

        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
            self.image_token = "<|image_pad|>"
            self.video_token = "<|video_pad|>"
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
            ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)

    return TinyQwen2VLProcessor


_TINY_PROCESSOR: type | None = None


def _tiny_processor(tokenizer: Any, image_size: int) -> Any:
    global _TINY_PROCESSOR
    from transformers import Qwen2VLImageProcessorPil

    if _TINY_PROCESSOR is None:
        _TINY_PROCESSOR = _tiny_processor_class()
    # A narrow pixel band around image_size²: every square image is resized to image_size
    # (rounded to 28 px), so the number of image tokens is fixed ((image_size / 28)² after
    # the 2x2 merge). The ±10 % keeps the resize's floor/ceil rounding from landing one
    # 28-px step off on float error.
    pixels = image_size * image_size
    image_processor = Qwen2VLImageProcessorPil(
        min_pixels=int(pixels * 0.9), max_pixels=int(pixels * 1.1)
    )
    return _TINY_PROCESSOR(
        image_processor=image_processor, tokenizer=tokenizer, chat_template=_QWEN_TEMPLATE
    )


def _train_tokenizer(corpus: Iterable[str], vocab_size: int) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    texts = [_BASE_CORPUS] * 20 + [str(t) for t in corpus]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(_QWEN_SPECIAL),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=_QWEN_TEMPLATE,
        padding_side="left",
    )
    # Plain added tokens (not special): they survive skip_special_tokens when decoding, so the
    # rewards see the tags.
    tokenizer.add_tokens(list(TAG_TOKENS))
    return tokenizer


def _corpus_digest(corpus: list[str]) -> str:
    h = hashlib.sha256()
    for text in corpus:
        h.update(text.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()[:12]


def build_tiny(
    *,
    corpus: Iterable[str] | None = None,
    hidden_size: int = 128,
    num_layers: int = 2,
    vision_dim: int = 64,
    vision_layers: int = 2,
    image_size: int = 84,
    vocab_size: int = 600,
    max_context: int = 1024,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
) -> ModelBundle:
    """Build (or load from the cache) the tiny random-initialised Qwen2-VL.

    Parameters
    ----------
    corpus : iterable of str, optional
        Texts to train the tokenizer on (the dataset's questions and answers): their words
        become single tokens, which keeps sequences short. A base corpus of emotion and task
        words is always included.
    hidden_size, num_layers : int
        Text model width (a multiple of 8; 4 attention heads) and depth.
    vision_dim, vision_layers : int
        Vision tower width and depth.
    image_size : int
        Images are resized to about ``image_size²`` pixels; a multiple of 28 gives
        ``(image_size / 28)²`` image tokens (84 → 9).
    vocab_size : int
        BPE vocabulary size (special and tag tokens included).
    max_context : int
        ``max_position_embeddings`` of the text model.
    seed : int
        Seeds the random initialisation.
    cache_dir : path, optional
        Defaults to :func:`default_cache_dir`. The folder name hashes every setting and the
        corpus, so different settings never collide.

    Returns
    -------
    ModelBundle

    Examples
    --------
    >>> import tempfile
    >>> bundle = build_tiny(cache_dir=tempfile.mkdtemp(), hidden_size=64, vision_dim=32)
    >>> bundle.kind, bundle.family, bundle.info["image_tokens"]
    ('tiny', 'qwen2_vl', 9)
    >>> bundle.tokenizer.convert_ids_to_tokens(bundle.tokenizer("<answer>").input_ids)
    ['<answer>']
    """
    _offline_env()
    if hidden_size % 8 or hidden_size < 16:
        raise ValueError(
            f"hidden_size={hidden_size}: use a multiple of 8 of at least 16 (4 heads, rotary "
            "sections split the head size)"
        )
    if image_size < 28:
        raise ValueError(
            f"image_size={image_size}: use at least 28 (one 2x2 block of 14-px patches)"
        )
    corpus_list = [str(t) for t in corpus] if corpus is not None else []
    settings = {
        "hidden_size": hidden_size,
        "num_layers": num_layers,
        "vision_dim": vision_dim,
        "vision_layers": vision_layers,
        "image_size": image_size,
        "vocab_size": vocab_size,
        "max_context": max_context,
        "seed": seed,
        "corpus": _corpus_digest(corpus_list),
        "format": 1,
    }
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder = folder / f"tiny-{key}"

    def build() -> ModelBundle:

        import torch
        from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

        tokenizer = _train_tokenizer(corpus_list, vocab_size)
        processor = _tiny_processor(tokenizer, image_size)
        ids = {t: tokenizer.convert_tokens_to_ids(t) for t in _QWEN_SPECIAL}
        heads = 4
        half = hidden_size // heads // 2
        # the three rotary sections (time, height, width) must sum to half the head size
        first = half // 4
        second = (half - first) // 2
        mrope = [first, second, half - first - second]
        config = Qwen2VLConfig(
            text_config={
                "vocab_size": len(tokenizer),
                "hidden_size": hidden_size,
                "intermediate_size": 2 * hidden_size,
                "num_hidden_layers": num_layers,
                "num_attention_heads": heads,
                "num_key_value_heads": 2,
                "max_position_embeddings": max_context,
                "rope_parameters": {
                    "rope_type": "default",
                    "rope_theta": 10000.0,
                    "mrope_section": mrope,
                },
                "bos_token_id": ids["<|endoftext|>"],
                "eos_token_id": ids["<|im_end|>"],
                "pad_token_id": ids["<|endoftext|>"],
            },
            vision_config={
                "depth": vision_layers,
                "embed_dim": vision_dim,
                "hidden_size": hidden_size,  # the merger's output feeds the text model
                "num_heads": 4 if vision_dim % 4 == 0 else 2,
                "mlp_ratio": 2,
            },
            image_token_id=ids["<|image_pad|>"],
            video_token_id=ids["<|video_pad|>"],
            vision_start_token_id=ids["<|vision_start|>"],
            vision_end_token_id=ids["<|vision_end|>"],
        )
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model = Qwen2VLForConditionalGeneration(config)
        model.generation_config.eos_token_id = ids["<|im_end|>"]
        model.generation_config.pad_token_id = ids["<|endoftext|>"]
        model.generation_config.bos_token_id = ids["<|endoftext|>"]
        info = {
            "source": "random-initialised Qwen2-VL, tokenizer trained locally",
            "settings": settings,
            "image_size": image_size,
            "image_tokens": (image_size // 28) ** 2,
        }
        bundle = ModelBundle(model, processor, "tiny", "qwen2_vl", str(folder), info)
        return bundle

    return cached_build(folder, build)
