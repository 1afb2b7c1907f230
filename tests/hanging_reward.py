"""A reward term that hangs on demand, for the time-limit tests (rewards and server)."""

from __future__ import annotations

import threading

from eemo_rewards.rewards.base import RewardFunction

RELEASE = threading.Event()
"""Set it to let every hung call return."""


class Hanging(RewardFunction):
    """Scores 1.0, but blocks on the answer ``hang`` until :data:`RELEASE` is set."""

    default_name = "hanging"

    def _score(self, parsed, solution, **_):
        if parsed.answer == "hang":
            RELEASE.wait(30)
        return 1.0
