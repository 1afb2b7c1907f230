"""verl 0.9.1, driven through its own code: Hydra compose of its ``ppo_trainer`` config with
the README's overrides → ``get_custom_reward_fn`` → its reward loop worker and naive reward
manager on a ``DataProto`` built from its ``RLHFDataset`` over ``to_verl_parquet`` output.

The rollout is the one part replaced (no GPU, no model): each prompt's responses are our
completions, tokenized with a local tokenizer and laid out as verl's rollout lays them out
(left-padded prompts, right-padded responses).
"""

from __future__ import annotations

import inspect
import os
import warnings

import pytest
from trainer_helpers import corpus, make_processor, reward_server, train_tokenizer, venv_hint

pytestmark = pytest.mark.trainers
verl = pytest.importorskip("verl", reason=venv_hint("verl"))
torch = pytest.importorskip("torch")

from hydra import compose, initialize_config_dir  # noqa: E402
from verl import DataProto  # noqa: E402
from verl.experimental.reward_loop.reward_loop import RewardLoopWorker  # noqa: E402
from verl.trainer.ppo.reward import get_custom_reward_fn  # noqa: E402
from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn  # noqa: E402

from eemo_rewards.adapters import TagsMissingWarning  # noqa: E402
from eemo_rewards.adapters import verl as adapter  # noqa: E402
from eemo_rewards.data.export import to_verl_parquet  # noqa: E402
from eemo_rewards.rewards.trainer_logs import SAMPLE_FLAGS  # noqa: E402
from eemo_rewards.spec import preset  # noqa: E402

KINDS = ("correct", "wrong", "no tags", "after")
README_OVERRIDES = [
    "reward.custom_reward_function.path=pkg://eemo_rewards.adapters.verl",
    "reward.custom_reward_function.name=compute_score",
]


def test_tested_version():
    assert verl.__version__ == "0.9.1"


def _compose(overrides):
    config_dir = os.path.join(os.path.dirname(verl.__file__), "trainer", "config")
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        return compose("ppo_trainer", overrides=list(overrides))


@pytest.fixture(scope="module")
def setup(qa, cases, tmp_path_factory):
    root = tmp_path_factory.mktemp("verl")
    parquet = to_verl_parquet(qa, root / "train.parquet")
    tokenizer = train_tokenizer(corpus(cases))
    tokenizer.save_pretrained(root / "tokenizer")
    special = train_tokenizer(corpus(cases), special_tags=True)
    special.save_pretrained(root / "tokenizer_special")
    return {"root": root, "parquet": str(parquet), "tokenizer": tokenizer, "cases": cases}


def _config(setup, extra=(), tokenizer_dir="tokenizer"):
    return _compose(
        [
            *README_OVERRIDES,
            *extra,
            f"actor_rollout_ref.model.path={setup['root'] / tokenizer_dir}",
            f"data.train_files={setup['parquet']}",
            f"+data.cache_dir={setup['root'] / 'cache'}",
            "data.filter_overlong_prompts=false",
        ]
    )


def _batch(setup, config, tokenizer):
    """A DataProto as the trainer builds it: RLHFDataset rows, repeated once per response
    (interleaved, as for n rollouts), with prompt and response token tensors."""
    dataset = RLHFDataset(
        data_files=setup["parquet"],
        tokenizer=tokenizer,
        config=config.data,
        processor=make_processor(tokenizer),
    )
    rows = [dataset[i] for i in range(len(dataset))]
    assert [r["extra_info"]["task"] for r in rows] == [c["task"] for c in setup["cases"][::4]]
    data = DataProto.from_single_dict(collate_fn(rows))
    data = data.repeat(repeat_times=len(KINDS), interleave=True)
    cases = setup["cases"]
    prompts = [
        tokenizer.apply_chat_template(list(r["raw_prompt"]), add_generation_prompt=True)
        for r in rows
        for _ in KINDS
    ]
    prompts = [p["input_ids"] if hasattr(p, "keys") else p for p in prompts]
    responses = [tokenizer(c["completion"] + tokenizer.eos_token).input_ids for c in cases]
    p_len, r_len = max(map(len, prompts)), max(map(len, responses))
    pad = tokenizer.pad_token_id
    prompt_ids = torch.tensor([[pad] * (p_len - len(p)) + p for p in prompts])
    response_ids = torch.tensor([r + [pad] * (r_len - len(r)) for r in responses])
    mask = torch.tensor(
        [
            [0] * (p_len - len(p)) + [1] * len(p) + [1] * len(r) + [0] * (r_len - len(r))
            for p, r in zip(prompts, responses, strict=True)
        ]
    )
    tensors = {
        "prompts": prompt_ids,
        "responses": response_ids,
        "input_ids": torch.cat([prompt_ids, response_ids], dim=1),
        "attention_mask": mask,
    }
    return data.union(DataProto.from_dict(tensors=tensors))


def _run_reward_loop(config, data):
    worker = RewardLoopWorker(config)
    outputs = worker.loop.run_until_complete(worker.compute_score_batch(data))
    return worker, outputs


