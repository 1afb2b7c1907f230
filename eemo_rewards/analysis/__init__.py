"""Offline reward analysis: compare reward designs on completions with known quality.

No training happens here (the training study runs in :mod:`eemo_rewards.train.study`;
:mod:`~eemo_rewards.analysis.training` only tabulates its results). A pool of completions
with ground truth is scored by every reward design, and the designs are compared on what a
GRPO run needs from a reward:

- does it separate correct from wrong answers (ROC AUC), and near misses from wrong ones;
- does it order completions like a graded quality score (Spearman's ρ);
- how often does a group of G rollouts get identical rewards (no learning signal);
- how much do hacked completions (every label listed, a duplicated answer block, a
  negated label…) score.

:mod:`~eemo_rewards.analysis.pool` builds the pool (perturbations of references on the
built-in data, and the real EEmo-Bench model answers), :mod:`~eemo_rewards.analysis.designs`
lists the designs (this project's rewards with their variants, and peer designs written
from their published formulas), :mod:`~eemo_rewards.analysis.compare` scores and compares,
:mod:`~eemo_rewards.analysis.charts` draws. Needs polars (and altair for the charts): the
``[notebooks]`` extra; ``import eemo_rewards`` never imports this package.
"""

from eemo_rewards.analysis.compare import (
    hackability,
    kernel_curves,
    kind_means,
    pairwise_auc,
    roc_auc,
    score_pool,
    separation,
    summary,
    zero_variance,
)
from eemo_rewards.analysis.designs import DESIGNS, Design, build_designs
from eemo_rewards.analysis.pool import (
    KINDS,
    QUALITY,
    builtin_questions,
    perturbation_pool,
    reference_response_pool,
)

__all__ = [
    "DESIGNS",
    "KINDS",
    "QUALITY",
    "Design",
    "build_designs",
    "builtin_questions",
    "hackability",
    "kernel_curves",
    "kind_means",
    "pairwise_auc",
    "perturbation_pool",
    "reference_response_pool",
    "roc_auc",
    "score_pool",
    "separation",
    "summary",
    "zero_variance",
]
