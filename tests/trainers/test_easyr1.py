"""EasyR1, by its documented contract: EasyR1 is not on PyPI and its code may not be copied
here, so this test does what its repository's reward worker is documented to do (read
2026-12: ``verl/workers/reward/``, ``verl/utils/dataset.py``), with this project's code only:

- ``worker.reward.reward_function=PATH:NAME``: the path is checked with ``os.path.exists``
  from the working directory and the file imported with ``spec_from_file_location``;
  ``reward_function_kwargs`` are bound with ``functools.partial``;
- the dataset is a parquet file read with ``datasets.load_dataset("parquet")``; each row's
  ``answer_key`` column (``answer``) becomes ``ground_truth``;
- a batch reward function gets ``[{"response", "response_length", "ground_truth"}]``, the
  responses decoded with ``skip_special_tokens`` (``worker.reward.skip_special_tokens``,
  default true), and returns one dict with ``"overall"`` per input.

It runs in the project's own environment (``pytest``); no EasyR1 install is involved.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import warnings

import pytest
from trainer_helpers import corpus, train_tokenizer

from eemo_rewards.adapters import TagsMissingWarning
from eemo_rewards.adapters import easyr1 as adapter

datasets = pytest.importorskip("datasets")
pytest.importorskip("transformers")

KINDS = ("correct", "wrong", "no tags", "after")


def _load(path: str, name: str, kwargs: dict):
    assert os.path.exists(path)  # what EasyR1 checks, from the working directory
    spec = importlib.util.spec_from_file_location("custom_reward_fn", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.REWARD_TYPE == "batch" and module.REWARD_NAME
    return functools.partial(getattr(module, name), **kwargs)


def _inputs(qa, cases, tmp_path, tokenizer, skip_special_tokens=True):
    from eemo_rewards.data.export import to_easyr1_parquet

    path = to_easyr1_parquet(qa, tmp_path / "train.parquet")
    rows = datasets.load_dataset("parquet", data_files=str(path), split="train")
    assert set(rows.column_names) >= {"prompt", "answer", "images"}
    inputs = []
    for i, case in enumerate(cases):
        ids = tokenizer(case["completion"] + tokenizer.eos_token).input_ids
        inputs.append(
            {
                "response": tokenizer.decode(ids, skip_special_tokens=skip_special_tokens),
                "response_length": len(ids),
                "ground_truth": rows[i // len(KINDS)]["answer"],
            }
        )
    return inputs


def test_the_readme_path_works_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path, name = f"{adapter.__file__}:compute_score".rsplit(":", 1)
    assert os.path.isabs(path)
    assert _load(path, name, {}).func.__name__ == "compute_score"


def test_the_exported_batch_scores_as_the_trl_path(qa, cases, tmp_path):
    tokenizer = train_tokenizer(corpus(cases))
    fn = _load(adapter.__file__, "compute_score", {})
    out = fn(_inputs(qa, cases, tmp_path, tokenizer))
    keys = {frozenset(o) for o in out}
    assert len(keys) == 1 and "overall" in next(iter(keys))
    mismatches = [
        (c["task"], c["kind"], o["overall"], c["expected"])
        for c, o in zip(cases, out, strict=True)
        if o["overall"] != pytest.approx(c["expected"] or 0.0)
    ]
    assert not mismatches


def test_reward_function_kwargs_select_the_spec(qa, cases, tmp_path):
    tokenizer = train_tokenizer(corpus(cases))
    fn = _load(adapter.__file__, "compute_score", {"spec": "format_only"})
    out = fn(_inputs(qa, cases, tmp_path, tokenizer))
    assert [o["overall"] for o in out] == [
        1.0 if c["kind"] in ("correct", "wrong") else 0.0 for c in cases
    ]


def test_special_tag_tokens_need_skip_special_tokens_false(qa, cases, tmp_path):
    special = train_tokenizer(corpus(cases), special_tags=True)
    fn = _load(adapter.__file__, "compute_score", {})
    adapter._watch.run, adapter._watch.warned = 0, False
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        lost = fn(_inputs(qa, cases, tmp_path, special))
        fn(_inputs(qa, cases, tmp_path, special))
    assert all(o["overall"] == 0.0 for o in lost)
    caveat = [w for w in seen if issubclass(w.category, TagsMissingWarning)]
    assert len(caveat) == 1
    assert "worker.reward.skip_special_tokens=false" in str(caveat[0].message)
    kept = fn(_inputs(qa, cases, tmp_path, special, skip_special_tokens=False))
    assert [o["overall"] for o in kept] == pytest.approx([c["expected"] or 0.0 for c in cases])
