"""The run folder: one place on disk per training run.

::

    <run>/
      config.json       the trainer arguments, the model and the dataset summary
      spec.json         the reward spec (GRPO)
      eemo_model.json   how to rebuild the processor of every checkpoint below
      metrics.parquet   one row per logged step (TRL's log history), rewritten at every log
      samples.parquet   completions of the last logged GRPO steps with each reward's score
      checkpoint-N/     TRL/transformers checkpoints (weights, optimizer, trainer_state.json)
      final/            the trained model and processor (LoRA merged)

``metrics.parquet`` is rewritten from the trainer's own log history, so after an interrupted
run resumes from ``checkpoint-N`` it holds exactly the history of that checkpoint plus the new
steps: no duplicated or orphaned rows.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["RunFolder", "read_records", "write_records"]

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
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=_jsonable))
        os.replace(tmp, path)
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
