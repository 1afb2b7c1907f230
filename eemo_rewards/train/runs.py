"""The run folder: one place on disk per training run.

::

    <run>/
      config.json       the trainer arguments, the model and the dataset summary
      spec.json         the reward spec (GRPO)
      eemo_model.json   how to rebuild the processor of every checkpoint below
      metrics.parquet   one row per logged step (TRL's log history), rewritten at every log
      samples.parquet   completions of the last logged GRPO steps with each reward's score
      checkpoint-N/     TRL/transformers checkpoints (weights, optimizer, scheduler, RNG,
                        trainer_state.json), each written under a staging name and moved in
                        whole, so a killed process never leaves a half checkpoint
      final/            the trained model and processor (LoRA merged), moved in whole too
      finished.json     written last: the step ``final/`` holds and the checkpoint it came
                        from (never rotated away while it is the finished state)
      .lock             while a process trains here: its pid, host, start time and command

``metrics.parquet`` is rewritten from the trainer's own log history, so after an interrupted
run resumes from ``checkpoint-N`` it holds exactly the history of that checkpoint plus the new
steps: no duplicated or orphaned rows.

Every file is written under a temporary name and moved into place (``os.replace``), so a
reader, or a process resuming after a ``SIGKILL``, sees either the old file or the new one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import socket
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "RunFolder",
    "RunLocked",
    "atomic_write_text",
    "discard_untrained",
    "lock_holder",
    "read_records",
    "replace_dir",
    "run_lock",
    "write_records",
]

_CHECKPOINT = re.compile(r"checkpoint-(\d+)")


class RunFolder:
    """Paths and readers of one run folder (see the module docstring for the layout).

    Examples
    --------
    >>> import tempfile
    >>> run = RunFolder(tempfile.mkdtemp())
    >>> run.latest_checkpoint() is None
    True
    >>> run.write_metrics([{"step": 1, "loss": 0.5}, {"step": 2, "loss": 0.25, "reward": 1.0}])
    >>> [r["loss"] for r in run.read_metrics()]
    [0.5, 0.25]
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def spec_path(self) -> Path:
        return self.path / "spec.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.parquet"

    @property
    def samples_path(self) -> Path:
        return self.path / "samples.parquet"

    @property
    def final_dir(self) -> Path:
        return self.path / "final"

    @property
    def finished_path(self) -> Path:
        return self.path / "finished.json"

    def finished(self) -> dict[str, Any] | None:
        """The record a finished stage leaves (``global_step``, ``checkpoint``), or ``None``
        while the stage has not finished (or its ``final/`` is missing)."""
        if not self.finished_path.exists() or not (self.final_dir / "config.json").exists():
            return None
        return json.loads(self.finished_path.read_text())

    def ensure(self) -> RunFolder:
        self.path.mkdir(parents=True, exist_ok=True)
        return self

    def checkpoints(self) -> list[Path]:
        """Checkpoint folders, oldest (lowest step) first."""
        if not self.path.is_dir():
            return []
        found = []
        for child in self.path.iterdir():
            match = _CHECKPOINT.fullmatch(child.name)
            if match and child.is_dir() and (child / "trainer_state.json").exists():
                found.append((int(match.group(1)), child))
        return [p for _, p in sorted(found)]

    def latest_checkpoint(self) -> Path | None:
        """The checkpoint with the highest step, or ``None``."""
        checkpoints = self.checkpoints()
        return checkpoints[-1] if checkpoints else None

    def write_json(self, name: str, data: Mapping[str, Any]) -> Path:
        self.ensure()
        path = self.path / name
        # atomic: under accelerate launch every process writes the same file
        atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True, default=_jsonable))
        return path

    def read_json(self, name: str) -> dict[str, Any]:
        path = self.path / name
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist; is {self.path} a run folder?")
        return json.loads(path.read_text())

    def write_metrics(self, records: Iterable[Mapping[str, Any]]) -> None:
        self.ensure()
        write_records(self.metrics_path, records)

    def read_metrics(self) -> list[dict[str, Any]]:
        """The logged steps (``[]`` before the first log)."""
        if not self.metrics_path.exists():
            return []
        return read_records(self.metrics_path)

    def read_samples(self) -> list[dict[str, Any]]:
        if not self.samples_path.exists():
            return []
        return read_records(self.samples_path)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


def _cell(value: Any) -> Any:
    # parquet columns need one type: numbers stay numbers (NaN/inf become null, which polars
    # and pandas read as missing), everything else becomes text
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item") and callable(value.item):
        try:
            return _cell(value.item())
        except (ValueError, TypeError):
            pass
    return json.dumps(value, default=repr)


