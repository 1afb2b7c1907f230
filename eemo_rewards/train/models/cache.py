"""The on-disk model cache: a built model is saved once, whole, and every later call (and
every process of a launch) loads that copy, so runs of the same settings start from the same
weights.

One mechanism for "the local main process fills a cache, the others wait": accelerate's
``PartialState().local_main_process_first()``, used here and by the pipeline's data cache.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from eemo_rewards.train.models.bundle import MARKER_FILE, ModelBundle, save_bundle

__all__ = ["cached_build", "local_main_process_first"]


def local_main_process_first() -> contextlib.AbstractContextManager:
    """Under ``accelerate launch`` / ``torchrun`` (``WORLD_SIZE`` > 1), run the block in the
    local main process first and in the others after it (they then find its cache); a no-op
    in a single process. Every process of the launch must enter it."""
    from eemo_rewards.train.common import world_size

    if world_size() <= 1:
        return contextlib.nullcontext()
    from accelerate import PartialState

    return PartialState().local_main_process_first()


def cached_build(folder: Path, build: Callable[[], ModelBundle]) -> ModelBundle:
    """The model cached in ``folder``, built by ``build()`` and saved there first when it is
    not there yet. Under a launcher only the local main process builds (a non-main process's
    ``save_pretrained`` may write no weights at all in a distributed run, so its build must
    never be the one kept); the others load its copy."""
    from eemo_rewards.train.models.load import load_model

    with local_main_process_first():
        if not (folder / MARKER_FILE).exists():
            _save_cached(build(), folder)
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
