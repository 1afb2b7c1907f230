"""EEmo-Logic's evaluation sets, runnable in one command: prompts, generation cache, scoring.

``python -m eemo_rewards.bench list | run | score`` (see the README section "EEmo-Logic's
evaluation suite"). The sets are the files of EEmo-Logic's ``test_data/``
(github.com/workerred/EEmo-Logic at b353f328ec8053d4352c05491749167a0f9417c6): EEmo-Bench
single images, pairs and open-ended questions, and the cross-domain ArtEmis, ArtPhoto,
UNIAA-Sent and AesBench-AesE.

=====================  ====================================================================
module                 what it holds
=====================  ====================================================================
:mod:`.sets`           the sets, their items, option order, image layout
:mod:`.prompts`        the release's prompt of each task
:mod:`.files`          the answer cache and the release answer formats
:mod:`.generate`       generation backends (transformers, vLLM)
:mod:`.score`          what answers commit to; metrics with bootstrap intervals
:mod:`.judge`          open-ended answers: offline measures, an HTTP judge hook
:mod:`.published`      published numbers to compare with, with sources
:mod:`.run`            run and score a set, write the outputs and the summary
=====================  ====================================================================

Generation needs the ``[train]`` extra; scoring needs ``[data]`` (numpy for intervals).
Importing this package imports neither.
"""

from eemo_rewards.bench.sets import SETS, BenchSet, Item, get_set, load_items, resolve_sets

__all__ = ["SETS", "BenchSet", "Item", "get_set", "load_items", "resolve_sets"]
