"""The on-disk model cache: a built model is saved once, whole, and every later call (and
every process of a launch) loads that copy, so runs of the same settings start from the same
weights. Under a launcher the local main process builds and the others wait for its copy
(:mod:`eemo_rewards._launch`, the mechanism every cache of the project uses).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from eemo_rewards._launch import is_local_main_process, wait_until
from eemo_rewards.train.models.bundle import MARKER_FILE, ModelBundle, save_bundle

__all__ = ["cached_build"]


def cached_build(
    folder: Path, build: Callable[[], ModelBundle], *, timeout_s: float = 900.0
) -> ModelBundle:
    """The model cached in ``folder``, built by ``build()`` and saved there first when it is
    not there yet. Under a launcher only the local main process builds (a non-main process's
    ``save_pretrained`` writes no weights at all in a distributed run, so its build must
    never be the one kept); the others wait for the main one's copy to appear."""
    from eemo_rewards.train.models.load import load_model

    marker = folder / MARKER_FILE
    if not marker.exists():
        if is_local_main_process():
            _save_cached(build(), folder)
        else:
            wait_until(marker.exists, what=f"the cached model {folder}", timeout_s=timeout_s)
    return load_model(folder)


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
