"""What the SFT and GRPO runs share: device defaults, LoRA, dataset and context checks.

Every check here runs before a trainer is built, so a bad setting stops with a message that
says what to change, not minutes into a run or deep inside a collator.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from eemo_rewards.train.models import ModelBundle, lora_preset, lora_target_modules

__all__ = [
    "TrainingSetupError",
    "check_columns",
    "check_context",
    "checkpointing_field",
    "device_defaults",
    "in_processes",
    "lora_config",
    "prompt_length",
    "world_size",
]


class TrainingSetupError(ValueError):
    """A setting or the data cannot work; raised before any training starts."""


def world_size() -> int:
    """Processes in this launch (``accelerate launch`` / ``torchrun`` set ``WORLD_SIZE``)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def checkpointing_field(arguments: Any = None) -> str:
    """The ``TrainingArguments`` field that turns gradient checkpointing on in the installed
    transformers: ``activation_checkpointing`` in recent releases, ``gradient_checkpointing``
    before it was renamed (transformers 5.17, for one, knows only the old name).

    Examples
    --------
    >>> checkpointing_field() in ("activation_checkpointing", "gradient_checkpointing")
    True
    """
    import dataclasses

    if arguments is None:
        from transformers import TrainingArguments as arguments
    names = {f.name for f in dataclasses.fields(arguments)}
    for name in ("activation_checkpointing", "gradient_checkpointing"):
        if name in names:
            return name
    raise TrainingSetupError(
        f"{arguments.__name__} has neither activation_checkpointing nor gradient_checkpointing; "
        "this transformers release is not supported (pyproject.toml lists the supported ones)"
    )


def device_defaults(bundle: ModelBundle | None = None) -> dict[str, Any]:
    """Trainer arguments that depend on the hardware.

    On CPU: float32 (bf16 off: CPU bf16 matmuls are slow and lossy here) and no gradient
    checkpointing (it trades compute for memory that small models do not need). On CUDA:
    bf16 where the device supports it, gradient checkpointing for models larger than tiny
    (under the field name the installed transformers uses, see :func:`checkpointing_field`).

    Examples
    --------
    >>> sorted(set(device_defaults()) - {checkpointing_field()})
    ['bf16', 'use_cpu']
    """
    import torch

    cuda = torch.cuda.is_available()
    small = bundle is not None and bundle.kind == "tiny"
    return {
        "use_cpu": not cuda,
        "bf16": bool(cuda and torch.cuda.is_bf16_supported()),
        checkpointing_field(): bool(cuda and not small),
    }


def lora_config(
    bundle: ModelBundle,
    *,
    preset: str | None = None,
    r: int | None = None,
    alpha: int | None = None,
    dropout: float | None = None,
    scope: str | None = None,
    target_modules: Any = None,
) -> Any:
    """A PEFT ``LoraConfig`` with the family's target preset.

    Parameters
    ----------
    bundle : ModelBundle
        The model to adapt (its family picks the targets).
    preset : str, optional
        A named preset of :data:`eemo_rewards.train.models.LORA_PRESETS`: ``"default"``
        (r 16, alpha 32, dropout 0.05, language model only) when ``None``, or
        ``"eemo-logic"`` (r 64, alpha 64, dropout 0.05, language model and vision tower, as
        EEmo-Logic's stage-1 script). Any other argument given overrides the preset's value.
    r, alpha, dropout : optional
        LoRA rank, scaling and dropout.
    scope : {"language", "vision", "both", "all"}, optional
        What to adapt (see :func:`eemo_rewards.train.models.lora_target_modules`).
    target_modules : optional
        PEFT ``target_modules`` given explicitly (overrides ``scope``).

    Examples
    --------
    >>> import tempfile
    >>> from eemo_rewards.train.models import load_model
    >>> tiny = load_model("tiny", cache_dir=tempfile.mkdtemp(), hidden_size=64, vision_dim=32)
    >>> config = lora_config(tiny, preset="eemo-logic")
    >>> config.r, config.lora_alpha, config.lora_dropout
    (64, 64, 0.05)
    """
    from peft import LoraConfig

    try:
        settings = lora_preset(preset or "default")
    except ValueError as exc:
        raise TrainingSetupError(str(exc)) from exc
    given = {"r": r, "alpha": alpha, "dropout": dropout, "scope": scope}
    settings.update({k: v for k, v in given.items() if v is not None})
    if settings["r"] <= 0:
        raise TrainingSetupError(
            f"LoRA rank r={settings['r']}: use a positive integer (8–64 is usual)"
        )
    try:
        targets = target_modules or lora_target_modules(bundle.model, scope=settings["scope"])
    except ValueError as exc:
        raise TrainingSetupError(f"LoRA targets: {exc}") from exc
    return LoraConfig(
        r=settings["r"],
        lora_alpha=settings["alpha"],
        lora_dropout=settings["dropout"],
        target_modules=targets,
        task_type="CAUSAL_LM",
    )


