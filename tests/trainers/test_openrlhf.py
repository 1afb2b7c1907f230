"""OpenRLHF 0.11.2, driven through its own code: its ``train_ppo_ray`` argument parser takes
the README's flags; its ``PromptDataset`` reads the ``to_openrlhf_jsonl`` file (through its
``blending_datasets``) and renders each prompt with the processor's chat template; its
``SingleTurnAgentExecutor`` loads the adapter file given as ``--reward.remote_url``,
tokenizes the prompt with the VLM processor (which expands the image placeholders), decodes
prompt + response with special tokens kept and calls ``reward_func``.

The generation engine is the one part replaced (no vLLM here): it returns our completions'
token ids. The parser is OpenRLHF's own statements, run from its file: the module itself
imports Ray, vLLM and DeepSpeed at the top, which a CPU test cannot load.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from trainer_helpers import (
    ROOT,
    corpus,
    make_processor,
    reward_server,
    train_tokenizer,
    venv_hint,
)

pytestmark = pytest.mark.trainers
openrlhf = pytest.importorskip("openrlhf", reason=venv_hint("openrlhf"))

from openrlhf.datasets.prompts_dataset import PromptDataset  # noqa: E402
from openrlhf.datasets.utils import blending_datasets  # noqa: E402
from openrlhf.utils.agent import SingleTurnAgentExecutor  # noqa: E402
from openrlhf.utils.config import hierarchize  # noqa: E402

from eemo_rewards.adapters import openrlhf as adapter  # noqa: E402
from eemo_rewards.data.export import to_openrlhf_jsonl  # noqa: E402

KINDS = ("correct", "wrong", "no tags", "after")
DEEPSEEK_TEMPLATE = (
    "<｜begin▁of▁sentence｜>{% for m in messages %}{% if m['role'] == 'user' %}<｜User｜>"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for part in m['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}"
    "{% else %}<｜Assistant｜>{{ m['content'] }}<｜end▁of▁sentence｜>{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<｜Assistant｜>{% endif %}"
)


def test_tested_version():
    from importlib.metadata import version

    assert version("openrlhf") == "0.11.2"


def _parser() -> argparse.ArgumentParser:
    """OpenRLHF's own parser: the statements of train_ppo_ray's ``__main__`` block up to
    ``parse_args``, executed as they are written there."""
    path = Path(openrlhf.__file__).parent / "cli" / "train_ppo_ray.py"
    tree = ast.parse(path.read_text())
    main = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)
    )
    # its standard-library imports (the others load Ray, vLLM and DeepSpeed)
    body = [
        node
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        and all(
            (alias.name if isinstance(node, ast.Import) else node.module).split(".")[0]
            in sys.stdlib_module_names
            for alias in node.names
        )
    ]
    for stmt in main.body:
        if "parse_args" in ast.unparse(stmt):
            break
        body.append(stmt)
    namespace: dict = {}
    exec(compile(ast.Module(body=body, type_ignores=[]), str(path), "exec"), namespace)
    parser = namespace["parser"]
    assert len(parser._actions) > 100  # the whole parser, not a fragment
    return parser


def _readme_flags() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Other trainers", 1)[1].split("\n### ", 1)[0]
    flags = re.findall(r"--[\w.]+", section.split("OpenRLHF", 1)[1].split("\n| ", 1)[0])
    assert "--reward.remote_url" in flags and "--data.label_key" in flags
    return flags


def test_its_parser_takes_the_readme_flags_and_rejects_the_old_ones(tmp_path):
    parser = _parser()
    flags = _readme_flags()
    argv = []
    for flag in flags:
        argv.append(flag)
        if flag == "--reward.remote_url":
            argv.append(adapter.__file__)
        elif flag in ("--data.label_key", "--data.input_key"):
            argv.append("label" if "label" in flag else "prompt")
    args = hierarchize(parser.parse_args(argv))
    assert args.reward.remote_url == adapter.__file__
    assert args.data.label_key == "label"
    with pytest.raises(SystemExit):
        parser.parse_args(["--remote_rm_url", adapter.__file__, "--label_key", "label"])


@pytest.fixture(scope="module")
def data(qa, tmp_path_factory):
    path = to_openrlhf_jsonl(qa, tmp_path_factory.mktemp("openrlhf") / "train.jsonl")
    strategy = SimpleNamespace(
        print=lambda *a, **k: None, is_rank_0=lambda: True, args=SimpleNamespace(use_ms=False)
    )
    return blending_datasets(str(path), strategy=strategy)


def _prompts(dataset, processor):
    """OpenRLHF's PromptDataset with the README's data flags."""
    args = SimpleNamespace(
        data=SimpleNamespace(
            input_key="prompt", label_key="label", apply_chat_template=True, image_key="images"
        )
    )
    strategy = SimpleNamespace(args=args, is_rank_0=lambda: True)
    return PromptDataset(dataset, processor, strategy)


class _Engine:
    """Stands in for vLLM: 'generates' the given completion's token ids."""

    def __init__(self, tokenizer, completion):
        self.ids = tokenizer(completion + tokenizer.eos_token, add_special_tokens=False).input_ids
        self.text = completion

    async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None):
        self.prompt_token_ids = prompt_token_ids
        out = SimpleNamespace(
            token_ids=self.ids, text=self.text, finish_reason="stop", logprobs=None
        )
        return SimpleNamespace(outputs=[out])


