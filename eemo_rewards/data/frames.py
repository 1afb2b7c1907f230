"""Tables built from rows: the one place that turns a list of dicts into a polars frame.

``pl.DataFrame(rows)`` infers the columns from the first 100 rows only and raises on a key
that first appears later ("extra key in dict 100"), or takes a column's type from its early
values: a trainer's log history (whose last entry adds ``train_runtime``), a study's rows, a
report's metrics all grow keys as they go. :func:`rows_frame` reads every row, so a key that
appears once anywhere becomes a column (null elsewhere) and a column that holds ints and
floats is a float column. ``tests/test_frames.py`` keeps the package, notebooks, scripts and
benchmarks from building a frame from rows any other way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl


def rows_frame(
    rows: Iterable[Mapping[str, Any]],
    *,
    schema_overrides: Mapping[str, Any] | None = None,
    empty: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """One row per mapping, with the columns of every key that any row has.

    Parameters
    ----------
    rows : iterable of mappings
        The rows; a key missing from a row is null there.
    schema_overrides : mapping, optional
        Column types to use instead of the inferred ones.
    empty : mapping, optional
        The schema of the frame returned when there are no rows (default: no columns).

    Examples
    --------
    >>> logs = [{"step": i, "loss": 1.0} for i in range(1, 101)]
    >>> frame = rows_frame([*logs, {"step": 100, "train_runtime": 3.5}])
    >>> frame.columns, frame.height
    (['step', 'loss', 'train_runtime'], 101)
    >>> rows_frame([{"x": 1}, {"x": 2.5}])["x"].to_list()
    [1.0, 2.5]
    >>> rows_frame([], empty={"step": pl.Int64}).schema
    Schema([('step', Int64)])
    """
    rows = [dict(r) for r in rows]
    if not rows:
        return pl.DataFrame(schema=dict(empty or {}))
    return pl.DataFrame(rows, infer_schema_length=None, schema_overrides=schema_overrides)