def write_records(path: str | os.PathLike, records: Iterable[Mapping[str, Any]]) -> None:
    """Write dicts with possibly different keys as one parquet table (missing → null).

    The file is replaced atomically, so a reader never sees a half-written table.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{k: _cell(v) for k, v in r.items()} for r in records]
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    data = {}
    for name in columns:
        values = [row.get(name) for row in rows]
        kinds = {type(v) for v in values if v is not None}
        if kinds and kinds <= {int, float} and kinds != {int}:
            values = [None if v is None else float(v) for v in values]
        elif len(kinds) > 1:
            values = [None if v is None else str(v) for v in values]
        data[name] = values
    table = pa.table(data) if data else pa.table({"step": pa.array([], pa.int64())})
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def read_records(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read a parquet table written by :func:`write_records` back as dicts (nulls dropped)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return [{k: v for k, v in row.items() if v is not None} for row in table.to_pylist()]


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then move it in
    place: a reader (or a process killed half-way) never sees a partial file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def replace_dir(staged: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Move a completely written folder ``staged`` to ``target``, replacing an old one.

    The old folder is first renamed aside, so at every instant ``target`` is either the whole
    old folder or the whole new one (never a mix); the old one is deleted last.
    """
    staged, target = Path(staged), Path(target)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(target, old)
    os.replace(staged, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target


class RunLocked(RuntimeError):
    """Another live process is training in this run folder."""


def _lock_info() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join(sys.argv)[:500],
    }


def _is_main_rank() -> bool:
    # under accelerate launch / torchrun the processes of one job share the folder: only the
    # global main process holds the lock (the others follow it through the trainer's barriers)
    return int(os.environ.get("RANK", "0") or 0) == 0


def _holder_text(folder: Path, holder: Mapping[str, Any], what: str) -> str:
    return (
        f"{folder} is locked by process {holder.get('pid', '?')} on "
        f"{holder.get('host', '?')} ({what} since {holder.get('since', '?')}: "
        f"{holder.get('command', '?')})"
    )


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        return json.loads(os.pread(fd, 65536, 0) or b"{}")
    except ValueError:
        return {}


def lock_holder(folder: str | os.PathLike) -> dict[str, Any] | None:
    """Who holds ``<folder>/.lock`` now (pid, host, since, command), or ``None`` when no live
    process does. Looks without taking the lock for longer than the look.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> lock_holder(folder) is None
    True
    >>> with run_lock(folder) as info:
    ...     lock_holder(folder)["pid"] == info["pid"]
    True
    """
    import fcntl

    path = Path(folder) / ".lock"
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fd) or {"pid": "?"}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


@contextlib.contextmanager
def run_lock(
    folder: str | os.PathLike,
    *,
    what: str = "training",
    wait: float = 0.0,
    on_wait: Callable[[str], Any] | None = None,
    poll: float = 1.0,
    report_every: float = 30.0,
):
    """Hold ``<folder>/.lock`` while training there; wait for, or refuse, another holder.

    The lock is an exclusive ``flock`` on the file: of two processes that start at once
    exactly one gets it. The other waits up to ``wait`` seconds (``math.inf``: until the
    holder is done), calling ``on_wait(line)`` at once and every ``report_every`` seconds
    with a line naming the holder (pid, host, start time, command; the holder writes them
    into the file); then, or at once when ``wait`` is 0, it gets :class:`RunLocked` naming
    the holder. The operating system drops the lock when its process ends in any way,
    ``SIGKILL`` included, so a lock left by a dead process is stale by construction and the
    next process simply takes it: no pid guessing, no race between two processes taking it
    over. (On a network filesystem without ``flock`` support the lock may not hold across
    machines.)

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with run_lock(folder):
    ...     with run_lock(folder, wait=0.2, poll=0.05, on_wait=lambda line: print("wait")):
    ...         pass
    Traceback (most recent call last):
    ...
    eemo_rewards.train.runs.RunLocked: ... is locked by process ...
    """
    import fcntl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not _is_main_rank():
        yield None
        return
    path = folder / ".lock"
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    start = time.monotonic()
    told = -math.inf
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            holder = _read_holder(fd)
            waited = time.monotonic() - start
            if waited >= wait:
                os.close(fd)
                raise RunLocked(
                    _holder_text(folder, holder, what)
                    + (f"; waited {waited:.0f} s" if wait else "")
                    + ". Two processes cannot train into one run folder: wait for that one "
                    "to finish (or stop it), or choose another run name."
                ) from None
            if on_wait is not None and waited - told >= report_every:
                told = waited
                limit = "until it finishes" if math.isinf(wait) else f"up to {wait:.0f} s"
                on_wait(
                    f"waiting {limit} ({waited:.0f} s so far): "
                    + _holder_text(folder, holder, what)
                )
            time.sleep(min(poll, max(wait - waited, 0.0)))
    info = _lock_info()
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield info
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # the file stays (deleting it would race a waiting opener)
        os.close(fd)  # closing drops the flock


#: what in a run folder is trained state worth keeping after a failed start
_TRAINED = ("checkpoint-*", "final", "finished.json", "eval.json")


def discard_untrained(folder: str | os.PathLike) -> bool:
    """Remove ``folder`` when nothing trained lives in it (no checkpoint, ``final/``,
    ``finished.json`` or evaluation, at any depth): what a failed start leaves behind
    (``settings.json``, ``.lock``, an empty stage folder). Returns whether it was removed.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "run"
    >>> (folder / "grpo").mkdir(parents=True)
    >>> _ = (folder / "settings.json").write_text("{}")
    >>> discard_untrained(folder), folder.exists()
    (True, False)
    >>> (folder / "grpo" / "checkpoint-2").mkdir(parents=True)
    >>> discard_untrained(folder), folder.exists()
    (False, True)
    """
    folder = Path(folder)
    if not folder.is_dir():
        return False
    if any(next(folder.rglob(pattern), None) is not None for pattern in _TRAINED):
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True
