"""The data layer (extra ``[data]``): canonical records, readers, QA generation, subsets, export.

Not imported by ``import eemo_rewards`` (it needs polars, pillow and, for export, datasets).
The main entry points are importable from here; submodules load on first use::

    from eemo_rewards.data import generate_builtin, generate_qa, build_subset, to_trl_dataset

    records = generate_builtin(n_images=2000)           # canonical image records + PNGs
    qa = generate_qa(records, seed=0)                   # every task category, checked
    subset = build_subset(qa, cap_per_class=500)        # filters, caps, manifest
    dataset = to_trl_dataset(subset.frame)              # TRL SFT / GRPO, rewards' columns
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "QA_SCHEMA",
    "RECORD_SCHEMA",
    "Subset",
    "build_subset",
    "check_qa",
    "generate_builtin",
    "generate_qa",
    "split_by_image",
    "to_easyr1_parquet",
    "to_hf_dataset",
    "to_openrlhf_jsonl",
    "to_parquet",
    "to_swift_jsonl",
    "to_trl_dataset",
    "to_verl_parquet",
    "validate_records",
    "write_qa",
]

_WHERE = {
    "QA_SCHEMA": "schema",
    "RECORD_SCHEMA": "schema",
    "validate_records": "schema",
    "generate_builtin": "builtin",
    "generate_qa": "qa",
    "check_qa": "qa",
    "write_qa": "qa",
    "Subset": "subset",
    "build_subset": "subset",
    "split_by_image": "subset",
    "to_easyr1_parquet": "export",
    "to_hf_dataset": "export",
    "to_openrlhf_jsonl": "export",
    "to_parquet": "export",
    "to_swift_jsonl": "export",
    "to_trl_dataset": "export",
    "to_verl_parquet": "export",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        module = importlib.import_module(f"eemo_rewards.data.{_WHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'eemo_rewards.data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