def test_the_legacy_top_level_key_is_not_read_by_main_ppo(setup):
    # the README's old recipe: Hydra accepts it, verl's main_ppo never looks there
    legacy = _compose(
        [
            "custom_reward_function.path=pkg://eemo_rewards.adapters.verl",
            "custom_reward_function.name=compute_score",
        ]
    )
    assert get_custom_reward_fn(legacy) is None


def test_readme_overrides_score_the_exported_batch_as_the_trl_path(setup):
    config = _config(setup)
    fn = get_custom_reward_fn(config)
    assert fn is not None and fn.args[0] is adapter.compute_score
    tokenizer = setup["tokenizer"]
    data = _batch(setup, config, tokenizer)
    worker, outputs = _run_reward_loop(config, data)
    assert type(worker.reward_manager).__name__ == "NaiveRewardManager"
    components = preset("default").composite().component_names()
    mismatches = []
    for case, out in zip(setup["cases"], outputs, strict=True):
        expected = 0.0 if case["expected"] is None else case["expected"]
        if out["reward_score"] != pytest.approx(expected):
            mismatches.append((case["task"], case["kind"], out["reward_score"], expected))
        assert set(out["reward_extra_info"]) == {"score", *components, *SAMPLE_FLAGS}
    assert not mismatches
    scores = {
        (c["task"], c["kind"]): o["reward_score"]
        for c, o in zip(setup["cases"], outputs, strict=True)
    }
    assert scores[("emotion", "correct")] > scores[("emotion", "wrong")]
    assert scores[("emotion", "no tags")] == 0.0 == scores[("emotion", "after")]


@pytest.mark.parametrize(
    ("override", "spec"),
    [
        ("+reward.custom_reward_function.reward_kwargs.spec=soft", preset("soft")),
        (
            "+reward.custom_reward_function.reward_kwargs.spec={terms:[{name:format,weight:2.0}]}",
            {"terms": [{"name": "format", "weight": 2.0}]},
        ),
        (
            '+reward.custom_reward_function.reward_kwargs.spec=\'{"terms": [{"name": "format",'
            ' "weight": 3.0}]}\'',
            {"terms": [{"name": "format", "weight": 3.0}]},
        ),
    ],
    ids=["preset name", "hydra dict", "inline json"],
)
def test_reward_kwargs_select_the_spec(setup, override, spec):
    from eemo_rewards.adapters import composite_for

    config = _config(setup, [override])
    data = _batch(setup, config, setup["tokenizer"])
    _, outputs = _run_reward_loop(config, data)
    composite = composite_for(spec)
    for case, out in zip(setup["cases"], outputs, strict=True):
        columns = {c: case.get(c) for c in composite.columns}
        want = composite.score(
            case["completion"],
            case["solution"],
            task=case["task"],
            options=case["options"],
            **columns,
        )
        assert out["reward_score"] == pytest.approx(want), (case["task"], case["kind"])
    if "soft" in override:  # the soft spec really differs from the default on some sample
        default = [0.0 if c["expected"] is None else c["expected"] for c in setup["cases"]]
        assert [o["reward_score"] for o in outputs] != pytest.approx(default)


def test_a_misspelt_reward_kwarg_fails_at_the_first_reward_step(setup):
    config = _config(setup, ["+reward.custom_reward_function.reward_kwargs.sepc=soft"])
    data = _batch(setup, config, setup["tokenizer"])
    with pytest.raises(TypeError, match=r"unknown reward_kwargs \['sepc'\]"):
        _run_reward_loop(config, data)


def test_special_tag_tokens_vanish_in_verls_decoding_and_one_warning_says_so(setup):
    from eemo_rewards.adapters import special_tag_tokens

    config = _config(setup, tokenizer_dir="tokenizer_special")
    special = train_tokenizer(corpus(setup["cases"]), special_tags=True)
    assert special_tag_tokens(special) == ["<think>", "</think>", "<answer>", "</answer>"]
    assert special_tag_tokens(setup["tokenizer"]) == []
    data = _batch(setup, config, special)
    adapter.compute_score._watch.run = 0
    adapter.compute_score._watch.warned = False
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        _, first = _run_reward_loop(config, data)
        _, second = _run_reward_loop(config, data)
    assert all(o["reward_score"] == 0.0 for o in first + second)  # the caveat itself
    caveat = [w for w in seen if issubclass(w.category, TagsMissingWarning)]
    assert len(caveat) == 1, [str(w.message) for w in seen]
    assert "skip_special_tokens=True" in str(caveat[0].message)


def test_its_reward_loop_gets_the_in_process_scores_from_the_reward_server(setup):
    """``compute_score_remote`` with ``reward_kwargs.remote_url``: verl's reward loop awaits
    it per sample (a coroutine), the server scores, and every output equals the in-process
    ``compute_score``'s."""
    config = _config(setup)
    data = _batch(setup, config, setup["tokenizer"])
    _, local = _run_reward_loop(config, data)
    with reward_server() as url:
        remote_config = _config(
            setup,
            [
                "reward.custom_reward_function.name=compute_score_remote",
                f"+reward.custom_reward_function.reward_kwargs.remote_url={url}",
            ],
        )
        fn = get_custom_reward_fn(remote_config)
        assert inspect.iscoroutinefunction(fn)  # verl awaits it instead of a thread
        _, remote = _run_reward_loop(remote_config, data)
    assert remote == local
