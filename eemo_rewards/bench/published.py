"""Published numbers to compare with, each with its source.

EEmo-Bench's README (github.com/workerred/EEmo-Bench, ``README.md`` at commit
e10bfa9fb6a75fbf0afc89f89a58207b8fb1dd70, "Glance at EEmo-Bench Performance"): perception
accuracy by carrier and question type, the ranking score, the description scores (an LLM
judge, sum of five 0/1/2 grades over 10) and the assessment SRCC/PLCC, for a selection of
the 19 models in its table (the random baseline, the Qwen-VL models EEmo-Logic starts from,
and the strongest of each kind). Percentages are stored as fractions. The ranking score was
computed by the released scorer, so it compares with ``ranking_score_released``; the
assessment numbers come from the benchmark's logit-based protocol (the README's pseudo
code), not from generated scores.
"""

from __future__ import annotations

__all__ = ["EEMO_BENCH_SOURCE", "PUBLISHED", "published_for"]

EEMO_BENCH_SOURCE = (
    "EEmo-Bench README, github.com/workerred/EEmo-Bench@e10bfa9fb6a75fbf0afc89f89a58207b8fb1dd70"
)

# columns of the README's first table, in its order, as (set, metric)
_COLUMNS = (
    ("ebench-single", "accuracy_yes_no"),
    ("ebench-single", "accuracy_what_how"),
    ("ebench-single", "accuracy"),
    ("ebench-pair", "accuracy_yes_no"),
    ("ebench-pair", "accuracy_what_how"),
    ("ebench-pair", "accuracy"),
    ("ebench-single", "ranking_score_released"),
    ("ebench-open", "judge_score_released_detailed_description"),
    ("ebench-open", "judge_score_released_reasoning_description"),
    ("ebench-open", "judge_score_released_direct_indirect"),
    ("ebench-open", "judge_score_released_conflicts_description"),
    ("ebench-open", "judge_score_released"),
    ("ebench-open-pair", "judge_score_released_detailed_comparison"),
    ("ebench-open-pair", "judge_score_released_valence_comparison"),
    ("ebench-open-pair", "judge_score_released_arousal_comparison"),
    ("ebench-open-pair", "judge_score_released_dominance_comparison"),
    ("ebench-open-pair", "judge_score_released"),
)

# the rows, in percent, None where the README has no entry
_TABLE = {
    "Random guess": (50.00, 33.33, 41.67, 50.00, 34.26, 42.13, 25.48) + (None,) * 10,
    "Qwen2-VL-7B": (
        59.98, 59.39, 59.69, 54.97, 54.43, 54.70, 61.36,
        55.93, 58.76, 50.00, 29.30, 49.60, 43.29, 72.40, 57.50, 47.96, 55.87,
    ),
    "Qwen2.5-VL-7B": (
        64.37, 57.24, 60.81, 59.24, 54.93, 57.09, 61.88,
        58.20, 68.41, 69.02, 53.60, 62.10, 54.30, 82.67, 73.33, 54.81, 67.33,
    ),
    "LLaVA-Onevision-7B": (
        65.75, 58.83, 62.29, 61.13, 51.84, 56.49, 58.39,
        61.80, 68.76, 64.78, 59.74, 63.89, 50.00, 76.53, 74.17, 48.70, 62.90,
    ),
    "InternVL2.5-8B": (
        59.85, 54.59, 57.22, 60.74, 54.93, 57.84, 57.87,
        55.53, 67.52, 61.74, 53.60, 59.70, 49.62, 75.47, 66.17, 54.67, 61.30,
    ),
    "Qwen2.5-VL-72B": (
        67.08, 61.28, 64.18, 63.92, 59.80, 61.86, 67.84,
        68.20, 70.97, 62.61, 71.75, 68.78, 68.10, 93.87, 77.83, 57.22, 75.93,
    ),
    "Gemini-1.5-pro": (
        67.06, 59.65, 63.36, 61.00, 58.27, 59.64, 60.65,
        58.87, 73.79, 71.20, 76.67, 69.50, 64.30, 90.67, 73.83, 53.89, 72.03,
    ),
    "Claude-3.7-Sonnet": (
        64.08, 59.04, 61.56, 61.93, 61.49, 61.71, 67.05,
        60.53, 75.38, 62.28, 68.16, 66.89, 64.18, 91.33, 79.67, 64.81, 76.10,
    ),
    "GPT-4o": (
        68.25, 64.80, 66.53, 64.41, 61.49, 62.95, 65.67,
        63.93, 71.03, 69.24, 66.93, 67.64, 56.96, 90.67, 79.33, 64.44, 73.93,
    ),
}  # fmt: skip

# the README's assessment table: SRCC/PLCC per dimension
_ASSESSMENT = {
    "Qwen2-VL-7B": {"valence": (0.87, 0.88), "arousal": (0.59, 0.57), "dominance": (-0.04, -0.04)},
    "Qwen2.5-VL-7B": {"valence": (0.80, 0.74), "arousal": (0.46, 0.46), "dominance": (0.32, 0.31)},
}


def _build() -> dict[str, dict[tuple[str, str], float]]:
    out: dict[str, dict[tuple[str, str], float]] = {}
    for model, row in _TABLE.items():
        cells = {col: v / 100.0 for col, v in zip(_COLUMNS, row, strict=True) if v is not None}
        for dim, (srcc, plcc) in _ASSESSMENT.get(model, {}).items():
            cells[("ebench-single", f"{dim}_srcc")] = srcc
            cells[("ebench-single", f"{dim}_plcc")] = plcc
        out[model] = cells
    return out


#: model → {(set, metric): published value}, from :data:`EEMO_BENCH_SOURCE`.
PUBLISHED: dict[str, dict[tuple[str, str], float]] = _build()


def published_for(set_name: str) -> dict[str, dict[str, float]]:
    """``{model: {metric: value}}`` of one set.

    Examples
    --------
    >>> published_for("ebench-pair")["GPT-4o"]["accuracy_yes_no"]
    0.6441
    """
    out: dict[str, dict[str, float]] = {}
    for model, cells in PUBLISHED.items():
        row = {metric: v for (s, metric), v in cells.items() if s == set_name}
        if row:
            out[model] = row
    return out
