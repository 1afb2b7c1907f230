"""Time limits for reward terms that can block (an embedding judge, a user's own term).

Every reward takes ``timeout=`` (seconds; ``None``, the default, means no limit). A reward
with a limit runs off the calling thread, on a daemon worker, and the caller waits at most
``timeout`` seconds for each call: one completion in :meth:`~.base.RewardFunction.score`, one
batch in the batch call. When the limit trips, the completions not yet scored score the
reward's floor (its ``low``), the reward's ``timeouts`` count goes up, and a
:class:`RewardTimeoutWarning` says so with the running count (at the 1st, 10th, 100th, ...
time, so a term that hangs every call does not flood the log). The worker is told to stop
after the completion it is on; a worker that never returns stays parked, and once
:data:`MAX_STUCK` of one reward's workers are parked its calls score the floor at once
instead of starting more (a hanging term costs bounded threads, not one per call).

A rule-based term needs no limit (its scoring is linear in the completion); set one on the
terms that call a model or a service.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["MAX_STUCK", "RewardTimeoutWarning", "check_timeout", "is_decade", "run_limited"]

MAX_STUCK = 4
"""Parked (timed-out, still running) workers per reward before its calls stop starting new
ones."""


class RewardTimeoutWarning(RuntimeWarning):
    """A reward ran past its time limit; the completions it had not scored scored its floor."""


def check_timeout(value: Any, who: str) -> float | None:
    """``value`` as a positive number of seconds, or ``None``; anything else is an error."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{who}: timeout must be a positive number of seconds, got {value!r}")
    if value <= 0:
        raise ValueError(f"{who}: timeout must be positive, got {value!r}; use None for no limit")
    return float(value)


def is_decade(count: int) -> bool:
    """True for 1, 10, 100, ...: when a counted warning is repeated.

    Examples
    --------
    >>> [n for n in range(1, 200) if is_decade(n)]
    [1, 10, 100]
    """
    return str(count).rstrip("0") == "1"


class _State:
    """A reward's limit bookkeeping (not pickled: a copy in another process starts afresh)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stuck = 0


def _state(reward: Any) -> _State:
    state = reward.__dict__.get("_limit_state")
    if state is None:
        state = reward.__dict__.setdefault("_limit_state", _State())
    return state


def run_limited(
    reward: Any,
    work: Callable[[threading.Event], Any],
    on_timeout: Callable[[], Any],
    *,
    what: str = "a call",
) -> tuple[Any, bool]:
    """``(work(stop), False)`` when it returns within ``reward.timeout`` seconds, else
    ``(on_timeout(), True)`` after counting and warning. ``work`` runs on a daemon thread
    and should check ``stop.is_set()`` between completions; an exception it raises is
    raised here (the caller's guard reports it)."""
    state = _state(reward)
    stop = threading.Event()
    done = threading.Event()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = work(stop)
        except BaseException as exc:  # handed to the caller
            box["error"] = exc
        finally:
            with state.lock:  # atomic with the caller giving up on it
                done.set()
                if stop.is_set():  # it had been given up on: it is no longer stuck
                    state.stuck -= 1

    with state.lock:
        parked = state.stuck
    if parked >= MAX_STUCK:
        _trip(reward, what, f"{parked} earlier calls are still running")
        return on_timeout(), True
    threading.Thread(target=target, name=f"eemo-limit-{reward.__name__}", daemon=True).start()
    if done.wait(reward.timeout):
        if "error" in box:
            raise box["error"]
        return box["value"], False
    with state.lock:
        if done.is_set():  # it finished as the wait gave up
            if "error" in box:
                raise box["error"]
            return box["value"], False
        stop.set()
        state.stuck += 1
    _trip(reward, what, "")
    return on_timeout(), True


def _trip(reward: Any, what: str, detail: str) -> None:
    reward.timeouts = getattr(reward, "timeouts", 0) + 1
    count = reward.timeouts
    if is_decade(count):
        more = f" ({detail})" if detail else ""
        warnings.warn(
            f"{reward.__name__} ran past its time limit of {reward.timeout:g} s on {what}{more}; "
            f"the completions it had not scored scored {reward.low} ({count} time(s) so far). "
            "Raise timeout= if the term is merely slow, or fix the term if it hangs.",
            RewardTimeoutWarning,
            stacklevel=4,
        )
