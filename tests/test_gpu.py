"""The CUDA path: bf16 and checkpointing defaults, device placement, LoRA targets at
Qwen2.5-VL-3B size, checkpoint save and resume on the GPU.

Tests marked ``gpu`` need a CUDA device and skip without one (CI has none;
``benchmarks/gpu.sh`` runs them with ``pytest -m gpu``). The others run everywhere: they
check, on a CPU, what the CUDA path depends on (the trainer-argument name of gradient
checkpointing across transformers releases, the real-size architecture on the meta device).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")
torch = pytest.importorskip("torch")

from eemo_rewards.train._testing import toy_dataset  # noqa: E402
from eemo_rewards.train.common import (  # noqa: E402
    TrainingSetupError,
    checkpointing_field,
    device_defaults,
    lora_config,
)
from eemo_rewards.train.models import _train_tokenizer, load_model, lora_target_modules  # noqa: E402

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
SMALL = {"hidden_size": 32, "vision_dim": 32, "image_size": 56}


def _shapes():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "shapes.py"
    spec = importlib.util.spec_from_file_location("eemo_benchmark_shapes", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def meta_3b():
    """Qwen2.5-VL-3B's architecture with no memory behind it (the meta device)."""
    from transformers import Qwen2_5_VLForConditionalGeneration

    tokenizer = _train_tokenizer(["What emotion does this image evoke? joy"], 600)
    config = _shapes().shaped_config(tokenizer)
    with torch.device("meta"):
        model = Qwen2_5_VLForConditionalGeneration._from_config(config, dtype=torch.bfloat16)
    return model


# --------------------------------------------------------------------------------------------
# on any machine
# --------------------------------------------------------------------------------------------
def test_checkpointing_default_uses_a_field_the_installed_transformers_has(tmp_path):
    from transformers import TrainingArguments

    from eemo_rewards.train.grpo import grpo_config
    from eemo_rewards.train.sft import sft_config

    fields = {f.name for f in dataclasses.fields(TrainingArguments)}
    assert set(device_defaults()) <= fields
    # the CUDA value goes through both config builders under that name
    on = {checkpointing_field(): True}
    assert grpo_config(tmp_path / "g", num_generations=2, per_device_train_batch_size=2, **on)
    assert sft_config(tmp_path / "s", **on)


def test_checkpointing_field_follows_the_rename():
    # transformers 5.17 (the GPU machine's) knows only gradient_checkpointing; later releases
    # add activation_checkpointing and keep the old name as a deprecated alias
    @dataclasses.dataclass
    class Old:
        gradient_checkpointing: bool = False

    @dataclasses.dataclass
    class New:
        activation_checkpointing: bool = False
        gradient_checkpointing: bool | None = None

    @dataclasses.dataclass
    class Neither:
        bf16: bool = False

    assert checkpointing_field(Old) == "gradient_checkpointing"
    assert checkpointing_field(New) == "activation_checkpointing"
    with pytest.raises(TrainingSetupError, match="neither"):
        checkpointing_field(Neither)


def test_real_size_config_is_qwen25_vl_3b(meta_3b):
    # 3,754,622,976 parameters: Qwen2.5-VL-3B-Instruct's count (tied embeddings), of which
    # the vision tower with its merger is 668,684,288
    assert sum(p.numel() for p in meta_3b.parameters()) == 3_754_622_976
    assert sum(p.numel() for p in meta_3b.model.visual.parameters()) == 668_684_288
    text = meta_3b.config.text_config
    assert (text.hidden_size, text.num_hidden_layers, text.vocab_size) == (2048, 36, 151936)
    assert meta_3b.lm_head.weight is meta_3b.model.language_model.embed_tokens.weight


def test_lora_targets_on_the_real_size_config(meta_3b):
    from torch import nn

    linear = {n for n, m in meta_3b.named_modules() if isinstance(m, nn.Linear)}
    both = re.compile(lora_target_modules(meta_3b, scope="both"))
    matched = {n for n, _ in meta_3b.named_modules() if both.fullmatch(n)}
    # every linear layer but the output head: 36 x 7 in the language model, 32 x 5 in the
    # tower's blocks (qkv, proj, gate/up/down) and the merger's two
    assert matched == linear - {"lm_head"}
    assert len(matched) == 36 * 7 + 32 * 5 + 2
    language = re.compile(lora_target_modules(meta_3b))
    assert not any(language.fullmatch(n) for n in matched if ".visual." in n)
    # the expression stays short: block indices are generalised
    assert len(lora_target_modules(meta_3b, scope="both")) < 1000


