"""Moved to :mod:`eemo_rewards.answers.choice`; the public names stay importable from here."""

from eemo_rewards.answers.choice import (
    choose_option,
    extract_choice,
    normalise_options,
    read_yes_no,
)

__all__ = ["choose_option", "extract_choice", "normalise_options", "read_yes_no"]
