"""Batch-level rewards under data parallelism: gather what a reward ranks across processes.

A trainer that runs data-parallel (TRL under accelerate or DeepSpeed, verl and OpenRLHF on
Ray with ``torch.distributed``) calls each reward on every process with that process's share
of the batch. A reward that scores a completion against the *rest of the batch* (the
Thurstone reward ranks each image against the others; the answer watch counts groups that
answer one constant) would then see only its share and score differently with every number
of processes. :func:`gather_rows` all-gathers the rows such a reward reads (parsed scores
and group keys, never completions' tensors), so it scores the whole batch on every process
and returns this process's share: the same scores as one process.

Nothing here imports torch: a process that never imported it is not distributed. Every
process must call :func:`gather_rows` once per batch, whatever its share holds (an empty
list included), or the others wait for it; the rewards that use it call it outside any
early return.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["gather_rows", "process_group", "stable_key"]


def process_group() -> tuple[int, int] | None:
    """``(rank, world size)`` when ``torch.distributed`` runs with more than one process,
    else ``None``.

    Examples
    --------
    >>> process_group() is None  # a plain process
    True
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    dist = getattr(torch, "distributed", None)
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return None
    world = dist.get_world_size()
    if world <= 1:
        return None
    return dist.get_rank(), world


def gather_rows(rows: list[Any]) -> tuple[list[Any], int]:
    """Every process's ``rows`` in rank order, and where this process's rows start.

    Outside a multi-process group this is ``(rows, 0)``. Rows must be picklable plain data
    (numbers, strings, tuples); they travel through ``torch.distributed.all_gather_object``,
    which works over gloo (CPU) and NCCL alike.

    Examples
    --------
    >>> gather_rows([("a", 0.5)])
    ([('a', 0.5)], 0)
    """
    group = process_group()
    if group is None:
        return rows, 0
    import torch.distributed as dist

    rank, world = group
    shares: list[Any] = [None] * world
    dist.all_gather_object(shares, list(rows))
    start = sum(len(shares[r]) for r in range(rank))
    return [row for share in shares for row in share], start


def stable_key(value: Any) -> Any:
    """A hashable key for ``value`` that is the same in every process.

    Strings, numbers and ``None`` are themselves; lists, tuples and dicts are folded
    element by element (a chat prompt of messages); any other object (an image) is its
    type name and a digest of its bytes (``tobytes()``, else its ``repr`` without the memory
    address that differs between processes).

    Examples
    --------
    >>> stable_key([{"role": "user", "content": "which emotion?"}])
    ('l', (('d', (('content', 'which emotion?'), ('role', 'user'))),))
    """
    if value is None or isinstance(value, str | int | float | bool | bytes):
        return value
    if isinstance(value, list | tuple):
        return ("l", tuple(stable_key(v) for v in value))
    if isinstance(value, dict):
        return ("d", tuple(sorted((str(k), stable_key(v)) for k, v in value.items())))
    import hashlib

    to_bytes = getattr(value, "tobytes", None)
    if callable(to_bytes):
        try:
            data = to_bytes()
        except Exception:  # an object whose tobytes needs arguments
            data = None
        if isinstance(data, bytes):
            size = getattr(value, "size", None)
            return ("o", type(value).__name__, repr(size), hashlib.sha1(data).hexdigest())
    text = repr(value)
    if " at 0x" in text:  # the default repr names a memory address: not shared
        text = text.split(" at 0x")[0]
    return ("o", type(value).__name__, text)