# --------------------------------------------------------------------------------------------
# on a CUDA device
# --------------------------------------------------------------------------------------------
@pytest.mark.gpu
@cuda
def test_cuda_defaults_are_bf16_and_checkpointing_for_real_models(tmp_path):
    from eemo_rewards.train.grpo import grpo_config

    tiny = load_model("tiny", cache_dir=tmp_path / "models", **SMALL)
    tiny_defaults = device_defaults(tiny)
    assert tiny_defaults["bf16"] is torch.cuda.is_bf16_supported()
    assert tiny_defaults["use_cpu"] is False
    assert tiny_defaults[checkpointing_field()] is False  # tiny: no checkpointing
    real = dataclasses.replace(tiny, kind="hub")
    assert device_defaults(real)[checkpointing_field()] is True
    args = grpo_config(tmp_path / "run", bundle=real, num_generations=2,
                       per_device_train_batch_size=2)  # fmt: skip
    assert args.bf16 and not args.use_cpu and getattr(args, checkpointing_field())


@pytest.mark.gpu
@cuda
def test_training_and_evaluation_run_on_the_gpu(tmp_path):
    from eemo_rewards.train.evaluate import evaluate_model
    from eemo_rewards.train.grpo import grpo_config, train_grpo

    tiny = load_model("tiny", cache_dir=tmp_path / "models", **SMALL)
    data = toy_dataset(8)
    result = train_grpo(
        tiny,
        data,
        spec="format_only",
        args=grpo_config(tmp_path / "run", bundle=tiny, max_steps=2, num_generations=4,
                         per_device_train_batch_size=8, max_completion_length=8),
    )  # fmt: skip
    assert next(result.bundle.model.parameters()).device.type == "cuda"
    evaluated = evaluate_model(result.bundle, data, max_new_tokens=8, batch_size=4)
    assert len(evaluated.rows) == len(data)
    # the saved model reloads on the CPU and moves back to the GPU in bf16
    again = load_model(result.run.final_dir, dtype="bfloat16")
    assert next(again.model.parameters()).dtype == torch.bfloat16


@pytest.mark.gpu
@cuda
def test_lora_eemo_logic_preset_on_the_real_size_model_on_the_gpu():
    from peft import get_peft_model

    shapes = _shapes()
    bundle = shapes.build_shaped(["What emotion does this image evoke? joy"], device="cuda")
    config = lora_config(bundle, preset="eemo-logic")
    model = get_peft_model(bundle.model, config)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert any(".visual.blocks." in n for n in trainable)
    assert any(".visual.merger." in n for n in trainable)
    assert all(p.device.type == "cuda" for p in model.parameters())
    base = [p for n, p in model.named_parameters() if "lora_" not in n]
    assert all(p.dtype == torch.bfloat16 for p in base)
    del model, bundle
    torch.cuda.empty_cache()


@pytest.mark.gpu
@cuda
def test_checkpoint_save_and_resume_on_the_gpu(tmp_path):
    from transformers import TrainerCallback

    from eemo_rewards.train.grpo import grpo_config, train_grpo
    from eemo_rewards.train.runs import RunFolder

    class Interrupt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 3:
                raise KeyboardInterrupt

    def args(run):
        return grpo_config(run, bundle=tiny, max_steps=4, num_generations=4,
                           per_device_train_batch_size=8, max_completion_length=8,
                           save_steps=2)  # fmt: skip

    tiny = load_model("tiny", cache_dir=tmp_path / "models", **SMALL)
    data = toy_dataset(8)
    run_dir = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train_grpo(tiny, data, spec="format_only", args=args(run_dir), callbacks=[Interrupt()])
    assert RunFolder(run_dir).latest_checkpoint().name == "checkpoint-2"
    tiny = load_model("tiny", cache_dir=tmp_path / "models", **SMALL)
    resumed = train_grpo(tiny, data, spec="format_only", args=args(run_dir), resume=True)
    assert resumed.global_step == 4
    assert [r["step"] for r in resumed.metrics if "loss" in r] == [1, 2, 3, 4]
    assert next(resumed.bundle.model.parameters()).device.type == "cuda"
