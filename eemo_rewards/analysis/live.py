"""Live training curves for a notebook cell: SFT loss and GRPO reward as faint raw points
under a rolling mean, with a per-stage rate and ETA.

:class:`LiveCurves` is fed by the ``live`` callback of
:func:`eemo_rewards.train.pipeline.run_job` (``live(stage, step, total, logs)``); it says
when to redraw (every few steps, and at a stage's last step) so that the cell is not
re-rendered on every step. Needs polars and altair for :meth:`LiveCurves.chart`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["LIVE_SERIES", "LiveCurves"]

#: The logged value drawn for each stage.
LIVE_SERIES = {"sft": "loss", "grpo": "reward"}


class LiveCurves:
    """Points logged so far, per stage, and each stage's timing.

    Parameters
    ----------
    every : int
        Redraw after this many steps of a stage (and always at its first and last step).
    window : int
        Steps in the rolling mean.
    clock : callable
        Seconds now (``time.perf_counter``; a test passes a fake one).

    Examples
    --------
    >>> ticks = iter(range(100))
    >>> live = LiveCurves(every=2, clock=lambda: float(next(ticks)))
    >>> [live.record("sft", s, 4, {"loss": 2.0 / (s or 1)}) for s in range(5)]
    [True, False, True, False, True]
    >>> live.eta("sft")
    0.0
    >>> live.points["sft"][-1]
    (4, 0.5)
    """

    def __init__(
        self, every: int = 5, window: int = 5, clock: Callable[[], float] = time.perf_counter
    ):
        if every < 1 or window < 1:
            raise ValueError(f"every={every}, window={window}; both must be at least 1")
        self.every, self.window, self.clock = every, window, clock
        self.points: dict[str, list[tuple[int, float]]] = {}
        self.steps: dict[str, tuple[int, int]] = {}  # stage -> (step, total)
        self._start: dict[str, tuple[float, int]] = {}  # stage -> (time, step) at first call
        self._now: dict[str, float] = {}
        self._drawn: dict[str, int] = {}
        self._logged: dict[str, Any] = {}
        #: (task, text) of the newest scored GRPO completion, when the logs carry one
        self.sample: tuple[Any, str] | None = None

    def record(self, stage: str, step: int, total: int, logs: Mapping[str, Any]) -> bool:
        """Take one callback; ``True`` when the view should be redrawn now."""
        now = self.clock()
        self._start.setdefault(stage, (now, step))
        self._now[stage] = now
        self.steps[stage] = (step, total)
        key = LIVE_SERIES.get(stage)
        value = logs.get(key) if key else None
        if logs.get("sample_completion") is not None:
            self.sample = (logs.get("sample_task"), str(logs["sample_completion"]))
        # a log dict is repeated until the next log: keep one point per logged step
        logged = {k: v for k, v in logs.items() if not str(k).startswith("sample_")}
        if isinstance(value, int | float) and logged != self._logged.get(stage):
            self._logged[stage] = logged
            series = self.points.setdefault(stage, [])
            if not series or series[-1][0] != step:
                series.append((step, float(value)))
        first = stage not in self._drawn
        due = step - self._drawn.get(stage, 0) >= self.every or step == total or first
        if due:
            self._drawn[stage] = step
        return due

    def seconds_per_step(self, stage: str) -> float | None:
        """This stage's measured rate (``None`` before two steps were seen)."""
        if stage not in self._start:
            return None
        start, first_step = self._start[stage]
        done = self.steps[stage][0] - first_step
        return (self._now[stage] - start) / done if done > 0 else None

    def eta(self, stage: str) -> float | None:
        """Seconds left in ``stage`` at its own rate (SFT and GRPO steps differ a lot)."""
        rate = self.seconds_per_step(stage)
        if rate is None:
            return None
        step, total = self.steps[stage]
        return max(total - step, 0) * rate

    def status(self) -> str:
        """One line per stage seen: step / total, seconds per step, ETA."""
        lines = []
        for stage, (step, total) in self.steps.items():
            rate, eta = self.seconds_per_step(stage), self.eta(stage)
            speed = f"{rate:.2f} s/step" if rate is not None else "measuring speed"
            left = f", about {eta:.0f} s left" if eta is not None and step < total else ""
            lines.append(f"**{stage}** step {step}/{total} · {speed}{left}")
        return "  \n".join(lines) or "starting…"

    def chart(self) -> Any:
        """SFT loss and GRPO reward side by side (their units differ): faint raw points and
        a rolling mean over :attr:`window` logged steps."""
        import altair as alt
        import polars as pl

        charts = []
        for stage, key in LIVE_SERIES.items():
            series = self.points.get(stage)
            if not series:
                continue
            frame = pl.DataFrame(series, schema=["step", key], orient="row").with_columns(
                pl.col(key).rolling_mean(self.window, min_samples=1).alias("rolling mean")
            )
            base = alt.Chart(frame, title=f"{stage} {key} (live)").encode(x="step:Q")
            raw = base.mark_circle(opacity=0.3, size=18).encode(y=alt.Y(f"{key}:Q", title=key))
            smooth = base.mark_line().encode(y="rolling mean:Q")
            charts.append((raw + smooth).properties(width=280, height=160))
        if not charts:
            return alt.Chart(pl.DataFrame({"step": []})).mark_point()
        return alt.hconcat(*charts)
