"""Answering prompts with images: any model this project loads, batched, greedy.

``backend="transformers"`` loads the model with :func:`eemo_rewards.train.models.load_model`
(``tiny``, ``smollm2``, a run folder, a hub id or a local folder) and generates as the
held-out evaluation does (:func:`eemo_rewards.train.evaluate.generate_completions`).
``backend="vllm"`` hands a hub id or a model folder to vLLM (a CUDA GPU and the ``vllm``
package). ``"auto"`` takes vLLM when both are present and the model is a plain model
folder or hub id (not ``tiny``/``smollm2``, not a LoRA adapter folder), else transformers.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["BACKENDS", "DECODING", "choose_backend", "make_generator"]

BACKENDS = ("auto", "transformers", "vllm")
#: The suite decodes greedily, as the release's scripts do (``model.generate`` defaults).
DECODING = "greedy"

Generator = Callable[[Sequence[str], Sequence[Sequence[Any]]], list[str]]


def _cuda() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - [train] brings torch
        return False
    return bool(torch.cuda.is_available())


def choose_backend(model: str, backend: str = "auto") -> str:
    """The backend that will generate for ``model``."""
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r}; use one of {list(BACKENDS)}")
    has_vllm = importlib.util.find_spec("vllm") is not None
    plain = model not in ("tiny", "smollm2") and not (Path(model) / "adapter_config.json").exists()
    if backend == "vllm":
        if not (has_vllm and _cuda()):
            raise RuntimeError(
                "backend='vllm' needs the vllm package and a CUDA GPU; use "
                "--backend transformers on this machine"
            )
        if not plain:
            raise ValueError(
                f"vLLM cannot load {model!r} (a built-in model or a LoRA adapter folder); use "
                "--backend transformers, or pass a merged model folder"
            )
        return "vllm"
    if backend == "auto" and has_vllm and _cuda() and plain:
        return "vllm"
    return "transformers"


def _transformers(model: str, max_new_tokens: int, batch_size: int) -> Generator:
    from datasets import Dataset

    from eemo_rewards.train.evaluate import generate_completions
    from eemo_rewards.train.models import load_model

    bundle = load_model(model)

    def generate(prompts: Sequence[str], images: Sequence[Sequence[Any]]) -> list[str]:
        rows = Dataset.from_dict(
            {
                "prompt": [[{"role": "user", "content": p}] for p in prompts],
                "images": [list(im) for im in images],
            }
        )
        return generate_completions(
            bundle, rows, max_new_tokens=max_new_tokens, batch_size=batch_size
        )

    return generate


def _data_url(image: Any) -> str:
    """An image as a ``data:`` URL, the one image form every OpenAI-style chat API reads.

    Examples
    --------
    >>> from PIL import Image
    >>> _data_url(Image.new("RGB", (2, 2)))[:22]
    'data:image/png;base64,'
    """
    import base64
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _vllm(model: str, max_new_tokens: int) -> Generator:  # pragma: no cover - needs a GPU
    from vllm import LLM, SamplingParams

    llm = LLM(model=model, limit_mm_per_prompt={"image": 2})
    params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens)

    def generate(prompts: Sequence[str], images: Sequence[Sequence[Any]]) -> list[str]:
        conversations = [
            [
                {
                    "role": "user",
                    "content": [
                        *({"type": "image_url", "image_url": {"url": _data_url(im)}} for im in ims),
                        {"type": "text", "text": p},
                    ],
                }
            ]
            for p, ims in zip(prompts, images, strict=True)
        ]
        outputs = llm.chat(conversations, params, use_tqdm=False)
        return [o.outputs[0].text for o in outputs]

    return generate


def make_generator(
    model: str, *, backend: str = "auto", max_new_tokens: int = 1024, batch_size: int = 8
) -> Generator:
    """``generate(prompts, images) -> answers`` for one model (loaded once)."""
    if choose_backend(model, backend) == "vllm":
        return _vllm(model, max_new_tokens)
    return _transformers(model, max_new_tokens, batch_size)
