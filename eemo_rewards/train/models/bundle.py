"""What the model factory hands out (:class:`ModelBundle`), where it caches, and the marker
file that says how to rebuild a saved model's processor."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "MARKER_FILE",
    "TAG_TOKENS",
    "ModelBundle",
    "default_cache_dir",
    "save_bundle",
    "write_marker",
]


MARKER_FILE = "eemo_model.json"
"""A small JSON file beside the weights saying how to rebuild the processor."""

TAG_TOKENS = ("<think>", "</think>", "<answer>", "</answer>")


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
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file() and (checkout / "eemo_rewards").is_dir():
        return checkout / "data" / "generated" / "models"
    return Path.cwd() / "data" / "generated" / "models"


def _offline_env() -> None:
    # Nothing in the factory may reach a hub; hub ids must already be on disk.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


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
