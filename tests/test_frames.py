"""Tables from rows: every row's keys become columns, wherever in the list they first appear.

``pl.DataFrame(rows)`` infers its columns from the first 100 rows and raised inside the main
job's notebook when the GRPO log history reached 101 entries (the last adds
``train_runtime``). The rule is defined once (:func:`eemo_rewards.data.frames.rows_frame`);
these tests state it as a property over generated rows and keep every other path to it out
of the code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eemo_rewards.analysis.runs import grpo_series, sft_loss
from eemo_rewards.data.frames import rows_frame

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["eemo_rewards", "notebooks", "scripts", "benchmarks"]

_values = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)


@st.composite
def _rows(draw):
    """Up to 250 rows over a few keys, each key's first appearance anywhere (often past row
    100, where inference from the first rows stops), numbers mixing ints and floats."""
    n = draw(st.integers(0, 250))
    keys = draw(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=6, unique=True))
    first = {k: draw(st.integers(0, max(n - 1, 0))) for k in keys}
    rows = []
    for i in range(n):
        row = {}
        for k in keys:
            if i >= first[k] and draw(st.booleans()):
                row[k] = draw(_values)
        rows.append(row)
    return rows


@settings(max_examples=150, deadline=None)
@given(_rows())
def test_every_key_of_every_row_is_a_column_and_no_value_is_lost(rows):
    frame = rows_frame(rows)
    assert frame.height == len(rows)
    present = {k for r in rows for k in r}
    assert set(frame.columns) == present
    for column in present:
        got = frame[column].to_list()
        want = [r.get(column) for r in rows]
        # ints and float32 values are exact in a float64 column
        assert [None if v is None else float(v) for v in got] == [
            None if v is None else float(v) for v in want
        ]


def _trl_log(steps: int) -> list[dict]:
    """A log history shaped like TRL's: one entry per step, then the run summary."""
    logs = [{"step": s, "loss": 0.1, "reward": 0.5, "kl": 0.0} for s in range(1, steps + 1)]
    return [*logs, {"step": steps, "train_runtime": 12.5, "train_loss": 0.1}]


@pytest.mark.parametrize("steps", [5, 99, 100, 250])
def test_a_run_log_of_any_length_reads(steps):
    # the GRPO curves and the SFT loss of a log whose summary comes after the 100th entry
    assert grpo_series(_trl_log(steps))["reward"].height == steps
    assert sft_loss(_trl_log(steps)).height == steps


def _offending_calls(path: Path) -> list[str]:
    """``pl.DataFrame(x)`` / ``pl.from_dicts(x)`` where ``x`` may be rows and the call says
    neither the schema nor to read every row."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in ("DataFrame", "from_dicts") or not node.args:
            continue
        if getattr(node.func.value, "id", None) != "pl":
            continue
        if isinstance(node.args[0], ast.Dict | ast.DictComp):
            continue
        if {k.arg for k in node.keywords} & {"schema", "infer_schema_length"}:
            continue
        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        found.append(f"{where}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_no_frame_is_built_from_rows_but_through_rows_frame():
    offending = [
        call
        for folder in SOURCES
        for path in sorted((ROOT / folder).rglob("*.py"))
        for call in _offending_calls(path)
    ]
    assert not offending, (
        "build frames from rows with eemo_rewards.data.frames.rows_frame (or give the schema): "
        + "; ".join(offending)
    )


def test_the_source_check_sees_a_frame_built_from_rows(tmp_path):
    # the check above can fail: the old way is found, a literal table or a schema is not
    source = tmp_path / "code.py"
    source.write_text(
        "import polars as pl\n"
        "a = pl.DataFrame(rows)\n"
        "b = pl.from_dicts([{'x': 1}])\n"
        "c = pl.DataFrame({'x': [1]})\n"
        "d = pl.DataFrame(rows, infer_schema_length=None)\n"
        "e = pl.DataFrame(rows, schema={'x': pl.Int64})\n"
    )
    assert [c.split(":")[1] for c in _offending_calls(source)] == ["2", "3"]
