"""Training layer (extra ``[train]``): model factory, TRL SFT/GRPO runs, evaluation.

Nothing here is imported by ``import eemo_rewards``: this package pulls in torch,
transformers, TRL and PEFT. Import the pieces you need::

    from eemo_rewards.train.models import load_model
    from eemo_rewards.train.grpo import grpo_config, train_grpo
    from eemo_rewards.train.sft import sft_config, train_sft
    from eemo_rewards.train.evaluate import evaluate_model
    from eemo_rewards.train.settings import JobSettings, run_job   # the main job

Submodules are imported lazily so that ``import eemo_rewards.train`` stays cheap.

Examples
--------
>>> import eemo_rewards.train as train
>>> train.JobSettings().model
'tiny'
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "JobSettings",
    "ModelBundle",
    "RunFolder",
    "RunLocked",
    "TrainResult",
    "evaluate_model",
    "grpo_config",
    "load_model",
    "run_job",
    "sft_config",
    "train_grpo",
    "train_sft",
]

_WHERE = {
    "ModelBundle": "models",
    "load_model": "models",
    "RunFolder": "runs",
    "RunLocked": "runs",
    "TrainResult": "stage",
    "grpo_config": "grpo",
    "train_grpo": "grpo",
    "sft_config": "sft",
    "train_sft": "sft",
    "evaluate_model": "evaluate",
    "JobSettings": "pipeline",
    "run_job": "pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        module = importlib.import_module(f"eemo_rewards.train.{_WHERE[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'eemo_rewards.train' has no attribute {name!r}")
