"""Who fills an on-disk cache when a launcher (``torchrun``, ``accelerate launch``) starts
several processes on one machine: the local main process builds, the others wait until the
cache's completion marker appears, then read what it wrote.

One mechanism for every cache of the project (the built-in images, the cached models), and
one that needs no process group: accelerate's ``PartialState().local_main_process_first()``
is a silent no-op on a CPU machine under plain ``torchrun`` (its distributed type stays
``NO``, so every process thinks it is the main one), which let two processes build the same
cache at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

__all__ = ["is_local_main_process", "wait_until"]


def is_local_main_process() -> bool:
    """True outside a launcher, and in the process of local rank 0 under one.

    Examples
    --------
    >>> import os
    >>> "LOCAL_RANK" in os.environ or is_local_main_process()
    True
    """
    return int(os.environ.get("LOCAL_RANK", "0") or 0) == 0


def wait_until(done: Callable[[], bool], *, what: str, timeout_s: float = 900.0) -> None:
    """Poll ``done()`` until it is true; after ``timeout_s`` raise a :class:`TimeoutError`
    that says what was awaited and what to do."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"waited {timeout_s:.0f} s for the local main process to write {what}; "
                "build it once in a single process first, then launch again"
            )
        time.sleep(0.2)