def check_columns(dataset: Any, required: Sequence[str], *, stage: str) -> None:
    """Raise :class:`TrainingSetupError` naming the missing columns."""
    names = list(getattr(dataset, "column_names", None) or [])
    if not names:
        raise TrainingSetupError(
            f"{stage}: the dataset has no columns; pass a datasets.Dataset, e.g. from "
            "eemo_rewards.data.export.to_trl_dataset"
        )
    if len(dataset) == 0:
        raise TrainingSetupError(f"{stage}: the dataset is empty; build a larger subset")
    missing = [c for c in required if c not in names]
    if missing:
        raise TrainingSetupError(
            f"{stage}: the dataset lacks column(s) {missing} (it has {names}); build it with "
            "eemo_rewards.data.export.to_trl_dataset, which writes them"
        )


def messages_with_images(prompt: Any, images: Any) -> list[dict[str, Any]]:
    """A conversational prompt (or plain text) with its images placed into the image parts,
    as the trainers render it for the chat template."""
    from trl.data_utils import prepare_multimodal_messages

    if isinstance(prompt, str):
        prompt = [{"role": "user", "content": prompt}]
    if images:
        return prepare_multimodal_messages(list(prompt), images=list(images))
    return list(prompt)


def prompt_length(bundle: ModelBundle, prompt: Any, images: Any = None) -> int:
    """Tokens the model sees for one conversational prompt with its images (image tokens
    included), as the trainers render it."""
    messages = messages_with_images(prompt, images)
    processor = bundle.processor
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    if images:
        encoded = processor(text=[text], images=[list(images)], return_tensors="pt")
    else:
        encoded = processor(text=[text], return_tensors="pt")
    return int(encoded["input_ids"].shape[1])


def _image_tokens(bundle: ModelBundle, size: tuple[int, int]) -> int:
    """Tokens one image of ``size`` adds beyond its placeholder in the rendered text."""
    from PIL import Image

    image = Image.new("RGB", size)
    messages = messages_with_images([{"role": "user", "content": "x"}], [image])
    text = bundle.processor.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=False
    )
    with_image = bundle.processor(text=[text], images=[[image]], return_tensors="pt")
    return int(with_image["input_ids"].shape[1]) - len(bundle.tokenizer(text)["input_ids"])


def check_context(
    bundle: ModelBundle,
    dataset: Any,
    *,
    completion_tokens: int,
    stage: str,
    scan: int = 5000,
) -> int:
    """Check that every prompt plus ``completion_tokens`` fits the model's context.

    Each row's rendered text is tokenised and each distinct image size is run through the
    image processor once, so the count (image tokens included) is exact and cheap; at most
    ``scan`` rows are read. Returns the longest prompt in tokens.

    Raises
    ------
    TrainingSetupError
        When prompt + completion exceeds the language model's ``max_position_embeddings``.
    """
    limit = bundle.max_context
    n = min(len(dataset), scan)
    head = dataset.select(range(n)) if n < len(dataset) else dataset
    prompts = head["prompt"]
    images = head["images"] if "images" in head.column_names else [None] * n
    per_size: dict[tuple[int, int], int] = {}
    longest, worst = 0, 0
    for i in range(n):
        row_images = list(images[i] or [])
        messages = messages_with_images(prompts[i], row_images)
        text = bundle.processor.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )
        length = len(bundle.tokenizer(text)["input_ids"])
        for image in row_images:
            size = (int(image.width), int(image.height))
            if size not in per_size:
                per_size[size] = _image_tokens(bundle, size)
            length += per_size[size]
        if length > longest:
            longest, worst = length, i
    if limit is not None and longest + completion_tokens > limit:
        size = ""
        if images[worst]:
            im = images[worst][0]
            size = f" (image {im.width}x{im.height} px)"
        raise TrainingSetupError(
            f"{stage}: row {worst}{size} needs {longest} prompt tokens + {completion_tokens} "
            f"completion tokens = {longest + completion_tokens}, more than the model's context "
            f"of {limit}. Resize the images (smaller image_size in the data layer, or "
            "max_pixels in the image processor), shorten the prompt, or lower the completion "
            "length."
        )
    return longest


def _with_threads(func: Callable[[Any], Any], threads: int, payload: Any) -> Any:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)
    return func(payload)


def in_processes(
    func: Callable[[Any], Any],
    payloads: Sequence[Any],
    *,
    jobs: int | None = None,
    done: Callable[[int, Any], Any] | None = None,
) -> list[Any]:
    """``func(payload)`` for every payload, ``jobs`` at a time in spawned worker processes
    (default one per core; ``jobs=1`` runs here), each with its share of the cores as torch
    threads. Returns the results in payload order; ``done(i, result)`` is called as each
    finishes. ``func`` must be importable (a module-level function)."""
    import concurrent.futures as cf
    import multiprocessing as mp

    jobs = max(1, jobs or os.cpu_count() or 1)
    threads = max(1, (os.cpu_count() or 1) // jobs)
    results: list[Any] = [None] * len(payloads)
    if jobs == 1:
        for i, payload in enumerate(payloads):
            results[i] = _with_threads(func, threads, payload)
            if done is not None:
                done(i, results[i])
        return results
    with cf.ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(_with_threads, func, threads, p): i for i, p in enumerate(payloads)}
        for future in cf.as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            if done is not None:
                done(i, results[i])
    return results