def _execute(executor, prompts, i, processor, completion):
    _, prompt, label, images = prompts[i]
    engine = _Engine(processor.tokenizer, completion)
    params = SimpleNamespace(max_tokens=None, logprobs=None)
    out = asyncio.run(
        executor.execute(prompt, label, params, 4096, processor, engine, images=images)
    )
    return out, engine


def _score_all(executor, dataset, cases, tokenizer):
    processor = make_processor(tokenizer)
    prompts = _prompts(dataset, processor)
    results = []
    for j, case in enumerate(cases):
        out, engine = _execute(executor, prompts, j // len(KINDS), processor, case["completion"])
        results.append(out)
    # the VLM processor expanded the placeholders: the prompt is not a prefix of the query
    query = processor.tokenizer.decode(engine.prompt_token_ids, skip_special_tokens=False)
    assert query.count("<|image_pad|>") > prompts[0][1].count("<|image_pad|>")
    return results


@pytest.mark.parametrize("template", ["chatml", "deepseek"])
def test_its_executor_loads_the_file_and_scores_as_the_trl_path(data, cases, template):
    tokenizer = train_tokenizer(corpus(cases))
    if template == "deepseek":  # an assistant header in no marker list
        tokenizer.add_special_tokens(
            {
                "additional_special_tokens": [
                    "<｜begin▁of▁sentence｜>",
                    "<｜User｜>",
                    "<｜Assistant｜>",
                    "<｜end▁of▁sentence｜>",
                ]
            },
            replace_extra_special_tokens=False,
        )
        tokenizer.eos_token = "<｜end▁of▁sentence｜>"
        tokenizer.chat_template = DEEPSEEK_TEMPLATE
    executor = SingleTurnAgentExecutor(remote_rm_url=adapter.__file__)
    assert executor.reward_func is not None
    results = _score_all(executor, data, cases, tokenizer)
    mismatches = [
        (case["task"], case["kind"], out["reward"], case["expected"])
        for case, out in zip(cases, results, strict=True)
        if out["reward"] is None or out["reward"].item() != pytest.approx(case["expected"] or 0.0)
    ]
    assert not mismatches
    assert all(out["extra_logs"]["response_not_found"].item() == 0.0 for out in results)
    good = [
        o["reward"].item() for c, o in zip(cases, results, strict=True) if c["kind"] == "correct"
    ]
    assert min(good) > 0


def test_a_user_file_with_the_tokenizers_template_and_strict_mode(data, cases, tmp_path):
    tokenizer = train_tokenizer(corpus(cases))
    tokenizer.save_pretrained(tmp_path / "model")
    reward_file = tmp_path / "my_reward.py"
    reward_file.write_text(
        "from eemo_rewards.adapters.openrlhf import make_reward_func\n"
        f"reward_func = make_reward_func('format_only', tokenizer={str(tmp_path / 'model')!r},"
        " strict=True)\n"
    )
    executor = SingleTurnAgentExecutor(remote_rm_url=str(reward_file))
    assert executor.reward_func.markers()[0] == ("<|im_start|>assistant",)
    results = _score_all(executor, data, cases, tokenizer)
    for case, out in zip(cases, results, strict=True):
        want = 1.0 if case["kind"] in ("correct", "wrong") else 0.0
        assert out["reward"].item() == want, (case["task"], case["kind"])


def test_its_http_client_gets_the_in_process_scores_from_the_reward_server(data, cases):
    """``--reward.remote_url http://…/get_reward``: OpenRLHF's executor posts each query to
    the server (its ``_fetch_rewards_via_http``); the rewards and extra logs are the ones
    the adapter file gives in process."""
    tokenizer = train_tokenizer(corpus(cases))
    local = _score_all(
        SingleTurnAgentExecutor(remote_rm_url=adapter.__file__), data, cases, tokenizer
    )
    with reward_server() as url:
        executor = SingleTurnAgentExecutor(remote_rm_url=url + "/get_reward")
        assert executor.reward_func is None  # the HTTP path
        remote = _score_all(executor, data, cases, tokenizer)
    import torch

    for here, there in zip(local, remote, strict=True):
        assert torch.equal(torch.tensor(there["reward"], dtype=torch.float32), here["reward"])
        assert set(there["extra_logs"]) == set(here["extra_logs"])
        for key, values in here["extra_logs"].items():
            assert torch.equal(torch.tensor(there["extra_logs"][key], dtype=torch.float32), values)
