"""One loader for every model: the named offline models, folders this project wrote (run
folders, checkpoints, LoRA adapters merged), and hub ids or local folders."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from eemo_rewards.train.models.bundle import ModelBundle, _find_marker, _offline_env

__all__ = ["load_model"]


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
        from eemo_rewards.train.models.tiny import build_tiny

        return build_tiny(**build_kwargs)
    if name == "smollm2":
        from eemo_rewards.train.models.smollm2 import build_smollm2

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
        from eemo_rewards.train.models.tiny import _tiny_processor

        processor = _tiny_processor(tokenizer, int(info.get("image_size", 84)))
        model = Qwen2VLForConditionalGeneration.from_pretrained(folder, dtype=dtype)
    elif kind == "smollm2":
        from transformers import AutoTokenizer, Idefics3ForConditionalGeneration

        tokenizer = AutoTokenizer.from_pretrained(folder)
        tokenizer.padding_side = "left"
        from eemo_rewards.train.models.smollm2 import _idefics_processor

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
